// Package extcmd runs the external programs afmc reads from (condor_q,
// kubectl, loginctl, getent): never through a shell, with argv only, under
// a deadline that kills the whole process group, with stdout streamed to
// the caller, stderr kept (bounded) for the error message, and the exit
// status checked.
package extcmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"time"
	"unicode"
)

// stderrKeep is how much of a program's stderr an error quotes: enough for
// condor's "Failed to fetch ads" lines, not enough to flood a log.
const stderrKeep = 4 << 10

// Cmd is one program to run.
type Cmd struct {
	Path string   // the program; a bare name is looked up in PATH
	Args []string // arguments, never interpreted by a shell
	Env  []string // extra KEY=VALUE pairs on top of afmc's own environment (less AFMC_*)
	// MaxStdout bounds what Output reads (0: 64 MiB). Stream is not bounded:
	// its reader decides how much to read.
	MaxStdout int64
	// Stderr, when set, gets a copy of what the program writes to stderr,
	// for programs that report a partial failure with exit status 0
	// (condor_q -global). A Tail bounds it.
	Stderr io.Writer
}

// Error is a program that ran and failed, or could not be started.
type Error struct {
	Cmd      string // the program and its arguments, for the message
	ExitCode int    // -1 when it did not exit by itself
	Stderr   string // the tail of its stderr, control characters escaped
	Err      error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Cmd)
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	if e.Stderr != "" {
		b.WriteString(": ")
		b.WriteString(e.Stderr)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrTooLarge is returned by Output for a program that printed more than
// MaxStdout.
var ErrTooLarge = errors.New("output larger than allowed")

// Find reports the path of a program, or an error that names it.
func Find(path string) (string, error) {
	p, err := exec.LookPath(path)
	if err != nil {
		return "", fmt.Errorf("%s not found: %w", path, err)
	}
	return p, nil
}

// Output runs c and returns its stdout, at most MaxStdout bytes.
func Output(ctx context.Context, c Cmd) ([]byte, error) {
	limit := c.MaxStdout
	if limit <= 0 {
		limit = 64 << 20
	}
	var out []byte
	err := Stream(ctx, c, func(r io.Reader) error {
		var err error
		out, err = io.ReadAll(io.LimitReader(r, limit+1))
		if err == nil && int64(len(out)) > limit {
			return fmt.Errorf("%w (%d bytes)", ErrTooLarge, limit)
		}
		return err
	})
	return out, err
}

// Stream runs c and hands its stdout to read as it is produced. When read
// returns an error, or ctx ends, the process group is killed. The error
// returned names the program and says why it failed: read's error, a
// deadline, a signal, or an exit status with the tail of stderr.
func Stream(ctx context.Context, c Cmd, read func(io.Reader) error) error {
	name := describe(c)
	cmd := exec.CommandContext(ctx, c.Path, c.Args...)
	cmd.Env = append(childEnv(cmd.Environ()), c.Env...)
	// Its own process group, so that a deadline kills what it started too
	// (a wrapper script's condor_q, kubectl's credential plugin).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// A grandchild that keeps stdout open must not hold Wait forever.
	cmd.WaitDelay = 2 * time.Second
	var stderr Tail
	cmd.Stderr = &stderr
	if c.Stderr != nil {
		cmd.Stderr = io.MultiWriter(&stderr, c.Stderr)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return &Error{Cmd: name, ExitCode: -1, Err: err}
	}
	if err := cmd.Start(); err != nil {
		return &Error{Cmd: name, ExitCode: -1, Err: err}
	}
	readErr := read(stdout)
	if readErr != nil {
		// Stop the program: nobody reads what it prints any more.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	_, _ = io.Copy(io.Discard, stdout) // let it finish writing, so Wait sees its exit
	waitErr := cmd.Wait()
	e := &Error{Cmd: name, ExitCode: cmd.ProcessState.ExitCode(), Stderr: stderr.String()}
	switch {
	case ctx.Err() != nil:
		e.Err = fmt.Errorf("killed: %w", context.Cause(ctx))
	case readErr != nil:
		e.Err = readErr
	case waitErr != nil:
		e.Err = waitErr
	default:
		return nil
	}
	return e
}

// childEnv is afmc's environment less its own settings: AFMC_TOKEN and
// AFMC_SALT are secrets no condor_q wrapper or credential plugin needs.
func childEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "AFMC_") {
			out = append(out, kv)
		}
	}
	return out
}

func describe(c Cmd) string {
	parts := append([]string{c.Path}, c.Args...)
	s := strings.Join(parts, " ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return Printable(s)
}

// Tail keeps the last 4 KiB written to it.
type Tail struct{ b []byte }

func (t *Tail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > stderrKeep {
		t.b = append(t.b[:0], t.b[len(t.b)-stderrKeep:]...)
	}
	return len(p), nil
}

// String is the kept stderr on one line: lines joined with " | ", control
// characters escaped.
func (t *Tail) String() string {
	lines := bytes.Split(bytes.TrimSpace(t.b), []byte("\n"))
	var kept []string
	for _, l := range lines {
		if l = bytes.TrimSpace(l); len(l) > 0 {
			kept = append(kept, Printable(string(l)))
		}
	}
	return strings.Join(kept, " | ")
}

// Printable escapes control characters and invalid UTF-8, so that what a
// program or a server printed cannot move a terminal's cursor or forge a
// log line.
func Printable(s string) string {
	clean := true
	for _, r := range s {
		if r == unicode.ReplacementChar || unicode.IsControl(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	q := fmt.Sprintf("%q", s)
	return q[1 : len(q)-1]
}
