package safedir

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/atlas-af/afmc/internal/fixture"
)

// nobody is the uid the tests give planted files when they run as root.
const nobody = 65534

func newVictim(t *testing.T) fixture.Victim { return fixture.NewVictim(t) }

func plantLink(t *testing.T, target, link string, uid int) {
	t.Helper()
	fixture.PlantLink(t, target, link, uid)
}

func mustContain(t *testing.T, err error, is error, parts ...string) {
	t.Helper()
	fixture.MustContain(t, err, is, parts...)
}

func TestDirMethods(t *testing.T) {
	path := t.TempDir()
	d, err := OpenDir(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	v := newVictim(t)
	plantLink(t, v.Path, filepath.Join(path, "spool.ndjson"), os.Geteuid())

	// Every way of opening refuses the link.
	for _, flag := range []int{os.O_RDONLY, os.O_WRONLY | os.O_APPEND | os.O_CREATE, os.O_RDWR | os.O_TRUNC} {
		_, err := d.OpenFile("spool.ndjson", flag, 0o600)
		mustContain(t, err, ErrUnsafe, filepath.Join(path, "spool.ndjson"), "symbolic link")
	}
	_, err = d.ReadFile("spool.ndjson", 1<<20)
	mustContain(t, err, ErrUnsafe, "symbolic link")
	// Writing atomically replaces the link, not what it points to.
	if err := d.WriteFileAtomic("spool.ndjson", []byte("new\n"), ".spool-*.tmp"); err != nil {
		t.Fatal(err)
	}
	v.Check(t)
	if b, err := d.ReadFile("spool.ndjson", 1<<20); err != nil || string(b) != "new\n" {
		t.Errorf("after atomic write: %q, %v", b, err)
	}
	if fi, err := d.Lstat("spool.ndjson"); err != nil || fi.Mode() != 0o600 {
		t.Errorf("atomic write: %v, %v", fi, err)
	}

	f, name, err := d.CreateTemp(".inbox-*.tmp")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if !strings.HasPrefix(name, ".inbox-") || !strings.HasSuffix(name, ".tmp") {
		t.Errorf("temp name %q", name)
	}
	if err := d.Rename(name, "spool.inbox-1.ndjson"); err != nil {
		t.Fatal(err)
	}
	got, err := d.Glob("spool.*")
	if err != nil || strings.Join(got, " ") != "spool.inbox-1.ndjson spool.ndjson" {
		t.Errorf("glob: %v, %v", got, err)
	}
	if err := d.Remove("spool.inbox-1.ndjson"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Lstat("spool.inbox-1.ndjson"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("removed file: %v", err)
	}
	for _, bad := range []string{"", ".", "..", "../x", "a/b"} {
		if _, err := d.OpenFile(bad, os.O_RDONLY, 0); err == nil {
			t.Errorf("OpenFile(%q) accepted", bad)
		}
	}
	// A hard link to a file elsewhere is refused, and not truncated.
	hard := newVictim(t)
	os.Chmod(hard.Path, 0o600)
	if err := os.Link(hard.Path, filepath.Join(path, "spool.acks")); err != nil {
		t.Fatal(err)
	}
	_, err = d.OpenFile("spool.acks", os.O_RDWR|os.O_TRUNC, 0)
	mustContain(t, err, ErrUnsafe, filepath.Join(path, "spool.acks"), "2 hard links")
	if b, _ := os.ReadFile(hard.Path); string(b) != "precious\n" {
		t.Errorf("hard-linked file truncated: %q", b)
	}
	os.Remove(filepath.Join(path, "spool.acks"))

	// A file of another user's is not truncated before it is refused.
	if os.Geteuid() == 0 {
		foreign := filepath.Join(path, "spool.foreign")
		os.WriteFile(foreign, []byte("theirs"), 0o600)
		os.Chown(foreign, nobody, nobody)
		_, err = d.OpenFile("spool.foreign", os.O_WRONLY|os.O_TRUNC, 0)
		mustContain(t, err, ErrUnsafe, foreign, "owned by uid 65534")
		if b, _ := os.ReadFile(foreign); string(b) != "theirs" {
			t.Errorf("foreign file truncated: %q", b)
		}
		os.Remove(foreign)
	}

	// A FIFO opened for writing neither blocks nor is used.
	if err := syscall.Mkfifo(filepath.Join(path, "spool.acks"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = d.OpenFile("spool.acks", os.O_WRONLY|os.O_APPEND, 0)
	mustContain(t, err, nil, filepath.Join(path, "spool.acks"), "named pipe")
}

// A file another process holds open for writing is refused: that handle
// could go on writing into it whatever its owner and mode are now. The
// writer is a real process; once it is gone the file reads.
func TestOpenAloneRefusesAHeldFile(t *testing.T) {
	path := t.TempDir()
	d, err := OpenDir(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	name := filepath.Join(path, "state.json")
	if err := os.WriteFile(name, []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	writer := exec.Command("sleep", "60")
	writer.ExtraFiles = []*os.File{w}
	if err := writer.Start(); err != nil {
		t.Fatalf("starting the writer (sleep): %v", err)
	}
	w.Close()
	_, err = d.ReadFile("state.json", 1<<20)
	mustContain(t, err, ErrUnsafe, name, "held open for writing")
	if !errors.Is(err, ErrHeldOpen) {
		t.Errorf("%v is not ErrHeldOpen", err)
	}
	// A reader is no threat, and neither is afmc's own handle.
	r, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	writer.Process.Kill()
	writer.Wait()
	if b, err := d.ReadFile("state.json", 1<<20); err != nil || string(b) != "{}\n" {
		t.Errorf("with the writer gone: %q, %v", b, err)
	}
}

// What a library opened by path (FdPath) is checked once open: a file
// swapped in under the name since is refused, as is a second link.
func TestCheckOpened(t *testing.T) {
	path := t.TempDir()
	d, err := OpenDir(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	lock := filepath.Join(path, "afmc.lock")
	if err := os.WriteFile(lock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(d.FdPath("afmc.lock"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.CheckOpened("afmc.lock", fi); err != nil {
		t.Errorf("the file as opened: %v", err)
	}
	if err := os.Link(lock, filepath.Join(path, "second")); err != nil {
		t.Fatal(err)
	}
	fi, _ = f.Stat()
	mustContain(t, d.CheckOpened("afmc.lock", fi), ErrUnsafe, "2 hard links")
	// Replaced under its name after the open.
	if err := os.WriteFile(filepath.Join(path, "new"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(path, "new"), lock); err != nil {
		t.Fatal(err)
	}
	mustContain(t, d.CheckOpened("afmc.lock", fi), ErrUnsafe, "replaced")
}
