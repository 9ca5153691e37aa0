package spool

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/atlas-af/afmc/internal/safedir"

	"github.com/atlas-af/afmc/internal/testtool"
)

// plantedSpool is a well-formed spool file of documents 100 to 102,
// committed (generation 1) and waiting: what a run would send if it took
// the file in. It is made outside the state dir under test.
func plantedSpool(t *testing.T) []byte {
	t.Helper()
	src := t.TempDir()
	s := openSpool(t, src, 0, SpoolLimits{}, spoolBase, nil)
	appendItems(t, s, spoolItems(100, 3), 1)
	kill(s)
	return mustRead(t, filepath.Join(src, SpoolName))
}

// openRefusing opens the spool of dir and checks that name was set aside
// as name.unsafe, named in the log and in SetAside, and that none of its
// documents is waiting to be sent.
func openRefusing(t *testing.T, dir, name, why string) *Spool {
	t.Helper()
	var logs bytes.Buffer
	s := openSpool(t, dir, 1, SpoolLimits{}, spoolBase, slog.New(slog.NewTextHandler(&logs, nil)))
	aside := filepath.Join(dir, name+".unsafe")
	if !errors.Is(s.SetAside, safedir.ErrUnsafe) || !strings.Contains(s.SetAside.Error(), aside) || !strings.Contains(s.SetAside.Error(), why) {
		t.Errorf("SetAside = %v, want it to name %s and say %q", s.SetAside, aside, why)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), aside) {
		t.Errorf("no error naming %s in the log:\n%s", aside, logs.String())
	}
	if _, err := os.Lstat(aside); err != nil {
		t.Errorf("not set aside: %v", err)
	}
	if got := s.Pending(1); len(got) != 0 {
		t.Errorf("documents of the refused file are waiting to be sent: %v", seqs(t, got))
	}
	return s
}

// After a refusal the run goes on with a spool of its own: what it adds is
// kept, and nothing lands in the file set aside.
func checkFreshSpool(t *testing.T, dir string, s *Spool) {
	t.Helper()
	appendItems(t, s, spoolItems(0, 2), 1)
	closeSpool(t, s)
	r := openSpool(t, dir, 1, SpoolLimits{}, spoolBase, nil)
	if got := seqs(t, r.Pending(1)); !slices.Equal(got, []int{0, 1}) {
		t.Errorf("after the refusal, the spool holds %v, want [0 1]", got)
	}
	if r.SetAside != nil {
		t.Errorf("the next run refuses again: %v", r.SetAside)
	}
}

// A spool.ndjson hard-linked to a file outside the state dir: a run that
// took it would append to that file, and send what it holds.
func TestSpoolHardLinkedIsSetAside(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "outside")
	planted := plantedSpool(t)
	mustWrite(t, outside, planted)
	if err := os.Chmod(outside, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(outside, filepath.Join(dir, SpoolName)); err != nil {
		t.Fatal(err)
	}
	s := openRefusing(t, dir, SpoolName, "2 hard links")
	checkFreshSpool(t, dir, s)
	if got := mustRead(t, outside); !bytes.Equal(got, planted) {
		t.Errorf("the outside file changed:\n%s", got)
	}
}

// A spool, acks or inbox file owned by another user: planted while the dir
// was open to others, or left by a chown of the dir alone.
func TestSpoolOfAnotherUserIsSetAside(t *testing.T) {
	if os.Geteuid() != 0 {
		testtool.Unavailable(t, "needs root, to give a file to another user (CI runs as root)")
	}
	const nobody = 65534
	t.Run(SpoolName, func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, SpoolName)
		mustWrite(t, path, plantedSpool(t))
		if err := os.Chown(path, nobody, nobody); err != nil {
			t.Fatal(err)
		}
		checkFreshSpool(t, dir, openRefusing(t, dir, SpoolName, "owned by uid 65534"))
	})
	t.Run("inbox", func(t *testing.T) {
		dir := t.TempDir()
		name, err := WriteInbox(dir, spoolItems(200, 2), spoolBase)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(name, nobody, nobody); err != nil {
			t.Fatal(err)
		}
		checkFreshSpool(t, dir, openRefusing(t, dir, filepath.Base(name), "owned by uid 65534"))
	})
}

// A file writable by group or others is refused as one of another user's
// is, whoever owns it.
func TestSpoolWritableByOthersIsSetAside(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, SpoolName)
	mustWrite(t, path, plantedSpool(t))
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	checkFreshSpool(t, dir, openRefusing(t, dir, SpoolName, "writable by others"))
}

// A writer that kept its handle from a time the dir was open to others
// goes on injecting whatever the file's owner and mode are now: the file is
// refused while any other process holds it open for writing. The writer
// here is a real process, holding the handle as a shell would.
func TestSpoolHeldOpenByAWriterIsSetAside(t *testing.T) {
	for _, name := range []string{SpoolName, AcksName, "spool.inbox-1-1.ndjson"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, name)
			switch name {
			case SpoolName:
				mustWrite(t, path, plantedSpool(t))
			case AcksName:
				mustWrite(t, path, []byte("1\n"))
			default:
				mustWrite(t, path, []byte(`{"t":1,"doc":{"kind":"CPU","forged":true}}`+"\n"))
			}
			if err := os.Chmod(path, 0o600); err != nil {
				t.Fatal(err)
			}
			w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			writer := exec.Command("sleep", "60")
			writer.ExtraFiles = []*os.File{w}
			if err := writer.Start(); err != nil {
				t.Fatalf("starting the writer (sleep): %v", err)
			}
			w.Close() // only the other process holds it now
			t.Cleanup(func() { writer.Process.Kill(); writer.Wait() })

			s := openRefusing(t, dir, name, "held open for writing by another process")
			checkFreshSpool(t, dir, s)
		})
	}
}

// Nothing in the state dir is followed through a symbolic link: the file
// it points at is neither read nor written, and the link is set aside.
func TestSpoolSymlinksAreSetAside(t *testing.T) {
	for _, name := range []string{SpoolName, AcksName, "spool.inbox-1-1.ndjson"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			target := filepath.Join(t.TempDir(), "precious")
			content := plantedSpool(t)
			mustWrite(t, target, content)
			if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
			s := openRefusing(t, dir, name, "symbolic link")
			checkFreshSpool(t, dir, s)
			if got := mustRead(t, target); !bytes.Equal(got, content) {
				t.Errorf("the link's target became %q", got)
			}
			if fi, err := os.Lstat(filepath.Join(dir, name+".unsafe")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
				t.Errorf("the link itself is not what was set aside: %v", err)
			}
		})
	}
}
