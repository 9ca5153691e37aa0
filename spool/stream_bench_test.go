package spool

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/atlas-af/afmc/internal/heapwatch"
	"github.com/atlas-af/afmc/internal/sendtest"
	"github.com/atlas-af/afmc/send"
)

// BenchmarkStream200k is one run of a 200,000-job pool with the spool:
// documents added one at a time as a collector makes them, committed,
// read back from the spool by the sender to a loopback sink, acked, the
// spool rewritten. The peak live heap must not grow with the documents.
func BenchmarkStream200k(b *testing.B) {
	const n = 200_000
	proto := spoolBenchItems(1)[0]
	log := slog.New(slog.DiscardHandler)
	for _, bc := range sendtest.BenchModes {
		b.Run(bc.Name, func(b *testing.B) {
			s := sendtest.NewBenchSender(b, bc.Batch, 4)
			root := b.TempDir()
			b.ReportAllocs()
			var peak uint64
			i := 0
			doc := make([]byte, 0, 512)
			for b.Loop() {
				dir := filepath.Join(root, fmt.Sprint(i))
				i++
				if err := os.Mkdir(dir, 0o700); err != nil {
					b.Fatal(err)
				}
				h := heapwatch.Watch()
				sp, err := OpenSpool(openDir(b, dir), 0, SpoolLimits{MaxBytes: 64 << 20}, time.Now(), log)
				if err != nil {
					b.Fatal(err)
				}
				for j := range n {
					doc = fmt.Appendf(doc[:0], `{"kind":"condorjob","cluster":"UC-AF","users":"user%04d","Id":"%d.0","Runtime":%d,"state":"running"}`, j%5000, 4000000+j, j%86400)
					if _, err := sp.Add(send.Item{Doc: doc, CollectedAt: proto.CollectedAt}, 1); err != nil {
						b.Fatal(err)
					}
				}
				if err := sp.Commit(); err != nil {
					b.Fatal(err)
				}
				if st := s.SendSeq(b.Context(), sp.Items(1), sp.Ack); st.Delivered != n {
					b.Fatalf("stats = %+v, want %d delivered", st, n)
				}
				if err := sp.Close(); err != nil {
					b.Fatal(err)
				}
				peak = max(peak, h.Done())
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "docs/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}

// BenchmarkOpenSpoolOverBound opens a spool ten times over its bound (200
// MB of documents, --spool-max-bytes 20 MB): two streaming passes, the
// second rewriting what is kept.
func BenchmarkOpenSpoolOverBound(b *testing.B) {
	const n = 1_000_000 // about 200 MB of documents
	src := b.TempDir()
	total := writeSpool(b, src, n)
	data := filepath.Join(src, SpoolName)
	fi, err := os.Stat(data)
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	b.ReportAllocs()
	var peak uint64
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		// A copy, not a link: the spool refuses a file with a second name.
		if err := copyFile(data, filepath.Join(dir, SpoolName)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		h := heapwatch.Watch()
		s, err := OpenSpool(openDir(b, dir), 1, SpoolLimits{MaxBytes: total / 10}, time.Now(), log)
		if err != nil {
			b.Fatal(err)
		}
		peak = max(peak, h.Done())
		if s.Dropped == 0 {
			b.Fatal("nothing dropped")
		}
	}
	b.ReportMetric(float64(fi.Size())/(1<<20), "spool-MiB")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
