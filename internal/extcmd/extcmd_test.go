package extcmd

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// script writes an executable shell script for the test to run as a
// program (the program may be a script; afmc itself never uses a shell).
func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "prog")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOutput(t *testing.T) {
	p := script(t, `printf 'a b\n'; printf '%s\n' "$@"`)
	out, err := Output(context.Background(), Cmd{Path: p, Args: []string{"x y", "$HOME", ";rm -rf /"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(out), "a b\nx y\n$HOME\n;rm -rf /\n"; got != want {
		t.Errorf("got %q, want %q: arguments must reach the program untouched", got, want)
	}
}

func TestExitStatusAndStderr(t *testing.T) {
	p := script(t, `echo partial; echo '-- Failed to fetch ads from: <1.2.3.4:9618> : sched1' >&2; printf 'SECMAN:2007:\033[31mdenied\n' >&2; exit 3`)
	_, err := Output(context.Background(), Cmd{Path: p, Args: []string{"-json"}})
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v, want *Error", err)
	}
	if e.ExitCode != 3 {
		t.Errorf("exit code %d", e.ExitCode)
	}
	msg := err.Error()
	for _, want := range []string{p + " -json", "exit status 3", "Failed to fetch ads from: <1.2.3.4:9618> : sched1 | SECMAN:2007:\\x1b[31mdenied"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if strings.ContainsRune(msg, 0x1b) {
		t.Errorf("message carries a raw escape: %q", msg)
	}
}

func TestNotFound(t *testing.T) {
	err := Stream(context.Background(), Cmd{Path: filepath.Join(t.TempDir(), "condor_q")}, func(r io.Reader) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "condor_q") {
		t.Errorf("error %v", err)
	}
	if _, err := Find("no-such-program-afmc"); err == nil || !strings.Contains(err.Error(), "no-such-program-afmc not found") {
		t.Errorf("Find: %v", err)
	}
}

// A program that hangs is killed at the deadline with everything it
// started, even a child that holds stdout open.
func TestDeadlineKillsProcessGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	p := script(t, `sleep 1000 & echo $! > `+pidFile+`; echo started; wait`)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := Output(ctx, Cmd{Path: p})
	if err == nil || !strings.Contains(err.Error(), "killed") || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want killed at the deadline", err)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	for _, c := range strings.TrimSpace(string(b)) {
		pid = pid*10 + int(c-'0')
	}
	// The child was killed with its group: once reaped by init it is gone;
	// a zombie not yet reaped cannot be signalled either way, so poll
	// /proc for its state instead.
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := os.ReadFile(filepath.Join("/proc", string(b[:len(b)-1]), "stat"))
		if err != nil || strings.Contains(string(st), ") Z ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("child %d still running after the deadline", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

func TestReaderErrorStopsProgram(t *testing.T) {
	p := script(t, `while :; do echo line; done`)
	stop := errors.New("enough")
	err := Stream(context.Background(), Cmd{Path: p}, func(r io.Reader) error {
		buf := make([]byte, 10)
		_, _ = io.ReadFull(r, buf)
		return stop
	})
	if !errors.Is(err, stop) {
		t.Errorf("error %v, want the reader's", err)
	}
}

func TestOutputBounded(t *testing.T) {
	p := script(t, `head -c 100000 /dev/zero`)
	_, err := Output(context.Background(), Cmd{Path: p, MaxStdout: 1000})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("error %v, want ErrTooLarge", err)
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain név":         "plain név",
		"a\nb":              `a\nb`,
		"\x1b[2J":           `\x1b[2J`,
		"bad\xffutf8":       `bad\xffutf8`,
		"tab\there":         `tab\there`,
		"del\x7f":           `del\x7f`,
		"(10.1.2.3 via)":    "(10.1.2.3 via)",
		"user\u202egpj.exe": `user\u202egpj.exe`, // right-to-left override
		"a\u200bb":          `a\u200bb`,          // zero-width space
		"nb\u00a0sp":        `nb\u00a0sp`,
	} {
		if got := Printable(in); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
}

// The programs afmc runs never see its secrets.
func TestChildEnvironmentHasNoSecrets(t *testing.T) {
	t.Setenv("AFMC_TOKEN", "s3cret-token-0123456789")
	t.Setenv("AFMC_SALT", "salt")
	t.Setenv("KUBECONFIG", "/etc/kube/config")
	p := script(t, `env`)
	out, err := Output(context.Background(), Cmd{Path: p, Env: []string{"LC_ALL=C"}})
	if err != nil {
		t.Fatal(err)
	}
	env := string(out)
	if strings.Contains(env, "AFMC_") || strings.Contains(env, "s3cret") {
		t.Errorf("a child saw afmc's settings:\n%s", env)
	}
	if !strings.Contains(env, "KUBECONFIG=/etc/kube/config") || !strings.Contains(env, "LC_ALL=C") {
		t.Errorf("a child lost its environment:\n%s", env)
	}
}
