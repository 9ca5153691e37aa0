// Package runner is one afmc run from start to finish: take the state lock,
// run the collectors, print, spool, save the state, send, and report what
// happened so the command can choose its exit status.
package runner

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/atlas-af/afmc/collect"
	"github.com/atlas-af/afmc/format/prom"
	"github.com/atlas-af/afmc/output"
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
	Sender *output.Sender
	Spool  output.SpoolLimits
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
	// can fix (see output.SendStats); "" when nothing did.
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
	started := time.Now()
	log := cfg.Env.Log
	rep.Backlog, rep.Kinds = -1, map[string]int{}
	if cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Timeout)
		defer cancel()
	}
	p := &pipeline{ctx: ctx, log: log, rep: &rep, users: cfg.Users, post: cfg.Post != nil && !cfg.DryRun}
	if cfg.TextfileDir != "" && !cfg.DryRun {
		p.figures = &prom.Figures{}
		// Deferred first, so it runs last: the textfile says what the
		// run did, delivery included, whichever way it ends.
		defer func() { rep.TextfileErr = writeTextfile(cfg, &rep, p.figures, started) }()
	}
	switch cfg.Format {
	case FormatJSON:
		p.print = output.NDJSON(cfg.Stdout)
	case FormatTable:
		p.print = output.TableFor(cfg.Stdout, cfg.Env.Cluster, cfg.Users.LoginNode(cfg.Env.LoginNode))
	}

	store, sections := openState(ctx, cfg, &rep)
	if store != nil {
		defer func() {
			if err := store.Close(); err != nil {
				log.Warn("state", "error", err)
			}
		}()
	}
	// Every run but a dry one opens the spool, --post or not: opening
	// clears what a killed run left uncommitted, which this run's save
	// would otherwise make look committed. If it cannot, the state is not
	// saved.
	canSave := store != nil
	if store != nil {
		limits := output.SpoolLimits{}
		if cfg.Post != nil {
			limits = cfg.Post.Spool
		}
		spool, err := output.OpenSpool(store.Dir(), store.Generation(), limits, cfg.Env.Now(), log)
		if err != nil {
			rep.StateErr, canSave = err, false
			log.Error("state not saved: the spool cannot be opened; the next run collects this interval again", "error", err)
		} else {
			p.spool, p.gen = spool, store.NextGeneration()
			defer func() {
				if err := spool.Close(); err != nil {
					log.Error("spool", "error", err)
				}
			}()
		}
	} else if p.post && errors.Is(rep.StateErr, state.ErrLockTimeout) {
		// The run holding the lock may be sending for a while: leave this
		// run's documents in an inbox for it, or the next run.
		if p.inbox, p.inboxErr = output.NewInbox(cfg.StateDir, cfg.Env.Now()); p.inboxErr != nil {
			log.Error("cannot leave documents in the spool inbox; sending them without a copy", "error", p.inboxErr)
		}
	}
	spool := p.spool // p.spool becomes nil if it fails mid-run

	outcomes := collect.Run(ctx, cfg.Env, cfg.Collectors, sections, cfg.CollectorTimeout, cfg.SkipUnavailable, p.emit)
	for _, o := range outcomes {
		if o.Err != nil {
			rep.FailedCollector = append(rep.FailedCollector, o.Err)
			log.Error("collector failed", "error", o.Err)
		}
	}
	if cfg.SkipUnavailable {
		warnVanished(log, sections[runSection], outcomes)
	}
	rep.Collectors = collectorResults(outcomes)
	if cfg.SelfReport {
		p.flush() // every document is counted before the one that counts them
		_ = p.emit(selfReport(cfg, &rep, rep.Kinds, spool, p.usersErr, time.Since(started)))
	}
	p.finish()
	if cfg.DryRun {
		return rep
	}
	// Every collector is done: the documents of an answer that failed
	// (a condor_q that exited with an error) go no further.
	if n := p.answers.settleSpool(p.spool); n > 0 {
		log.Debug("documents of failed answers settled in the spool unsent", "documents", n)
	}
	if n, err := p.answers.dropFromInbox(p.inbox); err != nil {
		log.Error("cannot drop the documents of failed answers from the spool inbox; leaving the inbox out", "error", err)
		p.inbox.Abort()
		p.inbox, rep.Spooled = nil, 0
	} else {
		rep.Spooled -= n
	}
	p.held = p.answers.keepHeld(p.held)
	if p.spool != nil && p.post {
		// Write-ahead: the documents are on disk before the state that
		// produced them is saved and before their first send.
		if err := p.spool.Commit(); err != nil {
			p.spoolFailed(err)
		}
	}
	if p.broken != nil {
		canSave = false
		if rep.StateErr == nil {
			rep.StateErr = fmt.Errorf("spool: %w", p.broken)
		}
	}
	if p.usersErr != nil {
		// Events it dropped (finished jobs, login history) must be
		// collected again by the next run: the state does not move past
		// them. Its snapshots are still sent.
		canSave = false
	}

	saved := false
	committed := uint64(0)
	if store != nil {
		committed = store.Generation()
	}
	if canSave {
		for _, o := range outcomes {
			store.SetSection(o.Name, o.State)
		}
		store.SetSection(runSection, nextRunRecord(sections[runSection], outcomes, cfg.SkipUnavailable))
		if err := store.Save(cfg.Env.Now()); err != nil {
			rep.StateErr = err
			log.Error("state not saved: this run's NETWORK, disk I/O, login history and finished jobs are not sent, the next run collects them again", "error", err)
		} else {
			saved, committed = true, store.Generation()
		}
	}

	if !p.post {
		if spool != nil {
			rep.Backlog = spool.Len()
		}
		if errors.Is(rep.StateErr, state.ErrLockTimeout) {
			log.Warn("another run holds the state lock: network and disk I/O figures are left out this run", "error", rep.StateErr)
		}
		return rep
	}
	if p.inbox != nil {
		if _, err := p.inbox.Commit(); err != nil {
			log.Error("cannot leave documents in the spool inbox: lost", "error", err, "documents", rep.Spooled)
			rep.Lost += rep.Spooled
			rep.Spooled = 0
		} else {
			// One line: this heals by itself.
			log.Warn("another run holds the state lock: documents left in the spool inbox for it, or the next run",
				"documents", rep.Spooled, "dir", cfg.StateDir)
		}
	}
	if spool != nil {
		// Even when it failed mid-run, what it held before this run is
		// still there, and goes out first.
		deliverSpooled(ctx, cfg, spool, committed, &rep)
	}
	if len(p.held) > 0 {
		// Without a spool, deltas are valid only if the state they were
		// computed against was saved.
		valid := p.held[:0]
		for _, it := range p.held {
			if saved || !it.Delta {
				valid = append(valid, it)
			}
		}
		deliverUnspooled(ctx, cfg, valid, &rep)
	}
	return rep
}

// openState takes the lock and reads the state, or, for a dry run, only
// reads it. A state that cannot be had is the run's state error: the
// documents that need none still go out.
func openState(ctx context.Context, cfg Config, rep *Report) (*state.Store, map[string]json.RawMessage) {
	log := cfg.Env.Log
	if cfg.DryRun {
		// Read under a shared lock; nothing in the state dir changes.
		sections, _, err := state.Peek(ctx, cfg.StateDir, cfg.LockTimeout, log)
		if err != nil {
			rep.StateErr = err
			log.Error("dry run without state: interval figures are left out", "error", err)
		}
		return nil, sections
	}
	store, err := state.Open(ctx, cfg.StateDir, cfg.LockTimeout, log)
	if err != nil {
		rep.StateErr = err
		if !errors.Is(err, state.ErrLockTimeout) { // said once, at the end
			log.Error("running without state: network and disk I/O figures are left out this run", "error", err)
		}
		return nil, nil
	}
	return store, store.Sections()
}

// deliverSpooled sends what the spool holds, oldest first, read back from
// the file; Close (deferred by Run) rewrites it without what was settled.
func deliverSpooled(ctx context.Context, cfg Config, spool *output.Spool, committed uint64, rep *Report) {
	log := cfg.Env.Log
	rep.Dropped = spool.Dropped // at open, and for the bound once this run's documents were added
	stats := cfg.Post.Sender.SendSeq(ctx, spool.Items(committed), spool.Ack)
	rep.Delivered, rep.Rejected = rep.Delivered+stats.Delivered, rep.Rejected+stats.Rejected
	rep.ConfigError = cmp.Or(rep.ConfigError, stats.ConfigError)
	if err := spool.Err(); err != nil {
		log.Error("reading the spool back", "error", err)
	}
	waiting := spool.Waiting(committed) // a void delta of this run is not waiting for anything
	rep.Spooled += waiting
	rep.Backlog = waiting
	if rep.Spooled > 0 {
		// The one line cron mails when the endpoint is down: say why.
		log.Warn("documents kept in the spool for the next run", "documents", rep.Spooled, "dir", cfg.StateDir, "last_failure", cmp.Or(stats.ConfigError, stats.LastFailure))
	}
}

// deliverUnspooled sends without a spool: what is not delivered is lost,
// and counted so.
func deliverUnspooled(ctx context.Context, cfg Config, items []output.Item, rep *Report) {
	for i := range items {
		items[i].ID = uint64(i + 1)
	}
	stats := cfg.Post.Sender.Send(ctx, items, nil)
	rep.ConfigError = cmp.Or(rep.ConfigError, stats.ConfigError)
	rep.Delivered += stats.Delivered
	rep.Rejected += stats.Rejected
	rep.Lost += stats.Pending
	if stats.Pending > 0 {
		cfg.Env.Log.Error("documents not delivered and not spooled: lost", "documents", stats.Pending)
	}
}
