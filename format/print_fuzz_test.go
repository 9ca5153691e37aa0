package format

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzPrintable quotes what reaches the table: a string comes out as it is
// only when every character is printable and none is a separator of the
// table; otherwise Go-quoted, and the quoted form reads back to exactly
// the string. Either way no control or invisible character reaches the
// terminal.
func FuzzPrintable(f *testing.F) {
	for _, s := range []string{"/home", "/mnt/usb disk", "a,b", "x=y", "{}", "\x1b[31mred", "\u202eevil", "\xff", "zero\u200bwidth", `"\`, ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := printable(s)
		if out == s {
			if !utf8.ValidString(s) || strings.ContainsAny(s, tableSeparators) || strings.ContainsFunc(s, func(r rune) bool { return !strconv.IsPrint(r) }) {
				t.Fatalf("%q passed unquoted", s)
			}
			return
		}
		back, err := strconv.Unquote(out)
		if err != nil || back != s {
			t.Fatalf("%q quoted as %s, which reads back as %q (%v)", s, out, back, err)
		}
		if strings.ContainsFunc(out, func(r rune) bool { return !strconv.IsPrint(r) }) {
			t.Fatalf("%q quoted as %q, which holds a character that is not printable", s, out)
		}
	})
}
