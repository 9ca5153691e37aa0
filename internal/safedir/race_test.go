package safedir

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/atlas-af/afmc/internal/asuser"
)

func TestMain(m *testing.M) {
	asuser.Main(map[string]func([]string) int{
		// opendir opens (making it) the state dir args[0] and says why not.
		"opendir": func(args []string) int {
			d, err := OpenDir(args[0])
			if err != nil {
				os.Stderr.WriteString(err.Error() + "\n")
				return 1
			}
			d.Close()
			return 0
		},
		// flip puts a link at args[0] to args[1] and takes it away again,
		// as fast as it can, until it is killed.
		"flip": func(args []string) int {
			// Held and left out for random short spells: the window to
			// hit is a few microseconds between two system calls.
			rng := rand.New(rand.NewPCG(uint64(os.Getpid()), 1))
			for {
				_ = os.Symlink(args[1], args[0])
				spin(rng.IntN(1000))
				_ = unix.Unlink(args[0])
				spin(rng.IntN(8000))
			}
		},
	})
	os.Exit(m.Run())
}

var sink int

// spin busies the CPU for about n loops.
func spin(n int) {
	for i := 0; i < n; i++ {
		sink += i
	}
}

// The attack of a user on a login node where the state dir is to be made
// in a sticky dir (/tmp): a link under its name, to a dir of root's, put
// there and taken away again and again, so that it is there when afmc
// opens the path and gone when afmc checks it. afmc must never adopt the
// dir the link points to. Run as root, with the attacker as nobody.
func TestStateDirLinkFlippedInStickyDir(t *testing.T) {
	asuser.Root(t)
	base, err := os.MkdirTemp("", "afmc-race-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	shared := filepath.Join(base, "tmp")
	if err := os.Mkdir(shared, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	asuser.Reachable(t, shared)
	victim := filepath.Join(t.TempDir(), "root-only")
	if err := os.Mkdir(victim, 0o700); err != nil {
		t.Fatal(err)
	}
	var vst unix.Stat_t
	if err := unix.Stat(victim, &vst); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(shared, "afmc")
	asuser.Start(t, "flip", link, victim)
	// Wait until the attacker's link is seen, so that the race is on.
	for deadline := time.Now().Add(10 * time.Second); ; {
		if fi, err := os.Lstat(link); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the attacker's link never appeared")
		}
	}

	// About one run in three of 3000 tries caught the code before the
	// fix on a 2-core VM; the fixed code must never be caught.
	const tries = 5000
	var adopted, opened, refused int
	for range tries {
		d, err := OpenDir(link)
		if err != nil {
			refused++
			continue
		}
		var st unix.Stat_t
		if err := unix.Fstat(int(d.f.Fd()), &st); err != nil {
			t.Fatal(err)
		}
		if st.Dev == vst.Dev && st.Ino == vst.Ino {
			adopted++
		} else {
			opened++
			if st.Uid != 0 {
				t.Errorf("opened a dir of uid %d", st.Uid)
			}
		}
		d.Close()
		// A dir afmc made itself: gone again, so that the race is run
		// again.
		if err := os.Remove(link); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	t.Logf("%d tries: %d opened a dir of afmc's own, %d refused", tries, opened, refused)
	if adopted > 0 {
		t.Errorf("the link was followed %d times in %d: afmc adopted %s", adopted, tries, victim)
	}
	if entries, _ := os.ReadDir(victim); len(entries) != 0 {
		t.Errorf("files made in the dir the link points to: %v", entries)
	}
}

// A user's state dir below a dir they may search but not read (a home dir
// of mode 0711 under /home): walking the path needs search permission
// only, as a lookup by path does. Run as nobody.
func TestStateDirBelowSearchOnlyDir(t *testing.T) {
	asuser.Root(t)
	base, err := os.MkdirTemp("", "afmc-home-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o711); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(base, "nobody")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(home, asuser.NobodyUID, asuser.NobodyGID); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(home, ".local", "state", "afmc")
	cmd := asuser.Start(t, "opendir", dir)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("nobody could not open %s: %v", dir, err)
	}
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() || fi.Sys().(*syscall.Stat_t).Uid != asuser.NobodyUID {
		t.Errorf("state dir %v, %v: want nobody's dir", fi, err)
	}
}
