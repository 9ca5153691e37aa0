package send

import (
	"bytes"
	"io"
	"strconv"
	"sync/atomic"
	"time"
)

// batch is the documents of one request, rendered (token and timestamp
// spliced in) back to back and separated by commas, so that any run of
// them is a ready-made array body without copying. A Send holds only the
// batches in flight, not every document: batches go back to a free list
// once the worker is done with them and the transport has closed every
// body it was given (it may read a body after the answer arrived).
type batch struct {
	arena []byte
	docs  []batchDoc
	refs  atomic.Int32 // the worker's, and one per body not yet closed
	free  chan *batch
}

// batchDoc locates one rendered document in batch.arena.
type batchDoc struct {
	id         uint64
	start, end int
	settled    bool // guarded by run.mu
}

// newBatch takes a batch from the free list, or makes one.
func newBatch(free chan *batch) *batch {
	var b *batch
	select {
	case b = <-free:
	default:
		b = &batch{free: free}
	}
	b.refs.Store(1)
	return b
}

// release drops one reference; the last one returns the batch for reuse.
func (b *batch) release() {
	if b.refs.Add(-1) != 0 {
		return
	}
	b.arena, b.docs = b.arena[:0], b.docs[:0]
	select {
	case b.free <- b:
	default: // the list is full: let it go
	}
}

// add renders doc (a trimmed JSON object) into the batch.
func (b *batch) add(id uint64, doc, tokenField []byte, at time.Time) {
	if len(b.docs) > 0 {
		b.arena = append(b.arena, ',')
	}
	start := len(b.arena)
	b.arena = appendDoc(b.arena, doc, tokenField, at)
	b.docs = append(b.docs, batchDoc{id: id, start: start, end: len(b.arena)})
}

// appendDoc appends doc (a trimmed JSON object) with the token field and the
// timestamp inserted before its closing brace.
func appendDoc(dst, doc, tokenField []byte, at time.Time) []byte {
	body := doc[:len(doc)-1]
	dst = append(dst, body...)
	// The byte before the closing brace is '{' only for an empty object.
	if inner := bytes.TrimRight(body, " \t\r\n"); inner[len(inner)-1] != '{' {
		dst = append(dst, ',')
	}
	dst = append(dst, tokenField...)
	dst = strconv.AppendInt(dst, at.UnixMilli(), 10)
	return append(dst, '}')
}

// span is a half-open range of documents of a batch.
type span struct {
	b      *batch
	lo, hi int
}

func (sp span) len() int { return sp.hi - sp.lo }

// reqBody is a request body over a batch's bytes.
type reqBody struct {
	b     *batch
	docs  []byte
	array bool // wrap docs in [ ]
}

// body returns the request body for sp: the bare object for a single
// document without batching, otherwise a JSON array.
func (sp span) body(array bool) reqBody {
	return reqBody{b: sp.b, docs: sp.b.arena[sp.b.docs[sp.lo].start:sp.b.docs[sp.hi-1].end], array: array}
}

func (b reqBody) len() int64 {
	if b.array {
		return int64(len(b.docs) + 2)
	}
	return int64(len(b.docs))
}

// reader returns a new reader of the body; the batch is not reused until
// the transport closes it.
func (b reqBody) reader() io.ReadCloser {
	if b.b == nil {
		return &arrayReader{docs: b.docs, bare: !b.array}
	}
	b.b.refs.Add(1)
	return &bodyReader{arrayReader: arrayReader{docs: b.docs, bare: !b.array}, b: b.b}
}

type bodyReader struct {
	arrayReader
	b      *batch
	closed atomic.Bool
}

func (r *bodyReader) Close() error {
	if r.closed.CompareAndSwap(false, true) {
		r.b.release()
	}
	return nil
}

// arrayReader yields "[" + docs + "]" (or docs alone if bare) without
// copying docs.
type arrayReader struct {
	docs []byte
	bare bool
	pos  int // position in the virtual stream of len(docs)+2 bytes
}

func (a *arrayReader) Read(p []byte) (int, error) {
	if a.bare {
		if a.pos >= len(a.docs) {
			return 0, io.EOF
		}
		n := copy(p, a.docs[a.pos:])
		a.pos += n
		return n, nil
	}
	total := len(a.docs) + 2
	n := 0
	for n < len(p) && a.pos < total {
		switch a.pos {
		case 0:
			p[n] = '['
			n++
			a.pos++
		case total - 1:
			p[n] = ']'
			n++
			a.pos++
		default:
			c := copy(p[n:], a.docs[a.pos-1:])
			n += c
			a.pos += c
		}
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}

func (a *arrayReader) Close() error { return nil }
