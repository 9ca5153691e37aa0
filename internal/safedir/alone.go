package safedir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// CheckOpened checks a file of the dir that a library opened by path
// (FdPath), as OpenFile checks what it opens: fi must be the stat of the
// opened file, which must still be the dir's entry name, a regular file of
// the user's own with a single link.
func (d *Dir) CheckOpened(name string, fi fs.FileInfo) error {
	sys, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("stat %s: no system stat", d.Join(name))
	}
	var entry unix.Stat_t
	if err := unix.Fstatat(int(d.f.Fd()), name, &entry, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &fs.PathError{Op: "lstat", Path: d.Join(name), Err: err}
	}
	if entry.Dev != sys.Dev || entry.Ino != sys.Ino {
		return fmt.Errorf("%w: %s is not the file that was opened: it was replaced meanwhile", ErrUnsafe, d.Join(name))
	}
	st := unix.Stat_t{Mode: sys.Mode, Uid: sys.Uid, Nlink: sys.Nlink, Size: sys.Size}
	return d.checkStat(name, &st)
}

// FdPath is a path that reaches name through the open dir handle
// (/proc/self/fd/N/name), for a library that opens files by path: no
// component above name can be swapped under it. Without /proc it is the
// plain path; CheckOpened then still tells whether what was opened is the
// dir's own.
func (d *Dir) FdPath(name string) string {
	fdDir := "/proc/self/fd/" + strconv.Itoa(int(d.f.Fd()))
	if _, err := os.Stat(fdDir); err != nil {
		return d.Join(name)
	}
	return fdDir + "/" + name
}

// ErrHeldOpen is wrapped (beside ErrUnsafe) by the refusal of a file that
// another process holds open for writing.
var ErrHeldOpen = errors.New("held open for writing by another process")

// OpenAlone opens name as OpenFile does, once it is known that no other
// process holds the file open for writing: a handle kept from a time the
// dir was open to others (before an administrator's chown and chmod) could
// go on writing into it whatever its owner and mode are now. It asks the
// kernel for a read lease, which is refused while anyone has the file open
// for writing; where leases are off or not supported, it cannot tell and
// opens as OpenFile does. A child this process forks holds its open files
// until it execs: open a file alone before starting programs, with no
// handle of this process's own open for writing on it.
func (d *Dir) OpenAlone(name string, flag int, perm fs.FileMode) (*os.File, error) {
	f, err := d.OpenFile(name, os.O_RDONLY, 0)
	switch {
	case errors.Is(err, fs.ErrNotExist) && flag&os.O_CREATE != 0:
		return d.OpenFile(name, flag, perm)
	case err != nil:
		return nil, err
	}
	_, lerr := unix.FcntlInt(f.Fd(), unix.F_SETLEASE, unix.F_RDLCK)
	if lerr == nil {
		_, _ = unix.FcntlInt(f.Fd(), unix.F_SETLEASE, unix.F_UNLCK)
	}
	if errors.Is(lerr, unix.EAGAIN) {
		f.Close()
		return nil, fmt.Errorf("%w: %s is %w, which could go on writing into it: end that process (fuser -v %s names it), then remove the file",
			ErrUnsafe, d.Join(name), ErrHeldOpen, d.Join(name))
	}
	if flag&(os.O_WRONLY|os.O_RDWR) == 0 && flag&(os.O_TRUNC|os.O_APPEND|os.O_CREATE) == 0 {
		return f, nil
	}
	f.Close()
	return d.OpenFile(name, flag, perm)
}
