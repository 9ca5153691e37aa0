package state

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func open(t *testing.T, dir string, log *slog.Logger) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir, time.Second, log)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSaveAndReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "state")
	s := open(t, dir, quiet())
	if s.Section("network") != nil {
		t.Fatal("fresh state has a section")
	}
	first := s.NextGeneration()
	s.SetSection("network", json.RawMessage(`{"sent":1}`))
	s.SetSection("disk", nil) // nil keeps what was there: nothing
	if err := s.Save(time.Now()); err != nil {
		t.Fatal(err)
	}
	if s.Generation() != first || s.NextGeneration() <= first {
		t.Errorf("generations after save: %d, next %d (planned %d)", s.Generation(), s.NextGeneration(), first)
	}
	s.Close()

	fi, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v, want 0600", fi.Mode().Perm())
	}
	s = open(t, dir, quiet())
	defer s.Close()
	if got := string(s.Section("network")); got != `{"sent":1}` {
		t.Errorf("section after reopen: %s", got)
	}
	if _, ok := s.Sections()["disk"]; ok {
		t.Error("a nil section was saved")
	}
	if s.Generation() != first {
		t.Errorf("generation %d, want %d", s.Generation(), first)
	}
}

func TestLockTimeout(t *testing.T) {
	dir := t.TempDir()
	holder := open(t, dir, quiet())
	start := time.Now()
	_, err := Open(context.Background(), dir, 50*time.Millisecond, quiet())
	if !errors.Is(err, ErrLockTimeout) {
		t.Fatalf("second open: %v, want ErrLockTimeout", err)
	}
	if !strings.Contains(err.Error(), filepath.Join(dir, LockName)) {
		t.Errorf("error does not name the lock file: %v", err)
	}
	if time.Since(start) < 50*time.Millisecond {
		t.Error("gave up before the timeout")
	}
	holder.Close()
	s := open(t, dir, quiet()) // released: the next run gets it
	s.Close()
}

func TestCorruptOrForeignStateIsSetAside(t *testing.T) {
	for name, content := range map[string]string{
		"truncated":     `{"version":1,"generation":5,"sections":{"network":{"se`,
		"garbage":       "\x00\x01binary",
		"other version": `{"version":99,"generation":5,"sections":{}}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, FileName), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			before := uint64(time.Now().UnixNano())
			s := open(t, dir, slog.New(slog.NewTextHandler(&logs, nil)))
			defer s.Close()
			if len(s.Sections()) != 0 {
				t.Errorf("sections from a corrupt file: %v", s.Sections())
			}
			if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "state.json.corrupt") {
				t.Errorf("not reported: %s", logs.String())
			}
			kept, err := os.ReadFile(filepath.Join(dir, FileName+".corrupt"))
			if err != nil || string(kept) != content {
				t.Errorf("corrupt file not kept aside: %v", err)
			}
			// A fresh state counts everything spooled before it as committed.
			if s.Generation() < before {
				t.Errorf("fresh generation %d is older than the open (%d)", s.Generation(), before)
			}
			if err := s.Save(time.Now()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestUnwritableStateDir(t *testing.T) {
	// A regular file where a directory should be fails even for root.
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	_, err := Open(context.Background(), filepath.Join(file, "afmc"), time.Second, quiet())
	if err == nil || !strings.Contains(err.Error(), "state dir") || !strings.Contains(err.Error(), file) {
		t.Errorf("error %v, want one naming the state dir", err)
	}
}

func TestSaveFailureKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, quiet())
	s.SetSection("a", json.RawMessage(`1`))
	if err := s.Save(time.Now()); err != nil {
		t.Fatal(err)
	}
	gen := s.Generation()
	// Make the temp file impossible: the dir is replaced by... a dir we
	// cannot create files in, even as root: remove it.
	os.RemoveAll(dir)
	s.SetSection("a", json.RawMessage(`2`))
	if err := s.Save(time.Now()); err == nil || !strings.Contains(err.Error(), "saving state") {
		t.Errorf("save into a removed dir: %v", err)
	}
	if s.Generation() != gen {
		t.Error("a failed save advanced the generation")
	}
}

func TestStaleTempFilesRemoved(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, ".state-123.tmp")
	os.WriteFile(stale, []byte("half"), 0o600)
	s := open(t, dir, quiet())
	s.Close()
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temp file left: %v", err)
	}
}

func TestDefaultDir(t *testing.T) {
	env := map[string]string{"HOME": "/home/u", "XDG_STATE_HOME": "/xdg"}
	get := func(k string) string { return env[k] }
	if got := DefaultDir(get, 0); got != "/var/lib/afmc" {
		t.Errorf("root: %s", got)
	}
	if got := DefaultDir(get, 1000); got != "/xdg/afmc" {
		t.Errorf("xdg: %s", got)
	}
	delete(env, "XDG_STATE_HOME")
	if got := DefaultDir(get, 1000); got != "/home/u/.local/state/afmc" {
		t.Errorf("home: %s", got)
	}
}

// The run's own deadline passing while it waits is not another run's lock
// held too long.
func TestRunDeadlineWhileWaiting(t *testing.T) {
	dir := t.TempDir()
	holder := open(t, dir, quiet())
	defer holder.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := Open(ctx, dir, time.Minute, quiet())
	if err == nil || errors.Is(err, ErrLockTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want the run's deadline, not a lock timeout", err)
	}
}
