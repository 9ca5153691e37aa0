package condor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atlas-af/afmc/document"
	"github.com/atlas-af/afmc/tools/condorgen/gen"
)

// BenchmarkCondorCollect is the condor collector alone on a 200,000-job
// pool: a fake condor_q prints a generated listing, and every document is
// handed to an emit that drops it. "projected" is what condor_q prints for
// the -attributes afmc asks (about 225 bytes a job); "full" ignores
// -attributes (about 30 attributes, 1.1 KB a job: the worst case).
func BenchmarkCondorCollect(b *testing.B) {
	for _, bm := range []struct {
		name  string
		attrs []string
	}{{"projected", strings.Split(jobAttributes, ",")}, {"full", nil}} {
		b.Run(bm.name, func(b *testing.B) {
			const jobs = 200000
			dir := fakeCondor(b, map[string]string{"history.out": "[\n]\n"})
			f, err := os.Create(filepath.Join(dir, "jobs.out"))
			if err != nil {
				b.Fatal(err)
			}
			if err := gen.WriteOpts(f, jobs, gen.Options{Seed: 1, Attributes: bm.attrs}); err != nil {
				b.Fatal(err)
			}
			size, _ := f.Seek(0, 1)
			if err := f.Close(); err != nil {
				b.Fatal(err)
			}
			env, _ := condorEnv(gen.ServerTime)
			c := testCondor(dir)
			c.Timeout = time.Minute
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				n := 0
				_, err := c.Collect(context.Background(), env, nil, func(document.Document) error { n++; return nil })
				if err != nil {
					b.Fatal(err)
				}
				if n != jobs+1 {
					b.Fatalf("%d documents, want %d", n, jobs+1)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/jobs, "ns/job")
		})
	}
}

// BenchmarkParseAd is one projected job ad through validation and reading.
func BenchmarkParseAd(b *testing.B) {
	var sb strings.Builder
	if err := gen.WriteOpts(&sb, 1, gen.Options{Seed: 1, Attributes: strings.Split(jobAttributes, ",")}); err != nil {
		b.Fatal(err)
	}
	ad := []byte(strings.TrimSuffix(strings.TrimPrefix(sb.String(), "[\n"), "\n]\n"))
	strs := map[string]string{}
	var a condorAd
	b.SetBytes(int64(len(ad)))
	for b.Loop() {
		if err := parseAd(ad, &a, strs); err != nil {
			b.Fatal(err)
		}
	}
}
