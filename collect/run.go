package collect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/atlas-af/afmc/document"
)

// Outcome is what happened to one collector in a run.
type Outcome struct {
	Name    string
	Emitted int             // documents passed to the sink
	State   json.RawMessage // nil: keep the previous section
	Err     error
	Skipped error         // non-nil: not run, because its source is missing (--all)
	Took    time.Duration // how long it ran (to its timeout, if abandoned)
}

// ErrTimeout marks a collector that did not finish in time.
var ErrTimeout = errors.New("timed out")

// Sink receives the documents of every collector as they come. Calls are
// serialized; an error stops the collector that emitted the document.
type Sink func(d document.Document) error

// Run runs the collectors concurrently, each under timeout, passes their
// documents to sink as they come, and returns one outcome per collector in
// the given order. Each document's Collector is set to the name of the
// collector that made it.
//
// Documents of different collectors interleave: each collector's own
// order is kept, and none waits for another, so a pool of 200,000 jobs
// streams through however slow a collector beside it is, and memory does
// not depend on the order of cs. Delta documents alone are held, until
// their collector returns the state they were computed against: they are
// passed on only with a non-nil state, so a collector that fails or times
// out before moving its state never has its events counted twice. A Delta
// of an Answer (document.Answer) is passed on as it comes instead, so that
// a large answer is never held; if its collector returns no state, its
// answers are voided, and the run sends none of their documents.
//
// A collector that ignores its context (stuck in a system call) is
// abandoned at the timeout: it never holds up the others, and nothing it
// emits afterwards reaches the sink. skipUnavailable skips collectors
// whose source is missing (--all); otherwise a missing source is that
// collector's error.
func Run(ctx context.Context, env *Env, cs []Collector, states map[string]json.RawMessage, timeout time.Duration, skipUnavailable bool, sink Sink) []Outcome {
	r := &run{env: env, sink: sink, out: make([]Outcome, len(cs)), slots: make([]slot, len(cs))}
	var wg sync.WaitGroup
	for i, c := range cs {
		r.out[i].Name = c.Name()
		env := env.For(c.Name())
		if err := c.Available(env); err != nil {
			if skipUnavailable {
				r.out[i].Skipped = err
				env.Log.Info("skipping collector: its source is not on this host", "reason", err)
			} else {
				r.out[i].Err = fmt.Errorf("collector %s: %w", c.Name(), err)
			}
			r.finish(i, nil, nil)
			continue
		}
		wg.Go(func() { r.runOne(ctx, env, i, c, states[c.Name()], timeout) })
	}
	wg.Wait()
	return r.out
}

// run passes the documents of concurrent collectors to one sink.
type run struct {
	env   *Env
	sink  Sink
	mu    sync.Mutex // guards everything below, and serializes the sink
	out   []Outcome
	slots []slot
}

type slot struct {
	deltas   []document.Document       // waiting for the collector's own state
	answers  map[*document.Answer]bool // of the deltas passed on as they came
	finished bool                      // returned or abandoned: emit refuses
	sinkErr  error                     // the sink refused one: the collector stops
}

// errAbandoned stops a collector that emits after its timeout.
var errAbandoned = errors.New("abandoned after its timeout")

func (r *run) emit(i int, d document.Document) error {
	d.Collector = r.out[i].Name
	r.mu.Lock()
	defer r.mu.Unlock()
	s := &r.slots[i]
	switch {
	case s.finished:
		return errAbandoned
	case s.sinkErr != nil:
		return s.sinkErr
	case d.Delta && d.Answer == nil:
		s.deltas = append(s.deltas, d)
		return nil
	case d.Delta:
		if s.answers == nil {
			s.answers = map[*document.Answer]bool{}
		}
		s.answers[d.Answer] = true
	}
	return r.pass(i, d)
}

// voidAnswers voids the answers of the deltas collector i passed on as
// they came, when it returned no state to account for them; r.mu is held.
func (r *run) voidAnswers(i int) {
	s := &r.slots[i]
	for a := range s.answers {
		a.Void()
	}
	if len(s.answers) > 0 {
		r.env.For(r.out[i].Name).Log.Warn("collector kept its previous state: the interval documents it passed on are not sent")
	}
	s.answers = nil
}

// pass hands d to the sink; r.mu is held.
func (r *run) pass(i int, d document.Document) error {
	if err := r.sink(d); err != nil {
		r.slots[i].sinkErr = err
		return err
	}
	r.out[i].Emitted++
	return nil
}

// finish marks collector i done: its deltas are passed on when it
// returned a state, and dropped, with a warning, when it did not (the
// answers it passed on as they came are then voided).
func (r *run) finish(i int, state json.RawMessage, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := &r.slots[i]
	s.finished = true
	r.out[i].State, r.out[i].Err = state, errors.Join(r.out[i].Err, err)
	if state == nil {
		r.voidAnswers(i)
	}
	switch {
	case state != nil:
		for _, d := range s.deltas {
			if s.sinkErr != nil {
				break
			}
			_ = r.pass(i, d)
		}
	case len(s.deltas) > 0:
		r.env.For(r.out[i].Name).Log.Warn("collector kept its previous state: its interval documents are left for the next run",
			"documents", len(s.deltas))
	}
	s.deltas = nil
	if s.sinkErr != nil {
		r.out[i].Err = errors.Join(r.out[i].Err, s.sinkErr)
	}
}

func (r *run) runOne(parent context.Context, env *Env, i int, c Collector, prev json.RawMessage, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	type done struct {
		state json.RawMessage
		err   error
	}
	ch := make(chan done, 1) // buffered: an abandoned collector can still finish and exit
	start := time.Now()
	go func() {
		state, err := c.Collect(ctx, env, prev, func(d document.Document) error { return r.emit(i, d) })
		ch <- done{state, err}
	}()
	var d done
	select {
	case d = <-ch:
	case <-ctx.Done():
		d.err = fmt.Errorf("%w after %s", ErrTimeout, timeout)
		if parent.Err() != nil {
			// The run's deadline came before the collector's own.
			d.err = fmt.Errorf("%w after %s: the run's --timeout", ErrTimeout, time.Since(start).Round(time.Millisecond))
		}
	}
	if d.err != nil {
		d.err = fmt.Errorf("collector %s: %w", c.Name(), d.err)
	}
	took := time.Since(start)
	r.mu.Lock()
	r.out[i].Took = took
	r.mu.Unlock()
	r.finish(i, d.state, d.err)
	env.Log.Debug("collector finished", "took", took, "error", d.err)
}
