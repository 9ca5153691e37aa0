package send_test

import (
	"testing"

	"github.com/atlas-af/afmc/internal/sendtest"
	"github.com/atlas-af/afmc/send"
)

func BenchmarkSend(b *testing.B) {
	const n = 10_000
	items := sendtest.BenchItems(n)
	for _, bc := range sendtest.BenchModes {
		b.Run(bc.Name, func(b *testing.B) {
			s := sendtest.NewBenchSender(b, bc.Batch, 0)
			ack := func([]uint64, send.Outcome) {}

			b.ReportAllocs()
			for b.Loop() {
				if st := s.Send(b.Context(), items, ack); st.Delivered != n {
					b.Fatalf("stats = %+v, want %d delivered", st, n)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "docs/s")
		})
	}
}
