package spool

import (
	"fmt"

	"github.com/atlas-af/afmc/send"
)

// boundSlack keeps a small bound from rewriting the spool every few
// documents.
const boundSlack = 1 << 20

// boundWhileWriting applies MaxBytes in the middle of a run: a collector
// flooding documents (a condor_q gone wrong) grew the spool to 1.7 GB
// before the bound applied at the end. Past twice the bound, what was
// added is committed, the oldest documents over the bound are dropped as
// at the end of a run (snapshots before events), and the file is
// rewritten without them: it stays within about twice the bound, and
// each byte is rewritten a bounded number of times. What is dropped is
// logged once, at the next Commit.
func (s *Spool) boundWhileWriting() error {
	if err := s.commitAppends(); err != nil {
		return err
	}
	if err := s.dropOver(&s.over); err != nil {
		s.log.Warn("spool: over its bound and could not drop the oldest documents; the next run tries again", "error", err)
		return nil
	}
	// The rewrite removes the acks file: the next settled id opens a new one.
	s.mu.Lock()
	if s.acks != nil {
		s.acks.Close()
		s.acks = nil
	}
	s.mu.Unlock()
	if err := s.compact(); err != nil {
		return s.fail(fmt.Errorf("spool: rewriting it to stay within its bound: %w", err))
	}
	return nil
}

// dropOver brings the spool under MaxBytes after appending: one pass sizes
// what is waiting, a second settles what goes, through the acks file, so
// that a kill before Close does not bring it back. What goes is counted
// in over.
func (s *Spool) dropOver(over *dropCount) error {
	var snap, event int64
	for rec := range s.records(nil) {
		if rec.Delta {
			event += int64(len(rec.Doc))
		} else {
			snap += int64(len(rec.Doc))
		}
	}
	s.mu.Lock()
	s.size = snap + event
	s.mu.Unlock()
	b := newBudget(snap, event, s.limits.MaxBytes)
	if b.none() {
		return s.readErr
	}
	ids := make([]uint64, 0, 512)
	for rec := range s.records(nil) {
		if !b.drop(rec) {
			continue
		}
		over.add(rec)
		if ids = append(ids, rec.ID); len(ids) == cap(ids) {
			s.Ack(ids, send.Rejected)
			ids = ids[:0]
		}
	}
	s.Ack(ids, send.Rejected)
	return s.readErr
}
