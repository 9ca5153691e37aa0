package spool

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/atlas-af/afmc/internal/jsonstrict"
)

// spoolSeeds are spool lines: what appendRecord writes, what an earlier
// version or a hand may have written, and damage.
var spoolSeeds = []string{
	`{"id":7,"gen":1764096000000000000,"t":1764096000123,"delta":true,"doc":{"kind":"NETWORK","cluster":"UC-AF","network":{"interval":300.0,"sent":1,"received":2}}}` + "\n",
	`{"id":8,"gen":1764096000000000000,"t":-5,"doc":{}}`,
	`{"doc":{"kind":"CPU"},"t":1,"gen":2,"id":3}` + "\n",
	`{"id":1,"gen":2,"t":3,"doc":{"a":1},"x":{}}` + "\n",
	`{"id":01,"gen":2,"t":3,"doc":{"a":1}}` + "\n",
	`{"id":0,"gen":2,"t":3,"doc":{"a":1}}` + "\n",
	`{"id":1,"gen":2,"t":3,"doc":[1]}` + "\n",
	`{"id":1,"gen":2,"t":4611686018427387905,"doc":{"a":1}}` + "\n",
	`{"id":18446744073709551615,"gen":18446744073709551616,"t":3,"doc":{"a":1}}` + "\n",
	`{"id":1,"gen":2,"t":3,"doc":{"a":"}"}`,
	`{"id":1,"gen":2,"t":3,"doc":{"kind":"` + strings.Repeat("k", 70) + `"}}`,
}

// FuzzParseRecord reads spool lines. A line taken when the spool is
// opened (validate) is valid JSON, and encoding/json reads the same
// record from it; it reads the same again later without validation; it is
// written back (appendRecord) as a line that reads the same. The kind
// found by a scan is short and unquoted.
func FuzzParseRecord(f *testing.F) {
	for _, s := range spoolSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		if i := bytes.IndexByte(line, '\n'); i >= 0 && i < len(line)-1 {
			return // the line reader never hands over two lines
		}
		rec, ok := parseRecord(line, true)
		parseRecord(line, false) // no panic, whatever it makes of it
		if !ok {
			return
		}
		body := bytes.TrimSuffix(line, []byte{'\n'})
		switch {
		case rec.ID == 0:
			t.Fatalf("record with id 0: %+v", rec)
		case !json.Valid(body):
			t.Fatalf("took a line that is not JSON: %+v", rec)
		case !json.Valid(rec.Doc) || rec.Doc[0] != '{' || rec.Doc[len(rec.Doc)-1] != '}':
			t.Fatalf("document is not a JSON object: %q", rec.Doc)
		}
		if jsonstrict.Check(body) == nil {
			var ref record
			if err := json.Unmarshal(body, &ref); err != nil || !sameRecord(ref, rec) {
				t.Fatalf("read %+v; encoding/json reads %+v, %v", rec, ref, err)
			}
		}
		if again, ok := parseRecord(line, false); !ok || !sameRecord(again, rec) {
			t.Fatalf("checked at open as %+v, read later as %+v (ok %v)", rec, again, ok)
		}
		if back, ok := parseRecord(appendRecord(nil, rec), true); !ok || !sameRecord(back, rec) {
			t.Fatalf("written back and read as %+v (ok %v), want %+v", back, ok, rec)
		}
		if k := docKindBytes(rec.Doc); len(k) > 64 || bytes.IndexByte(k, '"') >= 0 {
			t.Fatalf("kind %q", k)
		}
	})
}

func sameRecord(a, b record) bool {
	return a.ID == b.ID && a.Gen == b.Gen && a.T == b.T && a.Delta == b.Delta && bytes.Equal(a.Doc, b.Doc)
}

// FuzzRecordRoundTrip writes any record afmc may spool and reads it back,
// with and without validation; the line is valid JSON.
func FuzzRecordRoundTrip(f *testing.F) {
	f.Add(uint64(7), uint64(1764096000000000000), int64(1764096000123), true, []byte(`{"kind":"CPU","load":1.5}`))
	f.Add(uint64(1), uint64(0), int64(-1<<63), false, []byte(`{}`))
	f.Add(uint64(1<<64-1), uint64(1<<64-1), int64(1<<63-1), false, []byte(`{"a":{"b":[1,"}"]}}`))
	f.Fuzz(func(t *testing.T, id, gen uint64, ts int64, delta bool, doc []byte) {
		if id == 0 || checkDoc(doc) != nil || !json.Valid(doc) {
			return // refused before it is spooled
		}
		want := record{ID: id, Gen: gen, T: ts, Delta: delta, Doc: doc}
		line := appendRecord(nil, want)
		if !json.Valid(bytes.TrimSuffix(line, []byte{'\n'})) || bytes.Count(line, []byte{'\n'}) != 1 {
			t.Fatalf("line %q is not one line of JSON", line)
		}
		for _, validate := range []bool{true, false} {
			if got, ok := parseRecord(line, validate); !ok || !sameRecord(got, want) {
				t.Fatalf("validate %v: read %+v (ok %v), want %+v", validate, got, ok, want)
			}
		}
	})
}

// FuzzLineReader splits a spool into lines: every byte is counted once,
// each line comes back whole with its newline (ended) or, the last, without
// one; a line over maxRecord comes back as nil, its size still counted.
func FuzzLineReader(f *testing.F) {
	for _, s := range spoolSeeds {
		f.Add([]byte(s+s), uint16(0))
	}
	f.Add([]byte("a\n\nb"), uint16(1))
	f.Add([]byte(strings.Repeat("x", 70000)+"\nshort\n"), uint16(5))
	f.Fuzz(func(t *testing.T, b []byte, chunk uint16) {
		var r io.Reader = bytes.NewReader(b)
		if chunk > 0 {
			r = &chunkReader{b: b, n: int(chunk)} // reads as a pipe or a slow disk may return them
		}
		lr := newLineReader(r)
		want := strings.SplitAfter(string(b), "\n")
		if len(want) > 0 && want[len(want)-1] == "" {
			want = want[:len(want)-1]
		}
		var total int64
		for i := 0; ; i++ {
			line, size, ended, err := lr.next()
			if err == io.EOF {
				if i != len(want) || total != int64(len(b)) {
					t.Fatalf("%d lines and %d bytes, want %d and %d", i, total, len(want), len(b))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if i >= len(want) {
				t.Fatalf("line %d of %d", i, len(want))
			}
			w := want[i]
			total += size
			switch {
			case size != int64(len(w)):
				t.Fatalf("line %d: size %d, want %d", i, size, len(w))
			case ended != strings.HasSuffix(w, "\n"):
				t.Fatalf("line %d: ended %v for %q", i, ended, w)
			case len(w) > maxRecord && line != nil:
				t.Fatalf("line %d of %d bytes handed over", i, len(w))
			case len(w) <= maxRecord && string(line) != w:
				t.Fatalf("line %d: %q, want %q", i, line, w)
			}
		}
	})
}

type chunkReader struct {
	b []byte
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.n)], c.b)
	c.b = c.b[n:]
	return n, nil
}
