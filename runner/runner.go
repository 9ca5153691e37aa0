// Package runner is one afmc run from start to finish: take the state lock,
// run the collectors, print, spool, save the state, send, and report what
// happened so the command can choose its exit status.
package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/atlas-af/afmc/collect"
	"github.com/atlas-af/afmc/document"
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
}

// Undelivered tells whether anything collected or spooled did not reach
// the endpoint this run.
func (r Report) Undelivered() bool {
	return r.Rejected+r.Spooled+r.Dropped+r.Lost > 0
}

// Run does one run. It never stops early for a failing collector or an
// unusable state: whatever could be collected is printed and sent.
func Run(ctx context.Context, cfg Config) Report {
	log := cfg.Env.Log
	var rep Report
	if cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Timeout)
		defer cancel()
	}

	var store *state.Store
	var sections map[string]json.RawMessage
	var err error
	if cfg.DryRun {
		// Read under a shared lock; nothing in the state dir changes.
		if sections, _, err = state.Peek(ctx, cfg.StateDir, cfg.LockTimeout, log); err != nil {
			rep.StateErr = err
			log.Error("dry run without state: interval figures are left out", "error", err)
		}
	} else if store, err = state.Open(ctx, cfg.StateDir, cfg.LockTimeout, log); err != nil {
		rep.StateErr = err
		log.Error("running without state: network and disk I/O figures are left out this run", "error", err)
	} else {
		defer func() {
			if err := store.Close(); err != nil {
				log.Warn("state", "error", err)
			}
		}()
		sections = store.Sections()
	}

	var docs []document.Document
	outcomes := collect.Run(ctx, cfg.Env, cfg.Collectors, sections, cfg.CollectorTimeout, cfg.SkipUnavailable,
		func(d document.Document) error {
			docs = append(docs, d)
			return nil
		})
	for _, o := range outcomes {
		if o.Err != nil {
			rep.FailedCollector = append(rep.FailedCollector, o.Err)
			log.Error("collector failed", "error", o.Err)
		}
	}
	if cfg.Users != nil {
		var err error
		if docs, err = cfg.Users.Apply(ctx, docs); err != nil {
			rep.FailedCollector = append(rep.FailedCollector, fmt.Errorf("users step: %w", err))
			log.Error("documents naming users left out", "error", err)
		}
	}
	rep.Collected = len(docs)

	switch cfg.Format {
	case FormatJSON:
		rep.PrintErr = output.WriteNDJSON(cfg.Stdout, docs)
	case FormatTable:
		rep.PrintErr = output.WriteTable(cfg.Stdout, docs)
	}
	if rep.PrintErr != nil {
		log.Error("writing documents to stdout", "error", rep.PrintErr)
	}

	if cfg.DryRun {
		return rep
	}

	items, err := toItems(docs)
	if err != nil {
		// Cannot happen with the collectors' own value types; say so loudly.
		log.Error("encoding documents", "error", err)
	}

	if store == nil {
		if cfg.Post == nil {
			return rep
		}
		if errors.Is(rep.StateErr, state.ErrLockTimeout) {
			// The run holding the lock may be sending for a while: leave
			// these documents in the inbox for it, or the next run.
			_, err := output.WriteInbox(cfg.StateDir, items, cfg.Env.Now())
			if err == nil {
				rep.Spooled = len(items)
				log.Warn("documents left in the spool inbox for the run holding the lock, or the next one", "documents", len(items), "dir", cfg.StateDir)
				return rep
			}
			log.Error("cannot leave documents in the spool inbox; sending them without a copy", "error", err)
		}
		deliverUnspooled(ctx, cfg, items, &rep)
		return rep
	}

	// Every run opens the spool, --post or not: opening clears what a killed
	// run left uncommitted, which this run's save would otherwise make look
	// committed. If it cannot, the state is not saved.
	limits := output.SpoolLimits{}
	if cfg.Post != nil {
		limits = cfg.Post.Spool
	}
	spool, err := output.OpenSpool(store.Dir(), store.Generation(), limits, cfg.Env.Now(), log)
	canSave := err == nil
	if err != nil {
		rep.StateErr = err
		log.Error("state not saved: the spool cannot be opened; the next run collects this interval again", "error", err)
		spool = nil
	}
	if spool != nil && cfg.Post != nil {
		// Write-ahead: the documents are on disk before the state that
		// produced them is saved and before their first send.
		if _, err := spool.Append(items, store.NextGeneration()); err != nil {
			log.Error("spool unusable: sending this run's documents without keeping a copy", "error", err)
			spool = nil
		}
	}

	saved := false
	committed := store.Generation()
	if canSave {
		for _, o := range outcomes {
			store.SetSection(o.Name, o.State)
		}
		if err := store.Save(cfg.Env.Now()); err != nil {
			rep.StateErr = err
			log.Error("state not saved: this run's NETWORK and disk I/O figures are not sent, the next run collects their interval again", "error", err)
		} else {
			saved, committed = true, store.Generation()
		}
	}

	switch {
	case cfg.Post == nil:
	case spool != nil:
		deliverSpooled(ctx, cfg, spool, committed, &rep)
	default:
		// No spool: send what is valid without a copy. Deltas are valid
		// only if the state they were computed against was saved.
		var valid []output.Item
		for _, it := range items {
			if saved || !it.Delta {
				valid = append(valid, it)
			}
		}
		deliverUnspooled(ctx, cfg, valid, &rep)
	}
	return rep
}

func toItems(docs []document.Document) ([]output.Item, error) {
	items := make([]output.Item, 0, len(docs))
	var errs []error
	for _, d := range docs {
		b, err := json.Marshal(d)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s document: %w", d.Kind(), err))
			continue
		}
		items = append(items, output.Item{Doc: b, CollectedAt: d.Time, Delta: d.Delta})
	}
	return items, errors.Join(errs...)
}

// deliverSpooled sends what the spool holds, oldest first, and rewrites it
// without what was settled.
func deliverSpooled(ctx context.Context, cfg Config, spool *output.Spool, committed uint64, rep *Report) {
	log := cfg.Env.Log
	rep.Dropped = spool.Dropped
	stats := cfg.Post.Sender.Send(ctx, spool.Pending(committed), spool.Ack)
	rep.Delivered, rep.Rejected = stats.Delivered, stats.Rejected
	if err := spool.Close(); err != nil {
		log.Error("spool", "error", err)
	}
	rep.Spooled = len(spool.Pending(committed)) // a void delta of this run is not waiting for anything
	if rep.Spooled > 0 {
		// The one line cron mails when the endpoint is down: say why.
		log.Warn("documents kept in the spool for the next run", "documents", rep.Spooled, "dir", cfg.StateDir, "last_failure", stats.LastFailure)
	}
}

// deliverUnspooled sends without a spool: what is not delivered is lost,
// and counted so.
func deliverUnspooled(ctx context.Context, cfg Config, items []output.Item, rep *Report) {
	for i := range items {
		items[i].ID = uint64(i + 1)
	}
	stats := cfg.Post.Sender.Send(ctx, items, nil)
	rep.Delivered, rep.Rejected, rep.Lost = stats.Delivered, stats.Rejected, stats.Pending
	if rep.Lost > 0 {
		cfg.Env.Log.Error("documents not delivered and not spooled: lost", "documents", rep.Lost)
	}
}
