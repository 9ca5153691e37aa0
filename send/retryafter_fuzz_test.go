package send

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzParseRetryAfter reads the Retry-After of an answer: delta-seconds,
// saturating rather than wrapping, or an HTTP date; never a negative wait.
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"120", " 0 ", "", "-1", "+5", "1e3", "99999999999999999999", "9223372036854775807",
		"Wed, 21 Oct 2015 07:28:00 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "Fri, 31 Dec 9999 23:59:59 GMT"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := parseRetryAfter(v, now)
		if d < 0 || !ok && d != 0 {
			t.Fatalf("%q: %v, %v", v, d, ok)
		}
		s := strings.TrimSpace(v)
		if s != "" && strings.Trim(s, "0123456789") == "" {
			secs, err := strconv.ParseUint(s, 10, 64)
			most := time.Duration(1<<63-1) / time.Second // whole seconds a Duration holds
			switch {
			case !ok:
				t.Fatalf("%q: not read", v)
			case err == nil && secs <= uint64(most) && d != time.Duration(secs)*time.Second:
				t.Fatalf("%q: %v", v, d)
			case (err != nil || secs > uint64(most)) && d < most*time.Second:
				t.Fatalf("%q: %v, want the longest wait (saturated)", v, d)
			}
			return
		}
		if _, err := http.ParseTime(s); ok != (err == nil) {
			t.Fatalf("%q: ok %v, but http.ParseTime says %v", v, ok, err)
		}
	})
}
