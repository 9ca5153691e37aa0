package output

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// minTokenLen is the shortest token afmc accepts: a shorter one cannot be
// told apart from ordinary words when it is scrubbed from logs.
const minTokenLen = 16

// fragment is the shortest piece of the token that must never reach a log.
const fragment = 6

// CheckToken tells whether token can be used as the site's secret. The
// message never holds the token.
func CheckToken(token string) error {
	switch {
	case token == "":
		return errors.New("the token is empty")
	case strings.ContainsFunc(token, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }):
		return errors.New("the token holds a space or a control character (a token file of more than one line?): it must be the token alone")
	case !utf8.ValidString(token):
		return errors.New("the token is not valid UTF-8")
	case len(token) < minTokenLen:
		return fmt.Errorf("the token is %d characters long, too short to be a secret (at least %d): use the token issued for the site", len(token), minTokenLen)
	}
	return nil
}

// redactor scrubs the token from text bound for a log: every piece of it
// of fragment bytes or more, as it is and under the escapings an endpoint
// may echo it in (JSON, Go %q, URL, HTML, and those nested twice). An
// endpoint that echoes a cut-off or re-escaped body must not leak a part.
type redactor struct {
	whole   []string                // a token too short for windows: replaced whole
	windows map[[fragment]byte]bool // every fragment-byte window of the token's forms
}

func newRedactor(token string) *redactor {
	r := &redactor{}
	if token == "" {
		return r
	}
	if len(token) < fragment {
		r.whole = []string{token}
		if esc := jsonEscape(token); esc != token {
			r.whole = append(r.whole, esc)
		}
		return r
	}
	r.windows = map[[fragment]byte]bool{}
	q := strconv.Quote(token)
	forms := []string{
		token,
		strings.ReplaceAll(token, " ", "+"), // a query string's space
		jsonEscape(token),
		q[1 : len(q)-1],
		url.QueryEscape(token),
		url.PathEscape(token),
		html.EscapeString(token),
		latin1(token), // each byte taken for a character: \u00c3\u00a9 for é, or mojibake
	}
	for _, f := range forms {
		for i := 0; i+fragment <= len(f); i++ {
			r.windows[[fragment]byte([]byte(f[i:i+fragment]))] = true
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

func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// redact replaces every part of text that is, or decodes to, a piece of
// the token with [REDACTED].
func (r *redactor) redact(text string) string {
	for _, w := range r.whole {
		text = strings.ReplaceAll(text, w, "[REDACTED]")
	}
	if len(r.windows) == 0 || len(text) < fragment {
		return text
	}
	var marks []bool // bytes of text to hide
	mark := func(lo, hi int) {
		if marks == nil {
			marks = make([]bool, len(text))
		}
		for i := lo; i < hi; i++ {
			marks[i] = true
		}
	}
	// The text as it is, then decoded once and twice (a JSON body echoed
	// in a URL-escaped query, say); a match marks the original bytes it
	// came from.
	view := make([]unit, len(text))
	for i := range view {
		view[i] = unit{b: text[i], lo: int32(i), hi: int32(i + 1)}
	}
	for round := 0; round < 3; round++ {
		var w [fragment]byte
		for i := 0; i+fragment <= len(view); i++ {
			for k := range w {
				w[k] = view[i+k].b
			}
			if r.windows[w] {
				mark(int(view[i].lo), int(view[i+fragment-1].hi))
			}
		}
		next, changed := decodeUnits(view)
		if !changed {
			break
		}
		view = next
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
		b.WriteString("[REDACTED]")
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

// decodeUnits undoes one level of the escapings an echo may use:
// backslash escapes (JSON, Go), %XX, and HTML character references.
func decodeUnits(in []unit) ([]unit, bool) {
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
	case 'x':
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

// excerpt makes a short, single-line, secret-free excerpt of a response body.
func (s *Sender) excerpt(body []byte) string {
	// Scrub before truncating so a cut cannot leave part of a secret behind.
	text := s.redact(string(body))
	if len(text) > excerptLimit {
		text = text[:excerptLimit]
		for len(text) > 0 && !utf8.ValidString(text) {
			text = text[:len(text)-1]
		}
		text += "..."
	}
	text = strings.ToValidUTF8(text, "?")
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, text)
}

// redact removes every piece of the token from text.
func (s *Sender) redact(text string) string { return s.redactor.redact(text) }
