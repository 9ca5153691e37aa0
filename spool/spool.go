// Package spool is the write-ahead spool of the state dir (spool.ndjson and
// its acks) and the inbox a run locked out leaves its documents in: every
// document is on disk before its first send and leaves only once a 2xx
// confirmed it.
package spool

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/atlas-af/afmc/internal/idset"
	"github.com/atlas-af/afmc/internal/safedir"
	"github.com/atlas-af/afmc/send"
)

// staleInbox is the age after which an inbox temp file is a dead run's.
const staleInbox = time.Hour

// Spool file names in the state dir.
const (
	SpoolName = "spool.ndjson" // one record a line, oldest first
	AcksName  = "spool.acks"   // ids settled since the spool was last rewritten
)

// SpoolLimits bound the spool; what must go is counted and logged.
type SpoolLimits struct {
	MaxBytes int64         // size of the documents kept (the file adds ~60 bytes each); 0: no bound
	MaxAge   time.Duration // age of the oldest document kept; 0: no bound
}

// Spool keeps every document from collection until a 2xx confirmed it.
//
// It is write-ahead: documents are appended (Add) and fsynced (Commit)
// before their first send; settled ids are appended to an acks file as
// each request settles (a plain write survives a kill of the process); the
// spool is rewritten without them at the end of the run (Close). A kill at
// any moment loses nothing, and repeats at most what was in flight. It must
// be used under the state lock.
//
// Nothing is held in memory per document: the file is read back when
// documents are sent (Items) and when it is rewritten, and settled ids are
// kept as ranges. Memory stays flat however large the spool or the run.
type Spool struct {
	dir    *safedir.Dir // the state dir: every file is opened through it
	limits SpoolLimits
	now    time.Time
	log    *slog.Logger

	maxID     uint64 // the largest id seen in the spool or its acks, or handed out
	committed int64  // size of the file up to the last Commit: what may be read
	onDisk    bool   // the spool file exists, so appending needs no dir fsync

	// Appending: records written since the last Commit.
	app      *os.File
	appBuf   *bufio.Writer
	line     []byte
	added    int       // records added since the last Commit
	addBytes int64     // their documents' bytes
	appErr   error     // a failed append: the spool takes no more documents
	over     dropCount // dropped for MaxBytes while writing, logged at the next Commit

	mu      sync.Mutex // guards what Ack changes: Ack runs beside Items
	settled idset.Set  // ids settled since the spool was last rewritten
	waiting int        // committed records in the file not settled
	size    int64      // their documents' bytes (an upper bound once acks arrive)
	acks    *os.File
	ackBuf  []byte
	closed  bool
	readErr error // the last error reading the spool back
	Dropped int   // documents dropped for the limits or as unreadable, this run
	// SetAside holds the files set aside at open for failing the state
	// dir's checks: someone planted or holds them, a person must look.
	SetAside error
}

// OpenSpool opens the spool in the state dir d. Every file of it (the
// spool, its acks, the inbox files) is opened through d, with d's checks
// (a regular file of the user's own, not writable by others, one link),
// and none that another process holds open for writing: a file that fails
// them is set aside (renamed NAME.unsafe), named in the log and in
// SetAside, and never read into a request. Documents of a run that was stopped
// before it saved its state (Gen > committed) are discarded: that run's
// intervals are collected again. Then the limits are applied. A spool far
// over its bound is read twice, streaming: once to size it, once to copy
// what is kept.
func OpenSpool(d *safedir.Dir, committed uint64, limits SpoolLimits, now time.Time, log *slog.Logger) (*Spool, error) {
	s := &Spool{dir: d, limits: limits, now: now, log: log}
	// Temp files of a killed rewrite go: we hold the lock, so no live run
	// is writing one. An inbox is written without the lock, by a run that
	// may be writing one right now: only inbox temp files old enough to be
	// a dead run's go.
	temps, _ := d.Glob(".spool-*.tmp")
	for _, name := range temps {
		_ = d.Remove(name)
	}
	inboxTemps, _ := d.Glob(".inbox-*.tmp")
	for _, name := range inboxTemps {
		if fi, err := d.Lstat(name); err == nil && now.Sub(fi.ModTime()) > staleInbox {
			_ = d.Remove(name)
		}
	}
	if err := s.readAcks(); err != nil {
		return nil, err
	}
	if err := s.load(committed); err != nil {
		// A spool that cannot be read would stop every run from here on,
		// and one that fails the checks must never be sent: keep it aside
		// for a person to look at, and go on without it.
		if err := s.setAside(SpoolName, err); err != nil {
			return nil, err
		}
		s.onDisk, s.committed, s.waiting, s.size = false, 0, 0, 0
		s.settled.Reset()
	}
	// After any rewrite: nothing may be appended to a torn line.
	if err := s.mergeInbox(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Spool) path() string     { return s.dir.Join(SpoolName) }
func (s *Spool) acksPath() string { return s.dir.Join(AcksName) }

// setAside renames a file of the spool that cannot be read (NAME.unreadable)
// or fails the checks (NAME.unsafe) so that no run reads it again, and
// says so; an unsafe one is also kept in SetAside for the run's report.
// Renaming within the dir is safe whatever the entry is: a link is moved,
// never followed, and a hard-linked file keeps its other name untouched.
func (s *Spool) setAside(name string, why error) error {
	aside := name + ".unreadable"
	msg := "spool: a file is unreadable, moved aside; its documents are not sent"
	if errors.Is(why, safedir.ErrUnsafe) {
		aside = name + ".unsafe"
		msg = "spool: a file fails the state dir's checks, set aside and never read; its documents are not sent"
		s.SetAside = errors.Join(s.SetAside, fmt.Errorf("%w (set aside as %s)", why, s.dir.Join(aside)))
	}
	if err := s.dir.Rename(name, aside); err != nil {
		return fmt.Errorf("%w; and it cannot be moved aside (%v): remove or repair %s", why, err, s.dir.Join(name))
	}
	s.log.Error(msg, "path", s.dir.Join(name), "kept_as", s.dir.Join(aside), "error", why)
	return nil
}

func (s *Spool) readAcks() error {
	f, err := s.dir.OpenAlone(AcksName, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if errors.Is(err, safedir.ErrUnsafe) {
		// Its ids are lost: what they settled may be sent again, which is
		// better than trusting them.
		return s.setAside(AcksName, err)
	}
	if err != nil {
		return fmt.Errorf("reading spool acks: %w", err)
	}
	defer f.Close()
	lr := newLineReader(f)
	var off int64
	for {
		line, size, ended, err := lr.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading spool acks %s: %w", s.acksPath(), err)
		}
		// Only whole lines count: a kill mid-write can leave "1" of "12\n",
		// and taking it would drop document 1 unsent. A torn id is sent
		// again instead, and cut off, so that the next id appended does not
		// join it.
		if !ended {
			if err := f.Truncate(off); err != nil {
				return fmt.Errorf("spool acks %s: %w", s.acksPath(), err)
			}
			return nil
		}
		off += size
		if line == nil {
			continue
		}
		if id, err := strconv.ParseUint(string(line[:len(line)-1]), 10, 64); err == nil {
			s.settled.Add(id)
			s.maxID = max(s.maxID, id)
		}
	}
}

// Add appends one document to the spool, buffered: it may be sent only once
// Commit has returned. gen is the generation the run's state save will
// have. Each item's Doc must be a compact JSON object. A document refused
// for its shape leaves the spool as it was; a failed write leaves the spool
// as of the last Commit, and it takes no more documents.
func (s *Spool) Add(it send.Item, gen uint64) (uint64, error) {
	if s.appErr != nil {
		return 0, s.appErr
	}
	if s.closed {
		return 0, errors.New("spool: closed")
	}
	if err := checkDoc(it.Doc); err != nil {
		return 0, err
	}
	if s.app == nil {
		f, err := s.dir.OpenFile(SpoolName, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return 0, s.fail(fmt.Errorf("spool: %w", err))
		}
		s.app = f
		if s.appBuf == nil {
			s.appBuf = bufio.NewWriterSize(f, 64<<10)
		} else {
			s.appBuf.Reset(f)
		}
	}
	// Ids grow across runs even when the spool was emptied and its acks
	// removed: generations grow with the clock.
	id := max(s.maxID+1, gen)
	s.line = appendRecord(s.line[:0], record{ID: id, Gen: gen, T: it.CollectedAt.UnixMilli(), Delta: it.Delta, Doc: it.Doc})
	if _, err := s.appBuf.Write(s.line); err != nil {
		return 0, s.fail(fmt.Errorf("spool %s: %w", s.path(), err))
	}
	s.maxID = id
	s.added++
	s.addBytes += int64(len(it.Doc))
	if s.limits.MaxBytes > 0 && s.size+s.addBytes > 2*s.limits.MaxBytes+boundSlack {
		if err := s.boundWhileWriting(); err != nil {
			return 0, err
		}
	}
	return id, nil
}

// fail undoes the appends since the last Commit: records a later run would
// send while this one could not keep track of them must not stay.
func (s *Spool) fail(err error) error {
	if s.app != nil {
		_ = s.app.Truncate(s.committed)
		s.app.Close()
		s.app = nil
	}
	s.added, s.addBytes = 0, 0
	s.appErr = err
	return err
}

// Commit makes the documents added so far durable (fsync), so that they
// may be sent, then applies the limits with them: what must go is settled
// through the acks file.
func (s *Spool) Commit() error {
	if err := s.commitAppends(); err != nil {
		return err
	}
	// The bound holds with this run's documents too. The documents are
	// committed whatever becomes of it: a failure here is no reason to
	// give up the spool, and the next open applies the bound again.
	if s.limits.MaxBytes > 0 && s.size > s.limits.MaxBytes {
		if err := s.dropOver(&s.over); err != nil {
			s.log.Warn("spool: over its bound and could not drop the oldest documents; the next run tries again", "error", err)
		}
	}
	if s.over.n > 0 {
		s.logDrops(dropCount{}, s.over)
		s.over = dropCount{}
	}
	return nil
}

// commitAppends flushes and fsyncs what was added since the last commit.
func (s *Spool) commitAppends() error {
	if s.appErr != nil {
		return s.appErr
	}
	if s.app == nil {
		return nil
	}
	if err := s.appBuf.Flush(); err != nil {
		return s.fail(fmt.Errorf("spool %s: %w", s.path(), err))
	}
	if err := s.app.Sync(); err != nil {
		return s.fail(fmt.Errorf("spool %s: fsync: %w", s.path(), err))
	}
	end, err := s.app.Seek(0, io.SeekEnd)
	if err != nil {
		return s.fail(fmt.Errorf("spool %s: %w", s.path(), err))
	}
	if !s.onDisk { // a new file: make its name durable too
		if err := s.dir.Sync(); err != nil {
			return s.fail(fmt.Errorf("spool: %w", err))
		}
		s.onDisk = true
	}
	s.app.Close()
	s.app = nil
	s.mu.Lock()
	s.committed = end
	s.waiting += s.added
	s.size += s.addBytes
	s.mu.Unlock()
	s.added, s.addBytes = 0, 0
	return nil
}

// Append adds items and commits them; it returns them with their ids. It is
// Add and Commit for a caller that holds every document already.
func (s *Spool) Append(items []send.Item, gen uint64) ([]send.Item, error) {
	for _, it := range items {
		if err := checkDoc(it.Doc); err != nil {
			return nil, err
		}
	}
	out := make([]send.Item, len(items))
	for i, it := range items {
		id, err := s.Add(it, gen)
		if err != nil {
			return nil, err
		}
		out[i] = send.Item{ID: id, Doc: it.Doc, CollectedAt: it.CollectedAt, Delta: it.Delta}
	}
	if err := s.Commit(); err != nil {
		return nil, err
	}
	return out, nil
}

// records yields the committed records not settled, oldest first, read
// from the file, but those skip tells to leave out; a record's Doc is valid
// until the next one.
func (s *Spool) records(skip func(record) bool) iter.Seq[record] {
	return func(yield func(record) bool) {
		s.mu.Lock()
		end := s.committed
		s.mu.Unlock()
		if end == 0 {
			return
		}
		f, err := s.dir.OpenFile(SpoolName, os.O_RDONLY, 0)
		if err != nil {
			s.readFailed(err)
			return
		}
		defer f.Close()
		lr := newLineReader(io.LimitReader(f, end))
		for {
			line, _, _, err := lr.next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				s.readFailed(err)
				return
			}
			rec, ok := parseRecord(line, false)
			if !ok { // checked at open: only a change behind our back
				continue
			}
			s.mu.Lock()
			done := s.settled.Has(rec.ID)
			s.mu.Unlock()
			if done || (skip != nil && skip(rec)) {
				continue
			}
			if !yield(rec) {
				return
			}
		}
	}
}

func (s *Spool) readFailed(err error) {
	err = fmt.Errorf("reading spool %s back: %w", s.path(), err)
	s.log.Error("spool: documents left unsent this run", "error", err)
	s.mu.Lock()
	s.readErr = err
	s.mu.Unlock()
}

// Items yields what is waiting to be sent, oldest first, read from the
// file as it is consumed. committed is the last saved generation: a run
// whose state save failed must not send its own delta documents. An item's
// Doc is valid until the next item is yielded: keep a copy to hold it.
// A read error ends the sequence early; Err reports it.
func (s *Spool) Items(committed uint64) iter.Seq[send.Item] {
	return func(yield func(send.Item) bool) {
		for rec := range s.records(func(r record) bool { return r.voidAt(committed) }) {
			if !yield(send.Item{ID: rec.ID, Doc: rec.Doc, CollectedAt: time.UnixMilli(rec.T), Delta: rec.Delta}) {
				return
			}
		}
	}
}

// Err is the last error reading the spool back, if any.
func (s *Spool) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readErr
}

// Waiting counts what Items would yield, reading the file.
func (s *Spool) Waiting(committed uint64) int {
	n := 0
	for range s.Items(committed) {
		n++
	}
	return n
}

// Len is the number of documents still waiting, of every generation.
func (s *Spool) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waiting
}

// Ack settles documents once the sender knows their fate: delivered or
// rejected for good leaves the spool; pending stays. The ids are written to
// the acks file in one write, straight away, so that a kill right after
// repeats nothing.
func (s *Spool) Ack(ids []uint64, o send.Outcome) {
	if o == send.Pending || len(ids) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ackBuf = s.ackBuf[:0]
	for _, id := range ids {
		if s.settled.Add(id) {
			s.waiting--
		}
		s.ackBuf = append(strconv.AppendUint(s.ackBuf, id, 10), '\n')
	}
	if s.acks == nil {
		f, err := s.dir.OpenFile(AcksName, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			s.log.Warn("spool: cannot record delivered documents until the end of the run", "error", err)
			return
		}
		s.acks = f
	}
	if _, err := s.acks.Write(s.ackBuf); err != nil {
		s.log.Warn("spool: recording delivered documents", "error", err)
	}
}

// Close commits what was added, then rewrites the spool without the
// settled documents, streaming and atomically, and removes the acks file.
// With nothing left the spool file goes too.
func (s *Spool) Close() error {
	cerr := s.Commit()
	s.mu.Lock()
	if s.acks != nil {
		s.acks.Close()
		s.acks = nil
	}
	s.closed = true
	s.mu.Unlock()
	return errors.Join(cerr, s.compact())
}
