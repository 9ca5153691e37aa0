// Package asuser is test support: it runs a helper as another user,
// nobody, so that a test run as root (as CI runs) can perform what an
// unprivileged user on a login node can do to afmc, with that user's
// credentials and nothing more. The helper is the test binary itself,
// started again in a mode that runs the helper instead of the tests.
package asuser

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// helperEnv names the helper a process was started to run.
const helperEnv = "AFMC_TEST_ASUSER_HELPER"

// NobodyUID and NobodyGID are the ids of nobody, on every Linux.
const (
	NobodyUID = 65534
	NobodyGID = 65534
)

// Root skips the test unless it runs as root: only root can act as
// another user.
func Root(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root, to act as another user (nobody): CI runs the tests as root")
	}
}

// Main runs the helper the process was started for, and exits with what
// it returns; without one it returns at once. Call it first in TestMain.
func Main(helpers map[string]func(args []string) int) {
	name := os.Getenv(helperEnv)
	if name == "" {
		return
	}
	h, ok := helpers[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "asuser: no helper %q\n", name)
		os.Exit(2)
	}
	os.Exit(h(os.Args[1:]))
}

// Start starts helper name with args as nobody, from a copy of the test
// binary nobody may run. It is killed and waited for when the test ends.
func Start(t testing.TB, name string, args ...string) *exec.Cmd {
	t.Helper()
	Root(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "afmc-asuser-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "helper")
	if err := copyFile(self, bin); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), helperEnv+"="+name)
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: NobodyUID, Gid: NobodyGID}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Reachable makes dir and every directory above it traversable by others
// (o+x), as a login node's /tmp is, so that a helper can reach dir.
func Reachable(t testing.TB, dir string) {
	t.Helper()
	for d := dir; d != "/" && d != "."; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(d, fi.Mode().Perm()|0o011|(fi.Mode()&os.ModeSticky)); err != nil {
				t.Fatal(err)
			}
		}
	}
}
