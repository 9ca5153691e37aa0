package spool

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atlas-af/afmc/send"
)

// FuzzOpenSpool opens a state dir holding any spool, acks and inbox files,
// as a run finds them after crashes, tampering or a full disk: it opens;
// what waits to be sent is JSON objects with distinct ids, none of them
// settled in the acks; its size keeps the bound when no inbox was taken in; and after Close the
// next open finds the same documents waiting.
func FuzzOpenSpool(f *testing.F) {
	spool := strings.Join(spoolSeeds[:3], "\n") + "\n"
	f.Add([]byte(spool), []byte("7\n"), []byte(`{"t":1764096000123,"doc":{"kind":"CPU","load":0.5}}`+"\n"), uint64(1764096000000000000), uint16(0))
	f.Add([]byte(spool+`{"id":9,"gen":2,"t":1,"doc":{"kind":"MEM"}`), []byte("3\n1"), []byte{}, uint64(1), uint16(60))
	f.Add([]byte(strings.Join(spoolSeeds, "\n")), []byte("x\n\n8\n18446744073709551615\n"), []byte("not json\n"), uint64(0), uint16(1))
	f.Fuzz(func(t *testing.T, spool, acks, inbox []byte, committed uint64, maxBytes uint16) {
		dir := t.TempDir()
		write := func(name string, b []byte) {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		write(SpoolName, spool)
		write(AcksName, acks)
		if len(inbox) > 0 {
			write("spool.inbox-1764096000-1.ndjson", inbox)
		}
		now := time.UnixMilli(1764096000123)
		limits := SpoolLimits{MaxBytes: int64(maxBytes), MaxAge: 0}
		s, err := OpenSpool(openDir(t, dir), committed, limits, now, discardLog())
		if err != nil {
			t.Fatalf("OpenSpool: %v", err)
		}
		items := pending(s, committed)
		if err := s.Err(); err != nil {
			t.Fatalf("reading back: %v", err)
		}
		// Ids of whole acks lines are settled; a last line without its
		// newline is torn, and not.
		settled := map[uint64]bool{}
		whole := string(acks[:strings.LastIndexByte(string(acks), '\n')+1])
		for _, l := range strings.Split(whole, "\n") {
			if id, err := strconv.ParseUint(l, 10, 64); err == nil {
				settled[id] = true
			}
		}
		seen := map[uint64]bool{}
		var size int64
		for _, it := range items {
			switch {
			case it.ID == 0 || seen[it.ID]:
				t.Fatalf("id %d twice or zero", it.ID)
			case settled[it.ID]:
				t.Fatalf("id %d waits, but the acks settled it", it.ID)
			case !json.Valid(it.Doc) || it.Doc[0] != '{':
				t.Fatalf("id %d: document %q", it.ID, it.Doc)
			}
			seen[it.ID] = true
			size += int64(len(it.Doc))
		}
		if len(inbox) == 0 && limits.MaxBytes > 0 && size > limits.MaxBytes {
			t.Fatalf("%d bytes wait, over the bound of %d", size, limits.MaxBytes)
		}
		if s.Len() != len(items) {
			t.Fatalf("Len %d, %d items", s.Len(), len(items))
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		again, err := OpenSpool(openDir(t, dir), committed, limits, now, discardLog())
		if err != nil {
			t.Fatalf("reopening: %v", err)
		}
		defer again.Close()
		next := pending(again, committed)
		if !slices.EqualFunc(items, next, func(a, b send.Item) bool {
			return a.ID == b.ID && string(a.Doc) == string(b.Doc) && a.CollectedAt.Equal(b.CollectedAt) && a.Delta == b.Delta
		}) {
			t.Fatalf("waiting at first: %d items; after Close and open: %d\n%v\n%v", len(items), len(next), items, next)
		}
	})
}

// pending is what waits to be sent, each document copied.
func pending(s *Spool, committed uint64) []send.Item {
	var items []send.Item
	for it := range s.Items(committed) {
		it.Doc = slices.Clone(it.Doc)
		items = append(items, it)
	}
	return items
}
