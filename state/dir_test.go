package state

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/atlas-af/afmc/internal/fixture"
)

// nobody is the uid the tests give planted files when they run as root.
const nobody = 65534

// owners are the uids a planted link or file is given: the test's own and,
// when the test runs as root (as in CI), another user's.
func owners() []int {
	if os.Geteuid() == 0 {
		return []int{os.Geteuid(), nobody}
	}
	return []int{os.Geteuid()}
}

func newVictim(t *testing.T) fixture.Victim { return fixture.NewVictim(t) }

func plantLink(t *testing.T, target, link string, uid int) {
	t.Helper()
	fixture.PlantLink(t, target, link, uid)
}

func mustContain(t *testing.T, err error, is error, parts ...string) {
	t.Helper()
	fixture.MustContain(t, err, is, parts...)
}

// A link planted in the state dir under the name of the state file or the
// lock is refused by name, and what it points to is left as it was.
func TestOpenRefusesPlantedLinks(t *testing.T) {
	for _, uid := range owners() {
		for _, name := range []string{FileName, LockName} {
			t.Run(name+"/uid "+strconv.Itoa(uid), func(t *testing.T) {
				dir := t.TempDir()
				v := newVictim(t)
				plantLink(t, v.Path, filepath.Join(dir, name), uid)
				_, err := Open(context.Background(), dir, time.Second, quiet())
				mustContain(t, err, ErrUnsafe, filepath.Join(dir, name), "symbolic link", v.Path)
				v.Check(t)
			})
		}
		// A dangling link: nothing is created where it points.
		t.Run("dangling lock/uid "+strconv.Itoa(uid), func(t *testing.T) {
			dir := t.TempDir()
			target := filepath.Join(t.TempDir(), "created-by-afmc")
			plantLink(t, target, filepath.Join(dir, LockName), uid)
			_, err := Open(context.Background(), dir, time.Second, quiet())
			mustContain(t, err, ErrUnsafe, filepath.Join(dir, LockName))
			if _, err := os.Lstat(target); !os.IsNotExist(err) {
				t.Errorf("the link's target was created: %v", err)
			}
		})
	}
}

// Links under the names afmc only renames or removes (the corrupt file's
// name, a stale temp file) are replaced or removed as links: what they point
// to is not written, truncated or removed.
func TestLinksRenamedOrRemovedNeverFollowed(t *testing.T) {
	for _, uid := range owners() {
		t.Run("uid "+strconv.Itoa(uid), func(t *testing.T) {
			dir := t.TempDir()
			corrupt, stale := newVictim(t), newVictim(t)
			if err := os.WriteFile(filepath.Join(dir, FileName), []byte("{garbage"), 0o600); err != nil {
				t.Fatal(err)
			}
			plantLink(t, corrupt.Path, filepath.Join(dir, FileName+".corrupt"), uid)
			plantLink(t, stale.Path, filepath.Join(dir, ".state-evil.tmp"), uid)
			s := open(t, dir, quiet())
			if err := s.Save(time.Now()); err != nil {
				t.Fatal(err)
			}
			s.Close()
			corrupt.Check(t)
			stale.Check(t)
			kept, err := os.ReadFile(filepath.Join(dir, FileName+".corrupt"))
			if err != nil || string(kept) != "{garbage" {
				t.Errorf("corrupt file not kept aside in place of the link: %q, %v", kept, err)
			}
			if _, err := os.Lstat(filepath.Join(dir, ".state-evil.tmp")); !os.IsNotExist(err) {
				t.Errorf("stale temp link left: %v", err)
			}
		})
	}
}

// A state dir group or others can write, or that another user owns, is
// refused with an error naming it, its owner and mode, and the fix.
func TestOpenRefusesUnsafeDir(t *testing.T) {
	type tc struct {
		name string
		mode os.FileMode
		uid  int
		want []string
	}
	tests := []tc{
		{"group-writable", 0o770, os.Geteuid(), []string{"drwxrwx--- (0770)", "chmod 700"}},
		// Shared: never chmod'ed, a dir of afmc's own instead.
		{"world-writable", 0o777, os.Geteuid(), []string{"drwxrwxrwx (0777)", "a shared directory", "--state-dir " + defaultHint(os.Geteuid())}},
		{"world-writable sticky", 0o777 | os.ModeSticky, os.Geteuid(), []string{"(1777)", "a shared directory", "/state/afmc-" + userName(os.Geteuid()) + " (afmc creates it, mode 0700)"}},
	}
	if os.Geteuid() == 0 {
		tests = append(tests, tc{"another user's, unsafe", 0o770, nobody, []string{"owned by uid 65534", "drwxrwx--- (0770)", "chown root", "another --state-dir"}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tt.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(dir, tt.uid, tt.uid); err != nil {
				t.Fatal(err)
			}
			_, err := Open(context.Background(), dir, time.Second, quiet())
			mustContain(t, err, ErrUnsafe, append([]string{dir}, tt.want...)...)
			if strings.Contains(tt.name, "shared") || strings.Contains(tt.name, "world") {
				if strings.Contains(err.Error(), "chmod") || strings.Contains(err.Error(), "chown") {
					t.Errorf("a shared dir: the hint changes it: %v", err)
				}
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 0 {
				t.Errorf("files created in a refused dir: %v", entries)
			}
		})
	}
}

// A state dir below a directory others can write (not sticky) could be
// swapped for another: refused, naming that directory. Below a sticky one
// (/tmp), an entry of the user's own is fine.
func TestOpenChecksTheDirsAbove(t *testing.T) {
	shared := t.TempDir()
	if err := os.Chmod(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), filepath.Join(shared, "afmc", "state"), time.Second, quiet())
	mustContain(t, err, ErrUnsafe, shared, "drwxrwxrwx", "choose a --state-dir below dirs only", "such as "+defaultHint(os.Geteuid()))
	if strings.Contains(err.Error(), "chmod") {
		t.Errorf("the hint chmods a dir above the state dir, not afmc's: %v", err)
	}
	if entries, _ := os.ReadDir(shared); len(entries) != 0 {
		t.Errorf("created below a refused dir: %v", entries)
	}

	sticky := t.TempDir()
	if err := os.Chmod(sticky, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), filepath.Join(sticky, "afmc"), time.Second, quiet())
	if err != nil {
		t.Fatalf("own dir in a sticky dir: %v", err)
	}
	s.Close()

	if os.Geteuid() == 0 {
		// In a sticky dir, a link another user planted under the state
		// dir's name is theirs to point anywhere: refused.
		mine := t.TempDir()
		plantLink(t, mine, filepath.Join(sticky, "planted"), nobody)
		_, err := Open(context.Background(), filepath.Join(sticky, "planted"), time.Second, quiet())
		if err == nil {
			t.Fatal("a link of another user's in a sticky dir was followed")
		}
		if entries, _ := os.ReadDir(mine); len(entries) != 0 {
			t.Errorf("files created through the link: %v", entries)
		}
	}
}

// A state file or lock of another user's, or one others can write, is
// refused and left as it is.
func TestOpenRefusesForeignFiles(t *testing.T) {
	type tc struct {
		name, file string
		mode       os.FileMode
		uid        int
		want       string
	}
	var tests []tc
	for _, name := range []string{FileName, LockName} {
		tests = append(tests, tc{name + " world-writable", name, 0o666, os.Geteuid(), "chmod 600"})
		if os.Geteuid() == 0 {
			tests = append(tests, tc{name + " of another user", name, 0o600, nobody, "owned by uid 65534"})
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, tt.file)
			content := `{"version":1,"generation":5,"sections":{"network":{"forged":1}}}`
			if err := os.WriteFile(path, []byte(content), tt.mode); err != nil {
				t.Fatal(err)
			}
			os.Chmod(path, tt.mode)
			if err := os.Chown(path, tt.uid, tt.uid); err != nil {
				t.Fatal(err)
			}
			_, err := Open(context.Background(), dir, time.Second, quiet())
			mustContain(t, err, ErrUnsafe, path, tt.want)
			if b, _ := os.ReadFile(path); string(b) != content {
				t.Errorf("refused file changed: %q", b)
			}
		})
	}
}

// A FIFO as the state file neither hangs the run nor is read: a fresh
// baseline, and the save replaces it.
func TestStateFileFIFO(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, FileName), 0o600); err != nil {
		t.Fatal(err)
	}
	s := open(t, dir, quiet())
	defer s.Close()
	if len(s.Sections()) != 0 {
		t.Errorf("sections from a FIFO: %v", s.Sections())
	}
	if err := s.Save(time.Now()); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(filepath.Join(dir, FileName)); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("state file after save: %v, %v", fi, err)
	}
}

// A state file over its bound is not read into memory: kept aside.
func TestStateFileOversize(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: no disk is used for the size.
	if err := f.Truncate(65<<20 + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	s := open(t, dir, quiet())
	defer s.Close()
	if fi, err := os.Stat(path + ".corrupt"); err != nil || fi.Size() != 65<<20+1 {
		t.Errorf("oversize state not kept aside: %v", err)
	}
}

// Once open, the dir is reached through its descriptor: renaming it away and
// putting a link to elsewhere at its path redirects nothing.
func TestSwappedDirRedirectsNothing(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "state")
	s := open(t, dir, quiet())
	defer s.Close()
	elsewhere := t.TempDir()
	if err := os.Rename(dir, filepath.Join(parent, "moved")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, dir); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(time.Now()); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(elsewhere); len(entries) != 0 {
		t.Errorf("written through the swapped path: %v", entries)
	}
	if _, err := os.Stat(filepath.Join(parent, "moved", FileName)); err != nil {
		t.Errorf("not written in the dir opened: %v", err)
	}
}

func TestDefaultStateDir(t *testing.T) {
	tests := []struct {
		env  map[string]string
		uid  int
		want string
	}{
		{map[string]string{"HOME": "/home/u", "XDG_STATE_HOME": "/xdg"}, 0, "/var/lib/afmc"},
		{map[string]string{}, 0, "/var/lib/afmc"},
		{map[string]string{"HOME": "/home/u", "XDG_STATE_HOME": "/xdg"}, 1000, "/xdg/afmc"},
		{map[string]string{"HOME": "/home/u", "XDG_STATE_HOME": "relative"}, 1000, "/home/u/.local/state/afmc"},
		{map[string]string{"HOME": "/home/u"}, 1000, "/home/u/.local/state/afmc"},
		{map[string]string{}, 1000, ""},
	}
	for _, tt := range tests {
		got, err := DefaultStateDir(func(k string) string { return tt.env[k] }, tt.uid)
		if got != tt.want || (tt.want == "") != errors.Is(err, ErrNoStateDir) {
			t.Errorf("%v uid %d: %q, %v; want %q", tt.env, tt.uid, got, err, tt.want)
		}
	}
	// No shared fallback: without a default, opening says what to set.
	_, err := Open(context.Background(), DefaultDir(func(string) string { return "" }, 1000), time.Second, quiet())
	mustContain(t, err, ErrNoStateDir, "--state-dir")
}

// defaultHint is the state dir a refusal offers instead: the default one.
func defaultHint(uid int) string {
	if dir, err := DefaultStateDir(os.Getenv, uid); err == nil {
		return dir
	}
	return "DIR (a directory of this user's own)"
}

// userName is the login name of uid, or the uid when it has none, as the
// refusals name it.
func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return strconv.Itoa(uid)
}

// who names uid as the refusals do.
func who(uid int) string {
	if name := userName(uid); name != strconv.Itoa(uid) {
		return fmt.Sprintf("uid %d (%s)", uid, name)
	}
	return fmt.Sprintf("uid %d", uid)
}
