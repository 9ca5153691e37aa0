package send

// One Send: settling documents, retries, splitting refused batches.

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atlas-af/afmc/internal/idset"
)

// run is the state of one Send call.
type run struct {
	s    *Sender
	ack  func([]uint64, Outcome)
	free chan *batch

	// stopped ends dispatching and retrying early: after a configuration
	// error, or when retrying would outlast the deadline.
	stopped  atomic.Bool
	gaveUp   atomic.Bool
	stopOnce sync.Once
	stopCh   chan struct{}
	haltLog  sync.Once
	giveUp   sync.Once
	stall    *stallWatch // nil: no stall notice

	mu sync.Mutex // serializes ack and guards what follows and batchDoc.settled
	// refused holds the documents the endpoint refused on their own while
	// it has taken none: rejected once it takes one, else kept. Ids are
	// consecutive when it refuses everything, so this stays small.
	refused  idset.Set
	nRefused int
	stats    SendStats
	ackIDs   []uint64 // reused for each ack call
}

// settleIDs records outcome o for ids, in one ack call.
func (r *run) settleIDs(ids []uint64, o Outcome) {
	if len(ids) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.count(o, len(ids))
	r.ack(ids, o)
}

func (r *run) count(o Outcome, n int) {
	switch o {
	case Delivered:
		r.stats.Delivered += n
	case Rejected:
		r.stats.Rejected += n
	default:
		r.stats.Pending += n
	}
}

// settleSet acks every id of set with o, in groups, and empties it. r.mu
// must be held.
func (r *run) settleSet(set *idset.Set, o Outcome) {
	r.ackIDs = r.ackIDs[:0]
	for id := range set.All() {
		if r.ackIDs = append(r.ackIDs, id); len(r.ackIDs) == 512 {
			r.count(o, len(r.ackIDs))
			r.ack(r.ackIDs, o)
			r.ackIDs = r.ackIDs[:0]
		}
	}
	if len(r.ackIDs) > 0 {
		r.count(o, len(r.ackIDs))
		r.ack(r.ackIDs, o)
	}
	set.Reset()
}

// settleSpan records outcome o for the documents of sp not yet settled.
func (r *run) settleSpan(sp span, o Outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ackIDs = r.ackIDs[:0]
	for i := sp.lo; i < sp.hi; i++ {
		d := &sp.b.docs[i]
		if !d.settled {
			d.settled = true
			r.ackIDs = append(r.ackIDs, d.id)
		}
	}
	if len(r.ackIDs) > 0 {
		r.count(o, len(r.ackIDs))
		r.ack(r.ackIDs, o)
	}
	if o == Delivered {
		r.stall.delivered(time.Now())
	}
	// The endpoint takes documents: those it refused were refused for
	// what they hold.
	if o == Delivered && !r.refused.Empty() {
		r.settleSet(&r.refused, Rejected)
	}
}

// refuse settles a document the endpoint refused on its own, and tells
// whether to log it.
func (r *run) refuse(sp span) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := &sp.b.docs[sp.lo]
	if d.settled {
		return false
	}
	d.settled = true
	r.nRefused++
	if r.stats.Delivered > 0 {
		r.count(Rejected, 1)
		r.ack([]uint64{d.id}, Rejected)
	} else {
		r.refused.Add(d.id)
	}
	return r.nRefused <= refusedLogged
}

func (r *run) countRequest(ctx context.Context, retry bool, res result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.Requests++
	if retry {
		r.stats.Retries++
	}
	// A request cut short because the run ended is not the endpoint's
	// failure; the summary says the deadline was reached instead.
	if res.err != nil && ctx.Err() != nil {
		return
	}
	if res.err != nil || res.status/100 != 2 || res.html {
		r.stats.LastFailure = r.s.describe(res)
	}
}

func (r *run) stop() {
	r.stopOnce.Do(func() {
		r.stopped.Store(true)
		close(r.stopCh)
	})
}

// halt stops all further sending after a configuration error, which it
// records for the run's summary and exit status.
func (r *run) halt(res result) {
	r.haltLog.Do(func() {
		why := r.s.needsPerson(res)
		r.mu.Lock()
		r.stats.ConfigError = why
		r.mu.Unlock()
		r.s.log.Error("output: sending stopped, documents kept for the next run: "+why, r.s.logAttrs(res)...)
	})
	r.stop()
}

// pastDeadline reports whether waiting d would outlast ctx's deadline. If
// so the run stops: every further request would meet the same failure
// with no time left to retry it, so the time is better left to the caller.
func (r *run) pastDeadline(ctx context.Context, d time.Duration) bool {
	deadline, ok := ctx.Deadline()
	if !ok || r.s.now().Add(d).Before(deadline) {
		return false
	}
	r.giveUp.Do(func() {
		r.s.log.Info("output: next retry would pass the deadline, keeping documents for the next run", "wait", d)
	})
	r.gaveUp.Store(true)
	r.stop()
	return true
}

// deliver sends sp, retrying transient failures and splitting refused
// batches, until every document in it is settled.
func (r *run) deliver(ctx context.Context, sp span) {
	for attempt := 0; ; attempt++ {
		if r.stopped.Load() || ctx.Err() != nil {
			r.settleSpan(sp, Pending)
			return
		}
		res := r.s.post(ctx, sp.body(r.s.cfg.Batch > 1))
		r.countRequest(ctx, attempt > 0, res)
		if ctx.Err() != nil {
			// Whatever happened, the run is over; a late 2xx still counts.
			if res.err == nil && res.status/100 == 2 {
				r.settleSpan(sp, Delivered)
			} else {
				r.settleSpan(sp, Pending)
			}
			return
		}

		switch classify(res) {
		case actDeliver:
			r.settleSpan(sp, Delivered)
			return

		case actRetry:
			r.s.log.Info("output: request failed, will retry", append(r.s.logAttrs(res), "docs", sp.len(), "attempt", attempt+1)...)
			wait := r.s.backoff(attempt)
			if res.retryAfter > wait {
				wait = res.retryAfter
			}
			if r.pastDeadline(ctx, wait) || !r.sleep(ctx, wait) {
				r.settleSpan(sp, Pending)
				return
			}

		case actSplit:
			if sp.len() == 1 {
				// Rejected if the endpoint takes other documents, kept if
				// it refuses them all. A few lines say why; a count says
				// how many (a full spool refused would otherwise fill a
				// cron mail).
				if r.refuse(sp) {
					r.s.log.Error("output: endpoint rejected document",
						append(r.s.logAttrs(res), "id", sp.b.docs[sp.lo].id)...)
				}
				return
			}
			r.s.log.Info("output: endpoint refused batch, splitting it", append(r.s.logAttrs(res), "docs", sp.len())...)
			mid := sp.lo + sp.len()/2
			r.deliver(ctx, span{sp.b, sp.lo, mid})
			r.deliver(ctx, span{sp.b, mid, sp.hi})
			return

		case actHalt:
			r.halt(res)
			r.settleSpan(sp, Pending)
			return
		}
	}
}

// sleep waits d unless the run ends first; it reports whether to go on.
func (r *run) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return !r.stopped.Load()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return !r.stopped.Load()
	case <-ctx.Done():
		return false
	case <-r.stopCh:
		return false
	}
}
