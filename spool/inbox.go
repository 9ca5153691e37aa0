package spool

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/atlas-af/afmc/internal/safedir"
	"github.com/atlas-af/afmc/send"
)

// The inbox takes the documents of a run that could not get the state lock
// (another run was still sending): each such run writes a file of its own,
// which needs no lock, and the next run that holds the lock moves them into
// the spool. Only snapshots arrive this way: without the state, a run has
// no deltas.
const inboxPattern = "spool.inbox-*.ndjson"

// Inbox writes one inbox file, a document at a time: it appears under its
// name, fsynced, only at Commit.
type Inbox struct {
	dir     *safedir.Dir
	name    string // in dir
	tmp     *os.File
	tmpName string
	w       *bufio.Writer
	line    []byte
	n       int
}

// NewInbox starts a new inbox file in the state dir at path: a run that
// could not get the lock has no handle of the state's, so the inbox opens
// and checks the dir itself.
func NewInbox(path string, now time.Time) (*Inbox, error) {
	d, err := safedir.OpenDir(path)
	if err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	// Written under a temp name (O_EXCL: never through a link) and renamed,
	// so a reader never sees half.
	tmp, tmpName, err := d.CreateTemp(".inbox-*.tmp")
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("inbox: %w", err)
	}
	return &Inbox{
		dir:     d,
		name:    fmt.Sprintf("spool.inbox-%d-%d.ndjson", now.UnixNano(), os.Getpid()),
		tmp:     tmp,
		tmpName: tmpName,
		w:       bufio.NewWriterSize(tmp, 64<<10),
	}, nil
}

// Add writes one document.
func (b *Inbox) Add(it send.Item) error {
	if err := checkDoc(it.Doc); err != nil {
		return fmt.Errorf("inbox: %w", err)
	}
	b.line = append(b.line[:0], `{"t":`...)
	b.line = strconv.AppendInt(b.line, it.CollectedAt.UnixMilli(), 10)
	b.line = append(b.line, `,"doc":`...)
	b.line = append(b.line, it.Doc...)
	b.line = append(b.line, "}\n"...)
	if _, err := b.w.Write(b.line); err != nil {
		return fmt.Errorf("inbox %s: %w", b.tmp.Name(), err)
	}
	b.n++
	return nil
}

// Commit makes the file durable under its name, which it returns.
func (b *Inbox) Commit() (string, error) {
	err := b.w.Flush()
	if err == nil {
		err = b.tmp.Sync()
	}
	if cerr := b.tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = b.dir.Rename(b.tmpName, b.name)
	}
	if err == nil {
		err = b.dir.Sync()
	}
	defer b.dir.Close()
	if err != nil {
		b.dir.Remove(b.tmpName)
		return "", fmt.Errorf("inbox: %w", err)
	}
	return b.dir.Join(b.name), nil
}

// Abort removes the unfinished file.
func (b *Inbox) Abort() {
	b.tmp.Close()
	b.dir.Remove(b.tmpName)
	b.dir.Close()
}

// mergeInbox moves the inbox files into the spool: appended (fsynced) first,
// then removed. A crash between the two sends those documents twice; it
// never loses them. Each file is read twice, streaming: once to check all
// of it, once to append it.
func (s *Spool) mergeInbox() error {
	files, err := s.dir.Glob(inboxPattern)
	if err != nil || len(files) == 0 {
		return err
	}
	var merged []string
	docs := 0
	for _, f := range files {
		n, err := s.readInbox(f, nil)
		if err == nil {
			// Generation 0: committed whatever the state; inbox documents
			// are snapshots.
			_, err = s.readInbox(f, func(it send.Item) error {
				_, err := s.Add(it, 0)
				return err
			})
			if s.appErr != nil {
				return s.appErr
			}
		}
		if err != nil {
			// Kept for a person to look at, never read again.
			if err := s.setAside(f, err); err != nil {
				return fmt.Errorf("spool: %w", err)
			}
			s.Dropped++
			continue
		}
		docs += n
		merged = append(merged, f)
	}
	if len(merged) == 0 {
		return nil
	}
	if err := s.Commit(); err != nil {
		return err
	}
	for _, f := range merged {
		if err := s.dir.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("spool: %w", err)
		}
	}
	s.log.Info("spool: took in the documents of runs that could not get the lock", "documents", docs, "files", len(merged))
	return s.dir.Sync()
}

// readInbox reads the inbox file name and hands each document to add (nil:
// only check it). It is opened as every file of the spool is: an inbox is
// sent with the site's token.
func (s *Spool) readInbox(name string, add func(send.Item) error) (int, error) {
	f, err := s.dir.OpenAlone(name, os.O_RDONLY, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	lr := newLineReader(f)
	n := 0
	for {
		line, _, ended, err := lr.next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
		if line == nil || !ended {
			return 0, errors.New("a line too long or cut short")
		}
		var r struct {
			T   int64           `json:"t"`
			Doc json.RawMessage `json:"doc"`
		}
		if err := json.Unmarshal(line, &r); err != nil || checkDoc(r.Doc) != nil {
			return 0, fmt.Errorf("malformed inbox line %q", truncateBytes(bytes.TrimSuffix(line, []byte{'\n'}), 60))
		}
		n++
		if add != nil {
			if err := add(send.Item{Doc: r.Doc, CollectedAt: time.UnixMilli(r.T)}); err != nil {
				return 0, err
			}
		}
	}
}

func truncateBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
