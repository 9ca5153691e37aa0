package runner

import (
	"bytes"
	"cmp"
	"context"

	"github.com/atlas-af/afmc/document"
	"github.com/atlas-af/afmc/format"
	"github.com/atlas-af/afmc/send"
	"github.com/atlas-af/afmc/spool"
)

// destination is where the run's documents go once past the users step:
// stdout, the spool, the inbox of a run locked out, or, with neither,
// memory (sent without a copy). Nothing holds the whole run's documents
// but the table and that last resort.
type destination interface {
	// add takes one document and its encoding it.Doc (reused after the
	// call). An error means the destination gave up: the run goes on
	// without it.
	add(d document.Document, it send.Item) error
	// commit makes what was added durable, before the state is saved
	// (write-ahead) and before any of it is sent. Every collector is done
	// by then: the documents of an answer voided (a condor_q that exited
	// with an error) go no further.
	commit(r *run)
	// deliver sends what it holds, once the state's fate is known.
	deliver(ctx context.Context, r *run)
}

// stdout prints: NDJSON as documents come, or the table at commit. A
// document that cannot be printed may still be sent: printing errors are
// said once and reported, never returned.
type stdout struct {
	r     *run
	print format.Printer
	err   error
}

func (s *stdout) add(d document.Document, it send.Item) error {
	if s.err == nil {
		if s.err = s.print.Print(d, it.Doc); s.err != nil {
			s.r.log.Error("writing documents to stdout", "error", s.err)
		}
	}
	return nil
}

func (s *stdout) commit(r *run) {
	if err := s.print.Close(); err != nil && s.err == nil {
		s.err = err
		r.log.Error("writing documents to stdout", "error", err)
	}
	r.rep.PrintErr = s.err
}

func (*stdout) deliver(context.Context, *run) {}

// toSpool writes each document to the spool, under the generation this
// run's save writes, and sends from the spool once the state is saved:
// what the spool held before this run goes out first.
type toSpool struct {
	sp      *spool.Spool
	gen     uint64
	added   int     // added since the spool was opened
	failed  error   // the spool gave up mid-run
	answers answers // by spool id
	r       *run
}

func (s *toSpool) add(d document.Document, it send.Item) error {
	id, err := s.sp.Add(it, s.gen)
	if err != nil {
		s.fail(err)
		return err
	}
	s.answers.record(id, d.Answer)
	s.added++
	return nil
}

// settle settles in the spool, unsent, the documents of voided answers,
// before the spool's commit: a run killed after it repeats none of them.
func (s *toSpool) settle() {
	n := 0
	ids := make([]uint64, 0, 512)
	s.answers.voided(func(id uint64) {
		n++
		if ids = append(ids, id); len(ids) == cap(ids) {
			s.sp.Ack(ids, send.Rejected)
			ids = ids[:0]
		}
	})
	if n == 0 {
		return
	}
	s.sp.Ack(ids, send.Rejected)
	s.r.log.Debug("documents of failed answers settled in the spool unsent", "documents", n)
}

// fail gives up the spool: what this run added since its last commit is
// cut from it, so those documents are lost; the state is not saved, so
// that no interval or checkpoint moves past documents that will never be
// sent.
func (s *toSpool) fail(err error) {
	s.failed = err
	s.r.rep.Lost += s.added
	s.r.txn.block(err)
	s.r.log.Error("spool unusable: the state is not saved, so the next run collects this interval again; the rest of this run's documents are sent without a copy",
		"error", err, "lost", s.added)
	s.added = 0
}

func (s *toSpool) commit(r *run) {
	if s.failed == nil {
		s.settle()
		if err := s.sp.Commit(); err != nil {
			s.fail(err)
		}
	}
	if s.failed != nil && r.rep.StateErr == nil {
		r.rep.StateErr = spoolErr(s.failed)
	}
}

// deliver sends what the spool holds, oldest first, read back from the
// file: even when it failed mid-run, what it held before this run is
// still there. Close (at the run's end) rewrites it without what was
// settled.
func (s *toSpool) deliver(ctx context.Context, r *run) {
	committed := r.txn.committed()
	r.rep.Dropped = s.sp.Dropped // at open, and for the bound once this run's documents were added
	stats := r.cfg.Post.Sender.SendSeq(ctx, s.sp.Items(committed), s.sp.Ack)
	r.rep.Delivered, r.rep.Rejected = r.rep.Delivered+stats.Delivered, r.rep.Rejected+stats.Rejected
	r.rep.ConfigError = cmp.Or(r.rep.ConfigError, stats.ConfigError)
	if err := s.sp.Err(); err != nil {
		r.log.Error("reading the spool back", "error", err)
	}
	waiting := s.sp.Waiting(committed) // a void delta of this run is not waiting for anything
	r.rep.Spooled += waiting
	r.rep.Backlog = waiting
	if r.rep.Spooled > 0 {
		// The one line cron mails when the endpoint is down: say why.
		r.log.Warn("documents kept in the spool for the next run", "documents", r.rep.Spooled, "dir", r.cfg.StateDir, "last_failure", cmp.Or(stats.ConfigError, stats.LastFailure))
	}
}

// toInbox leaves the documents of a run locked out in an inbox file for
// the run holding the lock, or the next one. It takes no deltas: the run
// has no state to save.
type toInbox struct {
	in      *spool.Inbox
	answers answers // by line
	r       *run
}

func (b *toInbox) add(d document.Document, it send.Item) error {
	if !b.r.txn.canCount(it.Delta) {
		return nil
	}
	b.answers.record(uint64(b.in.Len()), d.Answer)
	if err := b.in.Add(it); err != nil {
		b.r.log.Error("cannot leave documents in the spool inbox; sending the rest without a copy", "error", err)
		b.in.Abort()
		b.in = nil
		b.r.rep.Lost += b.r.rep.Spooled
		b.r.rep.Spooled = 0
		return err
	}
	b.r.rep.Spooled++
	return nil
}

func (b *toInbox) commit(r *run) {
	if b.in == nil {
		return
	}
	if b.answers.anyVoided() {
		n, err := b.in.Drop(func(line int) bool { return b.answers.voidedAt(uint64(line)) })
		if err != nil {
			r.log.Error("cannot drop the documents of failed answers from the spool inbox; leaving the inbox out", "error", err, "lost", r.rep.Spooled)
			b.in.Abort()
			b.in = nil
			r.rep.Lost += r.rep.Spooled
			r.rep.Spooled = 0
			return
		}
		r.rep.Spooled -= n
	}
	if _, err := b.in.Commit(); err != nil {
		r.log.Error("cannot leave documents in the spool inbox: lost", "error", err, "documents", r.rep.Spooled)
		r.rep.Lost += r.rep.Spooled
		r.rep.Spooled = 0
		return
	}
	// One line: this heals by itself.
	r.log.Warn("another run holds the state lock: documents left in the spool inbox for it, or the next run",
		"documents", r.rep.Spooled, "dir", r.cfg.StateDir)
}

func (*toInbox) deliver(context.Context, *run) {}

// inMemory holds documents to send without a copy: what is not delivered
// is lost, and counted so. Deltas go only once their state is saved. It
// holds no more than the spool would (--spool-max-bytes): a pool's jobs
// without a state dir must not take the login node's memory.
type inMemory struct {
	limit   int64 // bytes of documents held at most; 0: no bound
	size    int64
	over    int // documents past the limit: lost
	held    []send.Item
	answers answers // by index in held
}

func newInMemory(r *run) *inMemory {
	m := &inMemory{}
	if r.cfg.Post != nil {
		m.limit = r.cfg.Post.Spool.MaxBytes
	}
	return m
}

func (m *inMemory) add(d document.Document, it send.Item) error {
	if m.limit > 0 && m.size+int64(len(it.Doc)) > m.limit {
		m.over++
		return nil
	}
	m.size += int64(len(it.Doc))
	m.answers.record(uint64(len(m.held)), d.Answer)
	it.Doc = bytes.Clone(it.Doc)
	m.held = append(m.held, it)
	return nil
}

// commit leaves out the documents of voided answers.
func (m *inMemory) commit(*run) {
	if !m.answers.anyVoided() {
		return
	}
	kept := m.held[:0]
	for i, it := range m.held {
		if !m.answers.voidedAt(uint64(i)) {
			kept = append(kept, it)
		}
	}
	clear(m.held[len(kept):])
	m.held = kept
	m.answers = answers{}
}

func (m *inMemory) deliver(ctx context.Context, r *run) {
	if m.over > 0 {
		r.rep.Lost += m.over
		r.log.Error("without a spool, documents past --spool-max-bytes are not held: lost",
			"documents", m.over, "spool_max_bytes", m.limit)
	}
	var items []send.Item
	for _, it := range m.held {
		if r.txn.counts(it.Delta) {
			it.ID = uint64(len(items) + 1)
			items = append(items, it)
		}
	}
	if len(items) == 0 {
		return
	}
	stats := r.cfg.Post.Sender.Send(ctx, items, nil)
	r.rep.ConfigError = cmp.Or(r.rep.ConfigError, stats.ConfigError)
	r.rep.Delivered += stats.Delivered
	r.rep.Rejected += stats.Rejected
	r.rep.Lost += stats.Pending
	if stats.Pending > 0 {
		r.log.Error("documents not delivered and not spooled: lost", "documents", stats.Pending)
	}
}
