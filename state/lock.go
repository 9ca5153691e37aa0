package state

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/gofrs/flock"
	"golang.org/x/sys/unix"

	"github.com/atlas-af/afmc/internal/safedir"
)

// lockFile takes the flock of the lock file in d, exclusive or shared,
// waiting at most timeout and never past ctx. create makes the file when
// it is missing (a shared lock only reads: a dir no run has locked has
// nothing to wait for, and Peek creates nothing).
//
// gofrs/flock opens the file by path. The path reaches it through the open
// dir handle (FdPath), with O_NOFOLLOW (no planted link is followed) and
// O_NONBLOCK (no FIFO blocks it); the file is checked first as every file
// of the dir is (owner, mode, one link), and once locked the file that
// flock opened is checked again, so none swapped in between is used.
func lockFile(ctx context.Context, d *safedir.Dir, shared, create bool, timeout time.Duration) (*flock.Flock, error) {
	flag, perm := os.O_RDWR, os.FileMode(0o600)
	if shared {
		flag = os.O_RDONLY | unix.O_NOATIME
	}
	if create {
		flag |= os.O_CREATE
	}
	// Made and checked through the handle, so that the errors name what
	// is wrong: a link, a FIFO, a file of another user's.
	f, err := d.OpenFile(LockName, flag&^unix.O_NOATIME, perm)
	if err != nil {
		return nil, fmt.Errorf("state lock: %w", err)
	}
	f.Close()

	fl := flock.New(d.FdPath(LockName), flock.SetFlag(flag|unix.O_NOFOLLOW|unix.O_NONBLOCK), flock.SetPermissions(perm))
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	try := fl.TryLockContext
	if shared {
		try = fl.TryRLockContext
	}
	ok, err := try(lctx, 5*time.Millisecond)
	if errors.Is(err, unix.EPERM) && shared {
		// O_NOATIME needs the file's owner: checked above, but a kernel
		// may still refuse it (a filesystem without it).
		fl = flock.New(d.FdPath(LockName), flock.SetFlag(os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK))
		ok, err = fl.TryRLockContext(lctx, 5*time.Millisecond)
	}
	path := d.Join(LockName)
	switch {
	case ok:
	case ctx.Err() != nil: // the run's own deadline, not the lock's
		return nil, fmt.Errorf("waiting for the state lock %s: %w", path, ctx.Err())
	case lctx.Err() != nil:
		return nil, fmt.Errorf("%w (%s) after waiting %s", ErrLockTimeout, path, timeout)
	default:
		return nil, fmt.Errorf("state lock %s: %w", path, err)
	}
	fi, err := fl.Stat()
	if err == nil {
		err = d.CheckOpened(LockName, fi)
	}
	if err != nil {
		fl.Close()
		return nil, fmt.Errorf("state lock: %w", err)
	}
	return fl, nil
}
