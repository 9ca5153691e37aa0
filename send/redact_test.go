package send

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// escapings an endpoint may echo a request in.
var escapings = []struct {
	name string
	esc  func(string) string
}{
	{"plain", func(s string) string { return s }},
	{"json", jsonEscape},
	{"go %q", func(s string) string { q := strconv.Quote(s); return q[1 : len(q)-1] }},
	{"go %+q", func(s string) string { q := strconv.QuoteToASCII(s); return q[1 : len(q)-1] }},
	{"query", url.QueryEscape},
	{"path", url.PathEscape},
	{"query lower hex", func(s string) string { return lowerHex(url.QueryEscape(s)) }},
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
}

func lowerHex(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1], b[i+2] = strings.ToLower(string(b[i+1]))[0], strings.ToLower(string(b[i+2]))[0]
		}
	}
	return string(b)
}

// leaks reports a piece of token of fragment bytes or more that text shows
// in one of the escapings.
func leaks(text, token string) string {
	for i := 0; i+fragment <= len(token); i++ {
		w := token[i : i+fragment]
		for _, e := range escapings {
			if strings.Contains(text, e.esc(w)) {
				return fmt.Sprintf("%q (%s)", e.esc(w), e.name)
			}
		}
	}
	return ""
}

// Every encoding and cut of the token is internal/redact's test
// (TestEveryEncodingEveryCut); here the sender's own use of it: what an
// endpoint echoes reaches no log.

func TestRedactKeepsTheRest(t *testing.T) {
	t.Parallel()
	r := newRedactor("Zq8vN3kPw7Rt2YhLmX4cB9dFs1G")
	tests := []struct{ in, want string }{
		{"no secret here", "no secret here"},
		{"status 500: pipeline busy", "status 500: pipeline busy"},
		{"x Zq8vN3kPw7Rt2 y", "x [REDACTED] y"},
		{"cut: ...hLmX4cB9", "cut: ...[REDACTED]"},
		{"short piece Zq8vN ok", "short piece Zq8vN ok"}, // 5 bytes: not a secret on its own
		{`json "\u005a\u0071\u0038\u0076\u004e\u0033" end`, `json "[REDACTED]" end`},
		{"url %5Aq8vN3 end", "url [REDACTED] end"},
	}
	for _, tc := range tests {
		if got := r.redact(tc.in); got != tc.want {
			t.Errorf("redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCheckToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		token string
		want  string // in the error; "" for none
	}{
		{"Zq8vN3kPw7Rt2YhLmX4cB9dFs1G", ""},
		{"0123456789abcdef", ""},
		{"", "empty"},
		{"connex", ""},          // short: used, with a warning (issue 14)
		{"0123456789abcde", ""}, // 15 characters
		{"k", ""},
		{"Zq8vN3kPw7Rt2YhL\nmX4cB9dFs1G", "more than one line"},
		{"Zq8vN3kPw7Rt2 YhLmX4cB9dFs1G", "space"},
	}
	for _, tc := range tests {
		err := CheckToken(tc.token)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("CheckToken(%q) = %v, want nil", tc.token, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("CheckToken(%q) = %v, want an error with %q", tc.token, err, tc.want)
		case err != nil && len(tc.token) >= fragment && strings.Contains(err.Error(), tc.token[:fragment]):
			t.Errorf("CheckToken error shows the token: %v", err)
		}
	}
}

// An endpoint that refuses documents and echoes the request back, cut off
// and re-escaped: no piece of the token may reach the log or LastFailure.
func TestSendNeverLogsAPieceOfTheToken(t *testing.T) {
	t.Parallel()
	const token = "Zq8vN3kPw7Rt2YhLmX4cB9dFs1G"
	for _, e := range escapings {
		for _, cut := range []int{13, 57, 101, 180, 199, 230} {
			t.Run(fmt.Sprintf("%s/cut %d", e.name, cut), func(t *testing.T) {
				sk := newSink(t, func(_ int64, w http.ResponseWriter, r *http.Request, docs []json.RawMessage) bool {
					var b strings.Builder
					for _, d := range docs {
						b.Write(d)
					}
					echo := e.esc(b.String())
					// Cut so that the token straddles the end of the echo.
					i := strings.Index(echo, e.esc("Zq8v"))
					if i < 0 {
						t.Errorf("the token is not in the request: %s", echo)
						i = 0
					}
					echo = echo[:min(len(echo), max(0, i-cut%40)+cut)]
					w.WriteHeader(http.StatusBadRequest)
					io.WriteString(w, "refused: "+echo)
					return true
				})
				var logs logBuffer
				cfg := testConfig(sk.URL)
				cfg.Token = token
				cfg.Logger = logs.logger()
				s := newSender(t, cfg)
				st := s.Send(t.Context(), makeItems(2), nil)
				if st.Requests == 0 || st.Delivered != 0 {
					t.Fatalf("stats %+v, want every request refused", st)
				}
				for what, text := range map[string]string{"log": logs.String(), "LastFailure": st.LastFailure} {
					if l := leaks(text, token); l != "" {
						t.Errorf("%s shows %s:\n%s", what, l, text)
					}
				}
				if !strings.Contains(logs.String(), "status=400") {
					t.Errorf("the refusal is not logged:\n%s", logs.String())
				}
			})
		}
	}
}
