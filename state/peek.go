package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/atlas-af/afmc/internal/safefile"
)

// Peek reads the state for a run that must change nothing (--dry-run): the
// sections and the generation of the last save. It waits, at most
// lockTimeout, for a shared lock when the lock file exists, so that it
// never reads a state a run is between reading and saving; it creates,
// moves and writes nothing. A state dir that does not exist, a missing state
// file, and a corrupt or unreadable one (a warning) are an empty state of
// generation 0. The state dir and its files are checked as Open checks
// them: an unsafe one is an error wrapping ErrUnsafe.
func Peek(ctx context.Context, dir string, lockTimeout time.Duration, log *slog.Logger) (map[string]json.RawMessage, uint64, error) {
	empty := map[string]json.RawMessage{}
	if dir == "" {
		return nil, 0, ErrNoStateDir
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, 0, fmt.Errorf("state dir %s: %w", dir, err)
	}
	d, err := openDir(abs, false)
	if errors.Is(err, unix.ENOENT) {
		return empty, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	defer d.Close()

	lock, err := d.openNoAtime(LockName)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// No run has locked this dir yet: none to wait for.
	case err != nil:
		return nil, 0, fmt.Errorf("state lock: %w", err)
	default:
		defer lock.Close() // releases the lock
		if err := lockFile(ctx, lock, unix.LOCK_SH, lockTimeout); err != nil {
			return nil, 0, err
		}
	}

	f, err := d.openNoAtime(FileName)
	if errors.Is(err, fs.ErrNotExist) {
		return empty, 0, nil
	}
	if errors.Is(err, ErrUnsafe) {
		return nil, 0, err
	}
	var b []byte
	if err == nil {
		b, err = safefile.ReadOpen(f, safefile.MaxState)
		f.Close()
	}
	if err != nil {
		log.Warn("state file unreadable, reading it as empty (dry run: left as it is)", "path", d.Join(FileName), "error", err)
		return empty, 0, nil
	}
	st, err := parse(b)
	if err != nil {
		log.Warn("state file corrupt, reading it as empty (dry run: left as it is)", "path", d.Join(FileName), "error", err)
		return empty, 0, nil
	}
	return st.Sections, st.Generation, nil
}

// openNoAtime opens name for reading without updating its access time
// where the kernel allows it (O_NOATIME needs the file's owner, which
// OpenFile checks anyway).
func (d *Dir) openNoAtime(name string) (*os.File, error) {
	f, err := d.OpenFile(name, os.O_RDONLY|unix.O_NOATIME, 0)
	if errors.Is(err, unix.EPERM) {
		return d.OpenFile(name, os.O_RDONLY, 0)
	}
	return f, err
}
