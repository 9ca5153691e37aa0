package extcmd

import (
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzPrintable escapes what programs and servers print before it reaches
// a log: no control character or invalid UTF-8 comes out, a clean string
// comes out as it is, and an escaped one reads back (strconv.Unquote) to
// exactly what was printed.
func FuzzPrintable(f *testing.F) {
	for _, s := range []string{"", "plain text", "tab\there", "esc\x1b[2J", "bad\xffutf8", "nul\x00", "\u0085nel", "\ufffd", `q"uote\`, "\u202eright-to-left"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Printable(s)
		if !utf8.ValidString(out) || strings.ContainsFunc(out, unicode.IsControl) {
			t.Fatalf("%q printed as %q", s, out)
		}
		if out == s {
			return
		}
		back, err := strconv.Unquote(`"` + out + `"`)
		if err != nil || back != s {
			t.Fatalf("%q printed as %q, which reads back as %q (%v)", s, out, back, err)
		}
	})
}

// FuzzTail keeps a program's stderr for its error: the same whichever way
// the program's writes were cut, on one line, with no control character.
func FuzzTail(f *testing.F) {
	f.Add([]byte("Error from server (Forbidden): pods is forbidden\n"), uint16(7))
	f.Add([]byte("E1125 line one\r\n\n  line two  \n\x1b[31mred\n"), uint16(1))
	f.Add([]byte(strings.Repeat("0123456789abcde\n", 300)), uint16(1000))
	f.Fuzz(func(t *testing.T, b []byte, chunk uint16) {
		var whole, cut Tail
		whole.Write(b)
		n := int(chunk%4096) + 1
		for rest := b; len(rest) > 0; {
			k := min(n, len(rest))
			cut.Write(rest[:k])
			rest = rest[k:]
		}
		got := cut.String()
		if got != whole.String() {
			t.Fatalf("written in pieces of %d: %q; at once: %q", n, got, whole.String())
		}
		if !utf8.ValidString(got) || strings.ContainsFunc(got, unicode.IsControl) {
			t.Fatalf("kept %q", got)
		}
		if len(got) > 4*stderrKeep {
			t.Fatalf("kept %d bytes", len(got))
		}
	})
}
