package state

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// snapshot is everything Peek must leave as it is: each entry's name, type,
// mode, owner, content and mtime, and the dir's own mtime and mode.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	fi, err := os.Lstat(dir)
	if os.IsNotExist(err) {
		return "absent"
	}
	if err != nil {
		t.Fatal(err)
	}
	b.WriteString(fi.Mode().String() + " " + fi.ModTime().String() + "\n")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		fi, err := os.Lstat(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		var content []byte
		if fi.Mode().IsRegular() {
			content, _ = os.ReadFile(filepath.Join(dir, e.Name()))
		}
		b.WriteString(e.Name() + " " + fi.Mode().String() + " " + fi.ModTime().String() + " " + string(content) + "\n")
	}
	return b.String()
}

func savedState(t *testing.T) (string, uint64) {
	t.Helper()
	dir := t.TempDir()
	s := open(t, dir, quiet())
	s.SetSection("network", json.RawMessage(`{"sent":1}`))
	if err := s.Save(time.Now()); err != nil {
		t.Fatal(err)
	}
	gen := s.Generation()
	s.Close()
	// Beside it, files of the spool: left alone too.
	os.WriteFile(filepath.Join(dir, "spool.ndjson"), []byte("{}\n"), 0o600)
	os.WriteFile(filepath.Join(dir, ".state-stale.tmp"), []byte("half"), 0o600)
	// An old mtime, so that any write would show.
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, n := range []string{FileName, LockName, "spool.ndjson", ".state-stale.tmp", "."} {
		os.Chtimes(filepath.Join(dir, n), old, old)
	}
	return dir, gen
}

func TestPeekChangesNothing(t *testing.T) {
	tests := []struct {
		name     string
		prepare  func(t *testing.T) (dir string, gen uint64)
		sections string
		warn     string
	}{
		{"saved state", savedState, `{"network":{"sent":1}}`, ""},
		{"corrupt state", func(t *testing.T) (string, uint64) {
			dir, _ := savedState(t)
			os.WriteFile(filepath.Join(dir, FileName), []byte(`{"version":1,"sect`), 0o600)
			return dir, 0
		}, `{}`, "state file corrupt"},
		{"no lock file", func(t *testing.T) (string, uint64) {
			dir, gen := savedState(t)
			os.Remove(filepath.Join(dir, LockName))
			return dir, gen
		}, `{"network":{"sent":1}}`, ""},
		{"empty dir", func(t *testing.T) (string, uint64) { return t.TempDir(), 0 }, `{}`, ""},
		{"no dir", func(t *testing.T) (string, uint64) {
			return filepath.Join(t.TempDir(), "not", "yet"), 0
		}, `{}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, gen := tt.prepare(t)
			before := snapshot(t, dir)
			var logs bytes.Buffer
			sections, got, err := Peek(context.Background(), dir, time.Second, slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			if after := snapshot(t, dir); after != before {
				t.Errorf("dir changed:\n%s\nwas:\n%s", after, before)
			}
			if b, _ := json.Marshal(sections); string(b) != tt.sections || got != gen {
				t.Errorf("sections %s generation %d, want %s %d", b, got, tt.sections, gen)
			}
			if tt.warn != "" && !strings.Contains(logs.String(), tt.warn) || tt.warn == "" && logs.Len() > 0 {
				t.Errorf("logs %q, want %q", logs.String(), tt.warn)
			}
		})
	}
}

// A run between reading and saving the state holds the lock: Peek waits for
// it, no longer than the lock timeout.
func TestPeekWaitsForTheLock(t *testing.T) {
	dir, _ := savedState(t)
	holder := open(t, dir, quiet())
	_, _, err := Peek(context.Background(), dir, 30*time.Millisecond, quiet())
	if !errors.Is(err, ErrLockTimeout) {
		t.Errorf("peek under a held lock: %v, want ErrLockTimeout", err)
	}
	holder.Close()
	// Released, the state is read.
	if _, _, err := Peek(context.Background(), dir, time.Second, quiet()); err != nil {
		t.Fatal(err)
	}
}

func TestPeekRefusesUnsafe(t *testing.T) {
	dir, _ := savedState(t)
	v := newVictim(t)
	os.Remove(filepath.Join(dir, FileName))
	plantLink(t, v.Path, filepath.Join(dir, FileName), os.Geteuid())
	_, _, err := Peek(context.Background(), dir, time.Second, quiet())
	mustContain(t, err, ErrUnsafe, filepath.Join(dir, FileName), "symbolic link")
	v.Check(t)

	open := t.TempDir()
	os.Chmod(open, 0o777)
	_, _, err = Peek(context.Background(), open, time.Second, quiet())
	mustContain(t, err, ErrUnsafe, open, "0777")
}
