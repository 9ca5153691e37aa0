package condor

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/atlas-af/afmc/document"
	"github.com/atlas-af/afmc/tools/condorgen/gen"
)

// BenchmarkCondorCollect is the condor collector alone on a 200,000-job
// pool: a fake condor_q prints a generated listing of full job ads (about
// 30 attributes, 1.1 KB each: as if -attributes were ignored, the worst
// case), and every document is handed to an emit that drops it.
func BenchmarkCondorCollect(b *testing.B) {
	const jobs = 200000
	dir := fakeCondor(b, map[string]string{"totals.out": condorFixture(b, "q-totals.json")})
	f, err := os.Create(filepath.Join(dir, "jobs.out"))
	if err != nil {
		b.Fatal(err)
	}
	if err := gen.Write(f, jobs, 1); err != nil {
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
}
