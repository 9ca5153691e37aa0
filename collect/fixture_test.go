package collect

import (
	"bytes"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// fixtureHost copies testdata/host into a temp dir, so a test can change
// counters between runs, and returns an Env whose roots point into it.
func fixtureHost(t *testing.T) (*Env, string, *bytes.Buffer) {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join("..", "testdata", "host")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		dst := filepath.Join(dir, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	// The mount points of the fixture's mountinfo, for statfs.
	for _, m := range []string{"boot", "data", "scratch", "home", "srv/projects", "mnt/usb disk"} {
		if err := os.MkdirAll(filepath.Join(dir, "root", m), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var logs bytes.Buffer
	env := &Env{
		Roots:     Roots{Proc: filepath.Join(dir, "proc"), Sys: filepath.Join(dir, "sys"), Root: filepath.Join(dir, "root")},
		Cluster:   "TEST-AF",
		LoginNode: "login01.af.example.org",
		Now:       func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) },
		Log:       slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	return env, dir, &logs
}

func discardEnv() *Env {
	return &Env{Now: time.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFixture(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
