// Package safefile reads the small files an administrator names (token,
// salt, config, CA bundle) and afmc's own state file without letting one of
// them hang the run or fill its memory: a FIFO, a device, a socket or a
// directory is refused before any read, and so is a file larger than is
// plausible for what it holds.
package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// Limits, far above what a real file of each kind holds and far below what
// would hurt a login node's memory.
const (
	// MaxToken: a bearer token is a few hundred bytes; a JWT with many
	// claims stays under 2 KiB.
	MaxToken = 4 << 10
	// MaxSalt: the user-name salt is a short random string.
	MaxSalt = 4 << 10
	// MaxConfig: /etc/afmc/afmc.yaml is a few dozen commented keys; 1 MiB leaves room
	// for long mount and interface lists.
	MaxConfig = 1 << 20
	// MaxCABundle: the Mozilla bundle a distribution ships is about 220 KiB;
	// 4 MiB leaves room for a site's bundle with many intermediates.
	MaxCABundle = 4 << 20
	// MaxState: state.json holds a few counters per interface and device,
	// and later per-collector checkpoints; 64 MiB is hundreds of times that,
	// and still a bound on memory.
	MaxState = 64 << 20
)

// Read returns the content of the regular file at path, at most max bytes.
// Symlinks are followed (a Kubernetes secret mount is a symlink); anything
// but a regular file at the end of them is refused without being read, and
// so is a file over max bytes. Opening never blocks: a FIFO is opened with
// O_NONBLOCK and refused once its type is known.
func Read(path string, max int64) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		// A socket cannot be opened at all (ENXIO): say what it is.
		if fi, serr := os.Stat(path); serr == nil && !fi.Mode().IsRegular() {
			return nil, Regular(path, fi)
		}
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	return ReadOpen(f, max)
}

// ReadOpen is Read for a file already open, for callers that opened it in
// their own way (relative to a directory, without following symlinks). Its
// errors name f.Name(). It does not close f.
func ReadOpen(f *os.File, max int64) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := Regular(f.Name(), fi); err != nil {
		return nil, err
	}
	if fi.Size() > max {
		return nil, tooLarge(f.Name(), fi.Size(), max)
	}
	// The file may grow between the stat and the read, or report a size of
	// 0 (a /proc file): read at most one byte more than allowed, to tell.
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", f.Name(), err)
	}
	if int64(len(b)) > max {
		return nil, tooLarge(f.Name(), int64(len(b)), max)
	}
	return b, nil
}

// ErrNotRegular is wrapped by the error for a path that is not a regular
// file.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is wrapped by the error for a file over its limit.
var ErrTooLarge = errors.New("file too large")

// Regular returns an error naming path and what it is, unless fi is that of
// a regular file.
func Regular(path string, fi fs.FileInfo) error {
	if fi.Mode().IsRegular() {
		return nil
	}
	return fmt.Errorf("%s is %s, %w", path, Describe(fi.Mode()), ErrNotRegular)
}

// Describe names a file type for an error message.
func Describe(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "of an unusual type (mode " + m.String() + ")"
}

func tooLarge(path string, size, max int64) error {
	return fmt.Errorf("%s is %s, over the %s allowed for it: %w", path, bytesText(size), bytesText(max), ErrTooLarge)
}

// bytesText says a size exactly, with a rounded binary unit when it helps.
func bytesText(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%d bytes (%.1f MiB)", n, float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d bytes (%.1f KiB)", n, float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
