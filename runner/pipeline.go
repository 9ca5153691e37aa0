package runner

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"

	"github.com/atlas-af/afmc/document"
	"github.com/atlas-af/afmc/format/prom"
	"github.com/atlas-af/afmc/output"
	"github.com/atlas-af/afmc/users"
)

// usersBatch is how many documents wait for the users step at most: its
// group lookups are made for a batch at once (a pool of 200,000 jobs asks
// the name service about a dozen times), and memory stays bounded (a few
// MiB).
const usersBatch = 16384

// pipeline takes each document from the collectors through the users
// step to stdout and to where it will be sent from: the spool, the inbox
// of a run locked out, or, with neither, memory (sent without a copy).
// Nothing holds the whole run's documents but that last resort.
type pipeline struct {
	ctx   context.Context
	log   *slog.Logger
	rep   *Report
	users *users.Step
	batch []document.Document

	print    output.Printer // nil: nothing printed
	printErr error

	post     bool
	spool    *output.Spool
	gen      uint64 // the generation this run's save writes
	spooled  int    // added to the spool since it was opened
	broken   error  // the spool failed mid-run: the state must not be saved
	inbox    *output.Inbox
	inboxErr error
	held     []output.Item // no spool, no inbox: sent without a copy
	answers  answers       // where the documents of answers went
	usersErr error         // the users step dropped documents: the state must not be saved
	buf      []byte        // the document being passed, encoded

	figures *prom.Figures // nil: no textfile
}

// emit is the collectors' sink. It never fails: a document that cannot be
// printed may still be sent, and the reverse.
func (p *pipeline) emit(d document.Document) error {
	if p.users == nil {
		p.pass(d)
		return nil
	}
	p.batch = append(p.batch, d)
	if len(p.batch) >= usersBatch || !p.users.Batched() {
		p.flush()
	}
	return nil
}

// flush passes the documents waiting for the users step.
func (p *pipeline) flush() {
	if len(p.batch) == 0 {
		return
	}
	docs, err := p.users.Apply(p.ctx, p.batch)
	if err != nil && p.usersErr == nil {
		// Said once: a name service that is down fails every batch.
		p.usersErr = err
		p.rep.FailedCollector = append(p.rep.FailedCollector, fmt.Errorf("users step: %w", err))
		p.log.Error("documents naming users left out; the state is not saved, so the next run reports their intervals and finished jobs again", "error", err)
	}
	for _, d := range docs {
		p.pass(d)
	}
	clear(p.batch)
	p.batch = p.batch[:0]
}

func (p *pipeline) pass(d document.Document) {
	if d.Answer.Voided() { // its answer failed before it got here
		return
	}
	b, err := d.AppendJSON(p.buf[:0])
	p.buf = b
	if err != nil {
		// Cannot happen with the collectors' own value types; say so loudly.
		p.log.Error("encoding a document", "kind", d.Kind(), "error", err)
		return
	}
	p.rep.Collected++
	p.rep.Kinds[d.Kind()]++
	if p.figures != nil {
		p.figures.Observe(d)
	}
	if p.print != nil && p.printErr == nil {
		if p.printErr = p.print.Print(d, b); p.printErr != nil {
			p.log.Error("writing documents to stdout", "error", p.printErr)
		}
	}
	if !p.post {
		return
	}
	it := output.Item{Doc: b, CollectedAt: d.Time, Delta: d.Delta}
	switch {
	case p.spool != nil:
		id, err := p.spool.Add(it, p.gen)
		if err != nil {
			p.spoolFailed(err)
			p.hold(it, d.Answer)
			return
		}
		p.answers.spooled(id, d.Answer)
		p.spooled++
	case p.inbox != nil && it.Delta:
		// A run locked out has no state: its deltas were computed against
		// nothing (a first run's lookback) and would repeat what the run
		// holding the lock reports.
		return
	case p.inbox != nil:
		p.answers.track(&p.answers.inbox, p.inbox.Len(), d.Answer)
		if err := p.inbox.Add(it); err != nil {
			p.inboxErr = err
			p.log.Error("cannot leave documents in the spool inbox; sending the rest without a copy", "error", err)
			p.inbox.Abort()
			p.inbox = nil
			p.rep.Lost += p.rep.Spooled
			p.rep.Spooled = 0
			p.hold(it, d.Answer)
			return
		}
		p.rep.Spooled++
	default:
		p.hold(it, d.Answer)
	}
}

// hold keeps a document to send without a copy.
func (p *pipeline) hold(it output.Item, a *document.Answer) {
	p.answers.track(&p.answers.held, len(p.held), a)
	it.Doc = bytes.Clone(it.Doc) // p.buf is reused for the next one
	p.held = append(p.held, it)
}

// spoolFailed gives up the spool: what this run added since its last
// commit is cut from it, so those documents are lost; the state is not
// saved, so that no interval or checkpoint moves past documents that will
// never be sent.
func (p *pipeline) spoolFailed(err error) {
	p.broken = err
	p.rep.Lost += p.spooled
	p.log.Error("spool unusable: the state is not saved, so the next run collects this interval again; the rest of this run's documents are sent without a copy",
		"error", err, "lost", p.spooled)
	p.spool, p.spooled = nil, 0
}

// finish flushes the users step and stdout.
func (p *pipeline) finish() {
	p.flush()
	if p.print != nil {
		if err := p.print.Close(); err != nil && p.printErr == nil {
			p.printErr = err
			p.log.Error("writing documents to stdout", "error", err)
		}
	}
	p.rep.PrintErr = p.printErr
}
