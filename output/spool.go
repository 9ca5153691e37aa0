package output

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/atlas-af/afmc/state"
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

// record is one spooled document, a line of the spool file:
//
//	{"id":7,"gen":1764096000000000000,"t":1764096000123,"delta":true,"doc":{...}}
//
// Gen is the state generation of the run that collected it (see
// state.Store.Generation), T the collection time in epoch milliseconds.
// Delta marks a document computed against the state (a NETWORK interval):
// it is void if its run was stopped before saving that state.
type record struct {
	ID    uint64          `json:"id"`
	Gen   uint64          `json:"gen"`
	T     int64           `json:"t"`
	Delta bool            `json:"delta,omitempty"`
	Doc   json.RawMessage `json:"doc"`
	line  []byte          // the record as it stands in the file, newline included
}

// voidAt tells whether the record belongs to a run stopped before it
// saved its state (committed is the last saved generation) and depends on
// that state. Snapshots of such a run are still good and are sent.
func (r record) voidAt(committed uint64) bool { return r.Delta && r.Gen > committed }

// appendRecord writes r as a spool line. Documents are compact JSON objects
// made by encoding/json, which escapes newlines, so a line holds exactly one.
func appendRecord(dst []byte, r record) []byte {
	dst = append(dst, `{"id":`...)
	dst = strconv.AppendUint(dst, r.ID, 10)
	dst = append(dst, `,"gen":`...)
	dst = strconv.AppendUint(dst, r.Gen, 10)
	dst = append(dst, `,"t":`...)
	dst = strconv.AppendInt(dst, r.T, 10)
	if r.Delta {
		dst = append(dst, `,"delta":true`...)
	}
	dst = append(dst, `,"doc":`...)
	dst = append(dst, r.Doc...)
	return append(dst, "}\n"...)
}

// Spool keeps every document from collection until a 2xx confirmed it.
//
// It is write-ahead: documents are appended and fsynced before their first
// send; settled ids are appended to an acks file as each request settles (a
// plain write survives a kill of the process); the spool is rewritten
// atomically without them at the end of the run. A kill at any moment loses
// nothing, and repeats at most what was in flight. It must be used under
// the state lock.
type Spool struct {
	dir     string
	recs    []record
	settled map[uint64]bool
	maxID   uint64 // the largest id seen in the spool or its acks
	onDisk  bool   // the spool file exists, so appending needs no dir fsync
	acks    *os.File
	ackBuf  []byte
	limits  SpoolLimits
	now     time.Time
	log     *slog.Logger
	Dropped int // documents dropped for the limits or as unreadable, this run
}

// OpenSpool reads the spool in dir. Documents of a run that was stopped
// before it saved its state (Gen > committed) are discarded: that run's
// intervals are collected again. Then the limits are applied.
func OpenSpool(dir string, committed uint64, limits SpoolLimits, now time.Time, log *slog.Logger) (*Spool, error) {
	s := &Spool{dir: dir, settled: map[uint64]bool{}, limits: limits, now: now, log: log}
	// Temp files of a rewrite that was killed; we hold the lock, so no live
	// run is writing one.
	old, _ := filepath.Glob(filepath.Join(dir, ".spool-*.tmp"))
	for _, p := range old {
		_ = os.Remove(p)
	}
	// An inbox is written without the lock, by a run that may be writing
	// one right now: only temp files old enough to be a dead run's go.
	old, _ = filepath.Glob(filepath.Join(dir, ".inbox-*.tmp"))
	for _, p := range old {
		if fi, err := os.Stat(p); err == nil && now.Sub(fi.ModTime()) > staleInbox {
			_ = os.Remove(p)
		}
	}
	if err := s.readAcks(); err != nil {
		return nil, err
	}
	dirty, err := s.readRecords(committed)
	if err != nil {
		// A spool that cannot be read would stop every run from here on:
		// keep it aside for a person to look at, and go on without it.
		aside := s.path() + ".unreadable"
		if rerr := os.Rename(s.path(), aside); rerr != nil {
			return nil, fmt.Errorf("%w; and it cannot be moved aside (%v): remove or repair %s", err, rerr, s.path())
		}
		s.log.Error("spool unreadable: moved aside, its documents are not sent", "error", err, "kept_as", aside)
		s.recs, s.onDisk, dirty = nil, false, false
	}
	s.applyLimits()
	if dirty {
		// Rewrite at once what a killed run left: its uncommitted records
		// must be gone before this run commits a later generation (they
		// would pass for committed then), and new records must not be
		// appended to a torn line.
		if err := s.compact(); err != nil {
			return nil, err
		}
	}
	// After the rewrite: nothing may be appended to a torn line.
	if err := s.mergeInbox(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Spool) path() string     { return filepath.Join(s.dir, SpoolName) }
func (s *Spool) acksPath() string { return filepath.Join(s.dir, AcksName) }

func (s *Spool) readAcks() error {
	b, err := os.ReadFile(s.acksPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading spool acks: %w", err)
	}
	for line := range bytes.Lines(b) {
		// Only whole lines count: a kill mid-write can leave "1" of "12\n",
		// and taking it would drop document 1 unsent. A torn id is sent
		// again instead, and cut off, so that the next id appended does not
		// join it.
		if line[len(line)-1] != '\n' {
			if err := os.Truncate(s.acksPath(), int64(len(b)-len(line))); err != nil {
				return fmt.Errorf("spool acks: %w", err)
			}
			break
		}
		if id, err := strconv.ParseUint(string(line[:len(line)-1]), 10, 64); err == nil {
			s.settled[id] = true
			s.maxID = max(s.maxID, id)
		}
	}
	return nil
}

// readRecords loads the spool; dirty reports records that must not stay in
// the file (uncommitted, torn or unreadable ones).
func (s *Spool) readRecords(committed uint64) (dirty bool, err error) {
	f, err := os.Open(s.path())
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading spool %s: %w", s.path(), err)
	}
	defer f.Close()
	s.onDisk = true
	r := bufio.NewReaderSize(f, 64*1024)
	var uncommitted, unreadable int
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] != '\n' {
			// A torn last line: the append was killed before its fsync
			// returned, so the run never saved its state nor sent it.
			uncommitted++
			break
		}
		if len(line) > 0 {
			var rec record
			if jerr := json.Unmarshal(line, &rec); jerr != nil || rec.ID == 0 || len(rec.Doc) == 0 {
				unreadable++
			} else {
				s.maxID = max(s.maxID, rec.ID)
				rec.line = line
				switch {
				case rec.voidAt(committed):
					uncommitted++
				case !s.settled[rec.ID]:
					s.recs = append(s.recs, rec)
				}
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return false, fmt.Errorf("reading spool %s: %w", s.path(), err)
		}
	}
	if uncommitted > 0 {
		s.log.Info("spool: discarding the delta documents of a run stopped before it saved its state; this run collects their interval again", "documents", uncommitted)
	}
	if unreadable > 0 {
		s.Dropped += unreadable
		s.log.Warn("spool: dropping unreadable records", "records", unreadable, "path", s.path())
	}
	return uncommitted+unreadable > 0, nil
}

// applyLimits drops documents beyond the limits: every one older than
// MaxAge, then the oldest until the rest fit in MaxBytes.
func (s *Spool) applyLimits() {
	l := s.limits
	if l.MaxAge > 0 {
		cutoff := s.now.Add(-l.MaxAge).UnixMilli()
		kept, old := s.recs[:0], 0
		for _, r := range s.recs {
			if r.T < cutoff {
				old++
				continue
			}
			kept = append(kept, r)
		}
		s.recs = kept
		if old > 0 {
			s.Dropped += old
			s.log.Warn("spool: dropping documents older than --spool-max-age", "documents", old, "max_age", l.MaxAge)
		}
	}
	if l.MaxBytes > 0 {
		var size int64
		for _, r := range s.recs {
			size += int64(len(r.Doc))
		}
		n := 0
		for ; size > l.MaxBytes && n < len(s.recs); n++ {
			size -= int64(len(s.recs[n].Doc))
		}
		if n > 0 {
			s.Dropped += n
			s.log.Warn("spool: dropping the oldest documents to stay under --spool-max-bytes", "documents", n, "max_bytes", l.MaxBytes)
			// The dropped records go with the next rewrite; their ids stay used.
			s.recs = s.recs[n:]
		}
	}
}

// Append writes documents to the spool and fsyncs it before returning: only
// then may they be sent. gen is the generation the run's state save will
// have. Each item's Doc must be a compact JSON object.
func (s *Spool) Append(items []Item, gen uint64) ([]Item, error) {
	// Ids grow across runs even when the spool was emptied and its acks
	// removed: generations grow with the clock.
	next := max(s.maxID+1, gen)
	size := 0
	for _, it := range items {
		size += len(it.Doc) + 80
	}
	buf := make([]byte, 0, size)
	out := make([]Item, len(items))
	recs := make([]record, len(items))
	for i, it := range items {
		if len(it.Doc) < 2 || it.Doc[0] != '{' || it.Doc[len(it.Doc)-1] != '}' || bytes.IndexByte(it.Doc, '\n') >= 0 {
			return nil, fmt.Errorf("spooling a document: not a compact JSON object: %.60q", it.Doc)
		}
		start := len(buf)
		recs[i] = record{ID: next + uint64(i), Gen: gen, T: it.CollectedAt.UnixMilli(), Delta: it.Delta, Doc: it.Doc}
		buf = appendRecord(buf, recs[i])
		recs[i].line = buf[start:len(buf):len(buf)]
		out[i] = Item{ID: recs[i].ID, Doc: it.Doc, CollectedAt: it.CollectedAt, Delta: it.Delta}
	}
	f, err := os.OpenFile(s.path(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, fmt.Errorf("spool %s: %w", s.path(), err)
	}
	if _, err := f.Write(buf); err != nil {
		// A partial append (a full disk) must not leave records that a
		// later run would send while this one sends them unspooled.
		_ = f.Truncate(end)
		return nil, fmt.Errorf("spool %s: %w", s.path(), err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Truncate(end)
		return nil, fmt.Errorf("spool %s: fsync: %w", s.path(), err)
	}
	if !s.onDisk { // a new file: make its name durable too
		if err := state.SyncDir(s.dir); err != nil {
			return nil, fmt.Errorf("spool: %w", err)
		}
		s.onDisk = true
	}
	if len(items) > 0 {
		s.maxID = next + uint64(len(items)) - 1
	}
	s.recs = append(s.recs, recs...)
	// The bound holds with this run's documents too: the oldest go first.
	s.applyLimits()
	return out, nil
}

// Pending lists what is waiting to be sent, oldest first. committed is the
// last saved generation: a run whose state save failed must not send its
// own delta documents.
func (s *Spool) Pending(committed uint64) []Item {
	items := make([]Item, 0, len(s.recs))
	for _, r := range s.recs {
		if !s.settled[r.ID] && !r.voidAt(committed) {
			items = append(items, Item{ID: r.ID, Doc: r.Doc, CollectedAt: time.UnixMilli(r.T), Delta: r.Delta})
		}
	}
	return items
}

// Len is the number of documents still waiting.
func (s *Spool) Len() int {
	n := 0
	for _, r := range s.recs {
		if !s.settled[r.ID] {
			n++
		}
	}
	return n
}

// Ack settles documents once the sender knows their fate: delivered or
// rejected for good leaves the spool; pending stays. The ids are written to
// the acks file in one write, straight away, so that a kill right after
// repeats nothing.
func (s *Spool) Ack(ids []uint64, o Outcome) {
	if o == Pending || len(ids) == 0 {
		return
	}
	s.ackBuf = s.ackBuf[:0]
	for _, id := range ids {
		s.settled[id] = true
		s.ackBuf = append(strconv.AppendUint(s.ackBuf, id, 10), '\n')
	}
	if s.acks == nil {
		f, err := os.OpenFile(s.acksPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
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

// Close rewrites the spool without the settled documents, atomically, then
// removes the acks file. With nothing left the spool file goes too.
func (s *Spool) Close() error {
	if s.acks != nil {
		s.acks.Close()
		s.acks = nil
	}
	return s.compact()
}

// compact replaces the spool file with the records still waiting.
func (s *Spool) compact() error {
	var buf []byte
	for _, r := range s.recs {
		if !s.settled[r.ID] {
			buf = append(buf, r.line...)
		}
	}
	if len(buf) == 0 {
		if err := os.Remove(s.path()); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("spool: %w", err)
		}
		s.onDisk = false
	} else {
		if err := state.WriteFileAtomic(s.path(), buf, ".spool-*.tmp"); err != nil {
			return fmt.Errorf("rewriting spool: %w", err)
		}
		s.onDisk = true
	}
	// Only now are the acks redundant: a kill before this point replays them.
	if err := os.Remove(s.acksPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("spool: %w", err)
	}
	if err := state.SyncDir(s.dir); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}
