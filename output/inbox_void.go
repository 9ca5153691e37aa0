package output

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Drop removes from the inbox, before Commit, the documents for which drop
// is true (numbered from 0 in the order added): the file is copied without
// them. It returns how many it removed. On an error the inbox is unusable:
// Abort it.
func (b *Inbox) Drop(drop func(n int) bool) (int, error) {
	if err := b.w.Flush(); err != nil {
		return 0, fmt.Errorf("inbox %s: %w", b.tmp.Name(), err)
	}
	if _, err := b.tmp.Seek(0, io.SeekStart); err != nil {
		return 0, fmt.Errorf("inbox %s: %w", b.tmp.Name(), err)
	}
	out, err := os.CreateTemp(filepath.Dir(b.tmp.Name()), ".inbox-*.tmp")
	if err != nil {
		return 0, fmt.Errorf("inbox: %w", err)
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
			out.Close()
			os.Remove(out.Name())
			return 0, fmt.Errorf("inbox %s: %w", b.tmp.Name(), err)
		}
		if drop(n) {
			dropped++
			continue
		}
		if _, err := w.Write(line); err != nil {
			out.Close()
			os.Remove(out.Name())
			return 0, fmt.Errorf("inbox %s: %w", out.Name(), err)
		}
		kept++
	}
	old := b.tmp
	b.tmp, b.w, b.n = out, w, kept
	old.Close()
	os.Remove(old.Name())
	return dropped, nil
}
