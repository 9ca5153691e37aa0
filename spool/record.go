package spool

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// maxRecord bounds one spool or inbox line. Documents are a few hundred
// bytes; a longer line (tampering, a runaway document) is dropped as
// unreadable instead of being read into memory whole.
const maxRecord = 1 << 20

// record is one spooled document, a line of the spool file:
//
//	{"id":7,"gen":1764096000000000000,"t":1764096000123,"delta":true,"doc":{...}}
//
// Gen is the state generation of the run that collected it (see
// state.Store.Generation), T the collection time in epoch milliseconds.
// Delta marks a document computed against the state (a NETWORK interval):
// it is void if its run was stopped before saving that state.
type record struct {
	ID    uint64          `json:"id"`
	Gen   uint64          `json:"gen"`
	T     int64           `json:"t"`
	Delta bool            `json:"delta,omitempty"`
	Doc   json.RawMessage `json:"doc"`
}

// voidAt tells whether the record belongs to a run stopped before it
// saved its state (committed is the last saved generation) and depends on
// that state. Snapshots of such a run are still good and are sent.
func (r record) voidAt(committed uint64) bool { return r.Delta && r.Gen > committed }

// appendRecord writes r as a spool line. Documents are compact JSON objects
// made by encoding/json, which escapes newlines, so a line holds exactly one.
func appendRecord(dst []byte, r record) []byte {
	dst = append(dst, `{"id":`...)
	dst = strconv.AppendUint(dst, r.ID, 10)
	dst = append(dst, `,"gen":`...)
	dst = strconv.AppendUint(dst, r.Gen, 10)
	dst = append(dst, `,"t":`...)
	dst = strconv.AppendInt(dst, r.T, 10)
	if r.Delta {
		dst = append(dst, `,"delta":true`...)
	}
	dst = append(dst, `,"doc":`...)
	dst = append(dst, r.Doc...)
	return append(dst, "}\n"...)
}

// parseRecord reads a spool line (newline included or not). Lines written
// by appendRecord are read without a JSON decoder and without allocating;
// anything else goes through encoding/json. validate also checks that the
// document is valid JSON, which lines read back in the same run need not.
func parseRecord(line []byte, validate bool) (record, bool) {
	line = bytes.TrimSuffix(line, []byte{'\n'})
	if r, ok := parseOwnRecord(line); ok {
		if validate && !json.Valid(r.Doc) {
			return record{}, false
		}
		return r, true
	}
	var r record
	if err := json.Unmarshal(line, &r); err != nil || r.ID == 0 || len(r.Doc) == 0 || r.Doc[0] != '{' {
		return record{}, false
	}
	return r, true
}

func parseOwnRecord(b []byte) (r record, ok bool) {
	var p []byte
	if p, ok = bytes.CutPrefix(b, []byte(`{"id":`)); !ok {
		return r, false
	}
	if r.ID, p, ok = cutUint(p); !ok || r.ID == 0 {
		return r, false
	}
	if p, ok = bytes.CutPrefix(p, []byte(`,"gen":`)); !ok {
		return r, false
	}
	if r.Gen, p, ok = cutUint(p); !ok {
		return r, false
	}
	if p, ok = bytes.CutPrefix(p, []byte(`,"t":`)); !ok {
		return r, false
	}
	neg := len(p) > 0 && p[0] == '-'
	if neg {
		p = p[1:]
	}
	t, p, ok := cutUint(p)
	if !ok || t > 1<<62 {
		return r, false
	}
	r.T = int64(t)
	if neg {
		r.T = -r.T
	}
	p, r.Delta = bytes.CutPrefix(p, []byte(`,"delta":true`))
	if p, ok = bytes.CutPrefix(p, []byte(`,"doc":`)); !ok {
		return r, false
	}
	if len(p) < 3 || p[0] != '{' || p[len(p)-1] != '}' || p[len(p)-2] != '}' {
		return r, false
	}
	r.Doc = p[: len(p)-1 : len(p)-1]
	return r, true
}

// cutUint reads the decimal digits at the start of b.
func cutUint(b []byte) (uint64, []byte, bool) {
	i := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	if i == 0 || i > 20 || i > 1 && b[0] == '0' { // JSON has no leading zeros
		return 0, b, false
	}
	v, err := strconv.ParseUint(string(b[:i]), 10, 64) // no allocation: the compiler elides the conversion
	return v, b[i:], err == nil
}

// docKind is the document's "kind" field, found by a scan (afmc writes it
// first), not by decoding the document.
func docKindBytes(doc []byte) []byte {
	const key = `"kind":"`
	i := bytes.Index(doc, []byte(key))
	if i < 0 {
		return []byte("unknown")
	}
	v := doc[i+len(key):]
	j := bytes.IndexByte(v, '"')
	if j < 0 || j > 64 {
		return []byte("unknown")
	}
	return v[:j]
}

// checkDoc tells whether doc can be spooled as one line.
func checkDoc(doc []byte) error {
	switch {
	case len(doc) < 2 || doc[0] != '{' || doc[len(doc)-1] != '}' || bytes.IndexByte(doc, '\n') >= 0:
		return fmt.Errorf("spooling a document: not a compact JSON object: %.60q", doc)
	case len(doc) > maxRecord-200:
		return fmt.Errorf("spooling a document: %d bytes, more than the spool takes (%d): %.60q", len(doc), maxRecord-200, doc)
	}
	return nil
}

// lineReader reads lines of at most maxRecord bytes, reusing its buffers:
// a line is valid until the next call. A longer line is skipped unread.
type lineReader struct {
	r   *bufio.Reader
	buf []byte
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next line with its newline, if it has one (ended), and
// its size in the file. line is nil for a line over maxRecord. At the end
// it returns size 0 and io.EOF.
func (l *lineReader) next() (line []byte, size int64, ended bool, err error) {
	l.buf = l.buf[:0]
	long := false
	for {
		frag, err := l.r.ReadSlice('\n')
		size += int64(len(frag))
		switch {
		case long:
		case len(l.buf)+len(frag) > maxRecord:
			long, l.buf = true, l.buf[:0]
		case err == nil && len(l.buf) == 0:
			return frag, size, true, nil // the whole line in the reader's buffer
		default:
			l.buf = append(l.buf, frag...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, size, false, err
		}
		if errors.Is(err, io.EOF) && size == 0 {
			return nil, 0, false, io.EOF
		}
		if long {
			return nil, size, err == nil, nil
		}
		return l.buf, size, err == nil, nil
	}
}
