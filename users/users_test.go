package users

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atlas-af/afmc/document"
	"github.com/atlas-af/afmc/internal/testtool"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// The hashes the dashboards already hold (the original collector's).
func TestSaltedSHA256Vectors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ salt, name, want string }{
		{"", "brosser", "733160e9"},
		{"", "mhank", "8a8b0ebe"},
		{"5tKC%>f&%#hg", "brosser", "67833a37"},
	} {
		if got := SaltedSHA256(tt.salt, tt.name); got != tt.want {
			t.Errorf("SaltedSHA256(%q, %q) = %s, want %s", tt.salt, tt.name, got, tt.want)
		}
	}
}

func TestObfuscateHost(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ prefix, host, domain, want string }{
		{"atlas", "login02.af.uchicago.edu", "af.example", "atlas02.af.example"},
		{"atlas", "gateway.bnl.gov", "x.org", "atlas.x.org"},
		{"node", "login-3-12", "d", "node312.d"},
	} {
		if got := ObfuscateHost(tt.prefix, tt.host, tt.domain); got != tt.want {
			t.Errorf("ObfuscateHost(%q) = %s, want %s", tt.host, got, tt.want)
		}
	}
}

// fakeNS is a name service from fixture tables, counting its lookups.
type fakeNS struct {
	gid       map[string]string   // group → gid
	members   map[string][]string // group → supplementary members
	primary   map[string]string   // user → primary gid
	groupErr  error
	groupAsks int
	userAsks  [][]string
}

func (f *fakeNS) Group(_ context.Context, name string) (string, []string, error) {
	f.groupAsks++
	if f.groupErr != nil {
		return "", nil, f.groupErr
	}
	gid, ok := f.gid[name]
	if !ok {
		return "", nil, errors.New("group unknown")
	}
	return gid, f.members[name], nil
}

func (f *fakeNS) PrimaryGroups(_ context.Context, users []string) (map[string]string, error) {
	f.userAsks = append(f.userAsks, slices.Clone(users))
	out := map[string]string{}
	for _, u := range users {
		if g, ok := f.primary[u]; ok {
			out[u] = g
		}
	}
	return out, nil
}

func ssh(users ...string) document.Document {
	return document.NewHost("ssh", "C", "login02.af.uchicago.edu", time.Unix(0, 0)).
		Add("ssh_user_count", document.UserCount(len(users))).Add("users", document.UserList(users))
}

func job(user string) document.Document {
	return document.New("condorjob", "C", time.Unix(0, 0)).Add("users", document.User(user)).Add("state", "running")
}

// field is the value of key, as plain values (the typed users as the
// strings they hold).
func field(d document.Document, key string) any {
	v, _ := d.Fields.Get(key)
	return document.Plain(v)
}

func TestGroupFilter(t *testing.T) {
	t.Parallel()
	ns := &fakeNS{
		gid:     map[string]string{"atlas": "5000"},
		members: map[string][]string{"atlas": {"mhank", "rjacobse"}},
		primary: map[string]string{"brosser": "5000", "mhank": "100", "outsider": "100"},
	}
	st, err := New(Settings{Group: "atlas"}, "", "", ns, discard)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := st.Apply(context.Background(), []document.Document{
		ssh("brosser", "mhank", "outsider", "ghost", "rjacobse"),
		job("outsider"), job("brosser"), job("ghost"), job("mhank"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 3 {
		t.Fatalf("%d documents, want the ssh one and two jobs", len(docs))
	}
	// brosser by primary group, mhank and rjacobse as members; ghost is
	// unknown to the name service.
	if got := field(docs[0], "users").([]string); !slices.Equal(got, []string{"brosser", "mhank", "rjacobse"}) {
		t.Errorf("users %v", got)
	}
	if field(docs[0], "ssh_user_count") != 3 {
		t.Errorf("ssh_user_count %v, want 3", field(docs[0], "ssh_user_count"))
	}
	if field(docs[1], "users") != "brosser" || field(docs[2], "users") != "mhank" {
		t.Errorf("jobs kept: %v %v", field(docs[1], "users"), field(docs[2], "users"))
	}
	// One lookup of the group and one of the unknown users' primary groups.
	if ns.groupAsks != 1 || len(ns.userAsks) != 1 || !slices.Equal(ns.userAsks[0], []string{"brosser", "outsider", "ghost"}) {
		t.Errorf("lookups: group %d, users %v", ns.groupAsks, ns.userAsks)
	}
	// The next batch asks only about users not seen before.
	if _, err := st.Apply(context.Background(), []document.Document{job("brosser"), job("newcomer")}); err != nil {
		t.Fatal(err)
	}
	if ns.groupAsks != 1 || len(ns.userAsks) != 2 || !slices.Equal(ns.userAsks[1], []string{"newcomer"}) {
		t.Errorf("second batch lookups: group %d, users %v", ns.groupAsks, ns.userAsks)
	}
}

// A group that cannot be resolved drops what names users (neither
// unfiltered nor a false zero) and says why; other documents pass.
func TestGroupUnresolvable(t *testing.T) {
	t.Parallel()
	ns := &fakeNS{groupErr: errors.New("getent not found")}
	st, err := New(Settings{Group: "atlas"}, "", "", ns, discard)
	if err != nil {
		t.Fatal(err)
	}
	cpu := document.NewHost("CPU", "C", "n", time.Unix(0, 0)).Add("load", 1.0)
	docs, err := st.Apply(context.Background(), []document.Document{ssh("a"), cpu, job("a")})
	if err == nil || !strings.Contains(err.Error(), "--group atlas: getent not found") {
		t.Errorf("error %v", err)
	}
	if len(docs) != 1 || docs[0].Kind() != "CPU" {
		t.Errorf("documents %v", docs)
	}
	if _, err := New(Settings{Group: "-x"}, "", "", ns, discard); err == nil {
		t.Error("an option-like group name is accepted")
	}
}

func TestObfuscation(t *testing.T) {
	t.Parallel()
	st, err := New(Settings{ObfuscateUsers: true, UserHash: HashSHA256, ObfuscateHosts: "af.example", ObfuscateHostsPrefix: "atlas"},
		"5tKC%>f&%#hg", "login02.af.uchicago.edu", nil, discard)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := st.Apply(context.Background(), []document.Document{ssh("brosser", "mhank"), job("brosser")})
	if err != nil {
		t.Fatal(err)
	}
	users := field(docs[0], "users").([]string)
	if !slices.Contains(users, "67833a37") || len(users) != 2 || slices.Contains(users, "brosser") {
		t.Errorf("users %v", users)
	}
	if field(docs[0], "login_node") != "atlas02.af.example" {
		t.Errorf("login_node %v", field(docs[0], "login_node"))
	}
	if field(docs[1], "users") != "67833a37" {
		t.Errorf("job user %v", field(docs[1], "users"))
	}
	if _, ok := docs[1].Fields.Get("login_node"); ok {
		t.Error("login_node added to a document that had none")
	}

	// HMAC: keyed, longer, and needs a key.
	if _, err := New(Settings{ObfuscateUsers: true, UserHash: HashHMAC}, "", "", nil, discard); err == nil {
		t.Error("hmac-sha256 without a salt is accepted")
	}
	st, err = New(Settings{ObfuscateUsers: true, UserHash: HashHMAC}, "k", "", nil, discard)
	if err != nil {
		t.Fatal(err)
	}
	docs, _ = st.Apply(context.Background(), []document.Document{job("brosser")})
	// HMAC-SHA256(key "k", "brosser"), first 16 hex digits.
	if got := field(docs[0], "users").(string); len(got) != 16 || got == SaltedSHA256("k", "brosser")[:8] {
		t.Errorf("hmac user %q", got)
	}
}

// Through the machine's own name service: the step agrees with what
// /etc/passwd and /etc/group say (this machine's nsswitch reads files).
func TestGetentAgreesWithFiles(t *testing.T) {
	t.Parallel()
	getent := testtool.Need(t, "getent")
	groups := readDB(t, "/etc/group", 4)
	passwd := readDB(t, "/etc/passwd", 7)
	var all []string
	for _, p := range passwd {
		all = append(all, p[0])
	}
	all = append(all, "no-such-user-afmc")
	for _, g := range groups {
		want := map[string]bool{}
		for _, m := range strings.Split(g[3], ",") {
			if m != "" {
				want[m] = true
			}
		}
		for _, p := range passwd {
			if p[3] == g[2] {
				want[p[0]] = true
			}
		}
		st, err := New(Settings{Group: g[0]}, "", "", Getent{Path: getent}, discard)
		if err != nil {
			t.Fatal(err)
		}
		docs, err := st.Apply(context.Background(), []document.Document{ssh(all...)})
		if err != nil {
			t.Fatalf("group %s: %v", g[0], err)
		}
		got := field(docs[0], "users").([]string)
		var wantList []string
		for u := range want {
			wantList = append(wantList, u)
		}
		slices.Sort(wantList)
		if !slices.Equal(got, wantList) {
			t.Errorf("group %s: %v, want %v", g[0], got, wantList)
		}
	}
	_, _, err := Getent{Path: getent}.Group(context.Background(), "no-such-group-afmc")
	if err == nil || !strings.Contains(err.Error(), "unknown to the name service") {
		t.Errorf("unknown group: %v", err)
	}
}

func readDB(t *testing.T, path string, n int) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if e := strings.Split(sc.Text(), ":"); len(e) == n && !strings.HasPrefix(e[0], "#") {
			out = append(out, e)
		}
	}
	return out
}
