package collect

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unsafe"

	"github.com/atlas-af/afmc/internal/extcmd"
	"github.com/tidwall/gjson"
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

// badAd names an ad afmc refused: its place in the output, its start, and
// why.
func (s *adScanner) badAd(ad []byte, why error) error {
	ex := ad
	if len(ex) > 80 {
		ex = ex[:80]
	}
	return fmt.Errorf("ad %d (at byte %d) %w: %s", s.n, s.at, why, extcmd.Printable(strings.Join(strings.Fields(string(ex)), " ")))
}

// condorAd holds the attributes afmc reads from one job or summary ad.
// Numbers are range-checked as they are read: integers saturate instead
// of wrapping, and times and counts outside what condor can mean read as
// absent (0), as do null and an unevaluated "/Expr(...)/" string.
type condorAd struct {
	owner       string
	globalJobID string
	myType      string
	cluster     int64
	proc        int64
	status      int64 // -1: absent or not a JobStatus code
	universe    int64
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
	badID       string // the attribute, when ClusterId or ProcId is not a job id
}

// maxQuantity bounds the times (seconds since 1970), durations, counts and
// sizes afmc reads from an ad: 2^40 seconds is 34,000 years, so that sums
// of a million of them cannot wrap either. A value above it is not
// condor's.
const maxQuantity = 1 << 40

// maxJobID is the largest ClusterId or ProcId: condor keeps them as int.
const maxJobID = math.MaxInt32

var (
	errNotJSON = errors.New("is not valid JSON")
	errNotAd   = errors.New("is not a JSON object")
)

// parseAd reads ad into a (reset first). The ad must be valid JSON, as
// gjson's validator judges it (the scanner bounded its depth); its top
// level is then read with gjson, without copying it. ClassAd attribute
// names are case insensitive, and condor keeps the case each was stored
// with, so keys are compared ignoring case. strs interns strings (owners
// repeat across a pool).
func parseAd(ad []byte, a *condorAd, strs map[string]string) error {
	*a = condorAd{status: -1}
	if !gjson.ValidBytes(ad) {
		return errNotJSON
	}
	v := gjson.Parse(unsafe.String(unsafe.SliceData(ad), len(ad)))
	if !v.IsObject() {
		return errNotAd
	}
	// The Results point into ad, which the scanner reuses: only copies of
	// strings may be kept (intern, strings.Clone).
	v.ForEach(func(key, val gjson.Result) bool {
		readAttr(a, attrKey(key.Str), val, strs)
		return true
	})
	return nil
}

// attrKey maps an attribute name, in any case, to the canonical name of
// one afmc reads, or "".
func attrKey(k string) string {
	switch k { // the case condor stores them with, first
	case "Owner", "GlobalJobId", "MyType", "ClusterId", "ProcId", "JobStatus", "JobUniverse",
		"RemoteWallClockTime", "ShadowBday", "JobCurrentStartDate", "ServerTime", "JobFinishedHookDone",
		"CpusProvisioned", "MemoryProvisioned", "Idle", "Running", "Held", "ErrorCode":
		return k
	}
	if len(k) > 20 {
		return ""
	}
	for _, name := range [...]string{"Owner", "GlobalJobId", "MyType", "ClusterId", "ProcId", "JobStatus", "JobUniverse",
		"RemoteWallClockTime", "ShadowBday", "JobCurrentStartDate", "ServerTime", "JobFinishedHookDone",
		"CpusProvisioned", "MemoryProvisioned", "Idle", "Running", "Held", "ErrorCode"} {
		if len(name) == len(k) && strings.EqualFold(name, k) {
			return name
		}
	}
	return ""
}

func readAttr(a *condorAd, name string, v gjson.Result, strs map[string]string) {
	switch name {
	case "":
	case "Owner":
		a.owner = intern(strs, v)
	case "GlobalJobId":
		if v.Type == gjson.String {
			a.globalJobID = strings.Clone(v.Str)
		}
	case "MyType":
		a.myType = intern(strs, v)
	case "ClusterId":
		a.cluster, a.hasCluster = jobIDNumber(v)
		if !a.hasCluster && v.Type != gjson.Null {
			a.badID = name
		}
	case "ProcId":
		a.proc, a.hasProc = jobIDNumber(v)
		if !a.hasProc && v.Type != gjson.Null {
			a.badID = name
		}
	case "JobStatus":
		if n, ok := exactInt(v); ok && n >= 0 && n < int64(len(jobStates)) {
			a.status = n
		}
	case "JobUniverse":
		a.universe, _ = exactInt(v)
	case "RemoteWallClockTime":
		a.wallClock = quantity(v)
	case "ShadowBday":
		a.shadowBday = quantity(v)
	case "JobCurrentStartDate":
		a.startDate = quantity(v)
	case "ServerTime":
		a.serverTime = quantity(v)
	case "JobFinishedHookDone":
		a.hookDone = quantity(v)
	case "CpusProvisioned":
		a.cpus = quantity(v)
	case "MemoryProvisioned":
		a.memory = quantity(v)
	case "Idle":
		a.idle = quantity(v)
	case "Running":
		a.running = quantity(v)
	case "Held":
		a.held = quantity(v)
	case "ErrorCode":
		a.errorCode, _ = exactInt(v)
	}
}

// jobIDNumber reads a ClusterId or ProcId: an integer from 0 to maxJobID.
func jobIDNumber(v gjson.Result) (int64, bool) {
	n, ok := exactInt(v)
	if !ok || n < 0 || n > maxJobID {
		return 0, false
	}
	return n, true
}

// quantity reads a time, duration, count or size: a number from 0 to
// maxQuantity, a real truncated to its whole part; anything else (null,
// "/Expr(...)/", a negative or absurd number) reads as 0.
func quantity(v gjson.Result) int64 {
	n, ok := number(v)
	if !ok || n < 0 || n > maxQuantity {
		return 0
	}
	return n
}

// exactInt reads an integer literal (no fraction, no exponent),
// saturating at the int64 bounds.
func exactInt(v gjson.Result) (int64, bool) {
	if v.Type != gjson.Number {
		return 0, false
	}
	raw := v.Raw
	neg := strings.HasPrefix(raw, "-")
	if neg {
		raw = raw[1:]
	}
	if raw == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (math.MaxInt64-9)/10 {
			n = math.MaxInt64 // saturated: the caller's range check refuses it
			continue
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// number reads any JSON number as an integer, truncated toward zero and
// saturating at the int64 bounds.
func number(v gjson.Result) (int64, bool) {
	if v.Type != gjson.Number {
		return 0, false
	}
	if n, ok := exactInt(v); ok {
		return n, true
	}
	// A real (37327.0) or an exponent: its whole part.
	f := v.Num
	switch {
	case f != f:
		return 0, false
	case f >= math.MaxInt64:
		return math.MaxInt64, true
	case f <= math.MinInt64:
		return math.MinInt64, true
	}
	return int64(f), true
}

// intern returns a string value, shared with earlier ads that had it; a
// value that is not a string is "".
func intern(strs map[string]string, v gjson.Result) string {
	if v.Type != gjson.String {
		return ""
	}
	if s, ok := strs[v.Str]; ok {
		return s
	}
	s := strings.Clone(v.Str)
	if len(strs) < 100000 {
		strs[s] = s
	}
	return s
}

// satAdd adds two non-negative quantities without wrapping.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
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
// current run is not yet in RemoteWallClockTime: those condor_q -run lists.
func jobRunning(code int64) bool { return code == 2 || code == 6 || code == 7 }

// jobRuntime is a job's run time in whole seconds, as condor_q shows it:
// RemoteWallClockTime counts only previous runs, so a running job adds its
// current run, from ShadowBday (or JobCurrentStartDate) to ServerTime (or
// now, when the reply has none). Every term is within maxQuantity, so the
// sum cannot wrap.
func jobRuntime(a *condorAd, now int64) int64 {
	rt := a.wallClock
	if jobRunning(a.status) {
		start := a.shadowBday
		if start <= 0 {
			start = a.startDate
		}
		at := a.serverTime
		if at <= 0 {
			at = min(max(now, 0), maxQuantity)
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
