// Package users is the one step that every document naming users passes
// through between collecting and printing: the group filter, then
// obfuscation of user names and of the login node. Collectors report real
// names and never filter or hash themselves.
package users

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/atlas-af/afmc/document"
	"github.com/atlas-af/afmc/internal/extcmd"
)

// Settings are the step's flags, embedded in the CLI.
type Settings struct {
	Group                string `placeholder:"NAME" help:"Keep only users in this Unix group, as primary or supplementary group, as the name service (files, LDAP, SSSD) knows them."`
	ObfuscateUsers       bool   `help:"Replace each user name by a hash (see --user-hash); the salt comes from --salt-file or AFMC_SALT."`
	SaltFile             string `placeholder:"FILE" type:"path" help:"File holding the salt for --obfuscate-users (or set AFMC_SALT)."`
	UserHash             string `enum:"sha256-8,hmac-sha256" default:"sha256-8" help:"sha256-8: the first 8 hex digits of sha256(salt + name), the hashes the dashboards hold; hmac-sha256: 16 hex digits of HMAC-SHA256 keyed with the salt, stronger, but not comparable with earlier data."`
	ObfuscateHosts       string `placeholder:"DOMAIN" help:"Replace login_node by the prefix, the digits of the host name, a dot and DOMAIN."`
	ObfuscateHostsPrefix string `default:"atlas" placeholder:"PREFIX" help:"The prefix of obfuscated login node names."`
	Getent               string `default:"getent" placeholder:"PATH" help:"The getent program that resolves --group through the name service."`
}

// Hash schemes.
const (
	HashSHA256 = "sha256-8"
	HashHMAC   = "hmac-sha256"
)

// Step filters and obfuscates documents. It remembers the memberships it
// has resolved, so a run asks the name service once per user at most.
type Step struct {
	group   string
	hash    func(string) string // nil: names stay
	host    string              // replaces login_node; "" keeps it
	ns      NameService
	log     *slog.Logger
	gid     string          // the group's id, once resolved
	member  map[string]bool // resolved users: in the group or not
	groupOK bool
	warning string // what is weak in these settings, for the run to say

	timeout time.Duration // the name service's time for the whole run; 0: none
	spent   time.Duration // time spent asking it so far
	gaveUp  error         // the name service ran out of time: every later batch fails at once

	refused int // names refused by CheckName, for the bound on their log lines
}

// maxRefusedLogged bounds the lines logged for refused names: a source
// flooding bad names does not flood the log.
const maxRefusedLogged = 10

// SetTimeout bounds the time the step may wait for the name service, over
// the whole run (--collector-timeout): once it is spent, the documents
// naming users are left out, as for a group that cannot be resolved, and
// the others go.
func (st *Step) SetTimeout(d time.Duration) { st.timeout = d }

// New builds the step. salt is the content of --salt-file or AFMC_SALT.
// loginNode is the run's login node name, for --obfuscate-hosts.
func New(s Settings, salt, loginNode string, ns NameService, log *slog.Logger) (*Step, error) {
	st := &Step{group: s.Group, ns: ns, log: log, member: map[string]bool{}}
	if s.Group != "" && !validName(s.Group) {
		return nil, fmt.Errorf("--group %q is not a group name", extcmd.Printable(s.Group))
	}
	if s.ObfuscateUsers {
		switch s.UserHash {
		case HashHMAC:
			if salt == "" {
				return nil, errors.New("--user-hash hmac-sha256 needs a secret key: the salt, from --salt-file or AFMC_SALT")
			}
			key := []byte(salt)
			st.hash = func(name string) string {
				m := hmac.New(sha256.New, key)
				m.Write([]byte(name))
				return hex.EncodeToString(m.Sum(nil))[:16]
			}
		default:
			st.hash = func(name string) string { return SaltedSHA256(salt, name) }
			if salt == "" {
				st.warning = "--obfuscate-users without a salt: anyone can hash every name of the site's directory and read the users back from the dashboard; set --salt-file or AFMC_SALT (the hashes change with it: the user history starts anew)"
			}
		}
	} else if salt != "" && s.SaltFile != "" {
		log.Warn("--salt-file is set but --obfuscate-users is not: user names are sent as they are")
	}
	if s.ObfuscateHosts != "" {
		st.host = ObfuscateHost(s.ObfuscateHostsPrefix, loginNode, s.ObfuscateHosts)
	}
	return st, nil
}

// Warning is what is weak in the step's settings (hashing without a
// salt), for the run to log and afmc check to show; "" when nothing is.
func (st *Step) Warning() string { return st.warning }

// LoginNode is the login node name documents carry: obfuscated with
// --obfuscate-hosts, else node.
func (st *Step) LoginNode(node string) string {
	if st != nil && st.host != "" {
		return st.host
	}
	return node
}

// Batched tells whether documents should reach Apply in batches: the
// group filter asks the name service once per batch; hashing alone needs
// no batch.
func (st *Step) Batched() bool { return st.group != "" }

// SaltedSHA256 is the original collector's hash: the first 8 hex digits of
// sha256(salt + name).
func SaltedSHA256(salt, name string) string {
	sum := sha256.Sum256([]byte(salt + name))
	return hex.EncodeToString(sum[:4])
}

// ObfuscateHost is prefix, the digits of the host name, a dot and domain:
// login02.af.uchicago.edu becomes atlas02.DOMAIN, as the original did.
func ObfuscateHost(prefix, host, domain string) string {
	var digits strings.Builder
	for _, r := range host {
		if r >= '0' && r <= '9' {
			digits.WriteRune(r)
		}
	}
	return prefix + digits.String() + "." + domain
}

// Apply passes a batch of documents through the step and returns those
// that remain. Every name first meets CheckName: one that does not is
// left out, with a warning naming the document's kind. It finds what to
// rewrite by type, not by field name: in a document.UserList it keeps the
// users in the group, hashed, each once and sorted, and the document's
// document.UserCount fields follow; a document whose document.User (a
// job's owner) is refused or not in the group is dropped; a
// document.LoginNode is replaced under --obfuscate-hosts. Memberships of
// the whole batch are resolved at once; when they cannot be, the
// documents naming users are dropped and the error says why.
func (st *Step) Apply(ctx context.Context, docs []document.Document) ([]document.Document, error) {
	docs = st.checkNames(docs)
	var resolveErr error
	if st.group != "" {
		resolveErr = st.resolve(ctx, namesIn(docs))
	}
	out := docs[:0]
	for _, d := range docs {
		if resolveErr != nil && d.NamesUsers() {
			// Who is in the group is unknown: reporting everyone would
			// break the filter, reporting no one would be a false zero.
			continue
		}
		if st.rewrite(&d) {
			out = append(out, d)
		}
	}
	return out, resolveErr
}

// rewrite filters and hashes the users of d and obfuscates its login
// node, and tells whether d stays.
func (st *Step) rewrite(d *document.Document) bool {
	counted, listed := false, 0
	for i, f := range d.Fields {
		switch v := f.Value.(type) {
		case document.UserList:
			kept := make([]string, 0, len(v))
			for _, name := range v {
				if st.keep(name) {
					kept = append(kept, st.name(name))
				}
			}
			slices.Sort(kept)
			kept = slices.Compact(kept)
			d.Fields[i].Value = document.UserList(kept)
			counted, listed = true, len(kept)
		case document.User:
			if !st.keep(string(v)) {
				return false
			}
			d.Fields[i].Value = document.User(st.name(string(v)))
		case document.LoginNode:
			if st.host != "" {
				d.Fields[i].Value = document.LoginNode(st.host)
			}
		}
	}
	if counted {
		for i, f := range d.Fields {
			if _, ok := f.Value.(document.UserCount); ok {
				d.Fields[i].Value = document.UserCount(listed)
			}
		}
	}
	return true
}

// checkNames drops the names CheckName refuses, and the documents of one
// user whose name it refuses.
func (st *Step) checkNames(docs []document.Document) []document.Document {
	out := docs[:0]
	for _, d := range docs {
		if st.checkDoc(&d) {
			out = append(out, d)
		}
	}
	return out
}

// checkDoc checks the names of d and tells whether d stays.
func (st *Step) checkDoc(d *document.Document) bool {
	changed, listed := false, 0
	for i, f := range d.Fields {
		switch v := f.Value.(type) {
		case document.UserList:
			var kept document.UserList // nil while every name passes
			for j, name := range v {
				if err := CheckName(name); err != nil {
					st.logRefused(d.Kind(), name, err)
					if kept == nil {
						kept = append(make(document.UserList, 0, len(v)), v[:j]...)
					}
					continue
				}
				if kept != nil {
					kept = append(kept, name)
				}
			}
			if kept != nil {
				d.Fields[i].Value = kept
				changed, listed = true, len(kept)
			}
		case document.User:
			if err := CheckName(string(v)); err != nil {
				st.logRefused(d.Kind(), string(v), err)
				return false
			}
		}
	}
	if changed {
		for i, f := range d.Fields {
			if _, ok := f.Value.(document.UserCount); ok {
				d.Fields[i].Value = document.UserCount(listed)
			}
		}
	}
	return true
}

func (st *Step) logRefused(source, name string, why error) {
	st.refused++
	switch {
	case st.refused <= maxRefusedLogged:
		if len(name) > 80 {
			name = name[:80] // quoted below: a cut rune shows as \x..
		}
		st.log.Warn("user name refused, not sent: "+why.Error(), "source", source, "name", strconv.Quote(name))
	case st.refused == maxRefusedLogged+1:
		st.log.Warn("more user names refused; no more are logged this run", "source", source)
	}
}

func (st *Step) keep(name string) bool {
	return st.group == "" || st.member[name]
}

func (st *Step) name(n string) string {
	if st.hash == nil {
		return n
	}
	return st.hash(n)
}

func namesIn(docs []document.Document) []string {
	seen := map[string]bool{}
	var names []string
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	for _, d := range docs {
		for _, f := range d.Fields {
			switch v := f.Value.(type) {
			case document.UserList:
				for _, n := range v {
					add(n)
				}
			case document.User:
				add(string(v))
			}
		}
	}
	return names
}

// resolve learns which of names are in the group: its member list (one
// lookup, once a run), then the primary groups of the rest (one lookup for
// all of them). A user the name service does not know is left out.
func (st *Step) resolve(ctx context.Context, names []string) error {
	if st.gaveUp != nil {
		return st.gaveUp
	}
	if st.timeout <= 0 {
		return st.lookup(ctx, names)
	}
	left := st.timeout - st.spent
	if left <= 0 {
		st.gaveUp = st.outOfTime(nil)
		return st.gaveUp
	}
	lctx, cancel := context.WithTimeout(ctx, left)
	defer cancel()
	start := time.Now()
	err := st.lookup(lctx, names)
	st.spent += time.Since(start)
	if err != nil && lctx.Err() != nil && ctx.Err() == nil {
		// Its time is spent: no later batch waits for it again.
		st.gaveUp = st.outOfTime(err)
		return st.gaveUp
	}
	return err
}

// outOfTime is the error once the name service's time is spent.
func (st *Step) outOfTime(cause error) error {
	err := fmt.Errorf("--group %s: the name service did not answer within %s (--collector-timeout): documents naming users are left out for the rest of the run", st.group, st.timeout)
	if cause != nil {
		err = fmt.Errorf("%w: %w", err, cause)
	}
	return err
}

// lookup is resolve's work, within its deadline.
func (st *Step) lookup(ctx context.Context, names []string) error {
	if !st.groupOK {
		gid, members, err := st.ns.Group(ctx, st.group)
		if err != nil {
			return fmt.Errorf("--group %s: %w", st.group, err)
		}
		st.gid, st.groupOK = gid, true
		for _, m := range members {
			st.member[m] = true
		}
	}
	var unknown []string
	for _, n := range names {
		if _, ok := st.member[n]; !ok {
			if validName(n) {
				unknown = append(unknown, n)
			} else {
				st.member[n] = false
			}
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	primary, err := st.ns.PrimaryGroups(ctx, unknown)
	if err != nil {
		return fmt.Errorf("--group %s: primary groups: %w", st.group, err)
	}
	for _, n := range unknown {
		gid, ok := primary[n]
		if !ok {
			st.log.Debug("user unknown to the name service, left out by --group", "user", extcmd.Printable(n))
		}
		st.member[n] = ok && gid == st.gid
	}
	return nil
}

// validName: a user or group name that can be passed to getent as a key:
// no option-like dash, separator, space or control character.
func validName(s string) bool {
	if s == "" || len(s) > 256 || s[0] == '-' {
		return false
	}
	for _, r := range s {
		if r == ':' || r == ',' || unicode.IsSpace(r) || unicode.IsControl(r) {
			return false
		}
	}
	return true
}
