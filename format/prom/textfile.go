package prom

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// MaxTextfile bounds what is read back of a previous textfile: afmc's is a
// few KiB.
const MaxTextfile = 1 << 20

// staleTemp is the age after which a temp file of ours is a killed run's.
const staleTemp = time.Hour

// Dir is a textfile collector directory (node_exporter's
// --collector.textfile.directory), opened once. Every file is reached
// relative to that open directory and never through a symbolic link: afmc
// runs as root, and the directory may be writable by others (node_exporter's
// own user, a site's other scripts). What they could do there is limited
// to the metrics themselves: a temp file is created with O_EXCL|O_NOFOLLOW
// under a random name, a link planted at the file's name is replaced by
// the rename, never written through, and a file read back must be a
// regular one of ours.
type Dir struct {
	path string
	f    *os.File
	uid  int
}

// OpenDir opens an existing directory. It is not created: it is
// node_exporter's, and a missing one is most likely a mistyped setting.
func OpenDir(path string) (*Dir, error) {
	if path == "" {
		return nil, errors.New("textfile dir: no path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("textfile dir %s: %w", path, err)
	}
	fd, err := unix.Open(abs, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, unix.ENOENT):
		return nil, fmt.Errorf("textfile dir %s does not exist: create it, or set --textfile-dir to node_exporter's --collector.textfile.directory", abs)
	case errors.Is(err, unix.ENOTDIR):
		return nil, fmt.Errorf("textfile dir %s is not a directory", abs)
	case err != nil:
		return nil, fmt.Errorf("textfile dir %s: %w", abs, err)
	}
	return &Dir{path: abs, f: os.NewFile(uintptr(fd), abs), uid: os.Geteuid()}, nil
}

// Path is the directory's absolute path, for messages.
func (d *Dir) Path() string { return d.path }

// Close closes the directory.
func (d *Dir) Close() error { return d.f.Close() }

func (d *Dir) fd() int { return int(d.f.Fd()) }

// checkName refuses anything but a plain *.prom name.
func checkName(name string) error {
	if strings.ContainsRune(name, '/') || !strings.HasSuffix(name, ".prom") || strings.HasPrefix(name, ".") {
		return fmt.Errorf("textfile name %q: want a plain name ending in .prom", name)
	}
	return nil
}

// tempPrefix is how the temp files for name are named: a leading dot
// and a .tmp suffix, so node_exporter, which reads only *.prom, never
// reads one half written.
func tempPrefix(name string) string { return "." + name + "." }

const tempSuffix = ".tmp"

// ReadFile reads name back, at most MaxTextfile bytes. It reads only a
// regular file of afmc's own user with one link: a file another user put
// there, or a link to one, is not ours, and the error says so; the caller
// goes on without it.
func (d *Dir) ReadFile(name string) (data []byte, err error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	fd, err := unix.Openat(d.fd(), name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ELOOP) {
		return nil, fmt.Errorf("%s is a symbolic link: not read", filepath.Join(d.path, name))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(d.path, name), err)
	}
	f := os.NewFile(uintptr(fd), filepath.Join(d.path, name))
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return nil, fmt.Errorf("%s is not a regular file: not read", f.Name())
	case int(st.Uid) != d.uid:
		return nil, fmt.Errorf("%s belongs to uid %d, not to afmc's user: not read", f.Name(), st.Uid)
	case st.Nlink != 1:
		return nil, fmt.Errorf("%s has %d hard links: not read", f.Name(), st.Nlink)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxTextfile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	if len(b) > MaxTextfile {
		return nil, fmt.Errorf("%s is over %d bytes: not read", f.Name(), MaxTextfile)
	}
	return b, nil
}

// WriteFile replaces name with data, mode 0644 (node_exporter runs as a
// user of its own): a temp file node_exporter ignores, fsync, rename over
// name, fsync of the directory. A reader sees the old file or the new one,
// never half of one; a crash leaves one of them. Temp files of a run
// killed mid-write, older than an hour, are removed first.
func (d *Dir) WriteFile(name string, data []byte, now time.Time) (err error) {
	if err := checkName(name); err != nil {
		return err
	}
	d.removeStale(name, now)
	f, tmp, err := d.createTemp(name)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			_ = unix.Unlinkat(d.fd(), tmp, 0)
		}
	}()
	if err = f.Chmod(0o644); err != nil { // whatever the umask made of it
		return fmt.Errorf("%s: %w", f.Name(), err)
	}
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("%s: %w", f.Name(), err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("%s: fsync: %w", f.Name(), err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("%s: %w", f.Name(), err)
	}
	if err = unix.Renameat(d.fd(), tmp, d.fd(), name); err != nil {
		return fmt.Errorf("textfile: renaming %s to %s in %s: %w", tmp, name, d.path, err)
	}
	if err := d.f.Sync(); err != nil {
		return fmt.Errorf("textfile dir %s: fsync: %w", d.path, err)
	}
	return nil
}

// Probe creates and removes a temp file, as WriteFile would: for afmc
// check, which must change nothing.
func (d *Dir) Probe(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	f, tmp, err := d.createTemp(name)
	if err != nil {
		return err
	}
	f.Close()
	if err := unix.Unlinkat(d.fd(), tmp, 0); err != nil {
		return fmt.Errorf("textfile dir %s: removing %s: %w", d.path, tmp, err)
	}
	return nil
}

// createTemp makes a new temp file for name, O_EXCL|O_NOFOLLOW: never an
// existing file, never through a link.
func (d *Dir) createTemp(name string) (*os.File, string, error) {
	for try := 0; ; try++ {
		tmp := tempPrefix(name) + strconv.FormatUint(rand.Uint64(), 36) + tempSuffix
		fd, err := unix.Openat(d.fd(), tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
		if errors.Is(err, unix.EEXIST) && try < 100 {
			continue
		}
		if err != nil {
			return nil, "", fmt.Errorf("textfile dir %s: cannot create a file in it: %w", d.path, err)
		}
		return os.NewFile(uintptr(fd), filepath.Join(d.path, tmp)), tmp, nil
	}
}

// removeStale removes temp files of ours for name that a killed run left.
// Young ones may be another run's, writing right now.
func (d *Dir) removeStale(name string, now time.Time) {
	if _, err := d.f.Seek(0, io.SeekStart); err != nil {
		return
	}
	names, err := d.f.Readdirnames(-1)
	if err != nil {
		return
	}
	for _, n := range names {
		if !strings.HasPrefix(n, tempPrefix(name)) || !strings.HasSuffix(n, tempSuffix) {
			continue
		}
		var st unix.Stat_t
		if unix.Fstatat(d.fd(), n, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
			continue
		}
		if st.Mode&unix.S_IFMT == unix.S_IFREG && int(st.Uid) == d.uid && now.Sub(time.Unix(st.Mtim.Unix())) > staleTemp {
			_ = unix.Unlinkat(d.fd(), n, 0)
		}
	}
}
