package extcmd

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atlas-af/afmc/internal/asuser"
	"github.com/atlas-af/afmc/internal/safefile"

	"github.com/atlas-af/afmc/internal/testtool"
)

func TestMain(m *testing.M) {
	// As afmc's main does: leftovers of the programs are re-parented to
	// the test binary, which ends them.
	if err := Subreaper(); err != nil {
		panic(err)
	}
	code := m.Run()
	EndLeftovers()
	os.Exit(code)
}

// gone waits for pid to be no more (reaped, or a zombie), and tells.
func gone(pid int) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || strings.Contains(string(st), ") Z ") {
			return true
		}
	}
	return false
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		b, err := os.ReadFile(path)
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && perr == nil {
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pid in %s", path)
		}
	}
}

// A program that prints its answer and leaves behind a child that left its
// process group (setsid) holding stdout: the call ends when the program
// exits, with its answer, not at the deadline; the child is ended.
func TestLeftoverOutsideTheGroupDoesNotHoldTheCall(t *testing.T) {
	testtool.Need(t, "setsid")
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	p := script(t, `echo answer; setsid sleep 1000 & echo $! > `+pidFile+`; exit 0`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := Output(ctx, Cmd{Path: p})
	if err != nil || string(out) != "answer\n" {
		t.Fatalf("output %q, error %v: want the answer, not a wait for the deadline", out, err)
	}
	if ctx.Err() != nil {
		t.Fatal("the call lasted until the deadline")
	}
	child := readPid(t, pidFile)
	if !gone(child) {
		t.Errorf("the child %d the program left behind still runs", child)
	}
}

// The same with a child in the program's own group: killed with it.
func TestLeftoverInTheGroupIsKilled(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	p := script(t, `echo answer; sleep 1000 & echo $! > `+pidFile+`; exit 0`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := Output(ctx, Cmd{Path: p})
	if err != nil || string(out) != "answer\n" || ctx.Err() != nil {
		t.Fatalf("output %q, error %v", out, err)
	}
	if child := readPid(t, pidFile); !gone(child) {
		t.Errorf("the child %d the program left behind still runs", child)
	}
}

// A program that failed on its own is reported by its exit status and
// stderr, not by the error its partial output gave the reader.
func TestOwnFailureBeforeReadError(t *testing.T) {
	p := script(t, `printf '{"partial":'; echo 'condor_q: Failed to fetch ads' >&2; exit 1`)
	err := Stream(context.Background(), Cmd{Path: p}, func(r io.Reader) error {
		io.ReadAll(r)
		return errors.New("unexpected end of JSON")
	})
	var e *Error
	if !errors.As(err, &e) || e.ExitCode != 1 || !strings.Contains(err.Error(), "exit status 1: condor_q: Failed to fetch ads") {
		t.Errorf("error %v", err)
	}
}

// A program another user could change is not run: what it does, root
// would do.
func TestProgramOthersCanChangeNotRun(t *testing.T) {
	asuser.Root(t)
	marker := filepath.Join(t.TempDir(), "ran")
	body := "touch " + marker
	theirs := script(t, body)
	if err := os.Chown(theirs, asuser.NobodyUID, asuser.NobodyGID); err != nil {
		t.Fatal(err)
	}
	writable := script(t, body)
	if err := os.Chmod(writable, 0o777); err != nil {
		t.Fatal(err)
	}
	openDir := t.TempDir()
	if err := os.Chmod(openDir, 0o777); err != nil {
		t.Fatal(err)
	}
	inOpenDir := filepath.Join(openDir, "condor_q")
	if err := os.WriteFile(inOpenDir, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		theirs:    "belongs to uid 65534",
		writable:  "writable by group or others",
		inOpenDir: openDir + ", on the way to it, has mode",
	} {
		_, err := Output(context.Background(), Cmd{Path: path})
		if !errors.Is(err, safefile.ErrUntrusted) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "not run") {
			t.Errorf("%s: error %v, want %q", path, err, want)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("a program others can change was run")
	}
}
