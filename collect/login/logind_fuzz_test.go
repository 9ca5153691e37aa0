package login

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/atlas-af/afmc/internal/jsonstrict"
)

// FuzzParseLoginctlSessions reads `loginctl list-sessions` JSON, compared
// with encoding/json: the same verdict on what is JSON, and, on documents
// without a key twice, the same session ids, or an error where any
// element is not an object whose "session" is a string logind could have
// made. Errors stay fit for a log.
func FuzzParseLoginctlSessions(f *testing.F) {
	for _, name := range []string{"list-sessions-252.json", "list-sessions-256.json"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "ssh", "logind", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{``, ` `, `[]`, `{}`, `[{"session":"3"},{"session":"c1"}]`, `[{"session":3}]`, `[{"session":"-h"}]`,
		`[{"session":"3","session":"4"}]`, `[{"session":"3"}] [`, `["3"]`, `[{"session":"a b"}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ids, err := ParseLoginctlSessions(b)
		if err != nil {
			checkLogSafe(t, err.Error(), 500)
		}
		for _, id := range ids {
			if !validSessionID(id) {
				t.Fatalf("id %q passed on as an argument", id)
			}
		}
		trimmed := strings.TrimSpace(string(b))
		if trimmed == "" {
			if err != nil || ids != nil {
				t.Fatalf("empty output: %q, %v", ids, err)
			}
			return
		}
		// Blanks around it are trimmed first, Unicode's as well as JSON's.
		tb := []byte(trimmed)
		if gv, jv := gjson.Valid(trimmed), json.Valid(tb); gv != jv {
			t.Fatalf("gjson says valid %v, encoding/json %v", gv, jv)
		}
		if err == nil && !json.Valid(tb) {
			t.Fatalf("accepted output that is not JSON")
		}
		if jsonstrict.Check(tb) != nil {
			return
		}
		want, ok := refSessionIDs(tb)
		if ok != (err == nil) || ok && !slices.Equal(ids, want) {
			t.Fatalf("got %q, %v; encoding/json reads %q, ok %v", ids, err, want, ok)
		}
	})
}

func refSessionIDs(b []byte) ([]string, bool) {
	var list []map[string]json.RawMessage
	if json.Unmarshal(b, &list) != nil {
		return nil, false
	}
	var ids []string
	for _, s := range list {
		var id string
		if json.Unmarshal(s["session"], &id) != nil || !validSessionID(id) {
			return nil, false
		}
		ids = append(ids, id)
	}
	return ids, true
}

// FuzzParseShowSession reads `loginctl show-session` output: every line
// "Id=X" with X not empty starts one session, in order, whatever the lines
// around it, however long they are; each session is the values of its
// block; nothing else makes a session.
func FuzzParseShowSession(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "ssh", "logind", "show-session.txt"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("Id=3\nName=alice\nId=4\nName=bob\n"))
	f.Add([]byte("Name=early\nId=\nId=5\n\n\nId=6\r\nRemote=yes\n"))
	// A line past bufio.Scanner's 64 KiB default, then a session.
	f.Add([]byte("Id=1\nRemoteHost=" + strings.Repeat("h", 70000) + "\n\nId=2\nName=carol\nClass=user\nTTY=pts/1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got := ParseShowSession(b)
		var want []string
		for _, line := range strings.Split(string(b), "\n") {
			if id, ok := strings.CutPrefix(strings.TrimSuffix(line, "\r"), "Id="); ok && id != "" {
				want = append(want, id)
			}
		}
		var ids []string
		for _, s := range got {
			ids = append(ids, s.ID)
			for _, v := range []string{s.ID, s.User, s.Class, s.State, s.Type, s.TTY, s.Seat, s.RemoteHost} {
				if strings.Contains(v, "\n") {
					t.Fatalf("a value holds a newline: %+v", s)
				}
			}
		}
		if !slices.Equal(ids, want) {
			t.Fatalf("sessions %q, want %q", ids, want)
		}
	})
}

// FuzzShowSessionRoundTrip writes sessions as loginctl prints them and
// reads them back.
func FuzzShowSessionRoundTrip(f *testing.F) {
	f.Add("3", "brosser", "user", "active", "tty", "pts/0", "", "192.0.2.7", true, "c1", "gdm", "greeter")
	f.Add("12", "rjacobse", "user", "online", "x11", "tty2", "seat0", "", false, "7", "a=b", "user=x")
	f.Fuzz(func(t *testing.T, id, user, class, state, typ, tty, seat, rhost string, remote bool, id2, user2, class2 string) {
		in := []LogindSession{
			{ID: id, User: user, Class: class, State: state, Type: typ, TTY: tty, Seat: seat, RemoteHost: rhost, Remote: remote},
			{ID: id2, User: user2, Class: class2},
		}
		for _, s := range in {
			if !validSessionID(s.ID) {
				return
			}
			for _, v := range []string{s.User, s.Class, s.State, s.Type, s.TTY, s.Seat, s.RemoteHost} {
				if strings.ContainsAny(v, "\r\n") {
					return // loginctl prints a value on one line
				}
			}
		}
		var b strings.Builder
		for i, s := range in {
			if i > 0 {
				b.WriteString("\n")
			}
			yes := map[bool]string{true: "yes", false: "no"}[s.Remote]
			for _, kv := range [][2]string{{"Id", s.ID}, {"Name", s.User}, {"TTY", s.TTY}, {"Remote", yes}, {"RemoteHost", s.RemoteHost},
				{"Seat", s.Seat}, {"Type", s.Type}, {"Class", s.Class}, {"State", s.State}} {
				b.WriteString(kv[0] + "=" + kv[1] + "\n")
			}
		}
		got := ParseShowSession([]byte(b.String()))
		if !slices.Equal(got, in) {
			t.Fatalf("read back %+v\nwant %+v\nfrom %q", got, in, b.String())
		}
	})
}

// checkLogSafe fails when a message bound for a log holds a control
// character or invalid UTF-8 (it could forge a log line) or is longer
// than max bytes (an excerpt, not the whole answer).
func checkLogSafe(t *testing.T, msg string, max int) {
	t.Helper()
	if len(msg) > max {
		t.Fatalf("message of %d bytes, more than %d: %.200q", len(msg), max, msg)
	}
	if !utf8.ValidString(msg) || strings.ContainsFunc(msg, unicode.IsControl) {
		t.Fatalf("message holds a control character or invalid UTF-8: %q", msg)
	}
}
