package login

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/atlas-af/afmc/internal/extcmd"
	"github.com/atlas-af/afmc/internal/jsondepth"
)

// LogindSession is what afmc needs of one systemd-logind session, from
// `loginctl show-session`.
type LogindSession struct {
	ID, User, Class, State, Type, TTY, Seat, RemoteHost string
	Remote                                              bool
}

// IsLogin tells whether the session is a person logged in, as utmp's
// USER_PROCESS records are: a user session (not a greeter, a lock screen,
// a user manager or a background job such as cron) that is not closing,
// on a seat, a terminal, or from a remote host.
func (s LogindSession) IsLogin() bool {
	return strings.HasPrefix(s.Class, "user") && s.State != "closing" &&
		(s.TTY != "" || s.Seat != "" || s.Remote)
}

// ParseLoginctlSessions returns the session ids of `loginctl list-sessions`
// JSON output: [{"session":"3","uid":1000,"user":"alice",...}, ...].
func ParseLoginctlSessions(b []byte) ([]string, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, nil
	}
	// gjson's validator recurses once a level: nesting is bounded first.
	if err := jsondepth.Check(b, 0); err != nil {
		return nil, fmt.Errorf("not the JSON list of sessions expected: %w", err)
	}
	if !gjson.ValidBytes(b) || b[0] != '[' {
		return nil, fmt.Errorf("not the JSON list of sessions expected: %q", outputExcerpt(b))
	}
	var ids []string
	var bad error
	gjson.ParseBytes(b).ForEach(func(_, v gjson.Result) bool {
		sv := v.Get("session")
		id := sv.Str
		if sv.Type != gjson.String || !validSessionID(id) {
			// logind's ids are strings; anything else is not its output.
			shown := sv.Raw
			if sv.Type == gjson.String {
				shown = id
			}
			bad = fmt.Errorf("bad session id %q", outputExcerpt([]byte(shown)))
			return false
		}
		ids = append(ids, id)
		return true
	})
	return ids, bad
}

// validSessionID: logind's ids are short and alphanumeric ("3", "c1").
// Anything else is not passed on as an argument.
func validSessionID(id string) bool {
	if id == "" || len(id) > 64 || id[0] == '-' {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// ParseShowSession reads `loginctl show-session ID... -p ...` output: one
// block of Key=Value lines per session, blocks separated by a blank line.
func ParseShowSession(b []byte) []LogindSession {
	var out []LogindSession
	var cur LogindSession
	flush := func() {
		if cur.ID != "" {
			out = append(out, cur)
		}
		cur = LogindSession{}
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, len(b)+1) // no line is too long: a Scanner would stop there without a word
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		switch k {
		case "Id":
			if cur.ID != "" { // no blank line between two sessions
				flush()
			}
			cur.ID = v
		case "Name":
			cur.User = v
		case "Class":
			cur.Class = v
		case "State":
			cur.State = v
		case "Type":
			cur.Type = v
		case "TTY":
			cur.TTY = v
		case "Seat":
			cur.Seat = v
		case "Remote":
			cur.Remote = v == "yes"
		case "RemoteHost":
			cur.RemoteHost = v
		}
	}
	flush()
	return out
}

// logindSessions asks systemd-logind for the sessions through loginctl:
// the list, then the properties of all of them in one call.
func logindSessions(ctx context.Context, loginctl string) ([]LogindSession, error) {
	env := []string{"SYSTEMD_PAGER=cat", "SYSTEMD_COLORS=0", "LC_ALL=C"}
	run := func(args ...string) ([]byte, error) {
		return extcmd.Output(ctx, extcmd.Cmd{Path: loginctl, Args: args, Env: env, MaxStdout: 16 << 20})
	}
	// systemd 256 and later take --json=short and ignore -o json for
	// list-sessions; older ones know only -o json.
	out, err := run("list-sessions", "--no-legend", "--no-pager", "--json=short")
	var ee *extcmd.Error
	if errors.As(err, &ee) && ee.ExitCode > 0 && strings.Contains(ee.Stderr, "json") {
		out, err = run("list-sessions", "--no-legend", "--no-pager", "-o", "json")
	}
	if err != nil {
		return nil, err
	}
	ids, err := ParseLoginctlSessions(out)
	if err != nil {
		return nil, fmt.Errorf("%s list-sessions: %w", loginctl, err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	args := append([]string{"show-session", "--no-pager"}, ids...)
	for _, p := range []string{"Id", "Name", "Class", "State", "Type", "TTY", "Seat", "Remote", "RemoteHost"} {
		args = append(args, "-p", p)
	}
	out, err = run(args...)
	if err != nil {
		// A session that ended between the two calls makes show-session
		// fail for it alone: what it printed for the others still counts.
		if !errors.As(err, &ee) || ee.ExitCode <= 0 || len(out) == 0 {
			return nil, err
		}
	}
	return ParseShowSession(out), nil
}

func outputExcerpt(b []byte) string {
	if len(b) > 80 {
		b = b[:80]
	}
	return extcmd.Printable(string(b))
}
