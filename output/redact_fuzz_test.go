package output

import (
	"strings"
	"testing"
)

// FuzzRedact scrubs a token from what an endpoint answers: a piece of the
// token, in any of the escapings an echo may use and cut anywhere, inside
// any text around it. What remains shows no piece of the token of
// fragment bytes or more in any of those escapings.
func FuzzRedact(f *testing.F) {
	f.Add("Zq8vN3kPw7Rt2YhLmX4cB9dFs1G", `{"error":"bad doc","echo":"`, `"}`, uint8(0), uint16(0), uint16(27))
	f.Add(testToken, "refused: ", "", uint8(1), uint16(3), uint16(200))
	f.Add("tok/with+plus=and%percent&amp", "%", "\\", uint8(4), uint16(1), uint16(30))
	f.Add("0123456789abcdef", "\\", "&#", uint8(11), uint16(7), uint16(60))
	f.Add("ééééééééééééééééé", "<p>", "</p>", uint8(3), uint16(0), uint16(100))
	f.Fuzz(func(t *testing.T, token, before, after string, form uint8, lo, hi uint16) {
		if CheckToken(token) != nil {
			return // refused before the run
		}
		e := escapings[int(form)%len(escapings)]
		full := e.esc(token)
		a, b := int(lo)%(len(full)+1), int(hi)%(len(full)+1)
		if a > b {
			a, b = b, a
		}
		text := before + full[a:b] + after
		got := newRedactor(token).redact(text)
		// What was cut out cannot be told from the rest: no piece may
		// straddle a [REDACTED], and one in the token itself is no leak.
		rest := strings.ReplaceAll(got, "[REDACTED]", "\x00")
		if l := leaks(rest, token); l != "" {
			t.Fatalf("token %q, %s echo %q in %q: redacted to %q, which shows %s", token, e.name, full[a:b], text, got, l)
		}
	})
}
