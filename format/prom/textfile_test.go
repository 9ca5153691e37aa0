package prom

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func openTestDir(t *testing.T) (*Dir, string) {
	t.Helper()
	dir := t.TempDir()
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, dir
}

func TestWriteFileAtomicMode0644(t *testing.T) {
	d, dir := openTestDir(t)
	old := syscall.Umask(0o077) // the systemd unit's UMask
	defer syscall.Umask(old)
	for _, content := range []string{"afmc_a 1\n", "afmc_a 2\n"} {
		if err := d.WriteFile("afmc.prom", []byte(content), time.Now()); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Lstat(filepath.Join(dir, "afmc.prom"))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != 0o644 {
			t.Errorf("mode %v, want 0644: node_exporter runs as a user of its own", fi.Mode())
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "afmc.prom")); string(b) != content {
			t.Errorf("content %q, want %q", b, content)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temp files left: %v", entries)
	}
}

// A link planted at the file's name is replaced, never written through;
// one at a temp name is never opened.
func TestWriteFileNeverFollowsLinks(t *testing.T) {
	d, dir := openTestDir(t)
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("root's file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(dir, "afmc.prom")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ReadFile("afmc.prom"); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("reading through a link: %v", err)
	}
	if err := d.WriteFile("afmc.prom", []byte("afmc_a 1\n"), time.Now()); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "root's file\n" {
		t.Errorf("the link's target was written: %q", b)
	}
	if fi, err := os.Lstat(filepath.Join(dir, "afmc.prom")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("afmc.prom is not a regular file now: %v %v", fi, err)
	}
}

func TestReadFileOnlyOurs(t *testing.T) {
	d, dir := openTestDir(t)
	path := filepath.Join(dir, "afmc.prom")
	if err := d.WriteFile("afmc.prom", []byte("afmc_a 1\n"), time.Now()); err != nil {
		t.Fatal(err)
	}
	if b, err := d.ReadFile("afmc.prom"); err != nil || string(b) != "afmc_a 1\n" {
		t.Fatalf("read back %q %v", b, err)
	}
	// A second hard link: someone else may have made it.
	other := filepath.Join(dir, "other")
	if err := os.Link(path, other); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ReadFile("afmc.prom"); err == nil || !strings.Contains(err.Error(), "2 hard links") {
		t.Errorf("a file with two links: %v", err)
	}
	os.Remove(other)
	if os.Geteuid() == 0 {
		if err := os.Chown(path, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if _, err := d.ReadFile("afmc.prom"); err == nil || !strings.Contains(err.Error(), "belongs to uid 65534") {
			t.Errorf("another user's file: %v", err)
		}
	}
	os.Remove(path)
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
	// A FIFO is refused without blocking on it.
	if _, err := d.ReadFile("afmc.prom"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a FIFO: %v", err)
	}
	os.Remove(path)
	if err := os.WriteFile(path, make([]byte, MaxTextfile+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ReadFile("afmc.prom"); err == nil || !strings.Contains(err.Error(), "over") {
		t.Errorf("a huge file: %v", err)
	}
}

func TestStaleTempFilesRemoved(t *testing.T) {
	d, dir := openTestDir(t)
	now := time.Now()
	stale := filepath.Join(dir, ".afmc.prom.dead.tmp")
	young := filepath.Join(dir, ".afmc.prom.live.tmp")
	foreign := filepath.Join(dir, ".other.prom.dead.tmp")
	for _, p := range []string{stale, young, foreign} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{stale, foreign} {
		if err := os.Chtimes(p, now.Add(-2*time.Hour), now.Add(-2*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.WriteFile("afmc.prom", []byte("afmc_a 1\n"), now); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{stale: false, young: true, foreign: true} {
		if _, err := os.Lstat(p); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", filepath.Base(p), err == nil, want)
		}
	}
}

func TestOpenDirErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	if _, err := OpenDir(missing); err == nil || !strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), "--collector.textfile.directory") {
		t.Errorf("missing dir: %v", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	if _, err := OpenDir(file); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("a file: %v", err)
	}
	d, _ := openTestDir(t)
	for _, name := range []string{"../afmc.prom", "afmc.txt", ".afmc.prom", ""} {
		if err := d.WriteFile(name, nil, time.Now()); err == nil {
			t.Errorf("WriteFile(%q) accepted", name)
		}
	}
}

func TestProbeLeavesNothing(t *testing.T) {
	d, dir := openTestDir(t)
	if err := d.Probe("afmc.prom"); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("probe left %v", entries)
	}
	if os.Geteuid() != 0 { // root writes anywhere
		os.Chmod(dir, 0o555)
		defer os.Chmod(dir, 0o755)
		if err := d.Probe("afmc.prom"); err == nil || !strings.Contains(err.Error(), "cannot create a file in it") {
			t.Errorf("read-only dir: %v", err)
		}
	}
}
