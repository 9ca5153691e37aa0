package spool

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atlas-af/afmc/send"
)

// A collector flooding documents (a condor_q gone wrong) does not grow
// the spool past about twice its bound while the run writes: the bound
// applies as documents are added, not only once the collectors are done.
// The events spooled before are kept; the oldest snapshots go first.
func TestSpoolBoundWhileWriting(t *testing.T) {
	dir := t.TempDir()
	now := spoolBase.Add(time.Hour)
	// Two events of an earlier run, waiting.
	spoolOf(t, dir, spoolItems(0, 2), now)
	const bound = 256 << 10
	var logs bytes.Buffer
	s := openSpool(t, dir, 1, SpoolLimits{MaxBytes: bound}, now, slog.New(slog.NewTextHandler(&logs, nil)))
	pad := strings.Repeat("x", 900)
	const n = 10_000 // some 9 MiB of documents, 36 times the bound
	var largest int64
	for i := range n {
		doc := fmt.Appendf(nil, `{"kind":"condorjob","seq":%d,"pad":%q}`, 1000+i, pad)
		if _, err := s.Add(send.Item{Doc: doc, CollectedAt: now}, 2); err != nil {
			t.Fatalf("Add %d: %v", i, err)
		}
		if i%500 == 0 {
			if fi, err := os.Stat(filepath.Join(dir, SpoolName)); err == nil {
				largest = max(largest, fi.Size())
			}
		}
	}
	// Twice the bound, the slack, and a record's framing per document.
	if limit := int64(2*bound+boundSlack) * 11 / 10; largest > limit {
		t.Errorf("the spool file grew to %d bytes while written, over %d", largest, limit)
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	pending := s.Pending(2)
	var size int64
	for _, it := range pending {
		size += int64(len(it.Doc))
	}
	if size > bound {
		t.Errorf("%d bytes waiting, over the bound %d", size, bound)
	}
	got := seqs(t, pending)
	if !slices.Equal(got[:2], []int{0, 1}) {
		t.Errorf("the earlier run's events were dropped: first seqs %v", got[:min(5, len(got))])
	}
	// The newest snapshots are the ones kept, in order.
	if last := got[len(got)-1]; last != 1000+n-1 || !slices.IsSorted(got) {
		t.Errorf("kept seqs end with %d (sorted %v), want the newest", last, slices.IsSorted(got))
	}
	if want := n - (len(got) - 2); s.Dropped != want {
		t.Errorf("Dropped %d, want %d", s.Dropped, want)
	}
	// One warning for all that was dropped while writing.
	if c := strings.Count(logs.String(), "dropping the oldest documents"); c != 1 {
		t.Errorf("%d warnings of drops, want one:\n%.2000s", c, logs.String())
	}
	closeSpool(t, s)
	r := openSpool(t, dir, 2, SpoolLimits{}, now, nil)
	if again := seqs(t, r.Pending(2)); !slices.Equal(again, got) {
		t.Errorf("after Close and reopen: %d documents, want %d", len(again), len(got))
	}
}
