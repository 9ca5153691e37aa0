package state

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/atlas-af/afmc/internal/testtool"
)

// The hints never tell root to chown or chmod a directory afmc did not
// make for itself: a shared one (/tmp, /var/tmp, /dev/shm) or one of the
// system gets a subdirectory of afmc's own, which afmc then accepts.
func TestHintsForSharedAndSystemDirs(t *testing.T) {
	uid := os.Geteuid()
	for _, dir := range []string{"/tmp", "/var/tmp", "/dev/shm", "/", "/etc", "/var/lib"} {
		var st unix.Stat_t
		if err := unix.Stat(dir, &st); err != nil {
			t.Logf("%s: %v", dir, err)
			continue
		}
		t.Run(dir, func(t *testing.T) {
			// Peek first: were it accepted, Open would create its lock.
			if _, _, err := Peek(context.Background(), dir, time.Second, quiet()); err == nil {
				t.Fatalf("%s accepted as a state dir", dir)
			}
			_, err := Open(context.Background(), dir, time.Second, quiet())
			if err == nil {
				t.Fatalf("%s accepted as a state dir", dir)
			}
			if strings.Contains(err.Error(), "chmod") || strings.Contains(err.Error(), "chown") {
				t.Errorf("the hint changes %s: %v", dir, err)
			}
			// The dir it offers is one afmc takes (a fresh one of its own).
			m := strings.SplitN(err.Error(), "--state-dir ", 2)
			if len(m) != 2 {
				t.Fatalf("no --state-dir offered: %v", err)
			}
			offered := strings.Fields(m[1])[0]
			if st.Mode&unix.S_ISVTX != 0 && offered != filepath.Join(dir, "afmc-"+userName(uid)) {
				t.Errorf("in the sticky %s the hint is %s, want a subdirectory afmc-%s", dir, offered, userName(uid))
			}
			if strings.HasPrefix(offered, "/tmp/") || strings.HasPrefix(offered, "/var/tmp/") || strings.HasPrefix(offered, "/dev/shm/") {
				t.Cleanup(func() { os.RemoveAll(offered) })
				if _, err := os.Lstat(offered); err == nil {
					t.Skipf("%s exists already", offered)
				}
				s, err := Open(context.Background(), offered, time.Second, quiet())
				if err != nil {
					t.Fatalf("the dir offered, %s, is refused too: %v", offered, err)
				}
				s.Close()
				if fi, err := os.Stat(offered); err != nil || fi.Mode().Perm() != 0o700 {
					t.Errorf("%s: %v, %v; want mode 0700", offered, fi, err)
				}
			}
		})
	}
}

// Root meeting the state dir of the service's user (the timer's dynamic
// user, or afmc from cron): a real run names it as the service's and says
// to use --dry-run or another --state-dir, and changes nothing; Peek, the
// dry run, reads it and changes nothing.
func TestServiceStateDirAsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		testtool.Unavailable(t, "needs root: the state dir of another user's, as root meets it")
	}
	dir := filepath.Join(t.TempDir(), "afmc")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	saved := `{"version":1,"generation":42,"saved_at":"2026-11-29T00:00:00Z","sections":{"network":{"boot_id":"x"}}}` + "\n"
	for name, content := range map[string]string{FileName: saved, LockName: ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chown(filepath.Join(dir, name), nobody, nobody)
	}
	if err := os.Chown(dir, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, dir) + ownersOf(t, dir)

	_, err := Open(context.Background(), dir, time.Second, quiet())
	mustContain(t, err, ErrServiceState, dir, "uid 65534", "the state of the afmc service", "--dry-run", "another --state-dir")
	if errors.Is(err, ErrUnsafe) {
		t.Errorf("the service's dir is called unsafe: %v", err)
	}
	if strings.Contains(err.Error(), "chown") || strings.Contains(err.Error(), "chmod") {
		t.Errorf("the hint would take the service's dir over: %v", err)
	}
	sections, gen, err := Peek(context.Background(), dir, time.Second, quiet())
	if err != nil || gen != 42 || string(sections["network"]) != `{"boot_id":"x"}` {
		t.Errorf("root's dry run: %v, generation %d, sections %s", err, gen, mustJSON(sections))
	}
	if after := snapshot(t, dir) + ownersOf(t, dir); after != before {
		t.Errorf("the service's state dir changed:\n%s\n%s", before, after)
	}

	// A file in it that is not the service user's is still refused.
	if err := os.Chown(filepath.Join(dir, FileName), 0, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Peek(context.Background(), dir, time.Second, quiet()); !errors.Is(err, ErrUnsafe) {
		t.Errorf("a file of root's in the service's dir: %v", err)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// ownersOf is the owner of dir and of every name in it.
func ownersOf(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	names := []string{"."}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		names = append(names, e.Name())
	}
	for _, n := range names {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(dir, n), &st); err != nil {
			t.Fatal(err)
		}
		b.WriteString(n + " " + who(int(st.Uid)) + "\n")
	}
	return b.String()
}
