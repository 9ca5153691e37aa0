package condor

import (
	"bytes"
	"errors"

	"github.com/tidwall/gjson"
)

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
