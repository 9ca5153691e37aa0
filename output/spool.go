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

// Spool file names in the state dir.
const (
	SpoolName = "spool.ndjson" // one record a line, oldest first
	AcksName  = "spool.acks"   // ids settled since the spool was last rewritten
)

// SpoolLimits bound the spool; what must go is counted and logged.
type SpoolLimits struct {
	MaxBytes int64         // total size of the documents kept; 0: no bound
	MaxAge   time.Duration // age of the oldest document kept; 0: no bound
}

// record is one spooled document. Gen is the state generation of the run
// that collected it (see state.Store.Generation).
type record struct {
	ID  uint64          `json:"id"`
	Gen uint64          `json:"gen"`
	T   int64           `json:"t"` // collection time, epoch ms
	Doc json.RawMessage `json:"doc"`
}

// Spool keeps every document from collection until a 2xx confirmed it.
//
// It is write-ahead: documents are appended and fsynced before their first
// send; settled ids are appended to an acks file as they come (a plain
// write survives a kill of the process); the spool is rewritten atomically
// without them at the end of the run. A kill at any moment loses nothing,
// and repeats at most what was in flight. It must be used under the state
// lock.
type Spool struct {
	dir     string
	recs    []record
	settled map[uint64]bool
	nextID  uint64
	acks    *os.File
	limits  SpoolLimits
	now     time.Time
	log     *slog.Logger
	Dropped int // documents dropped for the limits or as unreadable, this run
}

// OpenSpool reads the spool in dir. Documents of a run that was stopped
// before it saved its state (Gen > committed) are discarded: that run's
// intervals are collected again. Then the limits are applied.
func OpenSpool(dir string, committed uint64, limits SpoolLimits, now time.Time, log *slog.Logger) (*Spool, error) {
	s := &Spool{dir: dir, settled: map[uint64]bool{}, nextID: 1, limits: limits, now: now, log: log}
	// Temp files of a rewrite that was killed; we hold the lock, so no live
	// run is writing one.
	old, _ := filepath.Glob(filepath.Join(dir, ".spool-*.tmp"))
	for _, p := range old {
		_ = os.Remove(p)
	}
	if err := s.readAcks(); err != nil {
		return nil, err
	}
	dirty, err := s.readRecords(committed)
	if err != nil {
		return nil, err
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
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		// A torn last line (a kill mid-write) does not parse and is ignored:
		// that document is sent again, never lost.
		if id, err := strconv.ParseUint(string(line), 10, 64); err == nil {
			s.settled[id] = true
			s.nextID = max(s.nextID, id+1)
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
		return false, fmt.Errorf("reading spool: %w", err)
	}
	defer f.Close()
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
				s.nextID = max(s.nextID, rec.ID+1)
				switch {
				case rec.Gen > committed:
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
			return false, fmt.Errorf("reading spool: %w", err)
		}
	}
	if uncommitted > 0 {
		s.log.Info("spool: discarding documents of a run stopped before it saved its state; this run collects their interval again", "documents", uncommitted)
	}
	if unreadable > 0 {
		s.Dropped += unreadable
		s.log.Warn("spool: dropping unreadable records", "records", unreadable, "path", s.path())
	}
	return uncommitted+unreadable > 0, nil
}

// applyLimits drops the oldest documents beyond the limits. Documents
// already settled this run are not counted as dropped.
func (s *Spool) applyLimits() {
	l := s.limits
	drop := 0
	if l.MaxAge > 0 {
		cutoff := s.now.Add(-l.MaxAge).UnixMilli()
		for drop < len(s.recs) && s.recs[drop].T < cutoff {
			drop++
		}
		if drop > 0 {
			s.log.Warn("spool: dropping documents older than --spool-max-age", "documents", drop, "max_age", l.MaxAge)
		}
	}
	if l.MaxBytes > 0 {
		var size int64
		for _, r := range s.recs[drop:] {
			size += int64(len(r.Doc))
		}
		n := 0
		for ; size > l.MaxBytes && drop+n < len(s.recs); n++ {
			size -= int64(len(s.recs[drop+n].Doc))
		}
		if n > 0 {
			s.log.Warn("spool: dropping the oldest documents to stay under --spool-max-bytes", "documents", n, "max_bytes", l.MaxBytes)
		}
		drop += n
	}
	s.Dropped += drop
	// The dropped records go with the next rewrite; their ids stay used.
	s.recs = s.recs[drop:]
}

// Append writes documents to the spool and fsyncs it before returning: only
// then may they be sent. gen is the generation the run's state save will
// have.
func (s *Spool) Append(docs []Item, gen uint64) ([]Item, error) {
	var buf bytes.Buffer
	out := make([]Item, len(docs))
	recs := make([]record, len(docs))
	for i, d := range docs {
		recs[i] = record{ID: s.nextID + uint64(i), Gen: gen, T: d.CollectedAt.UnixMilli(), Doc: d.Doc}
		b, err := json.Marshal(recs[i])
		if err != nil {
			return nil, fmt.Errorf("spooling a document: %w", err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
		out[i] = Item{ID: recs[i].ID, Doc: d.Doc, CollectedAt: d.CollectedAt}
	}
	f, err := os.OpenFile(s.path(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	if _, err := f.Write(buf.Bytes()); err != nil {
		return nil, fmt.Errorf("spool %s: %w", s.path(), err)
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("spool %s: fsync: %w", s.path(), err)
	}
	if err := state.SyncDir(s.dir); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s.nextID += uint64(len(docs))
	s.recs = append(s.recs, recs...)
	// The bound holds with this run's documents too: the oldest go first.
	s.applyLimits()
	return out, nil
}

// Pending lists what is waiting to be sent, oldest first, up to generation
// maxGen: a run whose state save failed must not send its own documents.
func (s *Spool) Pending(maxGen uint64) []Item {
	items := make([]Item, 0, len(s.recs))
	for _, r := range s.recs {
		if !s.settled[r.ID] && r.Gen <= maxGen {
			items = append(items, Item{ID: r.ID, Doc: r.Doc, CollectedAt: time.UnixMilli(r.T)})
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

// Ack settles a document once the sender knows its fate: delivered or
// rejected for good leaves the spool; pending stays. The id is written
// straight to the acks file so that a kill right after repeats nothing.
func (s *Spool) Ack(id uint64, o Outcome) {
	if o == Pending {
		return
	}
	s.settled[id] = true
	if s.acks == nil {
		f, err := os.OpenFile(s.acksPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			s.log.Warn("spool: cannot record delivered documents until the end of the run", "error", err)
			return
		}
		s.acks = f
	}
	var b [24]byte
	if _, err := s.acks.Write(append(strconv.AppendUint(b[:0], id, 10), '\n')); err != nil {
		s.log.Warn("spool: recording a delivered document", "error", err)
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
	var buf bytes.Buffer
	for _, r := range s.recs {
		if s.settled[r.ID] {
			continue
		}
		b, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	if buf.Len() == 0 {
		if err := os.Remove(s.path()); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("spool: %w", err)
		}
	} else if err := state.WriteFileAtomic(s.path(), buf.Bytes(), ".spool-*.tmp"); err != nil {
		return fmt.Errorf("rewriting spool: %w", err)
	}
	// Only now are the acks redundant: a kill before this point replays them.
	if err := os.Remove(s.acksPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}
