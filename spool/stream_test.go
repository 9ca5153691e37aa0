package spool

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atlas-af/afmc/send"
)

// Appending allocates nothing per document: memory does not grow with the
// run, however many documents it spools.
func TestSpoolAddAllocatesNothingPerDocument(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir, 0, SpoolLimits{}, spoolBase, nil)
	it := spoolItems(0, 1)[0]
	if _, err := s.Add(it, 1); err != nil { // opens the file
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(5000, func() {
		if _, err := s.Add(it, 1); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Add allocates %.1f times a document, want 0", allocs)
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := s.Len(); n != 5002 { // AllocsPerRun runs once more to warm up
		t.Errorf("Len = %d, want 5002", n)
	}
}

// Items reads the spool back as it is consumed: its allocations do not
// grow with the number of documents.
func TestSpoolItemsStreams(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir, 0, SpoolLimits{}, spoolBase, nil)
	appendItems(t, s, spoolItems(0, 10_000), 1)
	n := 0
	allocs := testing.AllocsPerRun(3, func() {
		n = 0
		for range s.Items(1) {
			n++
		}
	})
	if n != 10_000 {
		t.Fatalf("Items yielded %d, want 10000", n)
	}
	if allocs > 50 {
		t.Errorf("reading 10,000 documents back allocates %.0f times, want a constant few", allocs)
	}
	// Stopping early is fine, and acks are seen by the next pass.
	var first []uint64
	for it := range s.Items(1) {
		if first = append(first, it.ID); len(first) == 3 {
			break
		}
	}
	s.Ack(first, send.Delivered)
	if got := s.Waiting(1); got != 10_000-3 {
		t.Errorf("Waiting after 3 acks = %d, want %d", got, 10_000-3)
	}
	if s.settled.Ranges() != 1 {
		t.Errorf("3 consecutive acks kept as %d ranges, want 1", s.settled.Ranges())
	}
}

// bytesAllocated is what f allocates, in bytes.
func bytesAllocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// writeSpool writes n records of about 200 bytes straight to a spool file,
// as an older version or a bigger --spool-max-bytes left them: every fifth
// a delta (an event), the rest snapshots, oldest first.
func writeSpool(t testing.TB, dir string, n int) int64 {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, SpoolName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var buf []byte
	var docBytes int64
	for i := range n {
		it := spoolBenchItem(i)
		kind := "DISK"
		delta := i%5 == 4
		if delta {
			kind = "NETWORK"
		}
		doc := bytes.Replace(it.Doc, []byte(`"kind":"DISK"`), []byte(`"kind":"`+kind+`"`), 1)
		docBytes += int64(len(doc))
		buf = appendRecord(buf, record{ID: uint64(i + 1), Gen: 1, T: it.CollectedAt.UnixMilli(), Delta: delta, Doc: doc})
		if len(buf) > 1<<20 {
			if _, err := f.Write(buf); err != nil {
				t.Fatal(err)
			}
			buf = buf[:0]
		}
	}
	if _, err := f.Write(buf); err != nil {
		t.Fatal(err)
	}
	return docBytes
}

// A spool far over its bound is not read into memory: opening it
// allocates a small part of its size.
func TestSpoolOpenOverBoundStaysSmall(t *testing.T) {
	dir := t.TempDir()
	const n = 40_000 // about 9 MB
	total := writeSpool(t, dir, n)
	limits := SpoolLimits{MaxBytes: total / 10}
	fi, err := os.Stat(filepath.Join(dir, SpoolName))
	if err != nil {
		t.Fatal(err)
	}
	var s *Spool
	var logs bytes.Buffer
	alloc := bytesAllocated(func() {
		var err error
		s, err = OpenSpool(openDir(t, dir), 1, limits, spoolBase, slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Cleanup(func() { kill(s) })
	if alloc > uint64(fi.Size())/4 && alloc > 2<<20 {
		t.Errorf("opening a %d-byte spool allocated %d bytes, want far less than its size", fi.Size(), alloc)
	}
	if kept := s.Waiting(1); kept == 0 || kept >= n/5 {
		t.Errorf("%d documents kept of %d, want about a tenth", kept, n)
	}
	var size int64
	for it := range s.Items(1) {
		size += int64(len(it.Doc))
	}
	if size > limits.MaxBytes {
		t.Errorf("%d bytes of documents kept, over the bound %d", size, limits.MaxBytes)
	}
	// 9 MB to 0.9 MB: all the snapshots go before any event (a fifth of
	// the documents, so about 1.8 MB), then the oldest events.
	for it := range s.Items(1) {
		if !it.Delta {
			t.Fatalf("a snapshot (id %d) was kept while events were dropped", it.ID)
		}
	}
	if !strings.Contains(logs.String(), "kinds=\"DISK=32000 NETWORK=") {
		t.Errorf("drops not logged by kind:\n%s", logs.String())
	}
}

// When the bound is reached, snapshots go before events, oldest first in
// each class, whether at open or after this run's documents.
func TestSpoolDropsSnapshotsBeforeEvents(t *testing.T) {
	now := spoolBase.Add(time.Hour)
	doc := func(seq int, kind string, delta bool) send.Item { // 36 bytes (seq < 10)
		pad := strings.Repeat("x", 10-len(kind))
		return send.Item{Doc: fmt.Appendf(nil, `{"kind":"%s","seq":%d,"p":"%s"}`, kind, seq, pad), CollectedAt: now.Add(time.Duration(seq-100) * time.Second), Delta: delta}
	}
	// Interleaved as runs make them: a snapshot and an event, in turn.
	var old []send.Item
	for seq := range 6 {
		if seq%2 == 0 {
			old = append(old, doc(seq, "CPU", false))
		} else {
			old = append(old, doc(seq, "NETWORK", true))
		}
	}
	tests := []struct {
		name     string
		maxBytes int64
		add      []send.Item // this run's
		keep     []int
		warn     string
	}{
		{"only snapshots go", 4 * 36, nil, []int{1, 3, 4, 5}, `documents=2 snapshots=2 events=0 kinds="CPU=2"`},
		{"every snapshot, then the oldest event", 2 * 36, nil, []int{3, 5}, `documents=4 snapshots=3 events=1 kinds="CPU=3 NETWORK=1"`},
		{"this run's events stay, old snapshots go", 6 * 36, []send.Item{doc(6, "NETWORK", true), doc(7, "NETWORK", true)}, []int{1, 3, 4, 5, 6, 7}, `documents=2 snapshots=2`},
		{"this run's snapshot goes before old events", 4 * 36, []send.Item{doc(6, "DISK", false), doc(7, "NETWORK", true)}, []int{1, 3, 5, 7}, `kinds="CPU=1 DISK=1"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			spoolOf(t, dir, old, now)
			var logs bytes.Buffer
			limits := SpoolLimits{MaxBytes: tc.maxBytes}
			r := openSpool(t, dir, 1, limits, now, slog.New(slog.NewTextHandler(&logs, nil)))
			if tc.add != nil {
				appendItems(t, r, tc.add, 2)
			}
			if got := seqs(t, r.Pending(2)); !slices.Equal(got, tc.keep) {
				t.Errorf("kept seqs %v, want %v", got, tc.keep)
			}
			if !strings.Contains(logs.String(), tc.warn) {
				t.Errorf("no Warn with %s:\n%s", tc.warn, logs.String())
			}
			// What went stays gone, after a kill as after Close.
			kill(r)
			r2 := openSpool(t, dir, 2, SpoolLimits{}, now, nil)
			if got := seqs(t, r2.Pending(2)); !slices.Equal(got, tc.keep) {
				t.Errorf("after a kill and reopen: seqs %v, want %v", got, tc.keep)
			}
		})
	}
}

// A run that reaches its deadline with documents left, no request having
// failed, says so instead of leaving the reason empty.
func TestSendDeadlineSaysHowMuchIsLeft(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	sk := newSink(t, func(i int64, _ http.ResponseWriter, r *http.Request, _ []json.RawMessage) bool {
		if i > 3 {
			<-r.Context().Done() // slow: answers after the run gave up
			return true
		}
		return false
	})
	cfg := testConfig(sk.URL)
	cfg.Concurrency = 1
	s := newSender(t, cfg)
	items := makeItems(50)
	acks := newAckRecorder(t)
	st := s.Send(ctx, items, acks.Ack)
	if st.Delivered != 3 || st.Pending != 47 {
		t.Fatalf("stats %+v, want 3 delivered and 47 pending", st)
	}
	if want := "deadline reached with 47 documents left to send"; st.LastFailure != want {
		t.Errorf("LastFailure = %q, want %q", st.LastFailure, want)
	}
	acks.Check(items, func(i int) send.Outcome {
		if i < 3 {
			return send.Delivered
		}
		return send.Pending
	})
}

// SendSeq renders each item as it comes, so an item's Doc need only be
// valid until the next one is pulled (a spool reuses its read buffer).
func TestSendSeqCopiesEachItem(t *testing.T) {
	for _, batch := range []int{1, 7} {
		t.Run(fmt.Sprint("batch ", batch), func(t *testing.T) {
			sk := newSink(t, nil)
			cfg := testConfig(sk.URL)
			cfg.Batch = batch
			s := newSender(t, cfg)
			items := makeItems(100)
			buf := make([]byte, 0, 256)
			seq := func(yield func(send.Item) bool) {
				for _, it := range items {
					buf = append(buf[:0], it.Doc...)
					it.Doc = buf
					if !yield(it) {
						return
					}
				}
			}
			acks := newAckRecorder(t)
			if st := s.SendSeq(t.Context(), seq, acks.Ack); st.Delivered != 100 {
				t.Fatalf("stats %+v, want 100 delivered", st)
			}
			acks.Check(items, all(send.Delivered))
			checkOnce(t, sk, testToken, 100, everyDoc)
		})
	}
}
