package condor

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/tidwall/gjson"
)

// condorSeeds adds the condor fixtures and the bad ads issue 16 found to
// a fuzz target's corpus; testdata/fuzz/<target> holds more.
func condorSeeds(f *testing.F) {
	names, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "condor", "*.json"))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{"a":{]}`, "{\"Owner\": \"a\nb\"}", `{"ClusterId": 1-2, "ProcId": 0}`, `{"ClusterId": 01}`,
		`{"A": 1,"B": 2}` + "\n" + `{"A": 3}`, `[{"A": [1, {"b": 2}]}]`, `{"A": "\u00e9\"}"}`,
		"[\n{\n  \"A\": " + strings.Repeat("[", 40) + strings.Repeat("]", 40) + "\n}\n]\n",
		`{"JobStatus": 9223372036854775808, "RemoteWallClockTime": -1e999}`, `{"x": tru}`, `{"x": nul}`, `{,}`, `{"a" 1}`,
	} {
		f.Add([]byte(s))
	}
}

// scanAll cuts a stream into ads, copies of them, and the error it ended
// with (io.EOF for a clean end).
func scanAll(r io.Reader) ([][]byte, error) {
	s := newAdScanner(r)
	var ads [][]byte
	for {
		ad, err := s.next()
		if err != nil {
			return ads, err
		}
		ads = append(ads, bytes.Clone(ad))
	}
}

// FuzzCondorAd: whatever condor_q or condor_history prints, afmc accepts
// an ad exactly when encoding/json takes it for a JSON object, never
// crashes, and every number it reads is within its range.
func FuzzCondorAd(f *testing.F) {
	condorSeeds(f)
	f.Fuzz(func(t *testing.T, out []byte) {
		ads, _ := scanAll(bytes.NewReader(out))
		for _, raw := range ads {
			if len(raw) > maxAdBytes {
				t.Fatalf("an ad of %d bytes", len(raw))
			}
			var a condorAd
			err := parseAd(raw, &a, map[string]string{})
			var obj map[string]json.RawMessage
			valid := json.Unmarshal(raw, &obj) == nil
			if (err == nil) != valid {
				t.Fatalf("parseAd(%q): %v, but encoding/json says valid=%v", raw, err, valid)
			}
			if err != nil {
				continue
			}
			for name, v := range map[string]int64{"RemoteWallClockTime": a.wallClock, "ShadowBday": a.shadowBday,
				"JobCurrentStartDate": a.startDate, "ServerTime": a.serverTime, "JobFinishedHookDone": a.hookDone,
				"CpusProvisioned": a.cpus, "MemoryProvisioned": a.memory, "Idle": a.idle, "Running": a.running, "Held": a.held} {
				if v < 0 || v > maxQuantity {
					t.Fatalf("%s = %d from %q", name, v, raw)
				}
			}
			if a.status < -1 || a.status >= int64(len(jobStates)) {
				t.Fatalf("JobStatus %d from %q", a.status, raw)
			}
			if a.hasCluster && (a.cluster < 0 || a.cluster > maxJobID) || a.hasProc && (a.proc < 0 || a.proc > maxJobID) {
				t.Fatalf("job id %d.%d from %q", a.cluster, a.proc, raw)
			}
			if rt := jobRuntime(&a, math.MaxInt64); rt < 0 {
				t.Fatalf("Runtime %d from %q", rt, raw)
			}
			// The walk reads what gjson reads.
			if ref := gjsonAd(raw); ref != a {
				t.Fatalf("parseAd(%q) = %+v, gjson reads %+v", raw, a, ref)
			}
		}
	})
}

// gjsonAd reads a valid ad as parseAd does, with gjson's own walk: the
// reference of parseAd's walk in place.
func gjsonAd(ad []byte) condorAd {
	a := condorAd{status: -1}
	gjson.ParseBytes(ad).ForEach(func(key, v gjson.Result) bool {
		name := ""
		for _, n := range attrNames {
			if strings.EqualFold(n, key.Str) {
				name = n
			}
		}
		if name == "" {
			return true
		}
		raw := []byte(v.Raw)
		if v.Type == gjson.String {
			// As JSON, re-encoded without escapes where gjson decoded them.
			raw, _ = json.Marshal(v.Str)
		}
		readAttr(&a, name, raw, map[string]string{})
		return true
	})
	return a
}

// FuzzAdScanner: a stream that is a JSON array of objects (as condor's
// -json prints) is cut into exactly the objects encoding/json finds, read
// whole or a byte at a time; nothing the scanner returns is deeper than
// its bound.
func FuzzAdScanner(f *testing.F) {
	condorSeeds(f)
	f.Fuzz(func(t *testing.T, out []byte) {
		ads, end := scanAll(bytes.NewReader(out))
		slow, slowEnd := scanAll(iotest.OneByteReader(bytes.NewReader(out)))
		if len(ads) != len(slow) || (end == nil) != (slowEnd == nil) || errors.Is(end, io.EOF) != errors.Is(slowEnd, io.EOF) {
			t.Fatalf("%d ads (%v) whole, %d (%v) a byte at a time", len(ads), end, len(slow), slowEnd)
		}
		for i, ad := range ads {
			if !bytes.Equal(ad, slow[i]) || ad[0] != '{' {
				t.Fatalf("ad %d: %q whole, %q a byte at a time", i, ad, slow[i])
			}
			if d := maxDepth(ad); d > maxAdDepth {
				t.Fatalf("ad %d nests %d deep", i, d)
			}
		}
		var arr []json.RawMessage
		if json.Unmarshal(out, &arr) != nil || maxDepth(out) > maxAdDepth+1 {
			return
		}
		for _, el := range arr {
			if el[0] != '{' {
				return // condor prints arrays of ads only
			}
		}
		if !errors.Is(end, io.EOF) || len(ads) != len(arr) {
			t.Fatalf("%d ads (end %v), encoding/json finds %d in %q", len(ads), end, len(arr), out)
		}
		for i := range arr {
			if !bytes.Equal(bytes.TrimSpace(arr[i]), ads[i]) {
				t.Fatalf("ad %d: %q, encoding/json %q", i, ads[i], arr[i])
			}
		}
	})
}

// maxDepth is the deepest nesting of brackets outside strings, for valid
// JSON or not.
func maxDepth(b []byte) int {
	depth, deepest, inStr, esc := 0, 0, false, false
	for _, c := range b {
		switch {
		case esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

// FuzzCondorNumber: a JSON number reads as encoding/json's strconv reads
// it: an integer exactly, saturating at the int64 bounds; a real as its
// whole part.
func FuzzCondorNumber(f *testing.F) {
	for _, s := range []string{"0", "-0", "42", "-7", "37327.0", "2.9", "1e3", "-1.5E-2", "9223372036854775807",
		"9223372036854775808", "-9223372036854775808", "-9223372036854775809", "1e300", "0.5e1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		var n json.Number
		if json.Unmarshal([]byte(raw), &n) != nil || gjson.Parse(raw).Type != gjson.Number {
			return
		}
		got, ok := number([]byte(n.String()))
		if !ok {
			t.Fatalf("number(%s) not read", raw)
		}
		if i, err := strconv.ParseInt(n.String(), 10, 64); err == nil {
			if got != i {
				t.Fatalf("number(%s) = %d, want %d", raw, got, i)
			}
			return
		} else if errors.Is(err, strconv.ErrRange) {
			want := int64(math.MaxInt64)
			if strings.HasPrefix(n.String(), "-") {
				want = math.MinInt64
			}
			if got != want {
				t.Fatalf("number(%s) = %d, want it saturated at %d", raw, got, want)
			}
			return
		}
		fl, _ := strconv.ParseFloat(n.String(), 64)
		want := int64(math.Trunc(fl))
		switch {
		case fl >= math.MaxInt64:
			want = math.MaxInt64
		case fl <= math.MinInt64:
			want = math.MinInt64
		}
		if got != want {
			t.Fatalf("number(%s) = %d, want %d", raw, got, want)
		}
	})
}
