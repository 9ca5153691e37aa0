package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/atlas-af/afmc/collect"
	"github.com/atlas-af/afmc/document"
	"github.com/atlas-af/afmc/internal/heapwatch"
)

// pool emits n condorjob documents as the condor collector makes them,
// streaming; done is closed once the last is emitted.
type pool struct {
	n    int
	done chan struct{}
}

func (pool) Name() string                 { return "condor" }
func (pool) Available(*collect.Env) error { return nil }
func (p pool) Collect(_ context.Context, env *collect.Env, _ json.RawMessage, emit collect.Emit) (json.RawMessage, error) {
	defer close(p.done)
	now := env.Now()
	for i := range p.n {
		d := document.New("condorjob", env.Cluster, now).
			Add("users", document.User(fmt.Sprintf("user%04d", i%5000))).
			Add("state", "running").
			Add("Id", fmt.Sprintf("%d.0", 4000000+i)).
			Add("Runtime", i%86400)
		if err := emit(d); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// slowHub is a collector that answers only once the pool has emitted its
// last job: a jupyter collector waiting on kubectl, listed first.
type slowHub struct{ pool chan struct{} }

func (slowHub) Name() string                 { return "jupyter" }
func (slowHub) Available(*collect.Env) error { return nil }
func (s slowHub) Collect(ctx context.Context, env *collect.Env, _ json.RawMessage, emit collect.Emit) (json.RawMessage, error) {
	select {
	case <-s.pool:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return nil, emit(document.New("jupyter-ml", env.Cluster, env.Now()).Add("jupyter_user_count", document.UserCount(0)).Add("users", document.UserList{}))
}

// BenchmarkJobsBehindASlowCollector is a run of 200,000 jobs printed as
// NDJSON (and spooled, as every run but a dry one opens the spool) while
// a collector listed before condor has not answered. Documents stream
// past it: the target is a peak heap of 40 MiB, whatever the order of the
// collectors (held in registry order, this was 101 MiB).
func BenchmarkJobsBehindASlowCollector(b *testing.B) {
	const n, target = 200_000, 40 << 20
	log := slog.New(slog.DiscardHandler)
	var peak uint64
	for b.Loop() {
		done := make(chan struct{})
		h := heapwatch.Watch()
		rep := Run(context.Background(), Config{
			Env:              &collect.Env{Cluster: "UC-AF", Now: time.Now, Log: log},
			Collectors:       []collect.Collector{slowHub{done}, pool{n, done}},
			StateDir:         b.TempDir(),
			LockTimeout:      time.Second,
			CollectorTimeout: time.Minute,
			Timeout:          time.Minute,
			Stdout:           io.Discard,
			Format:           FormatJSON,
		})
		peak = max(peak, h.Done())
		if rep.Collected != n+1 || len(rep.FailedCollector) > 0 {
			b.Fatalf("report %+v", rep)
		}
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	if peak > target {
		b.Errorf("peak heap %.1f MiB, over the target of %d MiB", float64(peak)/(1<<20), target>>20)
	}
}
