// Package safedir is the one way in to afmc's state dir: a directory opened
// once and checked (owner, mode, the dirs above it), and every file in it
// (the state, the lock, the spool, its acks, the inbox) opened relative to
// that handle, never through a symbolic link, and checked once open: the
// user's own, not writable by group or others, a single hard link.
package safedir

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/atlas-af/afmc/internal/safefile"
)

// ErrUnsafe is wrapped by every refusal of a state dir, or of a file in it,
// that another user could have planted or could change: a symbolic link, an
// owner other than the user afmc runs as, a mode writable by group or
// others. afmc runs as root: what it writes or reads there must be its own.
var ErrUnsafe = errors.New("unsafe state dir")

// ErrNoStateDir is returned for an empty state dir path: nowhere safe to
// fall back to.
var ErrNoStateDir = errors.New("no state dir: set --state-dir or AFMC_STATE_DIR (neither XDG_STATE_HOME nor HOME is set)")

// Dir is a state dir opened once and checked as sshd checks ~/.ssh. Every
// file in it is reached relative to that open directory and never through a
// symbolic link, so neither a path component swapped after the check nor a
// link planted in the dir can redirect a read or a write.
type Dir struct {
	path string
	f    *os.File // the directory, opened once
	uid  int      // the effective user, who must own the dir and its files
}

// OpenDir creates path (mode 0700, with any missing parents) if it does
// not exist, opens it and checks it: it must belong to the effective user
// and not be writable by group or others, and no directory above it may be
// writable by another user (sticky dirs such as /tmp aside, when the entry
// in them is this user's or root's).
func OpenDir(path string) (*Dir, error) {
	if path == "" {
		return nil, ErrNoStateDir
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("state dir %s: %w", path, err)
	}
	// Nothing is created below a dir that would be refused.
	if err := checkAncestors(abs, os.Geteuid()); err != nil {
		return nil, err
	}
	return openDir(abs, true)
}

// openDir opens and checks the dir, created first when create is set;
// without, a dir that does not exist is an error wrapping unix.ENOENT.
func openDir(abs string, create bool) (*Dir, error) { return openDirOf(abs, os.Geteuid(), create) }

// openDirOf opens and checks the dir that uid must own, with everything
// in it.
func openDirOf(abs string, uid int, create bool) (*Dir, error) {
	fd, err := openWalk(abs, uid, create)
	if err != nil {
		return nil, err
	}
	d := &Dir{path: abs, f: os.NewFile(uintptr(fd), abs), uid: uid}
	if err := d.check(); err != nil {
		d.f.Close()
		return nil, err
	}
	return d, nil
}

// OpenToRead opens an existing dir to read only (state.Peek): as OpenDir,
// creating nothing, but root may
// read the service's state dir, owned by the service's user, as that
// user's: every file in it must then be that user's. Reading is safe
// where writing is not: nothing is created, changed or followed.
func OpenToRead(abs string) (*Dir, error) {
	d, err := openDir(abs, false)
	if !errors.Is(err, ErrServiceState) {
		return d, err
	}
	var st unix.Stat_t
	if serr := unix.Stat(abs, &st); serr != nil {
		return nil, err
	}
	return openDirOf(abs, int(st.Uid), false)
}

// check refuses a dir that is not the effective user's alone, or that sits
// below one another user could change.
func (d *Dir) check() error {
	var st unix.Stat_t
	if err := unix.Fstat(int(d.f.Fd()), &st); err != nil {
		return fmt.Errorf("state dir %s: %w", d.path, err)
	}
	// A directory of the system (/, /etc, /var/lib, /tmp) is never a
	// state dir, whoever owns it: afmc would scatter its files there.
	if int(st.Uid) != d.uid || st.Mode&0o022 != 0 || systemDirs[d.path] {
		return unusableDir(d.path, &st, d.uid)
	}
	if err := checkAncestors(d.path, d.uid); err != nil {
		return err
	}
	// The dir reached may not be the one named (a symlink on the way):
	// what lies above the one actually opened must be safe too.
	if real, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(d.f.Fd()))); err == nil && filepath.IsAbs(real) && real != d.path {
		if err := checkAncestors(real, d.uid); err != nil {
			return err
		}
	}
	return nil
}

// checkAncestors walks up from path: each dir above it must belong to root
// or uid and not be writable by group or others, unless it is sticky (as
// /tmp is) and the entry on the way in it belongs to root or uid, which
// nobody else can then rename or replace. Dirs not made yet are passed
// over: they will be the user's.
func checkAncestors(path string, uid int) error {
	child := path
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		var st unix.Stat_t
		err := unix.Stat(dir, &st)
		if errors.Is(err, unix.ENOENT) && dir != "/" {
			child = dir
			continue
		}
		if err != nil {
			return fmt.Errorf("state dir %s: checking %s: %w", path, dir, err)
		}
		// The fix is another state dir, never a chmod of a dir above it:
		// that is not afmc's.
		if st.Uid != 0 && int(st.Uid) != uid {
			return fmt.Errorf("%w: %s, above the state dir %s, is owned by %s, who could replace what is in it: choose a --state-dir below dirs owned by %s, such as %s",
				ErrUnsafe, dir, path, who(int(st.Uid)), rootOr(uid), defaultHint(uid))
		}
		if st.Mode&0o022 != 0 {
			if st.Mode&unix.S_ISVTX == 0 {
				return fmt.Errorf("%w: %s, above the state dir %s, has mode %s: others could replace what is in it: choose a --state-dir below dirs only %s can write, such as %s",
					ErrUnsafe, dir, path, modeText(st.Mode), rootOr(uid), defaultHint(uid))
			}
			var cst unix.Stat_t
			err := unix.Lstat(child, &cst)
			if err != nil && !errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("state dir %s: checking %s: %w", path, child, err)
			}
			if err == nil && cst.Uid != 0 && int(cst.Uid) != uid {
				return fmt.Errorf("%w: %s, in the shared dir %s, is owned by %s: choose another --state-dir, such as %s",
					ErrUnsafe, child, dir, who(int(cst.Uid)), defaultHint(uid))
			}
		}
		if dir == "/" || dir == "." {
			return nil
		}
		child = dir
	}
}

// Path is the dir's absolute path, for messages.
func (d *Dir) Path() string { return d.path }

// Join is the path of name in the dir, for messages only: opening it by
// that path would give up the guarantees of Dir.
func (d *Dir) Join(name string) string { return filepath.Join(d.path, name) }

// Close closes the dir.
func (d *Dir) Close() error { return d.f.Close() }

// Sync makes renames, new and removed files in the dir durable.
func (d *Dir) Sync() error {
	if err := d.f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", d.path, err)
	}
	return nil
}

// validName refuses anything but a plain name in the dir.
func (d *Dir) validName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, '/') {
		return fmt.Errorf("state dir %s: %q is not a file name", d.path, name)
	}
	return nil
}

// OpenFile opens the file name in the dir, as os.OpenFile does, but never
// through a symbolic link (that is an ErrUnsafe error naming the link; the
// file it points to is not touched), and only a regular file that belongs
// to the effective user and is not writable by group or others. A file it
// creates gets perm (0600 is what the state dir's files should have).
// Opening never blocks on a FIFO: it is refused as not a regular file.
func (d *Dir) OpenFile(name string, flag int, perm fs.FileMode) (*os.File, error) {
	if err := d.validName(name); err != nil {
		return nil, err
	}
	path := d.Join(name)
	// Truncate only once the file is known to be the user's own.
	trunc := flag&os.O_TRUNC != 0
	flag &^= os.O_TRUNC
	fd, err := unix.Openat(int(d.f.Fd()), name, flag|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, uint32(perm.Perm()))
	if err != nil {
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENXIO) || errors.Is(err, unix.EISDIR) {
			if fi, lerr := d.Lstat(name); lerr == nil {
				return nil, d.refuse(name, fi)
			}
		}
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	if err := d.checkOpen(f, name); err != nil {
		f.Close()
		return nil, err
	}
	// Only needed for the open: a regular file ignores it, but say what
	// is meant.
	if err := unix.SetNonblock(fd, false); err != nil {
		f.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if trunc {
		if err := f.Truncate(0); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

// checkOpen checks what was opened: a regular file of the user's own.
func (d *Dir) checkOpen(f *os.File, name string) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return fmt.Errorf("stat %s: %w", f.Name(), err)
	}
	return d.checkStat(name, &st)
}

func (d *Dir) checkStat(name string, st *unix.Stat_t) error {
	fi := statInfo(name, st)
	if !fi.Mode().IsRegular() {
		return d.refuse(name, fi)
	}
	if err := d.checkOwner(name, st); err != nil {
		return err
	}
	// A second name for the file could be anywhere on the filesystem (a
	// hard link to a file of root's made while the dir was open to others).
	if st.Nlink > 1 {
		return fmt.Errorf("%w: %s has %d hard links, so it may be a file outside the state dir: remove it",
			ErrUnsafe, d.Join(name), st.Nlink)
	}
	return nil
}

func (d *Dir) checkOwner(name string, st *unix.Stat_t) error {
	if int(st.Uid) != d.uid {
		return fmt.Errorf("%w: %s is owned by %s, not by %s that afmc runs as: remove it, or run `chown %s %s` if it is afmc's own",
			ErrUnsafe, d.Join(name), who(int(st.Uid)), who(d.uid), userName(d.uid), d.Join(name))
	}
	if st.Mode&0o022 != 0 {
		return fmt.Errorf("%w: %s has mode %s, writable by others: run `chmod 600 %s`, or remove it",
			ErrUnsafe, d.Join(name), modeText(st.Mode), d.Join(name))
	}
	return nil
}

// refuse is the error for something in the dir that is not a regular file.
func (d *Dir) refuse(name string, fi fs.FileInfo) error {
	path := d.Join(name)
	if fi.Mode()&fs.ModeSymlink != 0 {
		to, err := d.readlink(name)
		if err != nil {
			to = "?"
		}
		return fmt.Errorf("%w: %s is a symbolic link (to %s); afmc follows no link in its state dir and left what it points to untouched: remove the link",
			ErrUnsafe, path, to)
	}
	return fmt.Errorf("state dir: %w", safefile.Regular(path, fi))
}

func (d *Dir) readlink(name string) (string, error) {
	buf := make([]byte, 4096)
	n, err := unix.Readlinkat(int(d.f.Fd()), name, buf)
	if err != nil {
		return "", err
	}
	return strconv.Quote(string(buf[:n])), nil
}

// ReadFile reads the regular file name, at most max bytes, as OpenAlone
// opens it.
func (d *Dir) ReadFile(name string, max int64) ([]byte, error) {
	f, err := d.OpenAlone(name, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return safefile.ReadOpen(f, max)
}

// Rename renames old to new within the dir. Neither name is followed: a
// link at either is moved or replaced, never what it points to.
func (d *Dir) Rename(old, new string) error {
	if err := d.validName(old); err != nil {
		return err
	}
	if err := d.validName(new); err != nil {
		return err
	}
	fd := int(d.f.Fd())
	if err := unix.Renameat(fd, old, fd, new); err != nil {
		return &os.LinkError{Op: "rename", Old: d.Join(old), New: d.Join(new), Err: err}
	}
	return nil
}

// Remove removes the file name (a link itself, not what it points to).
func (d *Dir) Remove(name string) error {
	if err := d.validName(name); err != nil {
		return err
	}
	if err := unix.Unlinkat(int(d.f.Fd()), name, 0); err != nil {
		return &fs.PathError{Op: "remove", Path: d.Join(name), Err: err}
	}
	return nil
}

// Lstat describes name without following it.
func (d *Dir) Lstat(name string) (fs.FileInfo, error) {
	if err := d.validName(name); err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstatat(int(d.f.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: d.Join(name), Err: err}
	}
	return statInfo(name, &st), nil
}

// Glob returns the sorted names in the dir that match pattern
// (filepath.Match syntax), whatever they are: open them with OpenFile.
func (d *Dir) Glob(pattern string) ([]string, error) {
	if _, err := filepath.Match(pattern, ""); err != nil {
		return nil, err
	}
	fd, err := unix.Openat(int(d.f.Fd()), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: d.path, Err: err}
	}
	f := os.NewFile(uintptr(fd), d.path)
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", d.path, err)
	}
	var out []string
	for _, n := range names {
		if ok, _ := filepath.Match(pattern, n); ok {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}

// CreateTemp creates a new file, mode 0600, named by pattern with its last
// "*" replaced by a random string, and returns it and its name in the dir.
func (d *Dir) CreateTemp(pattern string) (*os.File, string, error) {
	prefix, suffix := pattern, ""
	if i := strings.LastIndex(pattern, "*"); i >= 0 {
		prefix, suffix = pattern[:i], pattern[i+1:]
	}
	for try := 0; ; try++ {
		name := prefix + strconv.FormatUint(rand.Uint64(), 36) + suffix
		f, err := d.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) && try < 10000 {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		return f, name, nil
	}
}

// WriteFileAtomic replaces name with data, mode 0600: a temp file named by
// pattern, fsync, rename over name, fsync the dir. A crash at any moment
// leaves the old file or the new one. A link at name is replaced, never
// written through.
func (d *Dir) WriteFileAtomic(name string, data []byte, pattern string) (err error) {
	if err := d.validName(name); err != nil {
		return err
	}
	tmp, tmpName, err := d.CreateTemp(pattern)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			d.Remove(tmpName)
		}
	}()
	if err = tmp.Chmod(0o600); err != nil { // whatever the umask made of it
		return err
	}
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = d.Rename(tmpName, name); err != nil {
		return err
	}
	return d.Sync()
}
