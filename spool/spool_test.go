package spool

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atlas-af/afmc/internal/logstashfake"
	"github.com/atlas-af/afmc/send"
)

var spoolBase = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

// spoolItems returns n documents with a unique "seq" and collection times
// that are deliberately not whole milliseconds.
func spoolItems(first, n int) []send.Item {
	items := make([]send.Item, n)
	for i := range items {
		seq := first + i
		// Delta documents (a DISK with io): void if their run was
		// stopped before it saved its state.
		items[i] = send.Item{
			Doc:         fmt.Appendf(nil, `{"kind":"DISK","seq":%d,"mount":"/data/%d","utilization":0.%03d}`, seq, seq, seq%1000),
			CollectedAt: spoolBase.Add(time.Duration(seq)*time.Second + 123456789*time.Nanosecond),
			Delta:       true,
		}
	}
	return items
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// openSpool opens the spool in dir or fails the test. The acks file handle
// is released at cleanup, as a killed process would release it.
func openSpool(t *testing.T, dir string, committed uint64, limits SpoolLimits, now time.Time, log *slog.Logger) *Spool {
	t.Helper()
	if log == nil {
		log = discardLog()
	}
	s, err := OpenSpool(openDir(t, dir), committed, limits, now, log)
	if err != nil {
		t.Fatalf("OpenSpool: %v", err)
	}
	t.Cleanup(func() { kill(s) })
	return s
}

// kill simulates the process dying: whatever the spool wrote stays as it is
// on disk, nothing is rewritten, its file handles go away.
func kill(s *Spool) {
	if s.acks != nil {
		s.acks.Close()
		s.acks = nil
	}
}

func appendItems(t *testing.T, s *Spool, items []send.Item, gen uint64) []send.Item {
	t.Helper()
	out, err := s.Append(items, gen)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return out
}

// spoolOf writes items to a new spool in dir as generation 1, at the
// time at, closes it and returns what was appended.
func spoolOf(t *testing.T, dir string, items []send.Item, at time.Time) []send.Item {
	t.Helper()
	s := openSpool(t, dir, 0, SpoolLimits{}, at, nil)
	out := appendItems(t, s, items, 1)
	closeSpool(t, s)
	return out
}

func closeSpool(t *testing.T, s *Spool) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func ids(items []send.Item) []uint64 {
	out := make([]uint64, len(items))
	for i, it := range items {
		out[i] = it.ID
	}
	return out
}

// seqs returns the "seq" field of each document, in order.
func seqs(t *testing.T, items []send.Item) []int {
	t.Helper()
	out := make([]int, len(items))
	for i, it := range items {
		var d struct{ Seq *int }
		if err := json.Unmarshal(it.Doc, &d); err != nil || d.Seq == nil {
			t.Fatalf("item %d: document %s has no seq (%v)", i, it.Doc, err)
		}
		out[i] = *d.Seq
	}
	return out
}

func seqRange(lo, hi int) []int {
	var out []int
	for i := lo; i < hi; i++ {
		out = append(out, i)
	}
	return out
}

func exists(t *testing.T, path string) bool {
	t.Helper()
	_, err := os.Stat(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatalf("stat %s: %v", path, err)
	}
	return err == nil
}

func mustWrite(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// spoolLines returns the spool file's lines, each with its newline (the
// last one may lack it).
func spoolLines(t *testing.T, dir string) [][]byte {
	t.Helper()
	lines := bytes.SplitAfter(mustRead(t, filepath.Join(dir, SpoolName)), []byte{'\n'})
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	return lines
}

func TestSpoolAppendThenReopen(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		// same: the bytes come back unchanged; otherwise only the JSON value.
		same bool
	}{
		{"plain", `{"kind":"CPU","cluster":"UC-AF","user":12.5}`, true},
		{"nested", `{"a":{"b":[1,2,{"c":null}]},"d":true,"e":-1.5e-7}`, true},
		{"escapes in strings", `{"msg":"line1\nline2\t\"quoted\" \\ back","u":"\u00e9\u2028"}`, true},
		{"utf-8", `{"site":"Zürich – 東京","emoji":"🙂"}`, true},
		{"empty object", `{}`, true},
		// The spool stores documents through encoding/json, which escapes
		// <, > and & in strings; the value is the same.
		{"html characters", `{"q":"a<b && c>d"}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := []send.Item{
				{Doc: []byte(`{"first":1}`), CollectedAt: spoolBase.Add(987654321 * time.Nanosecond)},
				{Doc: []byte(tc.doc), CollectedAt: spoolBase.Add(time.Hour + 1500*time.Microsecond)},
				{Doc: []byte(`{"last":3}`), CollectedAt: time.UnixMilli(1)},
			}
			s := openSpool(t, dir, 0, SpoolLimits{}, spoolBase, nil)
			out := appendItems(t, s, in, 1)
			if len(out) != len(in) {
				t.Fatalf("Append returned %d items, want %d", len(out), len(in))
			}
			for i := range out {
				if out[i].ID == 0 || (i > 0 && out[i].ID <= out[i-1].ID) {
					t.Errorf("Append ids %v: want non-zero and increasing", ids(out))
				}
				if !bytes.Equal(out[i].Doc, in[i].Doc) || !out[i].CollectedAt.Equal(in[i].CollectedAt) {
					t.Errorf("Append item %d = %s at %v, want %s at %v", i, out[i].Doc, out[i].CollectedAt, in[i].Doc, in[i].CollectedAt)
				}
			}
			if got := s.Len(); got != len(in) {
				t.Errorf("Len = %d, want %d", got, len(in))
			}
			fi, err := os.Stat(filepath.Join(dir, SpoolName))
			if err != nil {
				t.Fatal(err)
			}
			if m := fi.Mode().Perm(); m != 0o600 {
				t.Errorf("spool file mode %o, want 600", m)
			}
			kill(s)

			r := openSpool(t, dir, 1, SpoolLimits{}, spoolBase, nil)
			got := r.Pending(1)
			if !slices.Equal(ids(got), ids(out)) {
				t.Fatalf("reopened ids %v, want %v", ids(got), ids(out))
			}
			for i := range got {
				if tc.same || i != 1 {
					if !bytes.Equal(got[i].Doc, in[i].Doc) {
						t.Errorf("item %d: doc %s, want %s", i, got[i].Doc, in[i].Doc)
					}
				} else {
					var a, b any
					if err := json.Unmarshal(got[i].Doc, &a); err != nil {
						t.Fatalf("item %d: doc %s: %v", i, got[i].Doc, err)
					}
					_ = json.Unmarshal(in[i].Doc, &b)
					if !reflect.DeepEqual(a, b) {
						t.Errorf("item %d: doc %s, want the value of %s", i, got[i].Doc, in[i].Doc)
					}
				}
				want := in[i].CollectedAt.Truncate(time.Millisecond)
				if !got[i].CollectedAt.Equal(want) {
					t.Errorf("item %d: CollectedAt %v, want %v (ms precision)", i, got[i].CollectedAt, want)
				}
			}
		})
	}
}

func TestSpoolAppendAcrossRunsKeepsOrder(t *testing.T) {
	dir := t.TempDir()
	first := spoolOf(t, dir, spoolItems(0, 3), spoolBase)

	s := openSpool(t, dir, 1, SpoolLimits{}, spoolBase, nil)
	second := appendItems(t, s, spoolItems(3, 2), 2)
	closeSpool(t, s)

	s = openSpool(t, dir, 2, SpoolLimits{}, spoolBase, nil)
	got := s.Pending(2)
	if w := append(ids(first), ids(second)...); !slices.Equal(ids(got), w) {
		t.Errorf("ids %v, want %v", ids(got), w)
	}
	if w := seqRange(0, 5); !slices.Equal(seqs(t, got), w) {
		t.Errorf("seqs %v, want %v", seqs(t, got), w)
	}
}

func TestSpoolAppendRefusesInvalidJSON(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir, 0, SpoolLimits{}, spoolBase, nil)
	good := appendItems(t, s, spoolItems(0, 1), 1)
	if _, err := s.Append([]send.Item{spoolItems(1, 1)[0], {Doc: []byte(`{"broken":`), CollectedAt: spoolBase}}, 1); err == nil {
		t.Fatal("Append of invalid JSON: no error")
	}
	if got := s.Pending(1); !slices.Equal(ids(got), ids(good)) {
		t.Errorf("after a failed Append, pending %v, want %v", ids(got), ids(good))
	}
	if n := len(spoolLines(t, dir)); n != 1 {
		t.Errorf("after a failed Append the spool file has %d lines, want 1", n)
	}
}

func TestSpoolPendingUpToGeneration(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir, 0, SpoolLimits{}, spoolBase, nil)
	g10 := appendItems(t, s, spoolItems(0, 2), 10)
	g11 := appendItems(t, s, spoolItems(2, 2), 11)
	g13 := appendItems(t, s, spoolItems(4, 1), 13)
	every := ids(slices.Concat(g10, g11, g13))
	for i := 1; i < len(every); i++ {
		if every[i] <= every[i-1] {
			t.Fatalf("ids over three Appends %v: want each greater than the one before", every)
		}
	}
	tests := []struct {
		maxGen uint64
		want   []send.Item
	}{
		{0, nil},
		{9, nil},
		{10, g10},
		{11, slices.Concat(g10, g11)},
		{12, slices.Concat(g10, g11)},
		{13, slices.Concat(g10, g11, g13)},
		{math.MaxUint64, slices.Concat(g10, g11, g13)},
	}
	for _, tc := range tests {
		if got := s.Pending(tc.maxGen); !slices.Equal(ids(got), ids(tc.want)) {
			t.Errorf("send.Pending(%d) = %v, want %v", tc.maxGen, ids(got), ids(tc.want))
		}
	}
	if got := s.Len(); got != 5 {
		t.Errorf("Len = %d, want 5 (every generation)", got)
	}
}

func TestSpoolAckAndClose(t *testing.T) {
	const D, R, P, none = send.Delivered, send.Rejected, send.Pending, send.Outcome(0)
	tests := []struct {
		name     string
		outcomes []send.Outcome // per document; none: no Ack call
		keep     []int          // seqs left in the spool after Close
	}{
		{"all delivered", []send.Outcome{D, D, D, D}, nil},
		{"all rejected", []send.Outcome{R, R, R, R}, nil},
		{"delivered and rejected", []send.Outcome{D, R, R, D}, nil},
		{"all pending", []send.Outcome{P, P, P, P}, []int{0, 1, 2, 3}},
		{"never acked", []send.Outcome{none, none, none, none}, []int{0, 1, 2, 3}},
		{"mixed", []send.Outcome{D, P, R, none}, []int{1, 3}},
		{"oldest kept", []send.Outcome{P, D, D, D}, []int{0}},
		{"newest kept", []send.Outcome{D, D, R, P}, []int{3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openSpool(t, dir, 0, SpoolLimits{}, spoolBase, nil)
			items := appendItems(t, s, spoolItems(0, len(tc.outcomes)), 1)
			var settled []string
			for i, o := range tc.outcomes {
				if o != none {
					s.Ack([]uint64{items[i].ID}, o)
				}
				if o == D || o == R {
					settled = append(settled, fmt.Sprint(items[i].ID))
				}
			}
			// Settled documents leave at once, and their ids are on disk
			// before Close.
			if got := seqs(t, s.Pending(1)); !slices.Equal(got, tc.keep) {
				t.Errorf("send.Pending before Close: seqs %v, want %v", got, tc.keep)
			}
			if got := s.Len(); got != len(tc.keep) {
				t.Errorf("Len before Close = %d, want %d", got, len(tc.keep))
			}
			acksPath := filepath.Join(dir, AcksName)
			if len(settled) > 0 {
				want := strings.Join(settled, "\n") + "\n"
				if got := string(mustRead(t, acksPath)); got != want {
					t.Errorf("acks file before Close = %q, want %q", got, want)
				}
			}

			closeSpool(t, s)
			if exists(t, acksPath) {
				t.Error("acks file still there after Close")
			}
			spoolPath := filepath.Join(dir, SpoolName)
			if len(tc.keep) == 0 {
				if exists(t, spoolPath) {
					t.Errorf("spool file still there after Close with nothing left: %q", mustRead(t, spoolPath))
				}
			} else {
				if n := len(spoolLines(t, dir)); n != len(tc.keep) {
					t.Errorf("spool file has %d lines after Close, want %d", n, len(tc.keep))
				}
				fi, err := os.Stat(spoolPath)
				if err != nil {
					t.Fatal(err)
				}
				if m := fi.Mode().Perm(); m != 0o600 {
					t.Errorf("rewritten spool mode %o, want 600", m)
				}
			}
			if got := s.Len(); got != len(tc.keep) {
				t.Errorf("Len after Close = %d, want %d", got, len(tc.keep))
			}

			r := openSpool(t, dir, 1, SpoolLimits{}, spoolBase, nil)
			if got := seqs(t, r.Pending(1)); !slices.Equal(got, tc.keep) {
				t.Errorf("reopened: seqs %v, want %v", got, tc.keep)
			}
		})
	}
}

func TestSpoolCloseWithoutSpoolFile(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir, 0, SpoolLimits{}, spoolBase, nil)
	closeSpool(t, s)
	if exists(t, filepath.Join(dir, SpoolName)) || exists(t, filepath.Join(dir, AcksName)) {
		t.Error("Close of an empty spool left files behind")
	}
}

// A kill before Close leaves the acks file beside the full spool: the next
// open replays it.
func TestSpoolKillBeforeCloseReplaysAcks(t *testing.T) {
	tests := []struct {
		name string
		// acks: the acks file as the kill left it; nil: as Ack wrote it.
		acks func(ids []uint64) string
		keep []int // seqs pending after reopening
	}{
		{name: "as written", keep: []int{0, 2, 4, 5}},
		{
			name: "torn last line, not a number",
			acks: func(ids []uint64) string { return fmt.Sprintf("%d\n%d\n", ids[1], ids[3]) + "1x" },
			keep: []int{0, 2, 4, 5},
		},
		{
			name: "garbage line in the middle",
			acks: func(ids []uint64) string { return fmt.Sprintf("%d\n#?!\n%d\n", ids[1], ids[3]) },
			keep: []int{0, 2, 4, 5},
		},
		{
			name: "empty",
			acks: func([]uint64) string { return "" },
			keep: []int{0, 1, 2, 3, 4, 5},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openSpool(t, dir, 0, SpoolLimits{}, spoolBase, nil)
			items := appendItems(t, s, spoolItems(0, 6), 1)
			s.Ack([]uint64{items[1].ID}, send.Delivered)
			s.Ack([]uint64{items[2].ID}, send.Pending)
			s.Ack([]uint64{items[3].ID}, send.Rejected)
			kill(s)
			if tc.acks != nil {
				mustWrite(t, filepath.Join(dir, AcksName), []byte(tc.acks(ids(items))))
			}

			r := openSpool(t, dir, 1, SpoolLimits{}, spoolBase, nil)
			if got := seqs(t, r.Pending(1)); !slices.Equal(got, tc.keep) {
				t.Errorf("pending seqs %v, want %v", got, tc.keep)
			}
			if r.Dropped != 0 {
				t.Errorf("Dropped = %d, want 0", r.Dropped)
			}
			// The next Close folds the replayed acks into the spool.
			closeSpool(t, r)
			if exists(t, filepath.Join(dir, AcksName)) {
				t.Error("acks file still there after Close")
			}
			r2 := openSpool(t, dir, 1, SpoolLimits{}, spoolBase, nil)
			if got := seqs(t, r2.Pending(1)); !slices.Equal(got, tc.keep) {
				t.Errorf("after Close and reopen: seqs %v, want %v", got, tc.keep)
			}
		})
	}
}

// A kill in the middle of writing "12\n" to the acks file can leave "1",
// which is a valid id: taking it would drop document 1, never delivered, as
// settled. A torn last line is ignored whatever it holds.
func TestSpoolTornAcksLineThatParses(t *testing.T) {
	keep := slices.Concat([]int{0}, seqRange(2, 12)) // seq 1 was acked
	tests := []struct {
		name string
		acks func(ids []uint64) string
	}{
		{
			// The id of seq 5 written, its newline not.
			name: "whole id without newline",
			acks: func(ids []uint64) string { return fmt.Sprintf("%d\n%d", ids[1], ids[5]) },
		},
		{
			// "12\n" (seq 11) cut after its first digit: id 1 is seq 0.
			name: "prefix of a longer id",
			acks: func(ids []uint64) string { return fmt.Sprintf("%d\n%d", ids[1], ids[11]/10) },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openSpool(t, dir, 0, SpoolLimits{}, spoolBase, nil)
			items := appendItems(t, s, spoolItems(0, 12), 1)
			kill(s)
			if items[11].ID != 12 || items[0].ID != 1 {
				t.Fatalf("ids %v, want 1..12", ids(items))
			}
			mustWrite(t, filepath.Join(dir, AcksName), []byte(tc.acks(ids(items))))
			r := openSpool(t, dir, 1, SpoolLimits{}, spoolBase, nil)
			if got := seqs(t, r.Pending(1)); !slices.Equal(got, keep) {
				t.Errorf("pending seqs %v, want %v: the torn acks line lost a document", got, keep)
			}
		})
	}
}

func TestSpoolTornAndUnreadableLines(t *testing.T) {
	tests := []struct {
		name string
		// edit rewrites the spool file's lines (5 records, seqs 0..4).
		edit        func(lines [][]byte) []byte
		keep        []int
		dropped     int
		warn        bool // a Warn line about unreadable records
		closedLines int  // lines in the spool after open, and after Close
	}{
		{
			name:        "intact",
			edit:        func(l [][]byte) []byte { return bytes.Join(l, nil) },
			keep:        seqRange(0, 5),
			closedLines: 5,
		},
		{
			name: "torn last record",
			edit: func(l [][]byte) []byte {
				last := l[4]
				return append(bytes.Join(l[:4], nil), last[:len(last)/2]...)
			},
			keep:        seqRange(0, 4),
			closedLines: 4,
		},
		{
			name: "last record complete but its newline missing",
			edit: func(l [][]byte) []byte {
				last := l[4]
				return append(bytes.Join(l[:4], nil), last[:len(last)-1]...)
			},
			keep:        seqRange(0, 4),
			closedLines: 4,
		},
		{
			name: "unreadable middle line",
			edit: func(l [][]byte) []byte {
				l[2] = []byte("{\"id\":3,\"gen\":1,\"t\":\x00garbage\n")
				return bytes.Join(l, nil)
			},
			keep:        []int{0, 1, 3, 4},
			dropped:     1,
			warn:        true,
			closedLines: 4,
		},
		{
			name: "middle line with no id or no doc",
			edit: func(l [][]byte) []byte {
				l[1] = []byte(`{"id":0,"gen":1,"t":1,"doc":{"x":1}}` + "\n")
				l[3] = []byte(`{"id":99,"gen":1,"t":1}` + "\n")
				return bytes.Join(l, nil)
			},
			keep:        []int{0, 2, 4},
			dropped:     2,
			warn:        true,
			closedLines: 3,
		},
		{
			name: "unreadable middle line and torn last line",
			edit: func(l [][]byte) []byte {
				l[0] = []byte("not json at all\n")
				return append(bytes.Join(l[:4], nil), l[4][:10]...)
			},
			keep:        []int{1, 2, 3},
			dropped:     1,
			warn:        true,
			closedLines: 3,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openSpool(t, dir, 0, SpoolLimits{}, spoolBase, nil)
			appendItems(t, s, spoolItems(0, 5), 1)
			kill(s)
			lines := spoolLines(t, dir)
			if len(lines) != 5 || !bytes.HasSuffix(lines[4], []byte{'\n'}) {
				t.Fatalf("spool file: %d lines, want 5 newline-terminated", len(lines))
			}
			mustWrite(t, filepath.Join(dir, SpoolName), tc.edit(lines))

			var logs bytes.Buffer
			r := openSpool(t, dir, 1, SpoolLimits{}, spoolBase, slog.New(slog.NewTextHandler(&logs, nil)))
			if got := seqs(t, r.Pending(1)); !slices.Equal(got, tc.keep) {
				t.Errorf("pending seqs %v, want %v", got, tc.keep)
			}
			if r.Dropped != tc.dropped {
				t.Errorf("Dropped = %d, want %d", r.Dropped, tc.dropped)
			}
			warned := strings.Contains(logs.String(), "level=WARN") &&
				strings.Contains(logs.String(), fmt.Sprintf("records=%d", tc.dropped))
			if warned != tc.warn {
				t.Errorf("warned about %d unreadable records: %v, want %v; log:\n%s", tc.dropped, warned, tc.warn, logs.String())
			}
			// What must not stay is gone from the file at open already, so
			// that a kill before Close leaves no torn line to append to.
			after := spoolLines(t, dir)
			if len(after) != tc.closedLines || !bytes.HasSuffix(after[len(after)-1], []byte{'\n'}) {
				t.Errorf("after open the spool has %d lines (last %q), want %d whole ones", len(after), after[len(after)-1], tc.closedLines)
			}
			closeSpool(t, r)
			if n := len(spoolLines(t, dir)); n != tc.closedLines {
				t.Errorf("after Close the spool has %d lines, want %d", n, tc.closedLines)
			}
		})
	}
}

// A torn last line left in the file would glue Append's first record onto
// it (O_APPEND), forming one unreadable line: killed before Close, the next
// open would drop that committed document. OpenSpool must cut the torn line
// before anything is appended.
func TestSpoolAppendAfterTornLine(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir, 0, SpoolLimits{}, spoolBase, nil)
	appendItems(t, s, spoolItems(0, 3), 1)
	kill(s)
	// Run 2 was killed mid-append (gen 2, never committed).
	torn := `{"id":4,"gen":2,"t":1,"doc":{"kind":"DI`
	f, err := os.OpenFile(filepath.Join(dir, SpoolName), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(torn); err != nil {
		t.Fatal(err)
	}
	f.Close()

	// Run 3 appends, saves its state (gen 3), then is killed while sending.
	s = openSpool(t, dir, 1, SpoolLimits{}, spoolBase, nil)
	if b := mustRead(t, filepath.Join(dir, SpoolName)); !bytes.HasSuffix(b, []byte("}\n")) {
		t.Errorf("after open the spool still ends with a torn line: ...%q", b[max(0, len(b)-50):])
	}
	appendItems(t, s, spoolItems(3, 2), 3)
	kill(s)

	r := openSpool(t, dir, 3, SpoolLimits{}, spoolBase, nil)
	if got, want := seqs(t, r.Pending(3)), seqRange(0, 5); !slices.Equal(got, want) {
		t.Errorf("pending seqs %v, want %v (Dropped %d)", got, want, r.Dropped)
	}
	if r.Dropped != 0 {
		t.Errorf("Dropped = %d, want 0", r.Dropped)
	}
}

func TestSpoolDiscardsUncommittedGenerations(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir, 0, SpoolLimits{}, spoolBase, nil)
	g5 := appendItems(t, s, spoolItems(0, 2), 5)
	g6 := appendItems(t, s, spoolItems(2, 2), 6)
	g7 := appendItems(t, s, spoolItems(4, 1), 7)
	kill(s)
	snapshot := mustRead(t, filepath.Join(dir, SpoolName))
	maxID := g7[0].ID

	tests := []struct {
		committed uint64
		keep      []send.Item
	}{
		{4, nil},
		{5, g5},
		{6, slices.Concat(g5, g6)},
		{7, slices.Concat(g5, g6, g7)},
		{100, slices.Concat(g5, g6, g7)},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint("committed ", tc.committed), func(t *testing.T) {
			mustWrite(t, filepath.Join(dir, SpoolName), snapshot)
			var logs bytes.Buffer
			r := openSpool(t, dir, tc.committed, SpoolLimits{}, spoolBase, slog.New(slog.NewTextHandler(&logs, nil)))
			if got := r.Pending(math.MaxUint64); !slices.Equal(ids(got), ids(tc.keep)) {
				t.Errorf("pending %v, want %v", ids(got), ids(tc.keep))
			}
			if r.Len() != len(tc.keep) {
				t.Errorf("Len = %d, want %d", r.Len(), len(tc.keep))
			}
			if r.Dropped != 0 {
				t.Errorf("Dropped = %d, want 0: uncommitted documents are collected again, not lost", r.Dropped)
			}
			if discarded := 5 - len(tc.keep); discarded > 0 && !strings.Contains(logs.String(), fmt.Sprintf("documents=%d", discarded)) {
				t.Errorf("log does not say %d documents were discarded:\n%s", discarded, logs.String())
			}
			// Discarded ids are not handed out again.
			next := appendItems(t, r, spoolItems(10, 1), tc.committed+1)
			if next[0].ID <= maxID {
				t.Errorf("new id %d, want > %d (the discarded records used it)", next[0].ID, maxID)
			}
			closeSpool(t, r)
			r2 := openSpool(t, dir, tc.committed+1, SpoolLimits{}, spoolBase, nil)
			want := append(ids(tc.keep), next[0].ID)
			if got := r2.Pending(math.MaxUint64); !slices.Equal(ids(got), want) {
				t.Errorf("after Close: pending %v, want %v", ids(got), want)
			}
			kill(r2)
		})
	}
}

func TestSpoolLimits(t *testing.T) {
	now := spoolBase.Add(24 * time.Hour)
	// Ten documents of exactly 20 bytes, seq i collected (10-i) hours ago,
	// oldest first.
	items := make([]send.Item, 10)
	for i := range items {
		items[i] = send.Item{
			Doc:         fmt.Appendf(nil, `{"seq":%d,"p":"xxxx"}`, i),
			CollectedAt: now.Add(-time.Duration(10-i) * time.Hour),
		}
		if len(items[i].Doc) != 20 {
			t.Fatalf("doc %s: %d bytes, want 20", items[i].Doc, len(items[i].Doc))
		}
	}
	tests := []struct {
		name   string
		limits SpoolLimits
		keep   []int
		// warns: substrings each of which one Warn line must hold.
		warns []string
	}{
		{name: "no limits", keep: seqRange(0, 10)},
		{name: "limits not reached", limits: SpoolLimits{MaxAge: 11 * time.Hour, MaxBytes: 200}, keep: seqRange(0, 10)},
		{name: "max age", limits: SpoolLimits{MaxAge: 7*time.Hour + 30*time.Minute}, keep: seqRange(3, 10), warns: []string{"max-age", "documents=3"}},
		{name: "max age on the boundary keeps it", limits: SpoolLimits{MaxAge: 7 * time.Hour}, keep: seqRange(3, 10), warns: []string{"max-age", "documents=3"}},
		{name: "max age drops all", limits: SpoolLimits{MaxAge: time.Minute}, keep: nil, warns: []string{"max-age", "documents=10"}},
		{name: "max bytes", limits: SpoolLimits{MaxBytes: 70}, keep: seqRange(7, 10), warns: []string{"max-bytes", "documents=7"}},
		{name: "max bytes exact fit", limits: SpoolLimits{MaxBytes: 60}, keep: seqRange(7, 10), warns: []string{"max-bytes", "documents=7"}},
		{name: "max bytes smaller than one doc", limits: SpoolLimits{MaxBytes: 19}, keep: nil, warns: []string{"max-bytes", "documents=10"}},
		{
			name:   "both",
			limits: SpoolLimits{MaxAge: 8*time.Hour + 30*time.Minute, MaxBytes: 100},
			keep:   seqRange(5, 10),
			warns:  []string{"max-age", "documents=2", "max-bytes", "documents=3"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			spoolOf(t, dir, items, spoolBase)

			var logs bytes.Buffer
			r := openSpool(t, dir, 1, tc.limits, now, slog.New(slog.NewTextHandler(&logs, nil)))
			got := seqs(t, r.Pending(1))
			if !slices.Equal(got, tc.keep) {
				t.Errorf("kept seqs %v, want %v", got, tc.keep)
			}
			if want := 10 - len(tc.keep); r.Dropped != want {
				t.Errorf("Dropped = %d, want %d", r.Dropped, want)
			}
			var warnLines []string
			for l := range strings.Lines(logs.String()) {
				if strings.Contains(l, "level=WARN") {
					warnLines = append(warnLines, l)
				}
			}
			if len(warnLines)*2 != len(tc.warns) {
				t.Errorf("%d Warn lines, want %d:\n%s", len(warnLines), len(tc.warns)/2, logs.String())
			}
			for i := 0; i+1 < len(tc.warns); i += 2 {
				if !slices.ContainsFunc(warnLines, func(l string) bool {
					return strings.Contains(l, tc.warns[i]) && strings.Contains(l, tc.warns[i+1])
				}) {
					t.Errorf("no Warn line with %q and %q:\n%s", tc.warns[i], tc.warns[i+1], logs.String())
				}
			}
			// What was dropped stays dropped.
			closeSpool(t, r)
			r2 := openSpool(t, dir, 1, SpoolLimits{}, now, nil)
			if got := seqs(t, r2.Pending(1)); !slices.Equal(got, tc.keep) {
				t.Errorf("after Close and reopen without limits: seqs %v, want %v", got, tc.keep)
			}
		})
	}
}

// Records of a run killed before its save must be gone from the file as
// soon as a later run opens the spool: once that run saves a later
// generation they would pass for committed.
func TestSpoolUncommittedNeverComeBack(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir, 0, SpoolLimits{}, spoolBase, nil)
	committed := appendItems(t, s, spoolItems(0, 2), 6)
	// Run A (gen 7) spooled, then was killed before saving its state.
	appendItems(t, s, spoolItems(2, 3), 7)
	kill(s)

	// Run B opens (committed 6) and is killed, or ends without Close (a run
	// without --post); it saved its state as gen 8.
	b := openSpool(t, dir, 6, SpoolLimits{}, spoolBase, nil)
	if got := seqs(t, b.Pending(math.MaxUint64)); !slices.Equal(got, []int{0, 1}) {
		t.Errorf("run B pending seqs %v, want [0 1]", got)
	}
	kill(b)
	if n := len(spoolLines(t, dir)); n != 2 {
		t.Errorf("after run B's open the spool holds %d records, want the 2 committed ones", n)
	}

	c := openSpool(t, dir, 8, SpoolLimits{}, spoolBase, nil)
	if got := c.Pending(8); !slices.Equal(ids(got), ids(committed)) {
		t.Errorf("run C pending %v, want %v: run A's records came back as committed", ids(got), ids(committed))
	}
}

// The limits hold with the run's own documents too: Append drops the
// oldest beyond them, counted and logged.
func TestSpoolLimitsHoldAfterAppend(t *testing.T) {
	now := spoolBase.Add(24 * time.Hour)
	doc := func(seq int, age time.Duration) send.Item { // 20 bytes
		return send.Item{Doc: fmt.Appendf(nil, `{"seq":%d,"p":"xxxx"}`, seq), CollectedAt: now.Add(-age)}
	}
	old := []send.Item{doc(0, 3*time.Hour), doc(1, 2*time.Hour), doc(2, time.Hour)}
	add := []send.Item{doc(3, 0), doc(4, 0), doc(5, 0), doc(6, 0)}
	tests := []struct {
		name     string
		limits   SpoolLimits
		atOpen   int // dropped at open
		keep     []int
		warnOpen string // in the Warn at open
		warn     string // in the Warn of Append
	}{
		{"within bounds", SpoolLimits{MaxBytes: 140, MaxAge: 4 * time.Hour}, 0, seqRange(0, 7), "", ""},
		{"oldest spooled go", SpoolLimits{MaxBytes: 100}, 0, seqRange(2, 7), "", "documents=2"},
		{"this run's oldest go too", SpoolLimits{MaxBytes: 60}, 0, []int{4, 5, 6}, "", "documents=4"},
		{"all but the newest", SpoolLimits{MaxBytes: 20}, 2, []int{6}, "documents=2", "documents=4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			spoolOf(t, dir, old, now)

			var logs bytes.Buffer
			r := openSpool(t, dir, 1, tc.limits, now, slog.New(slog.NewTextHandler(&logs, nil)))
			if r.Dropped != tc.atOpen {
				t.Errorf("Dropped at open = %d, want %d", r.Dropped, tc.atOpen)
			}
			if tc.warnOpen != "" && !strings.Contains(logs.String(), tc.warnOpen) {
				t.Errorf("no Warn at open with %s:\n%s", tc.warnOpen, logs.String())
			}
			logs.Reset()
			appendItems(t, r, add, 2)
			if got := seqs(t, r.Pending(2)); !slices.Equal(got, tc.keep) {
				t.Errorf("pending seqs %v, want %v", got, tc.keep)
			}
			if want := len(old) + len(add) - len(tc.keep); r.Dropped != want {
				t.Errorf("Dropped = %d, want %d", r.Dropped, want)
			}
			warned := strings.Contains(logs.String(), "level=WARN")
			if tc.warn == "" && warned {
				t.Errorf("unexpected Warn:\n%s", logs.String())
			}
			if tc.warn != "" && (!warned || !strings.Contains(logs.String(), tc.warn)) {
				t.Errorf("no Warn with %s:\n%s", tc.warn, logs.String())
			}
			closeSpool(t, r)
			r2 := openSpool(t, dir, 2, SpoolLimits{}, now, nil)
			if got := seqs(t, r2.Pending(2)); !slices.Equal(got, tc.keep) {
				t.Errorf("after Close and reopen: seqs %v, want %v", got, tc.keep)
			}
		})
	}
}

// MaxAge drops every record older than the cutoff, not only a leading run
// of them: a younger record earlier in the file (a clock stepped back
// between runs, a document collected late) must not shield older ones.
func TestSpoolMaxAgeOutOfOrder(t *testing.T) {
	now := spoolBase.Add(24 * time.Hour)
	dir := t.TempDir()
	s := openSpool(t, dir, 0, SpoolLimits{}, now, nil)
	appendItems(t, s, []send.Item{
		{Doc: []byte(`{"seq":0}`), CollectedAt: now.Add(-time.Hour)},
		{Doc: []byte(`{"seq":1}`), CollectedAt: now.Add(-5 * time.Hour)},
		{Doc: []byte(`{"seq":2}`), CollectedAt: now.Add(-2 * time.Hour)},
	}, 1)
	kill(s)
	r := openSpool(t, dir, 1, SpoolLimits{MaxAge: 4 * time.Hour}, now, nil)
	if got := seqs(t, r.Pending(1)); !slices.Equal(got, []int{0, 2}) || r.Dropped != 1 {
		t.Errorf("kept seqs %v, Dropped %d; want [0 2], 1 (seq 1 is 5h old, MaxAge 4h)", got, r.Dropped)
	}
}

func TestSpoolIDsNotReusedAfterStaleAcks(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir, 0, SpoolLimits{}, spoolBase, nil)
	items := appendItems(t, s, spoolItems(0, 5), 1)
	s.Ack([]uint64{items[3].ID}, send.Delivered)
	s.Ack([]uint64{items[4].ID}, send.Rejected)
	acks := mustRead(t, filepath.Join(dir, AcksName))
	closeSpool(t, s)
	// Close was killed after rewriting the spool, before removing the acks.
	mustWrite(t, filepath.Join(dir, AcksName), acks)

	r := openSpool(t, dir, 1, SpoolLimits{}, spoolBase, nil)
	next := appendItems(t, r, spoolItems(5, 3), 2)
	for _, it := range next {
		if it.ID <= items[4].ID {
			t.Errorf("new id %d reuses an earlier one (earlier ids %v)", it.ID, ids(items))
		}
	}
	// The stale acks hide none of the new documents.
	if got, want := seqs(t, r.Pending(2)), []int{0, 1, 2, 5, 6, 7}; !slices.Equal(got, want) {
		t.Errorf("pending seqs %v, want %v", got, want)
	}
	closeSpool(t, r)
	r2 := openSpool(t, dir, 2, SpoolLimits{}, spoolBase, nil)
	if got, want := seqs(t, r2.Pending(2)), []int{0, 1, 2, 5, 6, 7}; !slices.Equal(got, want) {
		t.Errorf("after Close: pending seqs %v, want %v", got, want)
	}
}

// Ids are never reused across runs, even once the spool emptied and its
// acks file went: new ids start at the run's generation, which grows with
// the clock (state.Store). So an acks file that reappeared after a crash
// cannot hide a new document.
func TestSpoolIDsNotReusedAcrossRuns(t *testing.T) {
	g1 := uint64(spoolBase.UnixNano())
	g2 := uint64(spoolBase.Add(5 * time.Minute).UnixNano())
	tests := []struct {
		name  string
		acked []int // indexes of the 5 documents delivered in run 1
	}{
		{"newest acked, some left", []int{3, 4}},
		{"all acked, spool emptied", []int{0, 1, 2, 3, 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openSpool(t, dir, 0, SpoolLimits{}, spoolBase, nil)
			items := appendItems(t, s, spoolItems(0, 5), g1)
			for _, i := range tc.acked {
				s.Ack([]uint64{items[i].ID}, send.Delivered)
			}
			acks := mustRead(t, filepath.Join(dir, AcksName))
			closeSpool(t, s)
			if _, err := os.Stat(filepath.Join(dir, AcksName)); !os.IsNotExist(err) {
				t.Fatalf("acks file left after Close: %v", err)
			}

			r := openSpool(t, dir, g1, SpoolLimits{}, spoolBase, nil)
			next := appendItems(t, r, spoolItems(5, 3), g2)
			for _, it := range next {
				if it.ID <= items[4].ID {
					t.Errorf("new id %d reuses an earlier one (earlier ids %v)", it.ID, ids(items))
				}
			}
			kill(r)
			// Even if the unlink of run 1's acks file were lost in a crash.
			mustWrite(t, filepath.Join(dir, AcksName), acks)
			r2 := openSpool(t, dir, g2, SpoolLimits{}, spoolBase, nil)
			if got := seqs(t, r2.Pending(g2)); !slices.Contains(got, 5) || !slices.Contains(got, 6) || !slices.Contains(got, 7) {
				t.Errorf("pending seqs %v: new documents 5..7 hidden by stale acks", got)
			}
		})
	}
}

func TestSpoolRemovesStaleTempFiles(t *testing.T) {
	dir := t.TempDir()
	stale := []string{".spool-123.tmp", ".spool-abc.tmp", ".spool-.tmp"}
	others := []string{".state-123.tmp", "spool-123.tmp", ".spool-123.tmp.keep", "notes.txt"}
	for _, n := range slices.Concat(stale, others) {
		mustWrite(t, filepath.Join(dir, n), []byte("x"))
	}
	openSpool(t, dir, 0, SpoolLimits{}, spoolBase, nil)
	for _, n := range stale {
		if exists(t, filepath.Join(dir, n)) {
			t.Errorf("stale %s not removed", n)
		}
	}
	for _, n := range others {
		if !exists(t, filepath.Join(dir, n)) {
			t.Errorf("%s removed, it is not a spool temp file", n)
		}
	}
}

// spoolSink is the fake Logstash endpoint answering 503 while failing is
// set; seqs reads back what it accepted.
type spoolSink struct {
	*logstashfake.Sink
	failing atomic.Bool
}

func newSpoolSink(t *testing.T) *spoolSink {
	t.Helper()
	k := &spoolSink{}
	k.Sink = logstashfake.New(t, func(_ int64, w http.ResponseWriter, _ *http.Request, _ []json.RawMessage) bool {
		if k.failing.Load() {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	return k
}

// seqs is how many times each document (by seq) was accepted, and the
// documents without a seq, or with a timestamp or token not their own.
func (k *spoolSink) seqs() (map[int]int, []string) {
	got := map[int]int{}
	var bad []string
	for d, n := range k.Got() {
		var v struct {
			Seq       *int
			Timestamp int64
			Token     string
		}
		if err := json.Unmarshal([]byte(d), &v); err != nil || v.Seq == nil {
			bad = append(bad, d)
			continue
		}
		if want := spoolItems(*v.Seq, 1)[0].CollectedAt.UnixMilli(); v.Timestamp != want || v.Token != "tok" {
			bad = append(bad, d)
		}
		got[*v.Seq] += n
	}
	return got, append(bad, k.BadMeta()...)
}

func TestSpoolEndToEndWithSender(t *testing.T) {
	const n = 60
	for _, batch := range []int{1, 7} {
		t.Run(fmt.Sprint("batch ", batch), func(t *testing.T) {
			dir := t.TempDir()
			k := newSpoolSink(t)
			sender := newSender(t, send.SenderConfig{
				URL:            k.URL + "/",
				Token:          "tok",
				Batch:          batch,
				Concurrency:    4,
				RequestTimeout: 2 * time.Second,
				BackoffBase:    time.Millisecond,
			})

			// Run 1: collected, spooled, state saved (gen 1), endpoint down.
			k.failing.Store(true)
			s := openSpool(t, dir, 0, SpoolLimits{}, spoolBase, nil)
			appendItems(t, s, spoolItems(0, n), 1)
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			st := sender.Send(ctx, s.Pending(1), s.Ack)
			cancel()
			if st.Delivered != 0 || st.Rejected != 0 || st.Pending != n {
				t.Fatalf("run 1 stats %+v, want all %d pending", st, n)
			}
			if k.Requests() == 0 {
				t.Fatal("run 1 sent nothing")
			}
			closeSpool(t, s)
			if s.Len() != n {
				t.Errorf("run 1: Len after Close = %d, want %d", s.Len(), n)
			}
			if exists(t, filepath.Join(dir, AcksName)) {
				t.Error("run 1: acks file left after Close")
			}
			if got := len(spoolLines(t, dir)); got != n {
				t.Errorf("run 1: spool holds %d lines, want %d", got, n)
			}

			// Run 2: nothing new collected, endpoint back. A request run 1
			// gave up on may still be on its way in; the endpoint comes
			// back only once every connection of run 1 has ended, or that
			// request would be accepted and then sent again (at least
			// once is the contract, but this test counts exactly once).
			sender.Close()
			k.WaitClosed()
			k.failing.Store(false)
			s = openSpool(t, dir, 1, SpoolLimits{}, spoolBase, nil)
			if got := seqs(t, s.Pending(1)); !slices.Equal(got, seqRange(0, n)) {
				t.Fatalf("run 2 pending seqs %v, want 0..%d", got, n-1)
			}
			ctx, cancel = context.WithTimeout(t.Context(), 10*time.Second)
			st = sender.Send(ctx, s.Pending(1), s.Ack)
			cancel()
			if st.Delivered != n {
				t.Errorf("run 2 stats %+v, want %d delivered", st, n)
			}
			closeSpool(t, s)
			if s.Len() != 0 {
				t.Errorf("run 2: Len after Close = %d, want 0", s.Len())
			}
			if exists(t, filepath.Join(dir, SpoolName)) || exists(t, filepath.Join(dir, AcksName)) {
				t.Error("run 2: spool or acks file left after everything was delivered")
			}

			got, bad := k.seqs()
			for seq := range n {
				if c := got[seq]; c != 1 {
					t.Errorf("document %d delivered %d times, want once", seq, c)
				}
			}
			if len(got) != n {
				t.Errorf("sink got %d distinct documents, want %d", len(got), n)
			}
			for _, d := range bad {
				t.Errorf("bad document (timestamp or token wrong): %s", d)
			}

			// Run 3 has nothing to send.
			s = openSpool(t, dir, 1, SpoolLimits{}, spoolBase, nil)
			if got := s.Pending(math.MaxUint64); len(got) != 0 {
				t.Errorf("run 3 pending %v, want none", ids(got))
			}
		})
	}
}

// A run killed midway through delivery: what was acked is not sent again,
// the rest is.
func TestSpoolEndToEndKilledMidway(t *testing.T) {
	const n = 40
	dir := t.TempDir()
	k := newSpoolSink(t)
	sender := newSender(t, send.SenderConfig{URL: k.URL + "/", Token: "tok", Concurrency: 1, BackoffBase: time.Millisecond})

	s := openSpool(t, dir, 0, SpoolLimits{}, spoolBase, nil)
	appendItems(t, s, spoolItems(0, n), 1)
	ctx, cancel := context.WithCancel(t.Context())
	acked := 0
	st := sender.Send(ctx, s.Pending(1), func(ids []uint64, o send.Outcome) {
		s.Ack(ids, o)
		if o == send.Delivered {
			if acked += len(ids); acked >= n/2 {
				cancel() // the process dies around here
			}
		}
	})
	cancel()
	kill(s)
	if st.Delivered < n/2 || st.Delivered == n {
		t.Fatalf("run 1 stats %+v, want a partial delivery", st)
	}

	s = openSpool(t, dir, 1, SpoolLimits{}, spoolBase, nil)
	if got := s.Len(); got != n-st.Delivered {
		t.Errorf("after the kill %d pending, want %d", got, n-st.Delivered)
	}
	if st2 := sender.Send(t.Context(), s.Pending(1), s.Ack); st2.Delivered != n-st.Delivered {
		t.Errorf("run 2 stats %+v, want %d delivered", st2, n-st.Delivered)
	}
	closeSpool(t, s)
	got, bad := k.seqs()
	for seq := range n {
		if c := got[seq]; c != 1 {
			t.Errorf("document %d delivered %d times, want once", seq, c)
		}
	}
	for _, d := range bad {
		t.Errorf("bad document or request: %s", d)
	}
}

// A spool that cannot be read (here a directory in its place) is moved
// aside so later runs are not stopped by it.
func TestSpoolUnreadableIsMovedAside(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, SpoolName), 0o700); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	s := openSpool(t, dir, 0, SpoolLimits{}, spoolBase, slog.New(slog.NewTextHandler(&logs, nil)))
	if s.Len() != 0 || !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), SpoolName+".unreadable") {
		t.Errorf("len %d, logs:\n%s", s.Len(), logs.String())
	}
	appendItems(t, s, spoolItems(0, 2), 1)
	closeSpool(t, s)
	r := openSpool(t, dir, 1, SpoolLimits{}, spoolBase, nil)
	if got := seqs(t, r.Pending(1)); !slices.Equal(got, []int{0, 1}) {
		t.Errorf("after the spool was moved aside: pending %v", got)
	}
	if fi, err := os.Stat(filepath.Join(dir, SpoolName+".unreadable")); err != nil || !fi.IsDir() {
		t.Errorf("not kept aside: %v", err)
	}
}

// Snapshots (CPU, MEM, DISK sizes) of a run stopped before it saved its
// state are still good samples: unlike its deltas, they are kept and sent.
func TestSpoolKeepsSnapshotsOfAnInterruptedRun(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir, 0, SpoolLimits{}, spoolBase, nil)
	items := spoolItems(0, 4)
	items[0].Delta, items[2].Delta = false, false
	appendItems(t, s, items, 7) // generation 7 was never saved
	kill(s)
	r := openSpool(t, dir, 6, SpoolLimits{}, spoolBase, nil)
	if got := seqs(t, r.Pending(6)); !slices.Equal(got, []int{0, 2}) {
		t.Errorf("pending %v, want the snapshots 0 and 2", got)
	}
	for _, it := range r.Pending(6) {
		if it.Delta {
			t.Errorf("snapshot %d came back as a delta", it.ID)
		}
	}
}

func TestSpoolTakesInInbox(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir, 0, SpoolLimits{}, spoolBase, nil)
	appendItems(t, s, spoolItems(0, 2), 1)
	kill(s)
	// A torn last line from a killed append, and two locked-out runs.
	f, err := os.OpenFile(filepath.Join(dir, SpoolName), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"id":99,"gen":1,"t":1,"do`)
	f.Close()
	for i, first := range []int{2, 4} {
		if _, err := WriteInbox(dir, spoolItems(first, 2), spoolBase.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "spool.inbox-1-1.ndjson.bad"), []byte("ignored: not the pattern"), 0o600)

	r := openSpool(t, dir, 1, SpoolLimits{}, spoolBase, nil)
	got := r.Pending(1)
	if seqs := seqs(t, got); !slices.Equal(seqs, []int{0, 1, 2, 3, 4, 5}) {
		t.Errorf("pending %v, want the spool's then the inboxes' in order", seqs)
	}
	want := spoolItems(2, 1)[0].CollectedAt.UnixMilli()
	if got[2].CollectedAt.UnixMilli() != want {
		t.Errorf("inbox document lost its collection time: %v", got[2].CollectedAt)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, inboxPattern)); len(m) != 0 {
		t.Errorf("inbox files left after the merge: %v", m)
	}
	kill(r)
	// Merged for good: a reopen finds them once.
	r2 := openSpool(t, dir, 1, SpoolLimits{}, spoolBase, nil)
	if n := r2.Len(); n != 6 {
		t.Errorf("after reopen: %d documents, want 6", n)
	}
}

func TestSpoolTornAcksLineIsCutBeforeAppending(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir, 0, SpoolLimits{}, spoolBase, nil)
	items := appendItems(t, s, spoolItems(0, 3), 1)
	kill(s)
	// A kill while writing the acks of items 0 and 1 left "<id0>\n" and a
	// torn first digit of id1.
	torn := strconv.FormatUint(items[0].ID, 10) + "\n" + strconv.FormatUint(items[1].ID, 10)[:1]
	mustWrite(t, filepath.Join(dir, AcksName), []byte(torn))
	r := openSpool(t, dir, 1, SpoolLimits{}, spoolBase, nil)
	r.Ack([]uint64{items[2].ID}, send.Delivered)
	kill(r)
	acks := string(mustRead(t, filepath.Join(dir, AcksName)))
	want := strconv.FormatUint(items[0].ID, 10) + "\n" + strconv.FormatUint(items[2].ID, 10) + "\n"
	if acks != want {
		t.Errorf("acks file %q, want %q (the torn id cut off)", acks, want)
	}
	r2 := openSpool(t, dir, 1, SpoolLimits{}, spoolBase, nil)
	if got := seqs(t, r2.Pending(1)); !slices.Equal(got, []int{1}) {
		t.Errorf("pending %v, want only the document whose ack was torn", got)
	}
}

func TestSpoolInboxLeftovers(t *testing.T) {
	dir := t.TempDir()
	fresh := filepath.Join(dir, ".inbox-fresh.tmp")
	stale := filepath.Join(dir, ".inbox-stale.tmp")
	mustWrite(t, fresh, []byte("being written"))
	mustWrite(t, stale, []byte("a dead run's"))
	old := spoolBase.Add(-2 * staleInbox)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "spool.inbox-1-1.ndjson")
	mustWrite(t, bad, []byte("not json\n"))
	if _, err := WriteInbox(dir, spoolItems(0, 1), spoolBase); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(fresh, spoolBase, spoolBase)

	s := openSpool(t, dir, 0, SpoolLimits{}, spoolBase, nil)
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a temp file a live run may be writing was removed: %v", err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("a dead run's temp file is still there: %v", err)
	}
	if _, err := os.Stat(bad + ".unreadable"); err != nil || s.Dropped != 1 {
		t.Errorf("unreadable inbox not moved aside and counted: %v, dropped %d", err, s.Dropped)
	}
	if got := seqs(t, s.Pending(0)); !slices.Equal(got, []int{0}) {
		t.Errorf("the readable inbox was not taken in: %v", got)
	}
}
