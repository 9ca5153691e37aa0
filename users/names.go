package users

import (
	"errors"
	"unicode"
	"unicode/utf8"
)

// maxNameBytes bounds a user name: utmp holds 32 bytes, an LDAP name a
// few dozen; anything longer is not a name.
const maxNameBytes = 256

// CheckName is the one rule every user name meets before it is printed
// or sent, whatever its source (utmp, logind, a pod label, a condor
// Owner): valid UTF-8, at most 256 bytes, not empty, and every character
// one that shows as itself: no control character (newlines, terminal
// escapes), no invisible format character (a right-to-left override such
// as U+202E, zero-width spaces), no separator but the ASCII space, and
// that not at either end. The error says which.
func CheckName(name string) error {
	switch {
	case name == "":
		return errors.New("empty")
	case len(name) > maxNameBytes:
		return errors.New("longer than 256 bytes")
	case !utf8.ValidString(name):
		return errors.New("not valid UTF-8")
	case name[0] == ' ' || name[len(name)-1] == ' ':
		return errors.New("a space at an end")
	}
	for _, r := range name {
		switch {
		case r == ' ' || unicode.IsPrint(r):
		case unicode.IsControl(r):
			return errors.New("a control character")
		case unicode.Is(unicode.Cf, r):
			return errors.New("an invisible format character (a bidirectional override?)")
		default:
			return errors.New("a character that does not show as itself")
		}
	}
	return nil
}
