package send

import (
	"encoding/json"
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/atlas-af/afmc/internal/redact"
)

// ShortToken is the length under which a token is short: too short to be
// told apart from ordinary words if only pieces of it were scrubbed. A
// site cannot choose its token's length, so a short one is used, with a
// warning, and scrubbed whole.
const ShortToken = 16

// fragment is the shortest piece of the token that must never reach a log.
const fragment = redact.Fragment

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
	}
	return nil
}

// redactor scrubs the token from text bound for a log: see
// internal/redact for the encodings it covers.
type redactor struct{ r *redact.Redactor }

func newRedactor(token string) *redactor { return &redactor{redact.New(token)} }

func (r *redactor) redact(text string) string { return r.r.Text(text) }

func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// redactWindow is how much of a body is scrubbed for an excerpt: the
// excerpt and room for the escapes around it; what lies beyond is never
// shown.
const redactWindow = 4 << 10

// excerpt makes a short, single-line, secret-free excerpt of a response body.
func (s *Sender) excerpt(body []byte) string {
	// Scrub before truncating so a cut cannot leave part of a secret behind.
	text := s.redact(string(body[:min(len(body), redactWindow)]))
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
