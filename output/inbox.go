package output

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/atlas-af/afmc/state"
)

// The inbox takes the documents of a run that could not get the state lock
// (another run was still sending): each such run writes a file of its own,
// which needs no lock, and the next run that holds the lock moves them into
// the spool. Only snapshots arrive this way: without the state, a run has
// no deltas.
const inboxPattern = "spool.inbox-*.ndjson"

// WriteInbox stores items, fsynced, in a new inbox file in dir.
func WriteInbox(dir string, items []Item, now time.Time) (string, error) {
	var buf []byte
	for _, it := range items {
		if len(it.Doc) < 2 || it.Doc[0] != '{' || bytes.IndexByte(it.Doc, '\n') >= 0 {
			return "", fmt.Errorf("inbox: not a compact JSON object: %.60q", it.Doc)
		}
		buf = append(buf, `{"t":`...)
		buf = strconv.AppendInt(buf, it.CollectedAt.UnixMilli(), 10)
		buf = append(buf, `,"doc":`...)
		buf = append(buf, it.Doc...)
		buf = append(buf, "}\n"...)
	}
	name := filepath.Join(dir, fmt.Sprintf("spool.inbox-%d-%d.ndjson", now.UnixNano(), os.Getpid()))
	// Written under a temp name and renamed, so a reader never sees half.
	if err := state.WriteFileAtomic(name, buf, ".inbox-*.tmp"); err != nil {
		return "", fmt.Errorf("inbox: %w", err)
	}
	return name, nil
}

// mergeInbox moves the inbox files into the spool: appended (fsynced) first,
// then removed. A crash between the two sends those documents twice; it
// never loses them.
func (s *Spool) mergeInbox() error {
	files, err := filepath.Glob(filepath.Join(s.dir, inboxPattern))
	if err != nil || len(files) == 0 {
		return err
	}
	var items []Item
	var merged []string
	for _, f := range files {
		got, err := readInbox(f)
		if err != nil {
			// Kept for a person to look at, never read again.
			aside := f + ".unreadable"
			s.log.Warn("spool: an inbox file is unreadable, moved aside", "path", f, "kept_as", aside, "error", err)
			if err := os.Rename(f, aside); err != nil {
				return fmt.Errorf("spool: %w", err)
			}
			s.Dropped++
			continue
		}
		items = append(items, got...)
		merged = append(merged, f)
	}
	if len(merged) == 0 {
		return nil
	}
	// Generation 0: committed whatever the state; inbox documents are
	// snapshots.
	if _, err := s.Append(items, 0); err != nil {
		return err
	}
	for _, f := range merged {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("spool: %w", err)
		}
	}
	s.log.Info("spool: took in the documents of runs that could not get the lock", "documents", len(items), "files", len(merged))
	return state.SyncDir(s.dir)
}

func readInbox(path string) ([]Item, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var items []Item
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var r struct {
			T   int64           `json:"t"`
			Doc json.RawMessage `json:"doc"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || len(r.Doc) == 0 {
			return nil, fmt.Errorf("malformed inbox line %q", truncateBytes(sc.Bytes(), 60))
		}
		items = append(items, Item{Doc: r.Doc, CollectedAt: time.UnixMilli(r.T)})
	}
	return items, sc.Err()
}

func truncateBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
