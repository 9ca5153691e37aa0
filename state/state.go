// Package state keeps what afmc must remember between runs: each collector's
// section (network counters, disk I/O counters, later checkpoints) in one
// versioned file, guarded by a lock held for the whole run and replaced
// atomically, so overlapping runs serialize and a crash never leaves half a
// file.
package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"
)

const (
	// FileName is the state file in the state dir.
	FileName = "state.json"
	// LockName is the lock file. It is not the state file itself: the state
	// file is replaced by rename, which would orphan a lock held on it.
	LockName = "afmc.lock"
	// Version is the schema written; files of another version are replaced.
	Version = 1
)

// ErrLockTimeout is returned when another run holds the lock for longer
// than the wait allowed.
var ErrLockTimeout = errors.New("another afmc run holds the state lock")

// file is the on-disk schema.
type file struct {
	Version    int                        `json:"version"`
	Generation uint64                     `json:"generation"`
	SavedAt    time.Time                  `json:"saved_at"`
	Sections   map[string]json.RawMessage `json:"sections"`
}

// Store is the open, locked state of one run.
type Store struct {
	dir  string
	lock *flock.Flock
	f    file
	next uint64 // the generation Save will write
	log  *slog.Logger
}

// DefaultDir is /var/lib/afmc for root, else $XDG_STATE_HOME/afmc or
// ~/.local/state/afmc.
func DefaultDir(getenv func(string) string, uid int) string {
	if uid == 0 {
		return "/var/lib/afmc"
	}
	if x := getenv("XDG_STATE_HOME"); x != "" {
		return filepath.Join(x, "afmc")
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".local", "state", "afmc")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("afmc-%d", uid))
}

// Open takes the lock in dir, waiting at most lockTimeout, and reads the
// state file. A missing file is a first run; a corrupt or unreadable one is
// logged, kept aside as state.json.corrupt and replaced by an empty state,
// so the run records fresh baselines instead of failing.
func Open(ctx context.Context, dir string, lockTimeout time.Duration, log *slog.Logger) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state dir %s: %w (set --state-dir or AFMC_STATE_DIR to a directory this user can write)", dir, err)
	}
	lock := flock.New(filepath.Join(dir, LockName), flock.SetFlag(os.O_CREATE|os.O_RDWR), flock.SetPermissions(0o600))
	lctx, cancel := context.WithTimeout(ctx, lockTimeout)
	defer cancel()
	ok, err := lock.TryLockContext(lctx, 5*time.Millisecond)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("state lock %s: %w", lock.Path(), err)
	}
	if !ok {
		if ctx.Err() != nil { // the run's own deadline, not the lock's
			return nil, fmt.Errorf("waiting for the state lock %s: %w", lock.Path(), ctx.Err())
		}
		return nil, fmt.Errorf("%w (%s) after waiting %s", ErrLockTimeout, lock.Path(), lockTimeout)
	}
	s := &Store{dir: dir, lock: lock, log: log}
	s.removeStaleTemps()
	now := uint64(time.Now().UnixNano())
	s.f = s.load(now)
	// Generations grow with the clock as well as by one, so that a state
	// file lost and started again still comes after every earlier run.
	s.next = max(s.f.Generation+1, now)
	return s, nil
}

func (s *Store) path() string { return filepath.Join(s.dir, FileName) }

// load reads the state file. A fresh state (none, or a corrupt one) takes
// the generation now: whatever was spooled before counts as committed, since
// no baseline survives that a document of an interrupted run could repeat.
func (s *Store) load(now uint64) file {
	empty := file{Version: Version, Generation: now, Sections: map[string]json.RawMessage{}}
	b, err := os.ReadFile(s.path())
	if errors.Is(err, os.ErrNotExist) {
		return empty
	}
	if err != nil {
		s.log.Warn("state file unreadable, starting from a fresh baseline", "path", s.path(), "error", err)
		return empty
	}
	var f file
	if err := json.Unmarshal(b, &f); err != nil {
		s.setAside(fmt.Errorf("not valid JSON: %w", err))
		return empty
	}
	if f.Version != Version {
		s.setAside(fmt.Errorf("schema version %d, this afmc reads version %d", f.Version, Version))
		return empty
	}
	if f.Sections == nil {
		f.Sections = map[string]json.RawMessage{}
	}
	return f
}

// setAside keeps a corrupt file for a post-mortem and reports it.
func (s *Store) setAside(why error) {
	aside := s.path() + ".corrupt"
	s.log.Warn("state file corrupt, kept aside; starting from a fresh baseline", "path", s.path(), "kept_as", aside, "error", why)
	if err := os.Rename(s.path(), aside); err != nil {
		s.log.Warn("could not keep the corrupt state file aside", "error", err)
	}
}

// removeStaleTemps deletes temp files of runs killed while saving. It runs
// under the lock, so no live run is writing one.
func (s *Store) removeStaleTemps() {
	old, _ := filepath.Glob(filepath.Join(s.dir, ".state-*.tmp"))
	for _, p := range old {
		_ = os.Remove(p)
	}
}

// Dir is the state dir, where the spool lives too.
func (s *Store) Dir() string { return s.dir }

// Generation is that of the last save: documents spooled with a greater one
// belong to a run that was stopped before it saved its state, whose
// intervals the next collection counts again, so they must not be sent.
func (s *Store) Generation() uint64 { return s.f.Generation }

// NextGeneration is the generation this run's Save writes, which the
// documents it spools carry.
func (s *Store) NextGeneration() uint64 { return s.next }

// Section returns a collector's section, nil when there is none.
func (s *Store) Section(name string) json.RawMessage { return s.f.Sections[name] }

// Sections returns every section, for handing to the collectors.
func (s *Store) Sections() map[string]json.RawMessage { return s.f.Sections }

// SetSection replaces a collector's section. nil leaves it as it was.
func (s *Store) SetSection(name string, raw json.RawMessage) {
	if raw != nil {
		s.f.Sections[name] = raw
	}
}

// Save writes the state atomically: a temp file in the same dir, fsync,
// rename over the old one, fsync the dir. A kill at any moment leaves either
// the old file or the new one, never a mix.
func (s *Store) Save(now time.Time) error {
	f := s.f
	f.Version = Version
	f.Generation = s.next
	f.SavedAt = now.UTC()
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("encoding state: %w", err)
	}
	if err := WriteFileAtomic(s.path(), append(b, '\n'), ".state-*.tmp"); err != nil {
		return fmt.Errorf("saving state: %w", err)
	}
	s.f = f
	s.next = max(f.Generation+1, uint64(now.UnixNano()))
	return nil
}

// Close releases the lock.
func (s *Store) Close() error {
	if err := s.lock.Unlock(); err != nil {
		return fmt.Errorf("releasing state lock: %w", err)
	}
	return s.lock.Close()
}

// WriteFileAtomic replaces path with data, mode 0600, through a temp file
// named by pattern in the same dir.
func WriteFileAtomic(path string, data []byte, pattern string) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(0o600); err != nil {
		return err
	}
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return SyncDir(dir)
}

// SyncDir makes a rename or a new file in dir durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}
