// Package collect holds the collector contract, the registry of collectors
// and one file per collector. Parsers are pure functions over bytes, kept
// apart from the I/O so they can be tested on fixtures in testdata/.
package collect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/atlas-af/afmc/document"
)

// Collector gathers one kind of document.
//
// A collector never prints, never exits and never touches another
// collector's state: it gets its own state section and returns the next one.
// It reports real user names; the run's users step filters and hides them.
type Collector interface {
	// Name is the kind named on the command line ("cpu", "disk", ...).
	Name() string
	// Available reports why the collector's source does not exist on this
	// host, or nil when it does. Under --all an unavailable collector is
	// skipped; named explicitly it is an error.
	Available(env *Env) error
	// Collect runs once. prev is the collector's state section from the last
	// run (nil when there is none). Each document goes to emit as soon as it
	// is made, so that a pool of 200,000 jobs is never held at once; when
	// emit fails, the collector stops and returns that error. Collect
	// returns the next state section (nil keeps prev) and an error naming
	// what failed. Documents and an error may come together: one bad mount
	// does not stop the rest.
	//
	// Documents marked Delta (computed against prev) count only together
	// with the state section returned: they are passed on only when Collect
	// returns a non-nil section, so a collector that fails or times out
	// before moving its state never has its events counted twice. A Delta
	// that belongs to an Answer (document.Answer) is passed on as it is
	// made instead, so that a large answer is never held: the collector
	// voids the answer or returns a state that accounts for it, and if it
	// returns no state its answers are voided for it.
	Collect(ctx context.Context, env *Env, prev json.RawMessage, emit Emit) (json.RawMessage, error)
}

// Emit hands one document on: to stdout, the spool, or a test's slice.
type Emit func(document.Document) error

// Result is everything one collection produced, for callers that want it
// whole (tests, small collectors' callers).
type Result struct {
	Docs  []document.Document
	State json.RawMessage
}

// Gather runs c once and returns its documents and next state section.
func Gather(ctx context.Context, c Collector, env *Env, prev json.RawMessage) (Result, error) {
	var res Result
	var err error
	res.State, err = c.Collect(ctx, env, prev, func(d document.Document) error {
		res.Docs = append(res.Docs, d)
		return nil
	})
	// What Run would pass on: not the documents of a voided answer.
	kept := res.Docs[:0]
	for _, d := range res.Docs {
		if res.State == nil && d.Delta {
			d.Answer.Void()
		}
		if !d.Answer.Voided() {
			kept = append(kept, d)
		}
	}
	res.Docs = kept
	return res, err
}

// Env is what every collector may read about the run and the host.
type Env struct {
	Roots     Roots
	Cluster   string
	LoginNode string
	Now       func() time.Time
	Log       *slog.Logger
}

// Set is every collector afmc knows. Each collector's exported fields are
// its own settings, which the CLI embeds as flags (kong tags beside them),
// so adding a collector is one file, its test, and one field here. New
// collectors prefix their flags with their name ("ssh-"); disk's and
// network's keep the names they always had. A collector with settings
// that can be wrong has a Validate() error method, which kong calls at
// parse time: a mistake is a usage error before anything runs.
type Set struct {
	CPU     CPU     `embed:""`
	Mem     Mem     `embed:""`
	Disk    Disk    `embed:"" group:"disk"`
	Network Network `embed:"" group:"network"`
	SSH     SSH     `embed:"" prefix:"ssh-" group:"ssh"`
	Jupyter Jupyter `embed:"" group:"jupyter"`
	// Last: its stream of jobs must not wait behind another collector.
	Condor Condor `embed:"" prefix:"condor-" group:"condor"`
}

// List returns the collectors in registry order.
func (s Set) List() []Collector {
	v := reflect.ValueOf(s)
	out := make([]Collector, 0, v.NumField())
	for i := range v.NumField() {
		out = append(out, v.Field(i).Interface().(Collector))
	}
	return out
}

// Groups are names that stand for several kinds.
var Groups = map[string][]string{
	"host": {"cpu", "mem", "disk", "network"},
}

// Select resolves the kinds named on the command line to collectors, in
// registry order and without duplicates. all selects every collector.
func Select(cs []Collector, names []string, all bool) ([]Collector, error) {
	if all {
		return cs, nil
	}
	byName := make(map[string]Collector, len(cs))
	for _, c := range cs {
		byName[c.Name()] = c
	}
	want := map[string]bool{}
	for _, n := range names {
		n = strings.ToLower(n)
		if g, ok := Groups[n]; ok {
			for _, k := range g {
				want[k] = true
			}
			continue
		}
		if _, ok := byName[n]; !ok {
			return nil, fmt.Errorf("unknown kind %q (known: %s)", n, strings.Join(KindNames(cs), ", "))
		}
		want[n] = true
	}
	var out []Collector
	for _, c := range cs {
		if want[c.Name()] {
			out = append(out, c)
		}
	}
	return out, nil
}

// KindNames lists the names Select accepts.
func KindNames(cs []Collector) []string {
	var names []string
	for _, c := range cs {
		names = append(names, c.Name())
	}
	for g := range Groups {
		names = append(names, g)
	}
	sort.Strings(names)
	return names
}

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
// the given order.
//
// Documents reach the sink in registry order, collector by collector: the
// first unfinished collector's documents go straight through, a later
// one's wait until those before it are done (keep the big collectors
// last). A collector that ignores its context (stuck in a system call) is
// abandoned at the timeout: it never holds up the others, and nothing it
// emits afterwards reaches the sink. skipUnavailable skips collectors whose
// source is missing (--all); otherwise a missing source is that
// collector's error.
func Run(ctx context.Context, env *Env, cs []Collector, states map[string]json.RawMessage, timeout time.Duration, skipUnavailable bool, sink Sink) []Outcome {
	r := &run{env: env, sink: sink, out: make([]Outcome, len(cs)), slots: make([]slot, len(cs))}
	var wg sync.WaitGroup
	for i, c := range cs {
		r.out[i].Name = c.Name()
		if err := c.Available(env); err != nil {
			if skipUnavailable {
				r.out[i].Skipped = err
				env.Log.Info("skipping collector: its source is not on this host", "collector", c.Name(), "reason", err)
			} else {
				r.out[i].Err = fmt.Errorf("collector %s: %w", c.Name(), err)
			}
			r.finish(i, nil, nil)
			continue
		}
		wg.Go(func() { r.runOne(ctx, i, c, states[c.Name()], timeout) })
	}
	wg.Wait()
	return r.out
}

// run orders the documents of concurrent collectors.
type run struct {
	env   *Env
	sink  Sink
	mu    sync.Mutex // guards everything below, and serializes the sink
	head  int        // the first collector not yet finished: its documents pass
	out   []Outcome
	slots []slot
}

type slot struct {
	queue    []document.Document       // waiting for the collectors before it
	deltas   []document.Document       // waiting for the collector's own state
	answers  map[*document.Answer]bool // of the deltas passed on as they came
	finished bool                      // returned or abandoned: emit refuses
	sinkErr  error
}

// errAbandoned stops a collector that emits after its timeout.
var errAbandoned = errors.New("abandoned after its timeout")

func (r *run) emit(i int, d document.Document) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := &r.slots[i]
	switch {
	case s.finished:
		return errAbandoned
	case d.Delta && d.Answer == nil:
		s.deltas = append(s.deltas, d)
		return nil
	case d.Delta:
		if s.answers == nil {
			s.answers = map[*document.Answer]bool{}
		}
		s.answers[d.Answer] = true
	}
	if i != r.head {
		s.queue = append(s.queue, d)
		return nil
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
		r.env.Log.Warn("collector kept its previous state: the interval documents it passed on are not sent",
			"collector", r.out[i].Name)
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

// finish marks collector i done: its deltas join its queue when it returned
// a state, and every finished collector at the head is flushed.
func (r *run) finish(i int, state json.RawMessage, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := &r.slots[i]
	s.finished = true
	r.out[i].State, r.out[i].Err = state, errors.Join(r.out[i].Err, err)
	if state == nil {
		r.voidAnswers(i)
	}
	if state != nil {
		s.queue = append(s.queue, s.deltas...)
	} else if len(s.deltas) > 0 {
		r.env.Log.Warn("collector kept its previous state: its interval documents are left for the next run",
			"collector", r.out[i].Name, "documents", len(s.deltas))
	}
	s.deltas = nil
	for r.head < len(r.slots) {
		h := &r.slots[r.head]
		for _, d := range h.queue {
			if h.sinkErr != nil {
				break
			}
			_ = r.pass(r.head, d)
		}
		h.queue = nil
		if !h.finished {
			break
		}
		if h.sinkErr != nil {
			r.out[r.head].Err = errors.Join(r.out[r.head].Err, h.sinkErr)
		}
		r.head++
	}
}

func (r *run) runOne(parent context.Context, i int, c Collector, prev json.RawMessage, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	type done struct {
		state json.RawMessage
		err   error
	}
	ch := make(chan done, 1) // buffered: an abandoned collector can still finish and exit
	start := time.Now()
	go func() {
		state, err := c.Collect(ctx, r.env, prev, func(d document.Document) error { return r.emit(i, d) })
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
	r.env.Log.Debug("collector finished", "collector", c.Name(), "took", took, "error", d.err)
}
