package condor

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/tidwall/gjson"
)

// condor_q -json and condor_history -json print a "[" line, each ad as a
// pretty-printed object, "," lines between ads and a "]" line; condor_q
// prints nothing at all for an empty queue, and `All queues are empty`
// under -global. adScanner cuts such a stream into ads without holding
// more than one ad, so a pool of any size is read in constant memory. It
// also reads line-delimited ads (-jsonl) and several arrays in a row.

// maxAdBytes bounds one ad: a full job ad is about 8 KB, ours are
// projected with -attributes. A larger one is not condor's output.
const maxAdBytes = 1 << 20

// errTruncated is output that ends inside an ad or an array: a failed
// query (condor_history leaves a lone "[" when a remote query fails).
var errTruncated = errors.New("output ends inside an array or an ad")

type adScanner struct {
	r     io.Reader
	buf   []byte
	start int
	end   int
	eof   bool

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
			s.start += i
			if err != nil {
				return nil, err
			}
			continue
		}
		i, done := s.inside(chunk)
		if len(s.ad)+i > maxAdBytes {
			return nil, fmt.Errorf("an ad longer than %d bytes: not condor's output", maxAdBytes)
		}
		s.ad = append(s.ad, chunk[:i]...)
		s.start += i
		if done {
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
// ad and whether the ad closed.
func (s *adScanner) inside(chunk []byte) (int, bool) {
	for i := 0; i < len(chunk); i++ {
		c := chunk[i]
		if s.inStr {
			if s.esc { // this byte is escaped
				s.esc = false
				continue
			}
			j := plainEnd(chunk[i:])
			if j < 0 {
				return len(chunk), false
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
			s.depth++
		case '}', ']':
			s.depth--
			if s.depth == 0 {
				return i + 1, true
			}
		}
	}
	return len(chunk), false
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

// condorAd holds the attributes afmc reads from one job or summary ad.
// Numbers that are absent, null, or an unevaluated "/Expr(...)/" string
// read as 0 (status 0 is unknown).
type condorAd struct {
	owner       string
	globalJobID string
	myType      string
	cluster     int64
	proc        int64
	status      int64
	wallClock   int64 // RemoteWallClockTime: previous runs
	shadowBday  int64
	startDate   int64 // JobCurrentStartDate
	serverTime  int64
	hookDone    int64 // JobFinishedHookDone
	cpus        int64 // CpusProvisioned
	memory      int64 // MemoryProvisioned (MiB)
	idle        int64 // summary counts
	running     int64
	held        int64
	errorCode   int64
	hasCluster  bool
	hasProc     bool
}

// parseAd reads ad into a (reset first). ClassAd attribute names are case
// insensitive, and condor keeps the case each was stored with, so keys are
// compared lower-cased. strs interns strings (owners repeat across a pool).
//
// A full job ad has some 30 attributes of which afmc reads a few: the ad's
// top level is walked once, every value's extent checked, and only the
// values afmc reads are decoded. At 200,000 jobs every copy and every
// general-purpose decode shows, so the walk works on the bytes as read,
// numbers are read in place, and only a string with escapes goes through
// gjson.
func parseAd(ad []byte, a *condorAd, strs map[string]string) error {
	*a = condorAd{}
	var kb [40]byte
	return eachAttr(ad, func(key, raw []byte) {
		if len(key) > len(kb) {
			return // not an attribute afmc reads
		}
		lk := kb[:len(key)]
		for i, c := range key {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			lk[i] = c
		}
		switch string(lk) {
		case "owner":
			a.owner = intern(strs, raw)
		case "globaljobid":
			a.globalJobID = stringValue(raw)
		case "mytype":
			a.myType = intern(strs, raw)
		case "clusterid":
			a.cluster, a.hasCluster = number(raw)
		case "procid":
			a.proc, a.hasProc = number(raw)
		case "jobstatus":
			a.status, _ = number(raw)
		case "remotewallclocktime":
			a.wallClock, _ = number(raw)
		case "shadowbday":
			a.shadowBday, _ = number(raw)
		case "jobcurrentstartdate":
			a.startDate, _ = number(raw)
		case "servertime":
			a.serverTime, _ = number(raw)
		case "jobfinishedhookdone":
			a.hookDone, _ = number(raw)
		case "cpusprovisioned":
			a.cpus, _ = number(raw)
		case "memoryprovisioned":
			a.memory, _ = number(raw)
		case "idle":
			a.idle, _ = number(raw)
		case "running":
			a.running, _ = number(raw)
		case "held":
			a.held, _ = number(raw)
		case "errorcode":
			a.errorCode, _ = number(raw)
		}
	})
}

var errBadAd = errors.New("an ad is not valid JSON")

// eachAttr calls fn with each top-level key of a JSON object and the raw
// text of its value, checking the object's grammar on the way: keys are
// strings, values are strings, numbers, literals, or balanced objects and
// arrays.
func eachAttr(js []byte, fn func(key, raw []byte)) error {
	i := skipSpace(js, 0)
	if i >= len(js) || js[i] != '{' {
		return errBadAd
	}
	i = skipSpace(js, i+1)
	if i < len(js) && js[i] == '}' {
		return trailing(js, i+1)
	}
	for {
		if i >= len(js) || js[i] != '"' {
			return errBadAd
		}
		end, ok := keyEnd(js, i)
		if !ok {
			return errBadAd
		}
		key := js[i+1 : end-1]
		i = skipSpace(js, end)
		if i >= len(js) || js[i] != ':' {
			return errBadAd
		}
		i = skipSpace(js, i+1)
		end, ok = valueEnd(js, i)
		if !ok {
			return errBadAd
		}
		fn(key, js[i:end])
		i = skipSpace(js, end)
		if i >= len(js) {
			return errBadAd
		}
		switch js[i] {
		case ',':
			i = skipSpace(js, i+1)
		case '}':
			return trailing(js, i+1)
		default:
			return errBadAd
		}
	}
}

func trailing(js []byte, i int) error {
	if skipSpace(js, i) != len(js) {
		return errBadAd
	}
	return nil
}

func skipSpace(js []byte, i int) int {
	for i < len(js) && (js[i] == ' ' || js[i] == '\n' || js[i] == '\t' || js[i] == '\r') {
		i++
	}
	return i
}

// keyEnd is stringEnd for a key: short, so a plain loop beats searching.
func keyEnd(js []byte, i int) (int, bool) {
	for j := i + 1; j < len(js); j++ {
		switch js[j] {
		case '"':
			return j + 1, true
		case '\\':
			return stringEnd(js, i)
		}
	}
	return 0, false
}

// stringEnd returns the index after the string starting at js[i] == '"'.
func stringEnd(js []byte, i int) (int, bool) {
	i++
	for {
		j := plainEnd(js[i:])
		if j < 0 {
			return 0, false
		}
		i += j
		if js[i] == '"' {
			return i + 1, true
		}
		i += 2 // a backslash and the byte it escapes
		if i > len(js) {
			return 0, false
		}
	}
}

// numberByte marks the bytes a JSON number is made of.
var numberByte = [256]bool{'0': true, '1': true, '2': true, '3': true, '4': true, '5': true, '6': true, '7': true, '8': true, '9': true, '.': true, 'e': true, 'E': true, '+': true, '-': true}

// valueEnd returns the index after the value starting at js[i].
func valueEnd(js []byte, i int) (int, bool) {
	if i >= len(js) {
		return 0, false
	}
	switch c := js[i]; {
	case c == '"':
		return stringEnd(js, i)
	case c == '{' || c == '[':
		depth := 0
		for i < len(js) {
			switch js[i] {
			case '"':
				end, ok := stringEnd(js, i)
				if !ok {
					return 0, false
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, true
				}
			}
			i++
		}
		return 0, false
	case c == '-' || ('0' <= c && c <= '9'):
		j := i + 1
		for j < len(js) && numberByte[js[j]] {
			j++
		}
		return j, true
	}
	for _, lit := range []string{"true", "false", "null"} {
		if bytes.HasPrefix(js[i:], []byte(lit)) {
			return i + len(lit), true
		}
	}
	return 0, false
}

// number reads an integer or a real (truncated toward zero). Anything
// else, such as null or an unevaluated "/Expr(...)/" string, is not a
// number.
func number(raw []byte) (int64, bool) {
	if len(raw) == 0 || !(raw[0] == '-' || '0' <= raw[0] && raw[0] <= '9') {
		return 0, false
	}
	neg := raw[0] == '-'
	digits := raw
	if neg {
		digits = raw[1:]
	}
	var n int64
	for i, c := range digits {
		if c < '0' || c > '9' {
			if i == 0 {
				return 0, false
			}
			if c == '.' && allDigits(digits[i+1:]) {
				break // a real such as 37327.0: its whole part
			}
			return realNumber(raw) // an exponent: rare, read it whole
		}
		if n > (1<<62)/10 {
			return realNumber(raw)
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// realNumber reads a number with an exponent, or one too large for the
// fast path, through gjson.
func realNumber(raw []byte) (int64, bool) {
	v := gjson.ParseBytes(raw)
	if v.Type != gjson.Number {
		return 0, false
	}
	f := v.Num
	if f != f || f > 1<<62 || f < -(1<<62) {
		return 0, false
	}
	return int64(f), true
}

// stringValue decodes a JSON string; anything else is "". A string
// without escapes is its bytes.
func stringValue(raw []byte) string {
	if len(raw) < 2 || raw[0] != '"' {
		return ""
	}
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner)
	}
	return gjson.ParseBytes(raw).Str
}

// intern returns a string value, shared with earlier ads that had it.
func intern(strs map[string]string, raw []byte) string {
	if len(raw) < 2 || raw[0] != '"' {
		return ""
	}
	inner := raw[1 : len(raw)-1]
	if s, ok := strs[string(inner)]; ok { // no allocation for the lookup
		return s
	}
	s := stringValue(raw)
	if len(strs) < 100000 {
		strs[s] = s
	}
	return s
}

// jobStates names JobStatus codes; the documents call 4 "finished", as
// the dashboards expect.
var jobStates = [...]string{
	0:  "unexpanded", // unused for a decade; the original named it so
	1:  "idle",
	2:  "running",
	3:  "removed",
	4:  "finished",
	5:  "held",
	6:  "transferring_output",
	7:  "suspended",
	8:  "failed",
	9:  "blocked",
	10: "preparing",
}

// jobState names a JobStatus; an unknown code is "unknown", never an error.
func jobState(code int64) string {
	if code >= 0 && code < int64(len(jobStates)) {
		return jobStates[code]
	}
	return "unknown"
}

// jobRunning is true for the states in which a job holds a slot and its
// current run is not yet in RemoteWallClockTime.
func jobRunning(code int64) bool { return code == 2 || code == 6 || code == 7 }

// jobRuntime is a job's run time in whole seconds, as condor_q shows it:
// RemoteWallClockTime counts only previous runs, so a running job adds its
// current run, from ShadowBday (or JobCurrentStartDate) to ServerTime (or
// now, when the reply has none).
func jobRuntime(a *condorAd, now int64) int64 {
	rt := max(a.wallClock, 0)
	if jobRunning(a.status) {
		start := a.shadowBday
		if start <= 0 {
			start = a.startDate
		}
		at := a.serverTime
		if at <= 0 {
			at = now
		}
		if start > 0 && at > start {
			rt += at - start
		}
	}
	return rt
}

// jobID is "ClusterId.ProcId".
func jobID(a *condorAd) string {
	var b [48]byte
	out := strconv.AppendInt(b[:0], a.cluster, 10)
	out = append(out, '.')
	out = strconv.AppendInt(out, a.proc, 10)
	return string(out)
}
