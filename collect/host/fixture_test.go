package host

import (
	"bytes"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/atlas-af/afmc/collect"
	"github.com/atlas-af/afmc/internal/fixture"
)

// fixtureHost copies testdata/host into a temp dir, so a test can change
// counters between runs, and returns an Env whose roots point into it.
func fixtureHost(t *testing.T) (*collect.Env, string, *bytes.Buffer) {
	t.Helper()
	dir := fixture.Host(t, filepath.Join("..", "..", "testdata", "host"))
	var logs bytes.Buffer
	env := &collect.Env{
		Roots:     collect.Roots{Proc: filepath.Join(dir, "proc"), Sys: filepath.Join(dir, "sys"), Root: filepath.Join(dir, "root")},
		Cluster:   "TEST-AF",
		LoginNode: "login01.af.example.org",
		Now:       func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) },
		Log:       slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	return env, dir, &logs
}

func discardEnv() *collect.Env {
	return &collect.Env{Now: time.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func writeFile(t *testing.T, path, content string) { t.Helper(); fixture.WriteFile(t, path, content) }

func readFixture(t testing.TB, rel string) []byte { t.Helper(); return fixture.Read(t, 2, rel) }

func checkErr(t *testing.T, err error, want string) { t.Helper(); fixture.CheckErr(t, err, want) }
