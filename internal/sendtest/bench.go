package sendtest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/atlas-af/afmc/send"
)

// BenchItems returns n documents shaped like afmc's (~200 bytes each).
func BenchItems(n int) []send.Item {
	items := make([]send.Item, n)
	at := time.Date(2024, 5, 17, 12, 0, 0, 0, time.UTC)
	for i := range items {
		items[i] = send.Item{
			ID: uint64(i + 1),
			Doc: fmt.Appendf(nil, `{"kind":"node","site":"CERN-PROD","node":"wn-%04d.cern.ch","load1":3.42,"load5":3.1,`+
				`"mem_used_pct":61.4,"disk_free_gb":412.7,"jobs_running":%d,"jobs_queued":12,"kernel":"5.14.0-427.el9","uptime_s":1234567}`,
				i%10000, i%64),
			CollectedAt: at.Add(time.Duration(i) * time.Millisecond),
		}
	}
	return items
}

// BenchModes are the two ways the benchmarks deliver: one document per
// POST, and batches of 500.
var BenchModes = []struct {
	Name  string
	Batch int
}{
	{"one-per-post", 1},
	{"batch-500", 500},
}

// NewBenchSender is a sender to a loopback endpoint that reads each body
// and answers 200; both are closed when the benchmark ends.
func NewBenchSender(b *testing.B, batch, concurrency int) *send.Sender {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	b.Cleanup(srv.Close)
	s, err := send.NewSender(send.SenderConfig{URL: srv.URL + "/", Token: "bench-token-0123456789", Batch: batch, Concurrency: concurrency})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	return s
}
