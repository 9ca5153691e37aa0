package output

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// benchItems returns n documents shaped like afmc's (~200 bytes each).
func benchItems(n int) []Item {
	items := make([]Item, n)
	at := time.Date(2024, 5, 17, 12, 0, 0, 0, time.UTC)
	for i := range items {
		items[i] = Item{
			ID: uint64(i + 1),
			Doc: fmt.Appendf(nil, `{"kind":"node","site":"CERN-PROD","node":"wn-%04d.cern.ch","load1":3.42,"load5":3.1,`+
				`"mem_used_pct":61.4,"disk_free_gb":412.7,"jobs_running":%d,"jobs_queued":12,"kernel":"5.14.0-427.el9","uptime_s":1234567}`,
				i%10000, i%64),
			CollectedAt: at.Add(time.Duration(i) * time.Millisecond),
		}
	}
	return items
}

// benchModes are the two ways the benchmarks deliver: one document per
// POST, and batches of 500.
var benchModes = []struct {
	name  string
	batch int
}{
	{"one-per-post", 1},
	{"batch-500", 500},
}

// newBenchSender is a sender to a loopback endpoint that reads each body
// and answers 200; both are closed when the benchmark ends.
func newBenchSender(b *testing.B, batch, concurrency int) *Sender {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	b.Cleanup(srv.Close)
	s, err := NewSender(SenderConfig{URL: srv.URL + "/", Token: "bench-token-0123456789", Batch: batch, Concurrency: concurrency})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	return s
}

func BenchmarkSend(b *testing.B) {
	const n = 10_000
	items := benchItems(n)
	for _, bc := range benchModes {
		b.Run(bc.name, func(b *testing.B) {
			s := newBenchSender(b, bc.batch, 0)
			ack := func([]uint64, Outcome) {}

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
