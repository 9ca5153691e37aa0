package condor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
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
	BinDir       string        `name:"bin-dir" placeholder:"DIR" help:"Directory holding condor_q and condor_history (default: found in PATH); for sites that wrap them."`
	Global       bool          `help:"Query every schedd in the pool (condor_q -global), not only the local one."`
	ExcludeOwner []string      `name:"exclude-owner" placeholder:"USER" help:"Leave out the jobs and finished jobs of this owner, such as a service account (repeatable)."`
	Queues       []string      `name:"queue" sep:"none" default:"all" placeholder:"NAME[=CONSTRAINT]" help:"A condorqueue summary: NAME, or NAME=CONSTRAINT with a ClassAd constraint (repeatable; split at the first =)."`
	HistorySince time.Duration `name:"history-since" default:"10m" help:"How far back the first run looks for finished jobs; later runs continue from their checkpoint."`
	Timeout      time.Duration `default:"25s" help:"Bound on the whole condor collection, every condor_q and condor_history call together."`
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

// ownerConstraint leaves out the given owners. =!= compares exactly (==
// on strings ignores case); the name is a ClassAd string literal, with
// quotes and backslashes escaped.
func ownerConstraint(owners []string) (string, error) {
	var parts []string
	for _, o := range owners {
		if o == "" || hasControl(o) {
			return "", fmt.Errorf("--condor-exclude-owner %q: not a user name", extcmd.Printable(o))
		}
		parts = append(parts, "Owner =!= "+classAdString(o))
	}
	return strings.Join(parts, " && "), nil
}

func classAdString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
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

// jobAttributes are all the listing asks for: a full job ad is about 8 KB.
var jobAttributes = "Owner,ClusterId,ProcId,JobStatus,RemoteWallClockTime,ShadowBday,JobCurrentStartDate,ServerTime,CpusProvisioned,MemoryProvisioned"

// Collect runs condor_q, condor_history (and condor_status under
// --condor-global). Its settings were checked by Validate.
func (c Condor) Collect(ctx context.Context, env *collect.Env, prev json.RawMessage, emit collect.Emit) (json.RawMessage, error) {
	queues, err := parseQueues(c.Queues)
	if err != nil {
		return nil, err
	}
	exclude, err := ownerConstraint(c.ExcludeOwner)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeoutCause(ctx, c.Timeout, fmt.Errorf("%w: --condor-timeout %s reached", collect.ErrTimeout, c.Timeout))
	defer cancel()
	r := &condorRun{c: c, env: env, emit: emit, ctx: ctx, strs: map[string]string{}}

	var errs []error
	// The listing's own sums serve the queue that has no constraint, when
	// no owner is left out of the listing: one query of the pool fewer.
	sums, err := r.jobs(exclude)
	if err != nil {
		if r.emitErr != nil {
			return nil, r.emitErr
		}
		errs = append(errs, err)
		sums = nil
	}
	if exclude != "" {
		sums = nil
	}
	for _, q := range queues {
		if ctx.Err() != nil {
			break
		}
		if err := r.queue(q, sums); err != nil {
			if r.emitErr != nil {
				return nil, r.emitErr
			}
			errs = append(errs, err)
		}
	}
	var next json.RawMessage
	if ctx.Err() == nil {
		next, err = r.history(prev, exclude)
		if err != nil {
			if r.emitErr != nil {
				return nil, r.emitErr
			}
			errs = append(errs, err)
		}
	}
	if ctx.Err() != nil && len(errs) == 0 {
		errs = append(errs, context.Cause(ctx))
	}
	return next, errors.Join(errs...)
}

// condorRun is one collection: what every step shares.
type condorRun struct {
	c       Condor
	env     *collect.Env
	emit    collect.Emit
	ctx     context.Context
	strs    map[string]string // interned owners and types
	emitErr error             // set when emit failed: the run stops
}

// send emits d, remembering a failure so that the run stops.
func (r *condorRun) send(d document.Document) error {
	if err := r.emit(d); err != nil {
		r.emitErr = err
		return err
	}
	return nil
}

// scope is the condor_q arguments every query starts with.
func (r *condorRun) scope() []string {
	args := []string{"-allusers"}
	if r.c.Global {
		args = append([]string{"-global"}, args...)
	}
	return args
}

// query runs a condor tool and hands each ad of its -json output to fn.
// The exit status is checked as well as the output: a failed query may
// leave a valid-looking prefix.
func (r *condorRun) query(tool string, args []string, fn func(*condorAd) error) error {
	var stderr extcmd.Tail
	cmd := extcmd.Cmd{Path: r.c.program(tool), Args: args, Stderr: &stderr}
	var ad condorAd
	truncated, bad := false, 0
	err := extcmd.Stream(r.ctx, cmd, func(out io.Reader) error {
		s := newAdScanner(out)
		for {
			raw, err := s.next()
			switch {
			case err == io.EOF:
				return nil
			case errors.Is(err, errTruncated):
				truncated = true // judged with the exit status, below
				return nil
			case err != nil:
				return err
			}
			if err := parseAd(raw, &ad, r.strs); err != nil {
				bad++
				continue
			}
			if err := fn(&ad); err != nil {
				return err
			}
		}
	})
	switch {
	case r.emitErr != nil:
		return r.emitErr
	case err != nil:
		return r.explain(tool, err)
	case truncated:
		return fmt.Errorf("%s: %w (exit status 0)", tool, errTruncated)
	case bad > 0:
		return fmt.Errorf("%s: %d ads were not valid JSON and were left out", tool, bad)
	}
	// With -global, a schedd that does not answer is only a line on
	// stderr: the others' ads count, and its absence is an error.
	if m := failedFetch().FindStringSubmatch(stderr.String()); m != nil {
		return fmt.Errorf("%s: schedd %s (%s) did not answer; the other schedds were counted: %s", tool, extcmd.Printable(m[2]), extcmd.Printable(m[1]), stderr.String())
	}
	return nil
}

// failedFetch is condor_q -global's line for a schedd that did not answer;
// compiled when first needed.
var failedFetch = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`Failed to fetch ads from: (\S+) : (\S+)`)
})

// explain adds what a site administrator should look at to a failed
// condor call.
func (r *condorRun) explain(tool string, err error) error {
	if r.ctx.Err() != nil {
		return fmt.Errorf("%s killed: %w", tool, context.Cause(r.ctx))
	}
	var e *extcmd.Error
	if !errors.As(err, &e) {
		return fmt.Errorf("%s: %w", tool, err)
	}
	if strings.Contains(e.Stderr, "Couldn't contact the condor_collector") {
		return fmt.Errorf("%s: the HTCondor collector cannot be reached (is the pool up, is COLLECTOR_HOST right?): %w", tool, err)
	}
	if m := failedFetch().FindStringSubmatch(e.Stderr); m != nil {
		return fmt.Errorf("%s: schedd %s (%s) did not answer: %w", tool, m[2], m[1], err)
	}
	return err // it names the program, its arguments and its stderr
}

// jobs streams the job listing, one condorjob document per ad as it is
// read, and returns the cores and memory provisioned to running jobs.
func (r *condorRun) jobs(exclude string) (*allocation, error) {
	args := append(r.scope(), "-json", "-attributes", jobAttributes)
	if exclude != "" {
		args = append(args, "-constraint", exclude)
	}
	now := r.env.Now()
	sums := &allocation{}
	err := r.query("condor_q", args, func(a *condorAd) error {
		if !a.hasCluster || !a.hasProc {
			return nil // not a job ad
		}
		if a.status == 2 {
			sums.add(a)
		}
		d := document.New("condorjob", r.env.Cluster, now)
		d.Fields = append(d.Fields,
			document.Field{Key: "users", Value: document.User(a.owner)},
			document.Field{Key: "state", Value: jobState(a.status)},
			document.Field{Key: "Id", Value: jobID(a)},
			document.Field{Key: "Runtime", Value: jobRuntime(a, now.Unix())})
		return r.send(d)
	})
	return sums, err
}

// allocation sums what running jobs were given.
type allocation struct{ cores, mem int64 }

func (s *allocation) add(a *condorAd) {
	s.cores += max(a.cpus, 0)
	s.mem += max(a.memory, 0)
}

// queue emits one condorqueue summary. The counts come from condor_q
// -totals, summed over schedds (-global gives one summary each). The
// allocation needs the running jobs' CpusProvisioned and
// MemoryProvisioned, which stay in a job's ad after it stops running: a
// constraint cannot be evaluated here, so condor_q selects the running
// jobs of the queue and prints only those two attributes.
func (r *condorRun) queue(q condorQueue, listed *allocation) error {
	args := append(r.scope(), "-totals", "-json")
	if q.constraint != "" {
		args = append(args, "-constraint", q.constraint)
	}
	var idle, running, held int64
	var failed []string
	err := r.query("condor_q", args, func(a *condorAd) error {
		if !strings.EqualFold(a.myType, "Summary") {
			return nil
		}
		if a.errorCode != 0 {
			failed = append(failed, fmt.Sprint(a.errorCode))
		}
		idle += a.idle
		running += a.running
		held += a.held
		return nil
	})
	if err != nil {
		return fmt.Errorf("queue %s: %w", q.name, err)
	}
	var errs []error
	if len(failed) > 0 {
		errs = append(errs, fmt.Errorf("queue %s: condor_q -totals: summaries with ErrorCode %s: counts may be short", q.name, strings.Join(failed, ", ")))
	}
	alloc := listed
	if q.constraint != "" || alloc == nil {
		alloc = &allocation{}
		args := append(r.scope(), "-json", "-attributes", "CpusProvisioned,MemoryProvisioned", "-constraint", and("JobStatus == 2", q.constraint))
		if err := r.query("condor_q", args, func(a *condorAd) error { alloc.add(a); return nil }); err != nil {
			return errors.Join(append(errs, fmt.Errorf("queue %s: allocated cores and memory: %w", q.name, err))...)
		}
	}
	d := document.New("condorqueue", r.env.Cluster, r.env.Now())
	d.Fields = append(d.Fields,
		document.Field{Key: "queue", Value: q.name},
		document.Field{Key: "idle", Value: idle},
		document.Field{Key: "running", Value: running},
		document.Field{Key: "held", Value: held},
		document.Field{Key: "allocated_cores", Value: alloc.cores},
		document.Field{Key: "allocated_mem", Value: alloc.mem})
	if err := r.send(d); err != nil {
		return err
	}
	return errors.Join(errs...)
}
