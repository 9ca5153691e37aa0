package redact

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzRedact scrubs a secret from what an endpoint answers: a piece of the
// secret, in any of the encodings an echo may use and cut anywhere, inside
// any text around it. What remains shows no piece of the secret of
// Fragment bytes or more in any of those encodings.
func FuzzRedact(f *testing.F) {
	f.Add("Zq8vN3kPw7Rt2YhLmX4cB9dFs1G", `{"error":"bad doc","echo":"`, `"}`, uint8(0), uint16(0), uint16(27))
	f.Add(`s3cr3t"tok<&>\en`, "refused: ", "", uint8(3), uint16(3), uint16(200))
	f.Add("tok/with+plus=and%percent&amp", "%", "\\", uint8(6), uint16(1), uint16(30))
	f.Add("0123456789abcdef", "\\", "&#", uint8(12), uint16(7), uint16(60))
	f.Add("ééééééééééééééééé", "<p>", "</p>", uint8(8), uint16(0), uint16(100))
	// Each byte as a \u00XX escape: an echo that read the body as Latin-1.
	f.Add("éééééééæ", "0", "0", uint8(12), uint16(9), uint16(73))
	f.Fuzz(func(t *testing.T, secret, before, after string, form uint8, lo, hi uint16) {
		if !usableToken(secret) {
			return // send.CheckToken refuses it before the run
		}
		if len(secret) < Fragment {
			// Matched whole (TestShortSecretWhole), where a piece of a
			// few bytes turns up by chance in any base64 or hex.
			return
		}
		e := encodings[int(form)%len(encodings)]
		if !isASCII(secret) && (e.name == "upper-cased" || e.name == "lower-cased") {
			// Case is folded for ASCII letters only. Not covered.
			return
		}
		full := e.enc(secret)
		a, b := int(lo)%(len(full)+1), int(hi)%(len(full)+1)
		if a > b {
			a, b = b, a
		}
		text := before + full[a:b] + after
		got := New(secret).Text(text)
		// What was cut out cannot be told from the rest: no piece may
		// straddle a Mark, and one in the secret itself is no leak.
		for _, rest := range strings.Split(got, Mark) {
			if l := leak(rest, secret); l != "" {
				t.Fatalf("secret %q, %s echo %q in %q: redacted to %q, which shows %s", secret, e.name, full[a:b], text, got, l)
			}
		}
	})
}

// usableToken is what send.CheckToken accepts: not empty, valid UTF-8,
// no space or control character.
func usableToken(s string) bool {
	return s != "" && utf8.ValidString(s) &&
		!strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) })
}
