package safefile

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReadRefuses(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, 5000), 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	tests := []struct {
		name, path string
		max        int64
		is         error
		want       string
	}{
		{"fifo", fifo, MaxToken, ErrNotRegular, fifo + " is a named pipe (FIFO)"},
		{"endless device", "/dev/zero", MaxToken, ErrNotRegular, "/dev/zero is a character device"},
		{"directory", dir, MaxConfig, ErrNotRegular, dir + " is a directory"},
		{"socket", sock, MaxToken, ErrNotRegular, sock + " is a socket"},
		{"oversize", big, MaxToken, ErrTooLarge, big + " is 5000 bytes (4.9 KiB), over the 4096 bytes (4.0 KiB) allowed"},
		{"missing", filepath.Join(dir, "none"), MaxToken, os.ErrNotExist, filepath.Join(dir, "none")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A FIFO with no writer would block an open without O_NONBLOCK
			// forever; the test's own deadline is the guard.
			start := time.Now()
			b, err := Read(tt.path, tt.max)
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %v naming %q", err, tt.is, tt.want)
			}
			if b != nil {
				t.Errorf("read %d bytes from what it refused", len(b))
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
}

func TestReadAccepts(t *testing.T) {
	dir := t.TempDir()
	token := filepath.Join(dir, "..data", "token")
	os.MkdirAll(filepath.Dir(token), 0o700)
	if err := os.WriteFile(token, []byte("s3cr3t-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// As a Kubernetes secret mount: the name is a symlink into ..data.
	link := filepath.Join(dir, "token")
	if err := os.Symlink(filepath.Join("..data", "token"), link); err != nil {
		t.Fatal(err)
	}
	exact := filepath.Join(dir, "exact")
	os.WriteFile(exact, []byte(strings.Repeat("x", MaxToken)), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	for path, want := range map[string]string{
		link:  "s3cr3t-token\n",
		token: "s3cr3t-token\n",
		exact: strings.Repeat("x", MaxToken),
		empty: "",
	} {
		b, err := Read(path, MaxToken)
		if err != nil || string(b) != want {
			t.Errorf("Read(%s) = %d bytes, %v", path, len(b), err)
		}
	}
}

// A file whose size says 0 but that has more to read (as /proc files do) is
// still cut at the limit.
func TestReadBoundsWhatStatDoesNotSay(t *testing.T) {
	b, err := Read("/proc/self/status", 16)
	if !errors.Is(err, ErrTooLarge) || b != nil {
		t.Errorf("read %d bytes, error %v; want too large", len(b), err)
	}
	if !strings.Contains(err.Error(), "over the 16 bytes allowed") {
		t.Errorf("error %v does not say the limit", err)
	}
}
