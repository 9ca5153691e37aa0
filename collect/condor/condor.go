package condor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/atlas-af/afmc/collect"
	"github.com/atlas-af/afmc/document"
	"github.com/atlas-af/afmc/internal/extcmd"
)

// Condor reports HTCondor jobs: a condorjob document for each job in the
// queue, one with state "finished" for each job that left it since the
// previous run (from condor_history, with a checkpoint in the state), and
// a condorqueue summary for each --condor-queue.
type Condor struct {
	BinDir           string        `name:"bin-dir" placeholder:"DIR" help:"Directory holding condor_q, condor_history and condor_status (default: found in PATH); for sites that wrap them."`
	Global           bool          `help:"Query every schedd in the pool (listed by condor_status -schedd), each by name, not only the local one."`
	Parallel         int           `default:"8" help:"With --condor-global, how many schedds are asked at once."`
	ExcludeOwner     []string      `name:"exclude-owner" default:"atlas-coffea" placeholder:"USER" help:"Leave out the jobs and finished jobs of this owner, a service account (repeatable; default atlas-coffea, as the original did; the queue counts keep them). An empty value (--condor-exclude-owner=) keeps every owner's."`
	Queues           []string      `name:"queue" sep:"none" default:"all" placeholder:"NAME[=CONSTRAINT]" help:"A condorqueue summary: NAME, or NAME=CONSTRAINT with a ClassAd constraint (repeatable; split at the first =)."`
	HistorySince     time.Duration `name:"history-since" default:"10m" help:"How far back the first run looks for finished jobs; later runs continue from their checkpoint."`
	HistoryScanLimit int           `name:"history-scan-limit" default:"1000000" help:"The most history records one condor_history call reads (-scanlimit), a safety net: a run normally reads only those since its checkpoint."`
	Timeout          time.Duration `default:"25s" help:"Bound on the whole condor collection, every condor_q, condor_history and condor_status call together."`
}

func (Condor) Name() string { return "condor" }

// Available reports whether condor_q can be found.
func (c Condor) Available(*collect.Env) error {
	_, err := extcmd.Find(c.program("condor_q"))
	return err
}

// program is the path of a condor tool: in --condor-bin-dir, or a bare
// name looked up in PATH.
func (c Condor) program(name string) string {
	if c.BinDir == "" {
		return name
	}
	return filepath.Join(c.BinDir, name)
}

// condorQueue is one --condor-queue.
type condorQueue struct {
	name       string
	constraint string // "" for every job
}

// parseQueues splits each NAME[=CONSTRAINT] at its first "=": a
// constraint has "=" of its own (Queue == "short"), and colons and quotes.
func parseQueues(specs []string) ([]condorQueue, error) {
	if len(specs) == 0 {
		specs = []string{"all"}
	}
	seen := map[string]bool{}
	var out []condorQueue
	for _, s := range specs {
		name, constraint, _ := strings.Cut(s, "=")
		name, constraint = strings.TrimSpace(name), strings.TrimSpace(constraint)
		switch {
		case name == "":
			return nil, fmt.Errorf("--condor-queue %q: the queue needs a name (NAME or NAME=CONSTRAINT)", extcmd.Printable(s))
		case hasControl(s):
			return nil, fmt.Errorf("--condor-queue %q: control characters are not allowed", extcmd.Printable(s))
		case seen[name]:
			return nil, fmt.Errorf("--condor-queue %q: queue %q is given twice", extcmd.Printable(s), name)
		}
		seen[name] = true
		out = append(out, condorQueue{name, constraint})
	}
	return out, nil
}

// excludedOwners is the set of owners whose jobs get no documents. An
// empty value is no owner: `--condor-exclude-owner=` keeps everyone's.
// Owners are compared exactly, as =!= compares in a constraint.
func excludedOwners(owners []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, o := range owners {
		switch {
		case o == "":
		case hasControl(o) || strings.TrimSpace(o) != o:
			return nil, fmt.Errorf("--condor-exclude-owner %q: not a user name", extcmd.Printable(o))
		default:
			out[o] = true
		}
	}
	return out, nil
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

// and joins constraints, each in parentheses, skipping empty ones.
func and(cs ...string) string {
	var parts []string
	for _, c := range cs {
		if c != "" {
			parts = append(parts, "("+c+")")
		}
	}
	return strings.Join(parts, " && ")
}

// Collect asks the local schedd, or under --condor-global every schedd of
// the pool by name, a few at a time: the queue (one listing, which gives
// the documents and the counts of the queue without a constraint), the
// counts of the constrained queues, and the history since the schedd's
// checkpoint. A schedd that fails is an error naming it: the others are
// counted and their checkpoints move.
func (c Condor) Collect(ctx context.Context, env *collect.Env, prev json.RawMessage, emit collect.Emit) (json.RawMessage, error) {
	queues, _ := parseQueues(c.Queues) // checked by Validate
	exclude, _ := excludedOwners(c.ExcludeOwner)
	if c.Parallel == 0 {
		c.Parallel = 8
	}
	if c.HistoryScanLimit == 0 {
		c.HistoryScanLimit = 1000000
	}
	ctx, cancel := context.WithTimeoutCause(ctx, c.Timeout, fmt.Errorf("%w: --condor-timeout %s reached", collect.ErrTimeout, c.Timeout))
	defer cancel()
	r := &condorRun{c: c, env: env, emit: emit, ctx: ctx, queues: queues, exclude: exclude, now: env.Now()}
	hist := r.readHistoryState(prev)

	var schedds []*schedd
	if c.Global {
		names, err := r.scheddNames()
		if err != nil {
			return nil, err // nothing asked: nothing moves
		}
		for _, n := range names {
			schedds = append(schedds, &schedd{name: n})
		}
	} else {
		schedds = []*schedd{{}}
	}
	for _, s := range schedds {
		s.queues = make([]queueCounts, len(queues))
	}
	r.each(schedds, func(s *schedd) { r.collectSchedd(s, hist) })
	if err := r.emitError(); err != nil {
		return nil, err
	}

	var errs []error
	for _, s := range schedds {
		errs = append(errs, s.errs...)
	}
	for i, q := range queues {
		if err := r.emitQueue(i, q, schedds); err != nil {
			if r.emitError() != nil {
				return nil, r.emitError()
			}
			errs = append(errs, err)
		}
	}
	next, err := hist.next(schedds, c.Global)
	if err != nil {
		return nil, errors.Join(append(errs, err)...)
	}
	return next, errors.Join(errs...)
}

// condorRun is one collection: what every schedd's calls share.
type condorRun struct {
	c       Condor
	env     *collect.Env
	ctx     context.Context
	queues  []condorQueue
	exclude map[string]bool
	now     time.Time

	mu      sync.Mutex // serializes emit, which schedds share
	emit    collect.Emit
	emitErr error // set when emit failed: the run stops
}

// send emits d, remembering a failure so that the run stops.
func (r *condorRun) send(d document.Document) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.emitErr != nil {
		return r.emitErr
	}
	if err := r.emit(d); err != nil {
		r.emitErr = err
		return err
	}
	return nil
}

func (r *condorRun) emitError() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.emitErr
}

// each runs fn for every schedd, at most --condor-parallel at once. A
// schedd still waiting for its turn when --condor-timeout is reached is
// not asked, and that is its error.
func (r *condorRun) each(schedds []*schedd, fn func(*schedd)) {
	if len(schedds) == 1 {
		fn(schedds[0])
		return
	}
	slots := make(chan struct{}, r.c.Parallel)
	var wg sync.WaitGroup
	for _, s := range schedds {
		wg.Go(func() {
			select {
			case slots <- struct{}{}:
			case <-r.ctx.Done():
				s.fail(fmt.Errorf("%s not asked: %w", s, context.Cause(r.ctx)))
				return
			}
			defer func() { <-slots }()
			fn(s)
		})
	}
	wg.Wait()
}

// emitQueue emits the condorqueue summary of queue i, summed over the
// schedds that counted it. A schedd that did not is named in the error;
// with none, there is no document.
func (r *condorRun) emitQueue(i int, q condorQueue, schedds []*schedd) error {
	var sum queueCounts
	var missing []string
	var errs []error
	counted := 0
	for _, s := range schedds {
		qc := s.queues[i]
		if !qc.ok {
			missing = append(missing, s.String())
			continue
		}
		counted++
		sum.add(qc)
		if qc.err != nil {
			errs = append(errs, qc.err)
		}
	}
	if len(missing) > 0 && counted > 0 {
		errs = append(errs, fmt.Errorf("queue %s: %s not counted; the counts are of the others", q.name, strings.Join(missing, ", ")))
	}
	if counted == 0 {
		return errors.Join(errs...)
	}
	d := document.New("condorqueue", r.env.Cluster, r.now)
	d.Fields = append(d.Fields,
		document.Field{Key: "queue", Value: q.name},
		document.Field{Key: "idle", Value: sum.idle},
		document.Field{Key: "running", Value: sum.running},
		document.Field{Key: "held", Value: sum.held},
		document.Field{Key: "allocated_cores", Value: sum.cores},
		document.Field{Key: "allocated_mem", Value: sum.mem})
	if err := r.send(d); err != nil {
		return err
	}
	return errors.Join(errs...)
}
