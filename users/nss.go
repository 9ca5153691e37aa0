package users

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/atlas-af/afmc/internal/extcmd"
)

// NameService answers group questions. Real sites keep users in LDAP or
// SSSD, which a static Go binary's os/user cannot see: Getent asks the
// system's name service switch instead.
type NameService interface {
	// Group returns the group's id and its supplementary members.
	Group(ctx context.Context, name string) (gid string, members []string, err error)
	// PrimaryGroups returns the primary group id of each user it knows.
	PrimaryGroups(ctx context.Context, users []string) (map[string]string, error)
}

// Getent is the name service through the getent program.
type Getent struct {
	Path string // "getent", or a full path
}

// getentChunk bounds the users asked in one call, far below ARG_MAX.
const getentChunk = 2000

// Group runs `getent group NAME`.
func (g Getent) Group(ctx context.Context, name string) (string, []string, error) {
	out, err := g.run(ctx, "group", []string{name})
	if err != nil {
		return "", nil, err
	}
	for _, e := range parseDB(out, 4) {
		if e[0] == name {
			var members []string
			if e[3] != "" {
				members = strings.Split(e[3], ",")
			}
			return e[2], members, nil
		}
	}
	return "", nil, fmt.Errorf("group %q unknown to the name service", name)
}

// PrimaryGroups runs `getent passwd USER...`, a few thousand users a call.
func (g Getent) PrimaryGroups(ctx context.Context, users []string) (map[string]string, error) {
	out := make(map[string]string, len(users))
	for len(users) > 0 {
		n := min(len(users), getentChunk)
		b, err := g.run(ctx, "passwd", users[:n])
		if err != nil {
			return nil, err
		}
		for _, e := range parseDB(b, 7) {
			out[e[0]] = e[3]
		}
		users = users[n:]
	}
	return out, nil
}

// run calls getent; its exit status 2 only says some keys were not found.
func (g Getent) run(ctx context.Context, db string, keys []string) ([]byte, error) {
	args := append([]string{db, "--"}, keys...)
	out, err := extcmd.Output(ctx, extcmd.Cmd{Path: g.Path, Args: args, MaxStdout: 64 << 20})
	var ee *extcmd.Error
	if errors.As(err, &ee) && ee.ExitCode == 2 && !errors.Is(err, extcmd.ErrTooLarge) {
		return out, nil
	}
	return out, err
}

// parseDB splits colon-separated entries (passwd, group), keeping those
// with exactly n fields.
func parseDB(b []byte, n int) [][]string {
	var out [][]string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), max(16<<20, len(b)+1)) // a large group's member list is one line: no line is too long
	for sc.Scan() {
		if f := strings.Split(sc.Text(), ":"); len(f) == n {
			out = append(out, f)
		}
	}
	return out
}
