package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/atlas-af/afmc/collect"
	"github.com/atlas-af/afmc/state"
)

// txn is one run's transaction on the state: the sections it read, the
// generation its save writes, and whether it may save. It holds the rule
// that every event follows: a Delta document (NETWORK, DISKIO, finished
// jobs, login history) counts only once the state it was computed against
// is saved. A snapshot counts whatever becomes of the state.
//
// The rule is applied where each destination needs it (see counts and
// committed): a collector's deltas come only with the state section it
// returned (collect.Run); the spool writes them under the generation this
// save will have, which counts once saved (committed); an inbox takes
// none, having no state to save (counts); documents held in memory are
// sent, deltas only when saved (counts).
type txn struct {
	log      *slog.Logger
	store    *state.Store               // nil: no state (locked out, unusable, or a dry run)
	sections map[string]json.RawMessage // what the collectors start from
	blocked  error                      // why the state may not be saved
	saved    bool                       // Save succeeded
}

// begin takes the lock and reads the state, or, for a dry run, only reads
// it. A state that cannot be had is the run's state error: the documents
// that need none still go out.
func begin(ctx context.Context, cfg Config, rep *Report) *txn {
	t := &txn{log: cfg.Env.Log}
	if cfg.DryRun {
		// Read under a shared lock; nothing in the state dir changes.
		sections, _, err := state.Peek(ctx, cfg.StateDir, cfg.LockTimeout, t.log)
		if err != nil {
			rep.StateErr = err
			t.log.Error("dry run without state: interval figures are left out", "error", err)
		}
		t.sections = sections
		return t
	}
	store, err := state.Open(ctx, cfg.StateDir, cfg.LockTimeout, t.log)
	if err != nil {
		rep.StateErr = err
		if !errors.Is(err, state.ErrLockTimeout) { // said once, at the end
			t.log.Error("running without state: network and disk I/O figures are left out this run", "error", err)
		}
		return t
	}
	t.store, t.sections = store, store.Sections()
	return t
}

// gen is the generation this run's save writes: what its spooled deltas
// are written under.
func (t *txn) gen() uint64 { return t.store.NextGeneration() }

// committed is the generation whose documents count: the saved one once
// Save succeeded, else the one before this run.
func (t *txn) committed() uint64 {
	if t.store == nil {
		return 0
	}
	return t.store.Generation()
}

// canCount tells whether a document can count in this run at all: an
// event needs a state to be saved (a run locked out has none: its events,
// computed against nothing, would repeat what the run holding the lock
// reports).
func (t *txn) canCount(delta bool) bool { return !delta || t.store != nil }

// counts tells, once the save was attempted, whether a document counts.
func (t *txn) counts(delta bool) bool { return !delta || t.saved }

// block keeps the state from being saved: no interval or checkpoint moves
// past documents that will not be sent.
func (t *txn) block(why error) {
	t.blocked = errors.Join(t.blocked, why)
}

// save stores each collector's next section, unless the run was blocked
// or has no state. A failed save is the run's state error.
func (t *txn) save(cfg Config, outcomes []collect.Outcome, rep *Report) {
	if t.store == nil || t.blocked != nil {
		return
	}
	for _, o := range outcomes {
		t.store.SetSection(o.Name, o.State)
	}
	t.store.SetSection(runSection, nextRunRecord(t.sections[runSection], outcomes, cfg.SkipUnavailable))
	if err := t.store.Save(cfg.Env.Now()); err != nil {
		rep.StateErr = err
		t.log.Error("state not saved: this run's NETWORK, disk I/O, login history and finished jobs are not sent, the next run collects them again", "error", err)
		return
	}
	t.saved = true
}

// close releases the lock.
func (t *txn) close() {
	if t.store == nil {
		return
	}
	if err := t.store.Close(); err != nil {
		t.log.Warn("state", "error", fmt.Errorf("closing: %w", err))
	}
}
