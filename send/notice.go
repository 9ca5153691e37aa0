package send

import (
	"context"
	"sync/atomic"
	"time"
)

// A person at a terminal whose endpoint is dead would otherwise wait in
// silence until --timeout (2 minutes by default): after StallNotice
// without a document delivered, the run says once, at the default level,
// that it is retrying and until when. Under cron it stays off (one line a
// run is what cron mails).

// stallWatch is the notice's state in one Send.
type stallWatch struct {
	lastDelivered atomic.Int64 // unix nanoseconds of the last delivery, or of the start
	done          chan struct{}
}

// watchStall starts the watch and returns the function that ends it.
func (r *run) watchStall(ctx context.Context) (stop func()) {
	after := r.s.cfg.StallNotice
	if after <= 0 {
		return func() {}
	}
	w := &stallWatch{done: make(chan struct{})}
	w.lastDelivered.Store(time.Now().UnixNano())
	r.stall = w
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			wait := time.Until(time.Unix(0, w.lastDelivered.Load()).Add(after))
			t := time.NewTimer(wait)
			select {
			case <-w.done:
				t.Stop()
				return
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			if time.Since(time.Unix(0, w.lastDelivered.Load())) < after {
				continue // something was delivered meanwhile
			}
			r.mu.Lock()
			last := r.stats.LastFailure
			r.mu.Unlock()
			if last == "" {
				last = "no answer yet"
			}
			attrs := []any{"url", r.s.logURL, "last_failure", last}
			if deadline, ok := ctx.Deadline(); ok {
				attrs = append(attrs, "until", deadline.Format(time.TimeOnly), "left", time.Until(deadline).Round(time.Second))
			}
			r.s.log.Warn("output: the endpoint is not taking documents; retrying until the run's deadline (--timeout), and what is not sent stays in the spool", attrs...)
			return
		}
	}()
	return func() {
		close(w.done)
		<-finished
	}
}

// delivered moves the watch on: documents are going out.
func (w *stallWatch) delivered(now time.Time) {
	if w != nil {
		w.lastDelivered.Store(now.UnixNano())
	}
}
