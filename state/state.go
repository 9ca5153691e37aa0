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
	"io/fs"
	"log/slog"
	"time"

	"github.com/gofrs/flock"

	"github.com/atlas-af/afmc/internal/safedir"
	"github.com/atlas-af/afmc/internal/safefile"
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
	dir  *safedir.Dir
	lock *flock.Flock // LockName, flocked
	f    file
	next uint64 // the generation Save will write
	log  *slog.Logger
}

// DefaultStateDir is /var/lib/afmc for root, else $XDG_STATE_HOME/afmc or
// ~/.local/state/afmc (safedir.DefaultStateDir).
func DefaultStateDir(getenv func(string) string, uid int) (string, error) {
	return safedir.DefaultStateDir(getenv, uid)
}

// DefaultDir is DefaultStateDir with "" for no default, which Open and
// OpenDir refuse with ErrNoStateDir. Prefer DefaultStateDir.
func DefaultDir(getenv func(string) string, uid int) string {
	dir, _ := DefaultStateDir(getenv, uid)
	return dir
}

// Open checks the state dir (see OpenDir; it is created if missing), takes
// the lock in it, waiting at most lockTimeout, and reads the state file. A
// missing file is a first run; a corrupt one is logged, kept aside as
// state.json.corrupt and replaced by an empty state, and an unreadable one
// (a directory, a FIFO) is logged and left alone, so the run records fresh
// baselines instead of failing. A state dir, lock or state file that is not
// this user's alone, or is a symbolic link, is an error wrapping ErrUnsafe:
// nothing is read or written through it.
func Open(ctx context.Context, dir string, lockTimeout time.Duration, log *slog.Logger) (*Store, error) {
	d, err := safedir.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	lock, err := lockFile(ctx, d, false, true, lockTimeout)
	if err != nil {
		d.Close()
		return nil, err
	}
	s := &Store{dir: d, lock: lock, log: log}
	s.removeStaleTemps()
	now := uint64(time.Now().UnixNano())
	if s.f, err = s.load(now); err != nil {
		s.Close()
		return nil, err
	}
	// Generations grow with the clock as well as by one, so that a state
	// file lost and started again still comes after every earlier run.
	s.next = max(s.f.Generation+1, now)
	return s, nil
}

func (s *Store) path() string { return s.dir.Join(FileName) }

// load reads the state file. A fresh state (none, or a corrupt one) takes
// the generation now: whatever was spooled before counts as committed, since
// no baseline survives that a document of an interrupted run could repeat.
func (s *Store) load(now uint64) (file, error) {
	empty := file{Version: Version, Generation: now, Sections: map[string]json.RawMessage{}}
	b, err := s.dir.ReadFile(FileName, safefile.MaxState)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return empty, nil
	case errors.Is(err, ErrUnsafe):
		return file{}, err
	case errors.Is(err, safefile.ErrTooLarge):
		s.setAside(err)
		return empty, nil
	case err != nil:
		s.log.Warn("state file unreadable, starting from a fresh baseline", "path", s.path(), "error", err)
		return empty, nil
	}
	f, err := parse(b)
	if err != nil {
		s.setAside(err)
		return empty, nil
	}
	return f, nil
}

// parse decodes a state file of this version.
func parse(b []byte) (file, error) {
	var f file
	if err := json.Unmarshal(b, &f); err != nil {
		return file{}, fmt.Errorf("not valid JSON: %w", err)
	}
	if f.Version != Version {
		return file{}, fmt.Errorf("schema version %d, this afmc reads version %d", f.Version, Version)
	}
	if f.Sections == nil {
		f.Sections = map[string]json.RawMessage{}
	}
	return f, nil
}

// setAside keeps a corrupt file for a post-mortem and reports it.
func (s *Store) setAside(why error) {
	aside := FileName + ".corrupt"
	s.log.Warn("state file corrupt, kept aside; starting from a fresh baseline", "path", s.path(), "kept_as", s.dir.Join(aside), "error", why)
	if err := s.dir.Rename(FileName, aside); err != nil {
		s.log.Warn("could not keep the corrupt state file aside", "error", err)
	}
}

// removeStaleTemps deletes temp files of runs killed while saving. It runs
// under the lock, so no live run is writing one.
func (s *Store) removeStaleTemps() {
	old, _ := s.dir.Glob(".state-*.tmp")
	for _, name := range old {
		_ = s.dir.Remove(name)
	}
}

// Dir is the state dir's path, where the spool lives too.
func (s *Store) Dir() string { return s.dir.Path() }

// Handle is the checked, open state dir, for the spool to open its files
// through. It is closed by Close.
func (s *Store) Handle() *safedir.Dir { return s.dir }

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
	if err := s.dir.WriteFileAtomic(FileName, append(b, '\n'), ".state-*.tmp"); err != nil {
		return fmt.Errorf("saving state: %w", err)
	}
	s.f = f
	s.next = max(f.Generation+1, uint64(now.UnixNano()))
	return nil
}

// Close releases the lock and closes the dir.
func (s *Store) Close() error {
	if s.lock == nil {
		return nil
	}
	err := s.lock.Unlock()
	if err != nil {
		err = fmt.Errorf("releasing state lock %s: %w", s.dir.Join(LockName), err)
	}
	s.dir.Close()
	s.lock = nil
	return err
}

// The state dir's errors, as safedir returns them.
var (
	ErrUnsafe       = safedir.ErrUnsafe
	ErrNoStateDir   = safedir.ErrNoStateDir
	ErrServiceState = safedir.ErrServiceState
)
