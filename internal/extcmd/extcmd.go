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
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"

	"golang.org/x/sys/unix"

	"github.com/atlas-af/afmc/internal/safefile"
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

// exitGrace is how long stdout and stderr are still read once the
// program has exited (or its deadline has come): what it wrote is in the
// pipes by then. A process it left behind that holds them open (a
// wrapper's `ssh -f`, a daemon it started) does not hold the call.
const exitGrace = time.Second

// Stream runs c and hands its stdout to read as it is produced. When read
// returns an error, or ctx ends, the process group is killed. The call
// ends when the program exits: its output is read for a short grace, then
// the pipes are closed and what it left in its process group is killed
// (with Subreaper, what left the group too). The error returned names the
// program and says why it failed: the program's own failure (exit status
// and the tail of stderr) before read's error, a deadline before both.
// A program another user could change is not run.
func Stream(ctx context.Context, c Cmd, read func(io.Reader) error) error {
	name := describe(c)
	fail := func(err error) error { return &Error{Cmd: name, ExitCode: -1, Err: err} }
	path, err := exec.LookPath(c.Path)
	if err != nil {
		return fail(err)
	}
	// afmc runs as root: what a program another user can change does,
	// root does.
	if err := safefile.Program(path); err != nil {
		return fail(fmt.Errorf("not run: %w", err))
	}
	cmd := exec.CommandContext(ctx, path, c.Args...)
	cmd.Args[0] = c.Path // as named: some programs look at argv[0]
	cmd.Env = append(childEnv(cmd.Environ()), c.Env...)
	// Its own process group, so that a deadline kills what it started too
	// (a wrapper script's condor_q, kubectl's credential plugin).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// Pipes of afmc's own, not exec's: exec's Wait would wait for every
	// process holding them, and they can be given a deadline.
	outR, outW, err := os.Pipe()
	if err != nil {
		return fail(err)
	}
	defer outR.Close()
	errR, errW, err := os.Pipe()
	if err != nil {
		outW.Close()
		return fail(err)
	}
	defer errR.Close()
	cmd.Stdout, cmd.Stderr = outW, errW
	err = start(cmd)
	outW.Close()
	errW.Close()
	if err != nil {
		return fail(err)
	}
	pid := cmd.Process.Pid

	var stderr Tail
	errDone := make(chan struct{})
	go func() {
		defer close(errDone)
		w := io.Writer(&stderr)
		if c.Stderr != nil {
			w = io.MultiWriter(&stderr, c.Stderr)
		}
		_, _ = io.Copy(w, graceReader{errR})
	}()
	exited := make(chan struct{})
	go func() {
		waitExit(pid) // without reaping it: its pid stays its group's
		close(exited)
	}()
	callDone := make(chan struct{})
	defer close(callDone)
	go func() {
		select {
		case <-exited:
		case <-ctx.Done():
		case <-callDone:
			return
		}
		dl := time.Now().Add(exitGrace)
		_ = outR.SetReadDeadline(dl)
		_ = errR.SetReadDeadline(dl)
	}()

	readErr := read(graceReader{outR})
	if readErr != nil {
		// Stop the program: nobody reads what it prints any more.
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
	_, _ = io.Copy(io.Discard, graceReader{outR}) // let it finish writing, so that it exits
	<-exited
	// What it left in its group. Its pid cannot have been reused: it is
	// not reaped yet.
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	<-errDone
	waitErr := cmd.Wait()
	finished(pid)

	e := &Error{Cmd: name, ExitCode: cmd.ProcessState.ExitCode(), Stderr: stderr.String()}
	switch {
	case ctx.Err() != nil:
		e.Err = fmt.Errorf("killed: %w", context.Cause(ctx))
	case waitErr != nil && e.ExitCode > 0:
		// It failed on its own: what it printed is not its answer, and
		// its exit status and stderr say more than a parse error of it.
		e.Err = waitErr
	case readErr != nil:
		e.Err = readErr
	case waitErr != nil:
		e.Err = waitErr
	default:
		return nil
	}
	return e
}

// graceReader reads a pipe whose deadline ends the call: past it, what is
// left is not the program's answer, and reads as the end.
type graceReader struct{ f *os.File }

func (g graceReader) Read(p []byte) (int, error) {
	n, err := g.f.Read(p)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = io.EOF
	}
	return n, err
}

// waitExit blocks until process pid has exited, leaving it to be reaped.
func waitExit(pid int) {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			return
		}
	}
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

// Printable escapes control characters, invalid UTF-8 and every other
// rune that does not show as itself (bidirectional overrides, zero-width
// joiners, odd spaces), so that what a program or a server printed cannot
// move a terminal's cursor, forge a log line or read backwards.
func Printable(s string) string {
	clean := true
	for _, r := range s {
		if r == unicode.ReplacementChar || !strconv.IsPrint(r) {
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
