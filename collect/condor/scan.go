package condor

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// condor_q -json and condor_history -json print a "[" line, each ad as a
// pretty-printed object, "," lines between ads and a "]" line; condor_q
// prints nothing at all for an empty queue, and `All queues are empty`
// under -global. adScanner cuts such a stream into ads without holding
// more than one ad, so a pool of any size is read in constant memory. It
// also reads line-delimited ads (-jsonl) and several arrays in a row.
//
// The scanner only finds where an ad ends; whether it is JSON is judged
// by gjson's validator (parseAd), which recurses: the scanner bounds the
// nesting first, so no output can make it recurse deeply.

// maxAdBytes bounds one ad: a full job ad is about 8 KB, ours are
// projected with -attributes. A larger one is not condor's output.
const maxAdBytes = 1 << 20

// maxAdDepth bounds the nesting inside one ad: condor's ads are flat, but
// for the odd list or nested ad (a summary's Analyze).
const maxAdDepth = 32

// errTruncated is output that ends inside an ad or an array: a failed
// query (condor_history leaves a lone "[" when a remote query fails).
var errTruncated = errors.New("output ends inside an array or an ad")

type adScanner struct {
	r     io.Reader
	buf   []byte
	start int
	end   int
	eof   bool
	off   int64 // offset of buf[0] in the stream
	n     int   // ads returned so far
	at    int64 // offset where the current ad starts

	ad     []byte // the ad being assembled, reused
	depth  int    // nesting inside the current ad; 0: between ads
	inStr  bool
	esc    bool
	arrays int    // "[" open between ads
	line   []byte // text between ads, up to its newline
	inText bool
}

func newAdScanner(r io.Reader) *adScanner {
	return &adScanner{r: r, buf: make([]byte, 256<<10)}
}

// next returns the next ad's bytes, valid until the following call, or
// io.EOF after the last one. At the end of a stream that stops inside an
// ad or an array it returns errTruncated.
func (s *adScanner) next() ([]byte, error) {
	for {
		if s.start == s.end {
			if s.eof {
				return nil, s.finish()
			}
			s.off += int64(s.end)
			n, err := s.r.Read(s.buf)
			s.start, s.end = 0, n
			if err == io.EOF {
				s.eof = true
			} else if err != nil {
				return nil, err
			}
			continue
		}
		chunk := s.buf[s.start:s.end]
		if s.depth == 0 {
			i, err := s.between(chunk)
			if s.depth > 0 {
				s.at = s.off + int64(s.start+i-1)
			}
			s.start += i
			if err != nil {
				return nil, err
			}
			continue
		}
		i, done, deep := s.inside(chunk)
		if deep {
			return nil, fmt.Errorf("ad %d (at byte %d) nests deeper than %d levels: not condor's output", s.n+1, s.at, maxAdDepth)
		}
		if len(s.ad)+i > maxAdBytes {
			return nil, fmt.Errorf("ad %d (at byte %d) is longer than %d bytes: not condor's output", s.n+1, s.at, maxAdBytes)
		}
		s.ad = append(s.ad, chunk[:i]...)
		s.start += i
		if done {
			s.n++
			return s.ad, nil
		}
	}
}

// between consumes the separators and text between ads, up to and
// including the "{" that opens the next ad. It returns how many bytes of
// chunk it used.
func (s *adScanner) between(chunk []byte) (int, error) {
	for i, c := range chunk {
		if s.inText {
			if c != '\n' {
				if len(s.line) < 200 {
					s.line = append(s.line, c)
				}
				continue
			}
			if err := s.textLine(); err != nil {
				return i + 1, err
			}
			continue
		}
		switch c {
		case ' ', '\t', '\r', '\n', ',':
		case '[':
			s.arrays++
		case ']':
			if s.arrays == 0 {
				return i + 1, errors.New(`unexpected "]" in condor output`)
			}
			s.arrays--
		case '{':
			s.depth, s.inStr, s.esc = 1, false, false
			s.ad = append(s.ad[:0], '{')
			return i + 1, nil
		default:
			s.inText = true
			s.line = append(s.line[:0], c)
		}
	}
	return len(chunk), nil
}

// textLine judges a line of text between ads: condor_q's empty-pool
// message and -global's schedd banners are expected, anything else means
// the program did not print what afmc asked for.
func (s *adScanner) textLine() error {
	s.inText = false
	l := bytes.TrimSpace(s.line)
	switch {
	case len(l) == 0, bytes.Equal(l, []byte("All queues are empty")), bytes.HasPrefix(l, []byte("-- ")):
		return nil
	}
	return fmt.Errorf("unexpected text in condor output (not -json output?): %q", l)
}

// inside scans chunk within an ad; it returns how many bytes belong to the
// ad, whether the ad closed, and whether it nests too deep.
func (s *adScanner) inside(chunk []byte) (n int, done, deep bool) {
	for i := 0; i < len(chunk); i++ {
		c := chunk[i]
		if s.inStr {
			if s.esc { // this byte is escaped
				s.esc = false
				continue
			}
			j := plainEnd(chunk[i:])
			if j < 0 {
				return len(chunk), false, false
			}
			i += j
			if chunk[i] == '\\' {
				s.esc = true
			} else {
				s.inStr = false
			}
			continue
		}
		switch c {
		case '"':
			s.inStr = true
		case '{', '[':
			if s.depth++; s.depth > maxAdDepth {
				return i, false, true
			}
		case '}', ']':
			s.depth--
			if s.depth == 0 {
				return i + 1, true, false
			}
		}
	}
	return len(chunk), false, false
}

// plainEnd is the index of the first quote or backslash in b, or -1: it
// skips a string's plain bytes with two fast searches instead of a
// two-byte set search.
func plainEnd(b []byte) int {
	q := bytes.IndexByte(b, '"')
	if q < 0 {
		q = len(b)
	}
	if e := bytes.IndexByte(b[:q], '\\'); e >= 0 {
		return e
	}
	if q == len(b) {
		return -1
	}
	return q
}

func (s *adScanner) finish() error {
	if s.inText {
		if err := s.textLine(); err != nil {
			return err
		}
	}
	if s.depth > 0 || s.arrays > 0 {
		return errTruncated
	}
	return io.EOF
}
