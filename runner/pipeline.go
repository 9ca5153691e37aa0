package runner

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/atlas-af/afmc/document"
	"github.com/atlas-af/afmc/format/prom"
	"github.com/atlas-af/afmc/send"
	"github.com/atlas-af/afmc/users"
)

// usersBatch is how many documents wait for the users step at most: its
// group lookups are made for a batch at once (a pool of 200,000 jobs asks
// the name service about a dozen times), and memory stays bounded (a few
// MiB).
const usersBatch = 16384

// pipeline takes each document from the collectors through the users
// step to the run's destinations.
type pipeline struct {
	ctx   context.Context
	log   *slog.Logger
	rep   *Report
	users *users.Step
	batch []document.Document

	dests    []destination // where each document goes: stdout first, then where it is sent from
	all      []destination // every destination used, in order: for commit and delivery
	usersErr error         // the users step dropped documents: the state must not be saved
	buf      []byte        // the document being passed, encoded

	figures   *prom.Figures    // nil: no textfile
	newMemory func() *inMemory // where documents go when a destination fails
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

// pass encodes d once and hands it to every destination. One that gives
// up is replaced by memory: its documents are then sent without a copy.
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
	it := send.Item{Doc: b, CollectedAt: d.Time, Delta: d.Delta}
	for i, dst := range p.dests {
		if err := dst.add(d, it); err != nil {
			mem := p.newMemory()
			p.dests[i] = mem
			p.all = append(p.all, mem)
			_ = mem.add(d, it)
		}
	}
}
