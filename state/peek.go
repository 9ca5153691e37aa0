package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/atlas-af/afmc/internal/safedir"
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
	d, err := safedir.OpenToRead(abs)
	if errors.Is(err, unix.ENOENT) {
		return empty, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	defer d.Close()

	lock, err := lockFile(ctx, d, true, false, lockTimeout)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// No run has locked this dir yet: none to wait for.
	case err != nil:
		return nil, 0, err
	default:
		defer lock.Close() // releases the lock
	}

	f, err := d.OpenNoAtime(FileName)
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
