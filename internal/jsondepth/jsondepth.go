// Package jsondepth bounds how deeply JSON from outside nests before any
// recursive code sees it. gjson's validator and getters recurse once per
// level: 12 MB of "[" from a program or a server is a Go stack overflow, a
// fatal error no recover catches, and the whole run is lost. The check
// here is a loop over the bytes, with no stack of its own.
package jsondepth

import (
	"errors"
	"fmt"
	"io"
)

// Max is the nesting afmc accepts: far deeper than any Kubernetes object,
// loginctl list or condor ad (a dozen levels), far shallower than what
// would strain a goroutine's stack.
const Max = 512

// ErrTooDeep is wrapped by the error for JSON nested deeper than allowed.
var ErrTooDeep = errors.New("JSON nested too deeply")

// Scanner follows the nesting of a JSON text fed to it in pieces. It does
// not validate anything else: the parser after it does.
type Scanner struct {
	max      int
	depth    int
	inString bool
	escaped  bool
	offset   int64
}

// NewScanner bounds nesting at max levels (Max when max <= 0).
func NewScanner(max int) *Scanner {
	if max <= 0 {
		max = Max
	}
	return &Scanner{max: max}
}

// Feed follows p; the error names the offset of the first bracket past the
// bound.
func (s *Scanner) Feed(p []byte) error {
	for i, c := range p {
		if s.inString {
			switch {
			case s.escaped:
				s.escaped = false
			case c == '\\':
				s.escaped = true
			case c == '"':
				s.inString = false
			}
			continue
		}
		switch c {
		case '"':
			s.inString = true
		case '[', '{':
			s.depth++
			if s.depth > s.max {
				return fmt.Errorf("%w: more than %d levels at byte %d", ErrTooDeep, s.max, s.offset+int64(i))
			}
		case ']', '}':
			if s.depth > 0 {
				s.depth--
			}
		}
	}
	s.offset += int64(len(p))
	return nil
}

// Check tells whether b nests at most max levels (Max when max <= 0).
func Check(b []byte, max int) error {
	return NewScanner(max).Feed(b)
}

// Reader passes r on and fails, before handing them over, on the bytes
// that nest deeper than max levels (Max when max <= 0): a streaming
// decoder behind it never sees them.
func Reader(r io.Reader, max int) io.Reader {
	return &reader{r: r, s: NewScanner(max)}
}

type reader struct {
	r   io.Reader
	s   *Scanner
	err error
}

func (r *reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.r.Read(p)
	if serr := r.s.Feed(p[:n]); serr != nil {
		// Nothing of this read is handed over: the decoder keeps what it
		// had, all of it within the bound.
		r.err = serr
		return 0, serr
	}
	return n, err
}
