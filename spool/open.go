package spool

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Opening the spool: sizing it, applying the limits, rewriting it.

// scanned is what a pass over the spool found.
type scanned struct {
	keep, uncommitted, unreadable, old int
	snapBytes, eventBytes              int64
}

// verdict is what becomes of one line of the spool at open.
type verdict int

const (
	vKeep verdict = iota
	vSettled
	vUncommitted // torn, or a delta of a run that did not save its state
	vUnreadable
	vOld // past MaxAge
)

// judge classifies one line at open.
func (s *Spool) judge(line []byte, ended bool, committed uint64, cutoff int64) (record, verdict) {
	if !ended {
		// A torn last line: the append was killed before its fsync
		// returned, so the run never saved its state nor sent it.
		return record{}, vUncommitted
	}
	if line == nil {
		return record{}, vUnreadable
	}
	rec, ok := parseRecord(line, true)
	if !ok {
		return record{}, vUnreadable
	}
	s.maxID = max(s.maxID, rec.ID)
	switch {
	case rec.voidAt(committed):
		return rec, vUncommitted
	case s.settled.Has(rec.ID):
		return rec, vSettled
	case s.limits.MaxAge > 0 && rec.T < cutoff:
		return rec, vOld
	}
	return rec, vKeep
}

// load reads the spool at open: a first pass sizes it; a second, only if
// something must go, rewrites it with what is kept.
func (s *Spool) load(committed uint64) error {
	f, err := s.dir.OpenAlone(SpoolName, os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading spool: %w", err)
	}
	defer f.Close()
	s.onDisk = true
	cutoff := s.now.Add(-s.limits.MaxAge).UnixMilli()

	var sc scanned
	lr := newLineReader(f)
	for {
		line, _, ended, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading spool %s: %w", s.path(), err)
		}
		rec, v := s.judge(line, ended, committed, cutoff)
		switch v {
		case vKeep:
			sc.keep++
			if rec.Delta {
				sc.eventBytes += int64(len(rec.Doc))
			} else {
				sc.snapBytes += int64(len(rec.Doc))
			}
		case vUncommitted:
			sc.uncommitted++
		case vUnreadable:
			sc.unreadable++
		case vOld:
			sc.old++
		}
	}
	end, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("reading spool %s: %w", s.path(), err)
	}
	if sc.uncommitted > 0 {
		s.log.Info("spool: discarding the delta documents of a run stopped before it saved its state; this run collects their interval again", "documents", sc.uncommitted)
	}
	if sc.unreadable > 0 {
		s.Dropped += sc.unreadable
		s.log.Warn("spool: dropping unreadable records", "records", sc.unreadable, "path", s.path())
	}
	b := newBudget(sc.snapBytes, sc.eventBytes, s.limits.MaxBytes)
	if sc.uncommitted+sc.unreadable+sc.old == 0 && b.none() {
		s.committed, s.waiting, s.size = end, sc.keep, sc.snapBytes+sc.eventBytes
		return nil
	}
	// Rewrite at once: what a killed run left uncommitted must be gone
	// before this run commits a later generation (it would pass for
	// committed then), new records must not be appended to a torn line, and
	// a spool far over its bound must not be read whole again.
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("reading spool %s: %w", s.path(), err)
	}
	var aged, over dropCount
	lr = newLineReader(f)
	err = s.rewrite(func(w *bufio.Writer) (int, int64, error) {
		kept, size := 0, int64(0)
		for {
			line, _, ended, err := lr.next()
			if errors.Is(err, io.EOF) {
				return kept, size, nil
			}
			if err != nil {
				return 0, 0, fmt.Errorf("reading spool %s: %w", s.path(), err)
			}
			rec, v := s.judge(line, ended, committed, cutoff)
			switch {
			case v == vOld:
				aged.add(rec)
				continue
			case v != vKeep:
				continue
			case b.drop(rec):
				over.add(rec)
				continue
			}
			if _, err := w.Write(line); err != nil {
				return 0, 0, err
			}
			kept++
			size += int64(len(rec.Doc))
		}
	})
	if err != nil {
		return err
	}
	s.logDrops(aged, over)
	return nil
}

// budget says which documents go to bring the spool under MaxBytes:
// snapshots before events, each class oldest first. A later run collects
// a snapshot afresh; nothing can collect an event (a finished job, an
// interval) again.
type budget struct{ snap, event int64 } // bytes still to drop

func newBudget(snapBytes, eventBytes, maxBytes int64) budget {
	over := snapBytes + eventBytes - maxBytes
	if maxBytes <= 0 || over <= 0 {
		return budget{}
	}
	if over <= snapBytes {
		return budget{snap: over}
	}
	return budget{snap: snapBytes, event: over - snapBytes}
}

func (b budget) none() bool { return b.snap <= 0 && b.event <= 0 }

// drop tells whether rec goes; records must come oldest first.
func (b *budget) drop(rec record) bool {
	p := &b.snap
	if rec.Delta {
		p = &b.event
	}
	if *p <= 0 {
		return false
	}
	*p -= int64(len(rec.Doc))
	return true
}

// dropCount counts dropped documents by kind, for one log line.
type dropCount struct {
	n, snapshots, events int
	kinds                []kindCount // a few kinds: a list beats a map
}

type kindCount struct {
	kind string
	n    int
}

// maxKinds bounds the kinds named in a log line (a tampered spool could
// hold any number).
const maxKinds = 16

func (d *dropCount) add(rec record) {
	d.n++
	if rec.Delta {
		d.events++
	} else {
		d.snapshots++
	}
	kb := docKindBytes(rec.Doc)
	for i := range d.kinds {
		if d.kinds[i].kind == string(kb) { // no allocation for a kind seen before
			d.kinds[i].n++
			return
		}
	}
	k := string(kb)
	if len(d.kinds) >= maxKinds {
		k = "other"
	}
	for i := range d.kinds {
		if d.kinds[i].kind == k {
			d.kinds[i].n++
			return
		}
	}
	d.kinds = append(d.kinds, kindCount{k, 1})
}

// String is "CPU=3 condorjob=120", kinds sorted.
func (d dropCount) String() string {
	kinds := slices.Clone(d.kinds)
	slices.SortFunc(kinds, func(a, b kindCount) int { return strings.Compare(a.kind, b.kind) })
	var b strings.Builder
	for _, k := range kinds {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", k.kind, k.n)
	}
	return b.String()
}

func (s *Spool) logDrops(aged, over dropCount) {
	if aged.n > 0 {
		s.Dropped += aged.n
		s.log.Warn("spool: dropping documents older than --spool-max-age", "documents", aged.n, "kinds", aged.String(), "max_age", s.limits.MaxAge)
	}
	if over.n > 0 {
		s.Dropped += over.n
		s.log.Warn("spool: dropping the oldest documents to stay under --spool-max-bytes, snapshots before events",
			"documents", over.n, "snapshots", over.snapshots, "events", over.events, "kinds", over.String(), "max_bytes", s.limits.MaxBytes)
	}
}

// rewrite replaces the spool file with what fill writes, atomically, then
// removes the acks file: fill must leave out every settled record. With
// nothing kept the spool file goes.
func (s *Spool) rewrite(fill func(w *bufio.Writer) (kept int, size int64, err error)) (err error) {
	tmp, tmpName, err := s.dir.CreateTemp(".spool-*.tmp") // O_EXCL: never through a link
	if err != nil {
		return fmt.Errorf("rewriting spool: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			s.dir.Remove(tmpName)
		}
	}()
	w := bufio.NewWriterSize(tmp, 64<<10)
	kept, size, err := fill(w)
	if err != nil {
		return fmt.Errorf("rewriting spool: %w", err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("rewriting spool %s: %w", tmp.Name(), err)
	}
	end, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("rewriting spool %s: %w", tmp.Name(), err)
	}
	if kept == 0 {
		tmp.Close()
		s.dir.Remove(tmpName)
		if err := s.dir.Remove(SpoolName); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("spool: %w", err)
		}
		s.onDisk = false
	} else {
		if err := tmp.Sync(); err != nil {
			return fmt.Errorf("rewriting spool %s: fsync: %w", tmp.Name(), err)
		}
		if err := tmp.Close(); err != nil {
			return fmt.Errorf("rewriting spool %s: %w", tmp.Name(), err)
		}
		if err := s.dir.Rename(tmpName, SpoolName); err != nil {
			return fmt.Errorf("rewriting spool: %w", err)
		}
		s.onDisk = true
	}
	// Only now are the acks redundant: a kill before this point replays them.
	if err := s.dir.Remove(AcksName); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("spool: %w", err)
	}
	if err := s.dir.Sync(); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	s.mu.Lock()
	s.settled.Reset()
	s.committed, s.waiting, s.size = end, kept, size
	s.mu.Unlock()
	return nil
}
