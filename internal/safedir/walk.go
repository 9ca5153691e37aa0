package safedir

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// openWalk opens the dir abs, creating it and any missing dir above it
// (mode 0700) when create is set. The path is walked from / one component at a time, each
// created and opened relative to the handle of the dir above it, so that
// nothing can be swapped between a check and a use: in a dir others can
// write (a sticky one such as /tmp), a component is opened without
// following a link (another user may have planted it, or may flip it while
// afmc looks), and what was opened must belong to root or uid.
func openWalk(abs string, uid int, create bool) (int, error) {
	fail := func(err error) (int, error) {
		return -1, fmt.Errorf("state dir %s: %w (set --state-dir or AFMC_STATE_DIR to a directory this user can write)", abs, err)
	}
	// The dirs on the way are opened as paths (O_PATH): to walk through a
	// dir needs search permission only, as a lookup by path does (a home
	// dir of mode 0711). The state dir itself is opened for reading.
	names := strings.FieldsFunc(abs, func(r rune) bool { return r == '/' })
	first := unix.O_PATH
	if len(names) == 0 {
		first = unix.O_RDONLY
	}
	fd, err := unix.Open("/", first|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fail(err)
	}
	at := "/"
	for i, name := range names {
		var pst unix.Stat_t
		if err := unix.Fstat(fd, &pst); err != nil {
			unix.Close(fd)
			return fail(err)
		}
		shared := pst.Mode&0o022 != 0
		next := filepath.Join(at, name)
		flags := unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC
		if i == len(names)-1 {
			flags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC
		}
		if shared {
			flags |= unix.O_NOFOLLOW
		}
		nfd, err := unix.Openat(fd, name, flags, 0)
		if errors.Is(err, unix.ENOENT) && create {
			// Made only where missing: a read-only root with the state
			// dir on a volume of its own refuses even an existing name.
			if err := unix.Mkdirat(fd, name, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
				unix.Close(fd)
				return fail(err)
			}
			nfd, err = unix.Openat(fd, name, flags, 0)
		}
		if err != nil {
			var lst unix.Stat_t
			if shared && unix.Fstatat(fd, name, &lst, unix.AT_SYMLINK_NOFOLLOW) == nil && lst.Mode&unix.S_IFMT == unix.S_IFLNK {
				unix.Close(fd)
				return -1, fmt.Errorf("%w: %s is a symbolic link in the shared dir %s, owned by %s, which could point it anywhere: afmc does not follow it; give --state-dir the path it should be",
					ErrUnsafe, next, at, who(int(lst.Uid)))
			}
			unix.Close(fd)
			return fail(err)
		}
		unix.Close(fd)
		fd = nfd
		if shared {
			var st unix.Stat_t
			if err := unix.Fstat(fd, &st); err != nil {
				unix.Close(fd)
				return fail(err)
			}
			if st.Uid != 0 && int(st.Uid) != uid {
				unix.Close(fd)
				return -1, fmt.Errorf("%w: %s, in the shared dir %s, is owned by %s: choose another --state-dir",
					ErrUnsafe, next, at, who(int(st.Uid)))
			}
		}
		at = next
	}
	return fd, nil
}
