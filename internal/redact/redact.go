// Package redact scrubs a secret (the site token, a service-account token)
// from text bound for a log: every piece of it of Fragment bytes or more,
// and a shorter secret whole, in every encoding a person can read it in
// that servers and proxies are known to echo: as it is and in any case;
// escaped for JSON, Go, URLs or HTML (nested twice); base64 (standard or
// URL alphabet, at any alignment); hex; UTF-16. An endpoint that echoes a
// cut-off or re-encoded request must not leak a part of the token.
//
// It cannot cover every transformation (a reversed or encrypted echo is
// unreadable to it as to anyone without the key): what it covers is
// listed above and tested, and nothing more is promised.
//
// Why scrub rather than log no answer body of a request that carried the
// token (every request to the endpoint carries it, in each document): the
// excerpt of a refusal is how an administrator learns why the endpoint or
// a proxy refused documents (a field Logstash cannot parse, a size limit,
// a WAF rule), and the sender's classification of answers (HTML pages,
// redirects) needs the body too. The encodings covered are those echo
// services, error pages and debug dumps use; the excerpt is 200 characters
// at most, so an echo must hold a piece within it to matter at all.
package redact

import (
	"encoding/json"
	"html"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Fragment is the shortest piece of a secret that must never reach a log;
// a secret shorter than that is replaced whole.
const Fragment = 6

// Mark replaces what is scrubbed.
const Mark = "[REDACTED]"

// Redactor scrubs one secret. The zero value and nil scrub nothing.
type Redactor struct {
	w       int                     // window length: Fragment, or the secret's length when shorter
	windows map[[Fragment]byte]bool // every w-byte window of the secret's forms, lower-cased
}

// New makes the redactor of secret ("" scrubs nothing).
func New(secret string) *Redactor {
	r := &Redactor{}
	if secret == "" {
		return r
	}
	r.w = min(Fragment, len(secret))
	r.windows = map[[Fragment]byte]bool{}
	forms := []string{
		secret,
		strings.ReplaceAll(secret, " ", "+"), // a query string's space
	}
	if len(secret) >= Fragment {
		// Pieces of its escaped forms too, for an echo cut inside an
		// escape. A shorter secret is matched whole, in the views that
		// undo the escapes: a piece of "&amp;" is no secret.
		q := strconv.Quote(secret)
		qa := strconv.QuoteToASCII(secret)
		forms = append(forms, jsonEscape(secret), q[1:len(q)-1], qa[1:len(qa)-1],
			url.QueryEscape(secret), url.PathEscape(secret), html.EscapeString(secret),
			latin1(secret)) // each byte taken for a character: \u00c3\u00a9 for é, or mojibake
		if !isASCII(secret) {
			// UTF-16 of a secret beyond ASCII: its NULs stripped, it is
			// not the secret's UTF-8, as an ASCII one's is.
			forms = append(forms, utf16Of(secret, false), utf16Of(secret, true))
		}
	}
	for _, f := range forms {
		for i := 0; i+r.w <= len(f); i++ {
			r.windows[r.key(f[i:i+r.w])] = true
		}
	}
	return r
}

// latin1 is s with each byte read as the character of that code (ISO
// 8859-1), as an echo that decodes the body as Latin-1 shows it.
func latin1(s string) string {
	r := make([]rune, len(s))
	for i := range len(s) {
		r[i] = rune(s[i])
	}
	return string(r)
}

// utf16Of is s in UTF-16, little- or big-endian.
func utf16Of(s string, big bool) string {
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

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// key is a window, lower-cased: an echo in capitals matches too.
func (r *Redactor) key(s string) [Fragment]byte {
	var k [Fragment]byte
	for i := 0; i < r.w; i++ {
		k[i] = lower(s[i])
	}
	return k
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// Text returns text with every part that is, or decodes to, a piece of
// the secret replaced by Mark.
func (r *Redactor) Text(text string) string {
	if r == nil || len(r.windows) == 0 || len(text) < r.w {
		return text
	}
	var marks []bool // bytes of text to hide
	scan := func(view []unit) {
		var k [Fragment]byte
		for i := 0; i+r.w <= len(view); i++ {
			for j := 0; j < r.w; j++ {
				k[j] = lower(view[i+j].b)
			}
			if r.windows[k] {
				if marks == nil {
					marks = make([]bool, len(text))
				}
				for p := view[i].lo; p < view[i+r.w-1].hi; p++ {
					marks[p] = true
				}
			}
		}
	}
	raw := make([]unit, len(text))
	for i := range raw {
		raw[i] = unit{b: text[i], lo: int32(i), hi: int32(i + 1)}
	}
	// The text as it is, unescaped once and twice (a JSON body echoed in
	// a URL-escaped query, say), and without its NUL bytes (UTF-16 of an
	// ASCII secret); then each of those read as hex and as base64, and
	// what that gives unescaped once more.
	text1 := []([]unit){raw}
	for v, round := raw, 0; round < 2; round++ {
		next, changed := unescape(v)
		if !changed {
			break
		}
		text1 = append(text1, next)
		v = next
	}
	if nul, changed := stripNUL(raw); changed {
		text1 = append(text1, nul)
		if u, changed := unescape(nul); changed {
			text1 = append(text1, u)
		}
	}
	minRun := 2 * r.w // hex digits for one window; base64 needs fewer
	for _, v := range text1 {
		scan(v)
		for _, d := range append(hexViews(v, minRun), base64Views(v, (4*r.w+2)/3)...) {
			scan(d)
			if u, changed := unescape(d); changed {
				scan(u)
			}
		}
	}
	if marks == nil {
		return text
	}
	var b strings.Builder
	for i := 0; i < len(text); {
		if !marks[i] {
			b.WriteByte(text[i])
			i++
			continue
		}
		b.WriteString(Mark)
		for i < len(text) && marks[i] {
			i++
		}
	}
	return b.String()
}

// unit is one byte of a decoded view and the span of the original text it
// was decoded from.
type unit struct {
	b      byte
	lo, hi int32
}

// gap separates decoded runs in a view: no secret holds a NUL byte, so no
// window spans two runs.
var gap = unit{b: 0}

// unescape undoes one level of the escapings an echo may use: backslash
// escapes (JSON, Go), %XX, and HTML character references.
func unescape(in []unit) ([]unit, bool) {
	out := make([]unit, 0, len(in))
	changed := false
	emit := func(s string, lo, hi int32) {
		for i := 0; i < len(s); i++ {
			out = append(out, unit{b: s[i], lo: lo, hi: hi})
		}
		changed = true
	}
	for i := 0; i < len(in); {
		lo := in[i].lo
		switch in[i].b {
		case '\\':
			if s, n := backslash(in[i+1:]); n > 0 {
				emit(s, lo, in[i+n].hi)
				i += n + 1
				continue
			}
		case '%':
			if v, ok := hexUnits(in[i+1:], 2); ok {
				emit(string([]byte{byte(v)}), lo, in[i+2].hi)
				i += 3
				continue
			}
		case '&':
			if s, n := entity(in[i:]); n > 0 {
				emit(s, lo, in[i+n-1].hi)
				i += n
				continue
			}
		}
		out = append(out, in[i])
		i++
	}
	return out, changed
}

// stripNUL drops NUL bytes: UTF-16 (either byte order) of ASCII text
// reads as the text then.
func stripNUL(in []unit) ([]unit, bool) {
	out := make([]unit, 0, len(in))
	for _, u := range in {
		if u.b != 0 {
			out = append(out, u)
		}
	}
	return out, len(out) != len(in)
}

// hexViews decodes every run of at least minRun hex digits, at both
// alignments: two views, runs separated by a gap.
func hexViews(in []unit, minRun int) [][]unit {
	var views [2][]unit
	found := false
	for i := 0; i < len(in); {
		if _, ok := hexDigit(in[i].b); !ok {
			i++
			continue
		}
		j := i
		for j < len(in) {
			if _, ok := hexDigit(in[j].b); !ok {
				break
			}
			j++
		}
		if j-i >= minRun {
			found = true
			for a := 0; a < 2; a++ {
				for p := i + a; p+1 < j; p += 2 {
					hi, _ := hexDigit(in[p].b)
					lo, _ := hexDigit(in[p+1].b)
					views[a] = append(views[a], unit{b: byte(hi<<4 | lo), lo: in[p].lo, hi: in[p+1].hi})
				}
				views[a] = append(views[a], gap)
			}
		}
		i = j
	}
	if !found {
		return nil
	}
	return views[:]
}

// b64 is the value of a base64 digit of either alphabet (standard or URL),
// or -1.
func b64(c byte) int {
	switch {
	case 'A' <= c && c <= 'Z':
		return int(c - 'A')
	case 'a' <= c && c <= 'z':
		return int(c-'a') + 26
	case '0' <= c && c <= '9':
		return int(c-'0') + 52
	case c == '+' || c == '-':
		return 62
	case c == '/' || c == '_':
		return 63
	}
	return -1
}

// base64Views decodes every run of at least minRun base64 digits at each
// of the four alignments a cut-off echo may start at: four views.
func base64Views(in []unit, minRun int) [][]unit {
	var views [4][]unit
	found := false
	for i := 0; i < len(in); {
		if b64(in[i].b) < 0 {
			i++
			continue
		}
		j := i
		for j < len(in) && b64(in[j].b) >= 0 {
			j++
		}
		if j-i >= minRun {
			found = true
			for a := 0; a < 4; a++ {
				views[a] = appendBase64(views[a], in[i+min(a, j-i):j])
				views[a] = append(views[a], gap)
			}
		}
		i = j
	}
	if !found {
		return nil
	}
	return views[:]
}

// appendBase64 decodes a run of base64 digits, a partial last group as
// far as it goes; each byte spans the two digits it comes from.
func appendBase64(out, run []unit) []unit {
	for g := 0; g < len(run); g += 4 {
		n := min(4, len(run)-g)
		var v [4]int
		for k := 0; k < n; k++ {
			v[k] = b64(run[g+k].b)
		}
		for k := 0; k+1 < n; k++ { // byte k comes from digits k and k+1
			var b byte
			switch k {
			case 0:
				b = byte(v[0]<<2 | v[1]>>4)
			case 1:
				b = byte(v[1]<<4 | v[2]>>2)
			case 2:
				b = byte(v[2]<<6 | v[3])
			}
			out = append(out, unit{b: b, lo: run[g+k].lo, hi: run[g+k+1].hi})
		}
	}
	return out
}

// backslash decodes the escape after a backslash; n is how many units it took.
func backslash(in []unit) (string, int) {
	if len(in) == 0 {
		return "", 0
	}
	switch c := in[0].b; c {
	case '"', '\\', '/', '\'':
		return string(c), 1
	case 'n':
		return "\n", 1
	case 't':
		return "\t", 1
	case 'r':
		return "\r", 1
	case 'b':
		return "\b", 1
	case 'f':
		return "\f", 1
	case 'a':
		return "\a", 1
	case 'v':
		return "\v", 1
	case 'x', 'X':
		if v, ok := hexUnits(in[1:], 2); ok {
			return string([]byte{byte(v)}), 3
		}
	case 'u':
		if v, ok := hexUnits(in[1:], 4); ok {
			return string(rune(v)), 5
		}
	case 'U':
		if v, ok := hexUnits(in[1:], 8); ok && v <= unicode.MaxRune {
			return string(rune(v)), 9
		}
	}
	return "", 0
}

func hexUnits(in []unit, n int) (uint32, bool) {
	if len(in) < n {
		return 0, false
	}
	var v uint32
	for _, u := range in[:n] {
		d, ok := hexDigit(u.b)
		if !ok {
			return 0, false
		}
		v = v<<4 | d
	}
	return v, true
}

func hexDigit(c byte) (uint32, bool) {
	switch {
	case c >= '0' && c <= '9':
		return uint32(c - '0'), true
	case c >= 'a' && c <= 'f':
		return uint32(c-'a') + 10, true
	case c >= 'A' && c <= 'F':
		return uint32(c-'A') + 10, true
	}
	return 0, false
}

// entity decodes an HTML character reference at the start of in ("&amp;",
// "&#39;", "&#x2F;"); n is its length, 0 if there is none.
func entity(in []unit) (string, int) {
	end := -1
	for i := 1; i < len(in) && i < 12; i++ {
		if in[i].b == ';' {
			end = i
			break
		}
	}
	if end < 2 {
		return "", 0
	}
	b := make([]byte, end+1)
	for i := range b {
		b[i] = in[i].b
	}
	s := html.UnescapeString(string(b))
	if s == string(b) {
		return "", 0
	}
	return s, end + 1
}
