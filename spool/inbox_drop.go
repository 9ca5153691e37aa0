package spool

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// Len is how many documents the inbox holds: the number the next Add
// gives its document (numbered from 0 in the order added).
func (b *Inbox) Len() int { return b.n }

// Drop removes from the inbox, before Commit, the documents for which drop
// is true (numbered from 0 in the order added): the file is copied without
// them, under a new temp name in the state dir. It returns how many it
// removed. On an error the inbox is unusable: Abort it.
func (b *Inbox) Drop(drop func(n int) bool) (int, error) {
	if err := b.w.Flush(); err != nil {
		return 0, fmt.Errorf("inbox %s: %w", b.tmpName, err)
	}
	if _, err := b.tmp.Seek(0, io.SeekStart); err != nil {
		return 0, fmt.Errorf("inbox %s: %w", b.tmpName, err)
	}
	out, outName, err := b.dir.CreateTemp(".inbox-*.tmp")
	if err != nil {
		return 0, fmt.Errorf("inbox: %w", err)
	}
	fail := func(name string, err error) (int, error) {
		out.Close()
		b.dir.Remove(outName)
		return 0, fmt.Errorf("inbox %s: %w", name, err)
	}
	w := bufio.NewWriterSize(out, 64<<10)
	lr := newLineReader(b.tmp)
	dropped, kept := 0, 0
	for n := 0; ; n++ {
		line, _, _, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err == nil && line == nil {
			err = errors.New("a line longer than a document")
		}
		if err != nil {
			return fail(b.tmpName, err)
		}
		if drop(n) {
			dropped++
			continue
		}
		if _, err := w.Write(line); err != nil {
			return fail(outName, err)
		}
		kept++
	}
	old, oldName := b.tmp, b.tmpName
	b.tmp, b.tmpName, b.w, b.n = out, outName, w, kept
	old.Close()
	b.dir.Remove(oldName)
	return dropped, nil
}
