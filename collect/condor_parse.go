package collect

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

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
// gjson's validator judges it (the scanner bounded its depth first), and
// an object. Its top level is then walked in place: a valid document needs
// no grammar checks, so the walk only finds where each value ends, and
// reads the few afmc uses (a string with escapes through gjson). At
// 200,000 jobs a general decoder's copies and float parses show.
// ClassAd attribute names are case insensitive, and condor keeps the case
// each was stored with, so keys are compared ignoring case. strs interns
// strings (owners repeat across a pool).
func parseAd(ad []byte, a *condorAd, strs map[string]string) error {
	*a = condorAd{status: -1}
	if !gjson.ValidBytes(ad) {
		return errNotJSON
	}
	i := skipSpace(ad, 0)
	if ad[i] != '{' {
		return errNotAd
	}
	i = skipSpace(ad, i+1)
	for ad[i] != '}' {
		end := keyEnd(ad, i)
		key := ad[i+1 : end-1]
		i = skipSpace(ad, end) // at the colon
		i = skipSpace(ad, i+1) // at the value
		end = valueEnd(ad, i)
		if name := attrKey(key); name != "" {
			readAttr(a, name, ad[i:end], strs)
		}
		i = skipSpace(ad, end)
		if ad[i] == ',' {
			i = skipSpace(ad, i+1)
		}
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
func keyEnd(js []byte, i int) int {
	for j := i + 1; ; j++ {
		switch js[j] {
		case '"':
			return j + 1
		case '\\':
			return stringEnd(js, i)
		}
	}
}

// stringEnd is the index after the string that starts at js[i], a quote,
// in valid JSON.
func stringEnd(js []byte, i int) int {
	i++
	for {
		j := plainEnd(js[i:])
		i += j
		if js[i] == '"' {
			return i + 1
		}
		i += 2 // a backslash and the byte it escapes
	}
}

// valueEnd is the index after the value that starts at js[i], in valid
// JSON: nested values are skipped by counting brackets outside strings
// (the scanner bounded their depth, and nothing here recurses).
func valueEnd(js []byte, i int) int {
	switch js[i] {
	case '"':
		return stringEnd(js, i)
	case '{', '[':
		depth := 0
		for {
			switch js[i] {
			case '"':
				i = stringEnd(js, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
	}
	// A number or a literal: up to the next separator.
	for i < len(js) && !valueStop[js[i]] {
		i++
	}
	return i
}

// valueStop marks the bytes that end a number or a literal.
var valueStop = [256]bool{',': true, '}': true, ']': true, ' ': true, '\n': true, '\t': true, '\r': true}

// attrNames are the attributes afmc reads, in the case condor stores them
// with.
var attrNames = [...]string{"Owner", "GlobalJobId", "MyType", "ClusterId", "ProcId", "JobStatus", "JobUniverse",
	"RemoteWallClockTime", "ShadowBday", "JobCurrentStartDate", "ServerTime", "JobFinishedHookDone",
	"CpusProvisioned", "MemoryProvisioned", "Idle", "Running", "Held", "ErrorCode"}

// attrKey maps a key, its raw JSON string content, to the canonical name
// of an attribute afmc reads, or "". Attribute names have no escapes; a
// key with one is decoded first.
func attrKey(raw []byte) string {
	if len(raw) < 4 || len(raw) > 20 {
		if bytes.IndexByte(raw, '\\') < 0 {
			return ""
		}
	}
	switch string(raw) { // the case condor stores them with: no allocation
	case "Owner":
		return "Owner"
	case "ClusterId":
		return "ClusterId"
	case "ProcId":
		return "ProcId"
	case "JobStatus":
		return "JobStatus"
	case "JobUniverse":
		return "JobUniverse"
	case "RemoteWallClockTime":
		return "RemoteWallClockTime"
	case "ShadowBday":
		return "ShadowBday"
	case "ServerTime":
		return "ServerTime"
	case "CpusProvisioned":
		return "CpusProvisioned"
	case "MemoryProvisioned":
		return "MemoryProvisioned"
	}
	k := raw
	if bytes.IndexByte(raw, '\\') >= 0 {
		k = []byte(gjson.ParseBytes(append(append([]byte{'"'}, raw...), '"')).Str)
	}
	for _, name := range attrNames {
		if len(name) == len(k) && (string(k) == name || bytes.EqualFold(k, []byte(name))) {
			return name
		}
	}
	return ""
}

// readAttr reads the raw value of attribute name into a.
func readAttr(a *condorAd, name string, raw []byte, strs map[string]string) {
	switch name {
	case "Owner":
		a.owner = intern(strs, raw)
	case "GlobalJobId":
		if raw[0] == '"' {
			a.globalJobID = stringValue(raw)
		}
	case "MyType":
		a.myType = intern(strs, raw)
	case "ClusterId":
		a.cluster, a.hasCluster = jobIDNumber(raw)
		if !a.hasCluster && raw[0] != 'n' { // null is an absent id
			a.badID = name
		}
	case "ProcId":
		a.proc, a.hasProc = jobIDNumber(raw)
		if !a.hasProc && raw[0] != 'n' {
			a.badID = name
		}
	case "JobStatus":
		if n, ok := exactInt(raw); ok && n >= 0 && n < int64(len(jobStates)) {
			a.status = n
		}
	case "JobUniverse":
		a.universe, _ = exactInt(raw)
	case "RemoteWallClockTime":
		a.wallClock = quantity(raw)
	case "ShadowBday":
		a.shadowBday = quantity(raw)
	case "JobCurrentStartDate":
		a.startDate = quantity(raw)
	case "ServerTime":
		a.serverTime = quantity(raw)
	case "JobFinishedHookDone":
		a.hookDone = quantity(raw)
	case "CpusProvisioned":
		a.cpus = quantity(raw)
	case "MemoryProvisioned":
		a.memory = quantity(raw)
	case "Idle":
		a.idle = quantity(raw)
	case "Running":
		a.running = quantity(raw)
	case "Held":
		a.held = quantity(raw)
	case "ErrorCode":
		a.errorCode, _ = exactInt(raw)
	}
}

// jobIDNumber reads a ClusterId or ProcId: an integer from 0 to maxJobID.
func jobIDNumber(raw []byte) (int64, bool) {
	n, ok := exactInt(raw)
	if !ok || n < 0 || n > maxJobID {
		return 0, false
	}
	return n, true
}

// quantity reads a time, duration, count or size: a number from 0 to
// maxQuantity, a real truncated to its whole part; anything else (null,
// "/Expr(...)/", a negative or absurd number) reads as 0.
func quantity(raw []byte) int64 {
	n, ok := number(raw)
	if !ok || n < 0 || n > maxQuantity {
		return 0
	}
	return n
}

// exactInt reads a valid JSON integer literal (no fraction, no exponent),
// saturating at the int64 bounds.
func exactInt(raw []byte) (int64, bool) {
	neg := len(raw) > 0 && raw[0] == '-'
	if neg {
		raw = raw[1:]
	}
	if len(raw) == 0 {
		return 0, false
	}
	// The magnitude, saturated at 2^63: the caller's range check refuses
	// what does not fit.
	var mag uint64
	for _, c := range raw {
		if c < '0' || c > '9' {
			return 0, false
		}
		if mag > (1<<63)/10 {
			mag = 1 << 63
			continue
		}
		mag = min(mag*10+uint64(c-'0'), 1<<63)
	}
	switch {
	case neg && mag == 1<<63:
		return math.MinInt64, true
	case neg:
		return -int64(mag), true
	case mag >= 1<<63:
		return math.MaxInt64, true
	}
	return int64(mag), true
}

// number reads a valid JSON number as an integer, truncated toward zero
// and saturating at the int64 bounds; anything else is not a number.
func number(raw []byte) (int64, bool) {
	if len(raw) == 0 || raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
		return 0, false
	}
	if n, ok := exactInt(raw); ok {
		return n, true
	}
	// A real such as 37327.0 is its whole part, read as an integer; one
	// with an exponent is read as a float.
	if dot := bytes.IndexByte(raw, '.'); dot > 0 && !bytes.ContainsAny(raw, "eE") {
		return exactInt(raw[:dot])
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, false
	}
	switch {
	case f >= math.MaxInt64:
		return math.MaxInt64, true
	case f <= math.MinInt64:
		return math.MinInt64, true
	}
	return int64(f), true
}

// stringValue decodes a JSON string; a string without escapes is its bytes.
func stringValue(raw []byte) string {
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner)
	}
	return gjson.ParseBytes(raw).Str
}

// intern returns a string value, shared with earlier ads that had it; a
// value that is not a string is "".
func intern(strs map[string]string, raw []byte) string {
	if raw[0] != '"' {
		return ""
	}
	inner := raw[1 : len(raw)-1]
	if s, ok := strs[string(inner)]; ok { // no allocation for the lookup
		return s
	}
	s := stringValue(raw)
	if len(strs) < 100000 {
		strs[string(inner)] = s
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

// jobStateValues are jobStates boxed once, for documents.
var jobStateValues = func() (v [len(jobStates) + 1]any) {
	for i, s := range jobStates {
		v[i] = s
	}
	v[len(jobStates)] = "unknown"
	return v
}()

func jobStateValue(code int64) any {
	if code >= 0 && code < int64(len(jobStates)) {
		return jobStateValues[code]
	}
	return jobStateValues[len(jobStates)]
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
