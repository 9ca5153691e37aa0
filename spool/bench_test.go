package spool

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/atlas-af/afmc/internal/sendtest"
	"github.com/atlas-af/afmc/send"
)

// spoolBenchItems returns n afmc DISK documents of about 200 bytes, with
// varying numbers, as the collectors produce them (no ids yet).
func spoolBenchItems(n int) []send.Item {
	items := make([]send.Item, n)
	for i := range items {
		items[i] = spoolBenchItem(i)
	}
	return items
}

// spoolBenchItem is the i-th of spoolBenchItems.
func spoolBenchItem(i int) send.Item {
	const total = 1883690205184
	at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	used := int64(92355981312 + int64(i)*7919*4096)
	free := total - used - 95713468032
	return send.Item{
		Doc: fmt.Appendf(nil, `{"kind":"DISK","cluster":"UC-AF","login_node":"login%02d.af.uchicago.edu","mount":"/data%d",`+
			`"device":"/dev/sd%c1","total":%d,"used":%d,"free":%d,"utilization":%.3f}`,
			i%8+1, i%16, 'a'+rune(i%26), int64(total), used, free, float64(used)/total),
		CollectedAt: at.Add(time.Duration(i) * time.Millisecond),
	}
}

// BenchmarkDeliverSpooled measures one run's delivery with the spool in the
// loop: open, append (fsynced), send to a loopback sink with every ack
// written to the acks file, close (rewrite). Targets on a 2-core machine:
// 20,000 docs/s one per POST, 500,000 docs/s in batches of 500.
func BenchmarkDeliverSpooled(b *testing.B) {
	const n = 10_000
	items := spoolBenchItems(n)
	log := slog.New(slog.DiscardHandler)
	for _, bc := range sendtest.BenchModes {
		b.Run(bc.Name, func(b *testing.B) {
			s := sendtest.NewBenchSender(b, bc.Batch, 4)
			root := b.TempDir()

			b.ReportAllocs()
			// Wall time per phase, to show where a slow run goes.
			var tAppend, tSend, tClose time.Duration
			i := 0
			for b.Loop() {
				b.StopTimer()
				dir := filepath.Join(root, fmt.Sprint(i))
				i++
				if err := os.Mkdir(dir, 0o700); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()

				t0 := time.Now()
				sp, err := OpenSpool(openDir(b, dir), 0, SpoolLimits{}, time.Now(), log)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := sp.Append(items, 1); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if st := s.Send(b.Context(), sp.Pending(1), sp.Ack); st.Delivered != n {
					b.Fatalf("stats = %+v, want %d delivered", st, n)
				}
				t2 := time.Now()
				if err := sp.Close(); err != nil {
					b.Fatal(err)
				}
				tClose += time.Since(t2)
				tAppend += t1.Sub(t0)
				tSend += t2.Sub(t1)
				if sp.Len() != 0 {
					b.Fatalf("%d documents left in the spool", sp.Len())
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "docs/s")
			b.ReportMetric(tAppend.Seconds()*1e3/float64(b.N), "open+append-ms/op")
			b.ReportMetric(tSend.Seconds()*1e3/float64(b.N), "send+ack-ms/op")
			b.ReportMetric(tClose.Seconds()*1e3/float64(b.N), "close-ms/op")
		})
	}
}
