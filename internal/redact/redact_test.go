package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"
)

// Encodings an endpoint or a proxy may echo a request in.
var encodings = []struct {
	name string
	enc  func(string) string
}{
	{"plain", func(s string) string { return s }},
	{"upper-cased", strings.ToUpper},
	{"lower-cased", strings.ToLower},
	{"json", jsonEscape},
	{"go %q", func(s string) string { q := strconv.Quote(s); return q[1 : len(q)-1] }},
	{"go %+q", func(s string) string { q := strconv.QuoteToASCII(s); return q[1 : len(q)-1] }},
	{"query", url.QueryEscape},
	{"path", url.PathEscape},
	{"html", html.EscapeString},
	{"json then query", func(s string) string { return url.QueryEscape(jsonEscape(s)) }},
	{"json twice", func(s string) string { return jsonEscape(jsonEscape(s)) }},
	{"every byte %XX", func(s string) string {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			fmt.Fprintf(&b, "%%%02X", s[i])
		}
		return b.String()
	}},
	{"every byte \\u00XX", func(s string) string {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			fmt.Fprintf(&b, `\u%04x`, s[i])
		}
		return b.String()
	}},
	{"base64 std", func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }},
	{"base64 url raw", func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }},
	{"base64 of json", func(s string) string {
		return base64.StdEncoding.EncodeToString([]byte(`{"token":"` + jsonEscape(s) + `"}`))
	}},
	{"base64, json-escaped", func(s string) string {
		return strings.ReplaceAll(base64.StdEncoding.EncodeToString([]byte("xx"+s)), "/", `\/`)
	}},
	{"hex lower", func(s string) string { return hex.EncodeToString([]byte(s)) }},
	{"hex upper", func(s string) string { return strings.ToUpper(hex.EncodeToString([]byte(s))) }},
	{"utf-16le", func(s string) string { return utf16Bytes(s, false) }},
	{"utf-16be", func(s string) string { return utf16Bytes(s, true) }},
}

func utf16Bytes(s string, big bool) string {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		if big {
			b = append(b, byte(u>>8), byte(u))
		} else {
			b = append(b, byte(u), byte(u>>8))
		}
	}
	return string(b)
}

// leak reports a piece of secret of w bytes that text still shows in one
// of the encodings.
func leak(text, secret string) string {
	w := min(Fragment, len(secret))
	for i := 0; i+w <= len(secret); i++ {
		piece := secret[i : i+w]
		for _, e := range encodings {
			if strings.Contains(asciiLower(text), asciiLower(e.enc(piece))) && !strings.HasPrefix(e.name, "base64") {
				return fmt.Sprintf("%q (%s)", e.enc(piece), e.name)
			}
		}
	}
	// base64 of a piece depends on its alignment: decode what is left.
	for _, dec := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		for lo := 0; lo < len(text); lo++ {
			for hi := lo + 4; hi <= len(text) && hi <= lo+16; hi += 4 { // a 6-byte piece spans at most 10 digits
				b, err := dec.DecodeString(text[lo:hi])
				if err != nil {
					continue
				}
				for i := 0; i+w <= len(secret); i++ {
					if strings.Contains(asciiLower(string(b)), asciiLower(secret[i:i+w])) {
						return fmt.Sprintf("base64 %q decodes to a piece", text[lo:hi])
					}
				}
			}
		}
	}
	return ""
}

// asciiLower lower-cases ASCII letters only, as the redactor's windows
// do: Unicode's folding would also make the Kelvin sign a k.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = lower(c)
	}
	return string(b)
}

func TestEveryEncodingEveryCut(t *testing.T) {
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("seed %d", seed)
	secrets := []string{
		"Zq8vN3kPw7Rt2YhLmX4cB9dFs1G", // 27 characters, as a site's
		`s3cr"et<&>\token-xyz`,        // quotes, <&> and a backslash
		"tok/with+plus=and%percent&amp",
		"short12", // 7: shorter than the 16 a token had to be
		"abc12",   // 5: shorter than a fragment, redacted whole
	}
	for _, secret := range secrets {
		r := New(secret)
		for _, e := range encodings {
			full := e.enc(secret)
			// Cuts an echo may make: a prefix, a suffix, a middle, and
			// random ones.
			cuts := [][2]int{{0, len(full)}}
			for k := 0; k < 12; k++ {
				lo := rng.IntN(len(full))
				cuts = append(cuts, [2]int{lo, lo + 1 + rng.IntN(len(full)-lo)})
			}
			for _, c := range cuts {
				echo := full[c[0]:c[1]]
				text := `{"error":"bad doc","echo":"` + echo + `"}`
				got := r.Text(text)
				if l := leak(got, secret); l != "" {
					t.Fatalf("secret %q, %s echo %q: redacted %q still shows %s", secret, e.name, echo, got, l)
				}
			}
			if got := r.Text("x " + full + " y"); strings.Contains(got, full) || !strings.Contains(got, Mark) {
				t.Errorf("secret %q, %s: %q not redacted: %q", secret, e.name, full, got)
			}
		}
	}
}

func TestKeepsTheRest(t *testing.T) {
	r := New("Zq8vN3kPw7Rt2YhLmX4cB9dFs1G")
	tests := []struct{ in, want string }{
		{"no secret here", "no secret here"},
		{"status 500: pipeline busy", "status 500: pipeline busy"},
		{"x Zq8vN3kPw7Rt2 y", "x [REDACTED] y"},
		{"cut: ...hLmX4cB9", "cut: ...[REDACTED]"},
		{"capitals ZQ8VN3KPW end", "capitals [REDACTED] end"},
		{"short piece Zq8vN ok", "short piece Zq8vN ok"}, // 5 bytes: not a secret on its own
		{`json "\u005a\u0071\u0038\u0076\u004e\u0033" end`, `json "[REDACTED]" end`},
		{"url %5Aq8vN3 end", "url [REDACTED] end"},
		{"hex 5a71387f4e33 other", "hex 5a71387f4e33 other"}, // one byte off
		{"hex 5a7138764e33 end", "hex [REDACTED] end"},
		{"a long base64 word Y29udGVudC10eXBlOiBhcHBsaWNhdGlvbi9qc29u stays", "a long base64 word Y29udGVudC10eXBlOiBhcHBsaWNhdGlvbi9qc29u stays"},
		{"b64 " + base64.StdEncoding.EncodeToString([]byte("Bearer Zq8vN3kPw7Rt2YhLmX4cB9dFs1G")) + " end", "b64 QmVhcmVyI[REDACTED]== end"},
	}
	for _, tc := range tests {
		if got := r.Text(tc.in); got != tc.want {
			t.Errorf("Text(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	var none *Redactor
	if none.Text("abc") != "abc" || New("").Text("abc") != "abc" {
		t.Error("an empty redactor changed the text")
	}
}

// A secret shorter than a fragment is replaced whole, in every encoding,
// and a piece of it is not (it is no secret on its own).
func TestShortSecretWhole(t *testing.T) {
	r := New("k3Y9")
	for in, want := range map[string]string{
		`{"token":"k3Y9"}`: `{"token":"[REDACTED]"}`,
		"Bearer K3Y9":      "Bearer [REDACTED]",
		"k3Y":              "k3Y",
		"hex " + hex.EncodeToString([]byte(`"k3Y9"`)): "hex 22[REDACTED]22",
		"&amp; stays &amp;":                           "&amp; stays &amp;",
	} {
		if got := r.Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHandler(t *testing.T) {
	const secret = "Zq8vN3kPw7Rt2YhLmX4cB9dFs1G"
	var buf bytes.Buffer
	log := slog.New(Handler(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}), New(secret), New("other-secret-123")))
	log = log.With("url", "https://x/?t="+secret)
	log.Warn("refused "+secret, "error", fmt.Errorf("echo: %s", strings.ToUpper(secret)),
		slog.Group("g", "body", base64.StdEncoding.EncodeToString([]byte(secret)), "n", 3),
		"stringer", stringer(secret), "other", "other-secret-123")
	log.Debug("left out " + secret)
	out := buf.String()
	if strings.Contains(strings.ToLower(out), strings.ToLower(secret[:Fragment])) || strings.Contains(out, "other-secret") {
		t.Errorf("a secret reached the log:\n%s", out)
	}
	for _, want := range []string{"msg=\"refused [REDACTED]\"", "g.n=3", "url=\"https://x/?t=[REDACTED]\"", "other=[REDACTED]"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "left out") {
		t.Errorf("a debug line was written at info:\n%s", out)
	}
}

type stringer string

func (s stringer) String() string { return "value " + string(s) }
