// Package runner is one afmc run from start to finish: take the state lock,
// run the collectors, print, spool, save the state, send, and report what
// happened so the command can choose its exit status.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/atlas-af/afmc/collect"
	"github.com/atlas-af/afmc/format"
	"github.com/atlas-af/afmc/format/prom"
	"github.com/atlas-af/afmc/send"
	"github.com/atlas-af/afmc/spool"
	"github.com/atlas-af/afmc/state"
	"github.com/atlas-af/afmc/users"
)

// Format is what goes to stdout.
type Format int

const (
	FormatNone  Format = iota // nothing: a cron job posting stays quiet
	FormatJSON                // NDJSON, one document a line
	FormatTable               // a table for a person
)

// Config is everything one run needs.
type Config struct {
	Env              *collect.Env
	Collectors       []collect.Collector
	SkipUnavailable  bool // --all: a collector whose source is missing is skipped
	StateDir         string
	LockTimeout      time.Duration
	CollectorTimeout time.Duration
	Timeout          time.Duration // the whole run, delivery included
	Stdout           io.Writer
	Format           Format
	Post             *PostConfig // nil: do not send
	Users            *users.Step // nil: user names pass as collected
	// DryRun collects and prints against the saved state, and saves,
	// spools and sends nothing.
	DryRun bool
	// TextfileDir, when set, is where the run writes the Prometheus
	// textfile (not on a dry run).
	TextfileDir string
	// SelfReport adds the run's document about itself, of kind afmc.
	SelfReport bool
	Version    string // afmc's, for the textfile and the self-report
}

// PostConfig is how documents are delivered.
type PostConfig struct {
	Sender *send.Sender
	Spool  spool.SpoolLimits
}

// Report is what happened in a run.
type Report struct {
	Collected       int
	FailedCollector []error // one per collector that failed, partly or wholly
	StateErr        error   // the state could not be locked, read or saved
	Delivered       int
	Rejected        int // refused for good by the endpoint
	Spooled         int // left in the spool for the next run
	Dropped         int // dropped from the spool for its limits
	Lost            int // neither delivered nor spooled (the spool was unusable)
	PrintErr        error

	Collectors  []CollectorResult // one per collector, run or skipped, in registry order
	Kinds       map[string]int    // documents collected (past the users step), by kind
	Backlog     int               // documents waiting in the spool after the run; -1: unknown (no spool)
	TextfileErr error             // the Prometheus textfile could not be written
	// ConfigError is why sending stopped for something only a person
	// can fix (see send.SendStats); "" when nothing did.
	ConfigError string
}

// Undelivered tells whether anything collected or spooled did not reach
// the endpoint this run.
func (r Report) Undelivered() bool {
	return r.Rejected+r.Spooled+r.Dropped+r.Lost > 0
}

// Run does one run. It never stops early for a failing collector or an
// unusable state: whatever could be collected is printed and sent.
// Documents flow from the collectors to stdout and the spool as they are
// made, and are sent from the spool: memory does not grow with their
// number.
func Run(ctx context.Context, cfg Config) (rep Report) {
	r := &run{cfg: cfg, log: cfg.Env.Log, rep: &rep, started: time.Now()}
	rep.Backlog, rep.Kinds = -1, map[string]int{}
	if cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Timeout)
		defer cancel()
	}
	if cfg.TextfileDir != "" && !cfg.DryRun {
		r.figures = &prom.Figures{}
		// Deferred first, so it runs last: the textfile says what the
		// run did, delivery included, whichever way it ends.
		defer func() { rep.TextfileErr = writeTextfile(cfg, &rep, r.figures, r.started) }()
	}

	r.txn = begin(ctx, cfg, &rep)
	defer r.txn.close()
	r.open(ctx)
	defer r.closeSpool()
	outcomes := r.collect(ctx)
	if cfg.DryRun {
		return rep
	}
	r.commit()
	r.txn.save(cfg, outcomes, &rep)
	r.deliver(ctx)
	return rep
}

// run is one run's parts: its transaction, the spool it opened, and the
// pipeline of documents to the destinations.
type run struct {
	cfg     Config
	log     *slog.Logger
	rep     *Report
	started time.Time
	figures *prom.Figures // nil: no textfile
	txn     *txn
	sp      *spool.Spool // the spool opened: nil without a state, or if it cannot be opened
	p       *pipeline
}

// post tells whether documents are sent this run.
func (r *run) post() bool { return r.cfg.Post != nil && !r.cfg.DryRun }

// open opens the spool and chooses the destinations. Every run but a dry
// one opens the spool, --post or not: opening clears what a killed run
// left uncommitted, which this run's save would otherwise make look
// committed. If it cannot, the state is not saved.
func (r *run) open(ctx context.Context) {
	cfg, t := r.cfg, r.txn
	r.p = &pipeline{ctx: ctx, log: r.log, rep: r.rep, users: cfg.Users, figures: r.figures, newMemory: func() *inMemory { return newInMemory(r) }}
	switch cfg.Format {
	case FormatJSON:
		r.p.dests = append(r.p.dests, &stdout{r: r, print: format.NDJSON(cfg.Stdout)})
	case FormatTable:
		names := make([]string, len(cfg.Collectors))
		for i, c := range cfg.Collectors {
			names[i] = c.Name()
		}
		r.p.dests = append(r.p.dests, &stdout{r: r, print: format.TableFor(cfg.Stdout, cfg.Env.Cluster, cfg.Users.LoginNode(cfg.Env.LoginNode), names)})
	}
	if t.store != nil {
		limits := spool.SpoolLimits{}
		if cfg.Post != nil {
			limits = cfg.Post.Spool
		}
		sp, err := spool.OpenSpool(t.store.Handle(), t.store.Generation(), limits, cfg.Env.Now(), r.log)
		if err != nil {
			r.rep.StateErr = err
			t.block(err)
			r.log.Error("state not saved: the spool cannot be opened; the next run collects this interval again", "error", err)
		} else {
			// A file set aside needs a person (someone planted or holds
			// it), but the run goes on with a spool of its own.
			r.rep.StateErr = sp.SetAside
			r.sp = sp
		}
	}
	if r.post() {
		r.p.dests = append(r.p.dests, r.sendFrom())
	}
	r.p.all = append(r.p.all, r.p.dests...)
}

// sendFrom is where documents are sent from: the spool, the inbox of a
// run locked out, or memory.
func (r *run) sendFrom() destination {
	switch {
	case r.sp != nil:
		return &toSpool{sp: r.sp, gen: r.txn.gen(), r: r}
	case r.txn.store == nil && errors.Is(r.rep.StateErr, state.ErrLockTimeout):
		// The run holding the lock may be sending for a while: leave this
		// run's documents in an inbox for it, or the next run.
		in, err := spool.NewInbox(r.cfg.StateDir, r.cfg.Env.Now())
		if err == nil {
			return &toInbox{in: in, r: r}
		}
		r.log.Error("cannot leave documents in the spool inbox; sending them without a copy", "error", err)
	}
	return newInMemory(r)
}

// collect runs the collectors into the pipeline.
func (r *run) collect(ctx context.Context) []collect.Outcome {
	cfg := r.cfg
	outcomes := collect.Run(ctx, cfg.Env, cfg.Collectors, r.txn.sections, cfg.CollectorTimeout, cfg.SkipUnavailable, r.p.emit)
	for _, o := range outcomes {
		if o.Err != nil {
			r.rep.FailedCollector = append(r.rep.FailedCollector, o.Err)
			r.log.Error("collector failed", "error", o.Err)
		}
	}
	if cfg.SkipUnavailable {
		warnVanished(r.log, r.txn.sections[runSection], outcomes)
	}
	r.rep.Collectors = collectorResults(outcomes)
	if cfg.SelfReport {
		r.p.flush() // every document is counted before the one that counts them
		_ = r.p.emit(selfReport(cfg, r.rep, r.rep.Kinds, r.sp, r.p.usersErr, time.Since(r.started)))
	}
	r.p.flush()
	if r.p.usersErr != nil {
		// Events it dropped (finished jobs, login history) must be
		// collected again by the next run: the state does not move past
		// them. Its snapshots are still sent.
		r.txn.block(r.p.usersErr)
	}
	if cfg.DryRun {
		// Printed, and nothing else: commit flushes stdout alone.
		for _, d := range r.p.all {
			if s, ok := d.(*stdout); ok {
				s.commit(r)
			}
		}
	}
	return outcomes
}

// commit makes every destination durable before the state is saved:
// stdout flushed, the spool fsynced (write-ahead), the inbox in place.
func (r *run) commit() {
	for _, d := range r.p.all {
		d.commit(r)
	}
}

// deliver sends what the destinations hold, once the state's fate is
// known.
func (r *run) deliver(ctx context.Context) {
	if !r.post() {
		if r.sp != nil {
			r.rep.Backlog = r.sp.Len()
		}
		if errors.Is(r.rep.StateErr, state.ErrLockTimeout) {
			r.log.Warn("another run holds the state lock: network and disk I/O figures are left out this run", "error", r.rep.StateErr)
		}
		return
	}
	for _, d := range r.p.all {
		d.deliver(ctx, r)
	}
}

// closeSpool rewrites the spool without what was settled.
func (r *run) closeSpool() {
	if r.sp == nil {
		return
	}
	if err := r.sp.Close(); err != nil {
		r.log.Error("spool", "error", err)
	}
}

func spoolErr(err error) error { return fmt.Errorf("spool: %w", err) }
