package safefile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/atlas-af/afmc/internal/asuser"
)

func write(t *testing.T, path string, mode os.FileMode, uid int) string {
	t.Helper()
	if err := os.WriteFile(path, []byte("s3cret-token-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, uid, uid); err != nil {
		t.Fatal(err)
	}
	return path
}

// What another user can do to a file afmc reads as root, through its
// owner, its mode, or a directory on the way, with links followed.
func TestTrust(t *testing.T) {
	asuser.Root(t)
	dir := t.TempDir()
	theirDir := filepath.Join(dir, "theirs")
	os.Mkdir(theirDir, 0o755)
	os.Chown(theirDir, asuser.NobodyUID, asuser.NobodyGID)
	openDir := filepath.Join(dir, "open")
	os.Mkdir(openDir, 0o777)
	os.Chmod(openDir, 0o777)
	sticky := filepath.Join(dir, "tmp")
	os.Mkdir(sticky, 0o777)
	os.Chmod(sticky, 0o777|os.ModeSticky)

	good := write(t, filepath.Join(dir, "good"), 0o600, 0)
	theirLink := filepath.Join(sticky, "link") // a link of nobody's in a sticky dir
	os.Symlink(good, theirLink)
	os.Lchown(theirLink, asuser.NobodyUID, asuser.NobodyGID)
	rootLink := filepath.Join(dir, "rootlink")
	os.Symlink(good, rootLink)

	for _, tt := range []struct {
		name, path string
		secretErr  string // ReadSecret's refusal, "" for none
		secretWarn string
		trustedErr string // ReadTrusted's and Program's
	}{
		{"root's alone", good, "", "", ""},
		{"through root's link", rootLink, "", "", ""},
		{"readable by all", write(t, filepath.Join(dir, "readable"), 0o644, 0), "", "is readable by every user (mode -rw-r--r-- (0644))", ""},
		{"another user's", write(t, filepath.Join(dir, "nobodys"), 0o600, asuser.NobodyUID), "", "belongs to uid 65534", "belongs to uid 65534"},
		{"group-writable", write(t, filepath.Join(dir, "gw"), 0o660, 0), "writable by group or others", "", "writable by group or others"},
		{"in another user's dir", write(t, filepath.Join(theirDir, "f"), 0o600, 0), theirDir + ", on the way to it, belongs to uid 65534", "", "belongs to uid 65534"},
		{"in a dir all can write", write(t, filepath.Join(openDir, "f"), 0o600, 0), openDir + ", on the way to it, has mode", "", "writable by group or others"},
		{"root's, in a sticky dir", write(t, filepath.Join(sticky, "f"), 0o600, 0), "", "", ""},
		{"another user's link in a sticky dir", theirLink, theirLink + ", in the shared dir " + sticky + ", belongs to uid 65534", "", "belongs to uid 65534"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, warn, err := ReadSecret(context.Background(), tt.path, MaxToken)
			switch {
			case tt.secretErr == "" && err != nil:
				t.Errorf("ReadSecret: %v", err)
			case tt.secretErr != "" && (!errors.Is(err, ErrUntrusted) || !strings.Contains(err.Error(), tt.secretErr) || b != nil):
				t.Errorf("ReadSecret: %d bytes, %v, want %q", len(b), err, tt.secretErr)
			case strings.Join(warn, "|") == "" != (tt.secretWarn == "") || !strings.Contains(strings.Join(warn, "|"), tt.secretWarn):
				t.Errorf("ReadSecret warnings %q, want %q", warn, tt.secretWarn)
			}
			_, err = ReadTrusted(context.Background(), tt.path, MaxToken)
			perr := Program(tt.path)
			for what, err := range map[string]error{"ReadTrusted": err, "Program": perr} {
				if tt.trustedErr == "" && err != nil || tt.trustedErr != "" && (!errors.Is(err, ErrUntrusted) || !strings.Contains(err.Error(), tt.trustedErr)) {
					t.Errorf("%s: %v, want %q", what, err, tt.trustedErr)
				}
			}
		})
	}
}

// A read that blocks in the kernel (a hung NFS server; here a FIFO opened
// without O_NONBLOCK, which waits for a writer that never comes) does not
// hold the caller past its context.
func TestWithContextHungRead(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Release the open left blocked, so that its goroutine ends.
		if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := WithContext(ctx, fifo, func() ([]byte, error) { return os.ReadFile(fifo) })
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "reading "+fifo+": no answer from its filesystem") {
		t.Errorf("error %v", err)
	}
	// An ended context: nothing is tried.
	_, err = ReadContext(ctx, "/etc/hostname", MaxToken)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("after the deadline: %v", err)
	}
	if b, err := ReadContext(context.Background(), "/proc/self/stat", 1<<20); err != nil || len(b) == 0 {
		t.Errorf("a plain read: %d bytes, %v", len(b), err)
	}
}
