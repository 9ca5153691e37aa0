package spool

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
)

// compact replaces the spool file with the records still waiting.
func (s *Spool) compact() error {
	s.mu.Lock()
	end, unchanged := s.committed, s.settled.Empty()
	s.mu.Unlock()
	if unchanged {
		// Nothing was settled: the file would be copied as it is. Most
		// runs without --post end here, with no file written or synced.
		// An acks file can only hold nothing (or a torn line): it goes,
		// and losing that removal to a crash costs nothing.
		if err := s.dir.Remove(AcksName); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("spool: %w", err)
		}
		return nil
	}
	var f *os.File
	if end > 0 {
		var err error
		if f, err = s.dir.OpenFile(SpoolName, os.O_RDONLY, 0); err != nil {
			return fmt.Errorf("rewriting spool: %w", err)
		}
		defer f.Close()
	}
	return s.rewrite(func(w *bufio.Writer) (int, int64, error) {
		if f == nil {
			return 0, 0, nil
		}
		kept, size := 0, int64(0)
		lr := newLineReader(io.LimitReader(f, end))
		for {
			line, _, _, err := lr.next()
			if errors.Is(err, io.EOF) {
				return kept, size, nil
			}
			if err != nil {
				return 0, 0, fmt.Errorf("reading spool %s: %w", s.path(), err)
			}
			// Settled ones go; anything else stays as it is (a line that no
			// longer parses is for the next open to judge).
			rec, ok := parseRecord(line, false)
			if ok && s.settledHas(rec.ID) {
				continue
			}
			if _, err := w.Write(line); err != nil {
				return 0, 0, err
			}
			kept++
			size += int64(len(rec.Doc))
		}
	})
}

func (s *Spool) settledHas(id uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.settled.Has(id)
}
