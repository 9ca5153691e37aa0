package collect

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/atlas-af/afmc/internal/fixture"
)

// fixtureHost copies testdata/host into a temp dir, so a test can change
// counters between runs, and returns an Env whose roots point into it.
func fixtureHost(t *testing.T) (*Env, string, *bytes.Buffer) {
	t.Helper()
	dir := fixture.Host(t, filepath.Join("..", "testdata", "host"))
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
