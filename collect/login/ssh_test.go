package login

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atlas-af/afmc/internal/testtool"

	"github.com/atlas-af/afmc/collect"
	"github.com/atlas-af/afmc/collect/collecttest"
	"github.com/atlas-af/afmc/document"
	"github.com/atlas-af/afmc/internal/fixture"
)

// setHost overwrites the host field of record i: utmpdump's text format
// cannot carry a host with brackets, such as mosh's.
func setHost(t *testing.T, path string, i int, host string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	field := b[i*utmpRecordSize+76 : i*utmpRecordSize+332]
	clear(field)
	copy(field, host)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// sshHost is a host tree with var/run/utmp made from testdata/ssh/utmp.txt
// (the mosh record's host restored), a proc/ where every session's process
// runs, and an empty run/.
func sshHost(t *testing.T) (*collect.Env, *bytes.Buffer) {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"var/run", "var/log", "run"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	utmp := filepath.Join(dir, "var", "run", "utmp")
	dump := filepath.Join("..", "..", "testdata", "ssh", "utmp.txt")
	fixture.Utmp(t, dump, utmp)
	setHost(t, utmp, 4, "10.1.2.3 via mosh [12345]")
	// Every session's process runs: proc/PID for each.
	fixture.LiveSessions(t, dump, filepath.Join(dir, "proc"))
	var logs bytes.Buffer
	env := &collect.Env{
		Roots:     collect.Roots{Proc: filepath.Join(dir, "proc"), Var: filepath.Join(dir, "var"), Run: filepath.Join(dir, "run")},
		Cluster:   "TEST-AF",
		LoginNode: "login01.af.example.org",
		Now:       func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) },
		Log:       slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	return env, &logs
}

func sshUsers(t *testing.T, res collecttest.Result) []string {
	t.Helper()
	if len(res.Docs) != 1 {
		t.Fatalf("%d documents, want 1", len(res.Docs))
	}
	d := res.Docs[0]
	users, _ := d.Fields.Get("users")
	users = document.Plain(users)
	count, _ := d.Fields.Get("ssh_user_count")
	count = document.Plain(count)
	u := users.([]string)
	if count != len(u) {
		t.Errorf("ssh_user_count %v, users %v", count, u)
	}
	return u
}

func TestSSHFromUtmp(t *testing.T) {
	env, _ := sshHost(t)
	res, err := collecttest.Gather(context.Background(), SSH{Source: "auto"}, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(res.Docs[0])
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"ssh","cluster":"TEST-AF","login_node":"login01.af.example.org","ssh_user_count":6,"users":["brosser","localx","mhank","milaivanovska","rjacobse","screenu"]}`
	if string(b) != want {
		t.Errorf("document\n%s\nwant\n%s", b, want)
	}
	if res.State != nil || res.Docs[0].Delta {
		t.Errorf("without history the document is a snapshot with no state")
	}

	res, err = collecttest.Gather(context.Background(), SSH{Source: "utmp", RemoteOnly: true}, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := sshUsers(t, res); !slices.Equal(got, []string{"brosser", "mhank", "milaivanovska"}) {
		t.Errorf("--ssh-remote-only: %v", got)
	}
}

// The same file read by the real `who`: the same users.
func TestSSHAgreesWithWho(t *testing.T) {
	env, _ := sshHost(t)
	utmp := filepath.Join(env.Roots.Var, "run", "utmp")
	out, err := exec.Command(testtool.Need(t, "who"), utmp).Output()
	if err != nil {
		t.Fatalf("who %s: %v", utmp, err)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		seen[strings.Fields(line)[0]] = true
	}
	var fromWho []string
	for u := range seen {
		fromWho = append(fromWho, u)
	}
	slices.Sort(fromWho)
	res, err := collecttest.Gather(context.Background(), SSH{Source: "utmp"}, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := sshUsers(t, res); !slices.Equal(got, fromWho) {
		t.Errorf("afmc %v, who %v", got, fromWho)
	}
}

func TestSSHUtmpEdgeCases(t *testing.T) {
	env, logs := sshHost(t)
	utmp := filepath.Join(env.Roots.Var, "run", "utmp")

	// A truncated last record is ignored with a warning; the rest count.
	f, err := os.OpenFile(utmp, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte{7, 0, 0, 0, 1, 2}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	res, err := collecttest.Gather(context.Background(), SSH{Source: "utmp"}, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := sshUsers(t, res); len(got) != 6 {
		t.Errorf("users %v, want the 6 of the whole records", got)
	}
	if !strings.Contains(logs.String(), "utmp ends in a partial record") {
		t.Errorf("no warning for the partial record: %s", logs)
	}

	// An empty utmp: no one, and users is [] in JSON, not null.
	if err := os.WriteFile(utmp, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err = collecttest.Gather(context.Background(), SSH{Source: "utmp"}, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(res.Docs[0]); !strings.Contains(string(b), `"ssh_user_count":0,"users":[]`) {
		t.Errorf("empty utmp: %s", b)
	}
}

func TestSSHSourceChoice(t *testing.T) {
	env, logs := sshHost(t)
	bin := func(name string) string {
		p, err := filepath.Abs(filepath.Join("..", "..", "testdata", "ssh", "bin", name))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if err := os.Remove(filepath.Join(env.Roots.Var, "run", "utmp")); err != nil {
		t.Fatal(err)
	}
	// Neither utmp nor logind.
	err := SSH{Source: "auto", Loginctl: bin("loginctl-256")}.Available(env)
	if err == nil || !strings.Contains(err.Error(), "no utmp at") || !strings.Contains(err.Error(), "systemd-logind is not running") {
		t.Errorf("Available: %v", err)
	}
	// logind runs: auto uses it, and says so.
	// The session files alone, without systemd as init: not logind.
	if err := os.MkdirAll(filepath.Join(env.Roots.Run, "systemd", "sessions"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := (SSH{Source: "auto", Loginctl: bin("loginctl-256")}).Available(env); err == nil || !strings.Contains(err.Error(), filepath.Join("systemd", "system")) {
		t.Errorf("Available without /run/systemd/system: %v", err)
	}
	if err := os.MkdirAll(filepath.Join(env.Roots.Run, "systemd", "system"), 0o755); err != nil {
		t.Fatal(err)
	}
	logins := []string{"brosser", "mhank", "milaivanovska", "rjacobse"}
	for _, tt := range []struct {
		loginctl   string
		remoteOnly bool
		want       []string
	}{
		{"loginctl-256", false, logins},
		{"loginctl-252", false, logins},
		{"loginctl-256", true, []string{"brosser", "mhank", "milaivanovska"}},
	} {
		s := SSH{Source: "auto", RemoteOnly: tt.remoteOnly, Loginctl: bin(tt.loginctl)}
		if err := s.Available(env); err != nil {
			t.Fatalf("%s: %v", tt.loginctl, err)
		}
		res, err := collecttest.Gather(context.Background(), s, env, nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.loginctl, err)
		}
		if got := sshUsers(t, res); !slices.Equal(got, tt.want) {
			t.Errorf("%s remote-only=%v: %v, want %v", tt.loginctl, tt.remoteOnly, got, tt.want)
		}
	}
	if !strings.Contains(logs.String(), "source=logind") {
		t.Errorf("the source is not logged: %s", logs)
	}
	// loginctl that cannot reach logind: the collector's error, with its words.
	_, err = collecttest.Gather(context.Background(), SSH{Source: "logind", Loginctl: bin("loginctl-broken")}, env, nil)
	if err == nil || !strings.Contains(err.Error(), "Failed to connect to bus") {
		t.Errorf("broken loginctl: %v", err)
	}
	// utmp named explicitly where there is none.
	if err := (SSH{Source: "utmp"}).Available(env); err == nil || !strings.Contains(err.Error(), "no utmp at") {
		t.Errorf("--ssh-source utmp without utmp: %v", err)
	}
}

func TestParseLoginctl(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    []string
		wantErr string
	}{
		{`[]`, nil, ""},
		{``, nil, ""},
		{`[{"session":"3","user":"a"},{"session":"c1","user":"gdm"}]`, []string{"3", "c1"}, ""},
		{"SESSION  UID USER\n3 1000 a\n", nil, "not the JSON list of sessions"},
		{`[{"session":"--help"}]`, nil, `bad session id "--help"`},
		{`[{"session":"3;rm"}]`, nil, "bad session id"},
	} {
		got, err := ParseLoginctlSessions([]byte(tt.in))
		checkErr(t, err, tt.wantErr)
		if err == nil && !slices.Equal(got, tt.want) {
			t.Errorf("%q: %v", tt.in, got)
		}
	}
	got := ParseShowSession([]byte("Id=3\nName=a\nClass=user\nTTY=pts/0\nId=4\nName=b\nClass=user\nRemote=yes\n\n\nbroken line\n"))
	if len(got) != 2 || got[0].User != "a" || !got[0].IsLogin() || !got[1].Remote || !got[1].IsLogin() {
		t.Errorf("%+v", got)
	}
}

// wtmpLog builds a wtmp file as a login node writes it, through the real
// utmpdump -r: each call appends records and rewrites the file in place
// (same inode, the old records untouched), as appends do.
type wtmpLog struct {
	t          *testing.T
	dump, path string
	lines      []string
}

func (w *wtmpLog) add(typ, pid, line, user, host, at string) {
	// Padded as utmpdump writes its dumps: its -r crashes on an empty field.
	w.lines = append(w.lines, fmt.Sprintf("[%s] [%05s] [id  ] [%-8s] [%-12s] [%-20s] [0.0.0.0        ] [%s,000000+00:00]", typ, pid, user, line, host, at))
	if err := os.WriteFile(w.dump, []byte(strings.Join(w.lines, "\n")+"\n"), 0o644); err != nil {
		w.t.Fatal(err)
	}
	tmp := w.path + ".new"
	fixture.Utmp(w.t, w.dump, tmp)
	b, err := os.ReadFile(tmp)
	if err != nil {
		w.t.Fatal(err)
	}
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_CREATE, 0o644) // no truncation: same inode
	if err != nil {
		w.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		w.t.Fatal(err)
	}
}

func (w *wtmpLog) login(user, line, at string) { w.add("7", "1000", line, user, "192.0.2.50", at) }
func (w *wtmpLog) logout(line, at string)      { w.add("8", "1000", line, "", "", at) }
func (w *wtmpLog) rotate(t *testing.T, keep bool) {
	if keep {
		if err := os.Rename(w.path, w.path+".1"); err != nil {
			t.Fatal(err)
		}
	} else if err := os.Remove(w.path); err != nil {
		t.Fatal(err)
	}
	w.lines = nil
	if err := os.WriteFile(w.path, nil, 0o664); err != nil {
		t.Fatal(err)
	}
}

// runs is a sequence of collections sharing their state as the runner
// does when every save succeeds.
type runs struct {
	t     *testing.T
	env   *collect.Env
	s     SSH
	state json.RawMessage
}

// next collects once at now and returns the users reported.
func (r *runs) next(now string) []string {
	r.t.Helper()
	at, err := time.Parse(time.DateTime, now)
	if err != nil {
		r.t.Fatal(err)
	}
	r.env.Now = func() time.Time { return at }
	res, err := collecttest.Gather(context.Background(), r.s, r.env, r.state)
	if err != nil {
		r.t.Fatalf("run at %s: %v", now, err)
	}
	if res.State == nil || !res.Docs[0].Delta {
		r.t.Fatalf("run at %s: with history the document must be a delta with its state", now)
	}
	r.state = res.State
	return sshUsers(r.t, res)
}

func TestSSHHistory(t *testing.T) {
	env, logs := sshHost(t)
	// Nobody logged in now: every user reported comes from wtmp.
	if err := os.WriteFile(filepath.Join(env.Roots.Var, "run", "utmp"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	w := &wtmpLog{t: t, dump: filepath.Join(t.TempDir(), "wtmp.txt"), path: filepath.Join(env.Roots.Var, "log", "wtmp")}
	r := &runs{t: t, env: env, s: SSH{Source: "utmp", History: true, HistorySince: 5 * time.Minute}}

	w.login("ancient", "pts/1", "2026-11-25T09:00:00")
	w.logout("pts/1", "2026-11-25T09:30:00")
	w.login("recent", "pts/2", "2026-11-25T11:57:00")
	w.logout("pts/2", "2026-11-25T11:58:00")
	// First run: looks back 5 minutes only.
	if got := r.next("2026-11-25 12:00:00"); !slices.Equal(got, []string{"recent"}) {
		t.Errorf("first run: %v", got)
	}
	// A short session between two runs is reported by the next run only.
	w.login("short", "pts/3", "2026-11-25T12:01:00")
	w.logout("pts/3", "2026-11-25T12:02:00")
	if got := r.next("2026-11-25 12:05:00"); !slices.Equal(got, []string{"short"}) {
		t.Errorf("second run: %v", got)
	}
	if got := r.next("2026-11-25 12:10:00"); len(got) != 0 {
		t.Errorf("third run reported again: %v", got)
	}
	// A late run (cron skipped two runs): nothing older than 5 minutes is
	// lost, as `last -s -5min` would lose it.
	w.login("early", "pts/4", "2026-11-25T12:11:00")
	w.logout("pts/4", "2026-11-25T12:12:00")
	w.login("late", "pts/5", "2026-11-25T12:22:00")
	w.logout("pts/5", "2026-11-25T12:23:00")
	if got := r.next("2026-11-25 12:25:00"); !slices.Equal(got, []string{"early", "late"}) {
		t.Errorf("late run: %v", got)
	}
	// A run whose state was not saved is followed by one that starts from
	// the same position: it reports the same sessions, and only those.
	saved := r.state
	w.login("again", "pts/6", "2026-11-25T12:26:00")
	first := r.next("2026-11-25 12:30:00")
	r.state = saved
	if second := r.next("2026-11-25 12:30:05"); !slices.Equal(first, second) || !slices.Equal(second, []string{"again"}) {
		t.Errorf("after a failed save: %v then %v", first, second)
	}

	// Rotated with the old file kept as wtmp.1: its unread tail counts.
	w.login("beforerot", "pts/7", "2026-11-25T12:31:00")
	w.rotate(t, true)
	w.login("afterrot", "pts/8", "2026-11-25T12:33:00")
	if got := r.next("2026-11-25 12:35:00"); !slices.Equal(got, []string{"afterrot", "beforerot"}) {
		t.Errorf("after rotation: %v", got)
	}
	if !strings.Contains(logs.String(), "wtmp was rotated") {
		t.Errorf("rotation not logged: %s", logs)
	}
	// Rotated with copytruncate: wtmp.1 is a copy (another inode) and
	// wtmp is cut to nothing; the copy's unread tail counts.
	w.login("beforecopy", "pts/2", "2026-11-25T12:35:30")
	old, err := os.ReadFile(w.path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.path+".1.new", old, 0o664); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(w.path+".1.new", w.path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(w.path, 0); err != nil {
		t.Fatal(err)
	}
	w.lines = nil
	w.login("aftercopy", "pts/3", "2026-11-25T12:37:00")
	if got := r.next("2026-11-25 12:38:00"); !slices.Equal(got, []string{"aftercopy", "beforecopy"}) {
		t.Errorf("after copytruncate: %v", got)
	}
	os.Remove(w.path + ".1")

	// Rotated and the old file gone: the new one is read from its start.
	w.login("lost", "pts/9", "2026-11-25T12:36:00")
	w.rotate(t, false)
	w.login("fresh", "pts/1", "2026-11-25T12:38:00")
	if got := r.next("2026-11-25 12:40:00"); !slices.Equal(got, []string{"fresh"}) {
		t.Errorf("after rotation without wtmp.1: %v", got)
	}

	// A record being written when the run reads is left for the next run.
	f, err := os.OpenFile(w.path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(make([]byte, 100))
	f.Close()
	if got := r.next("2026-11-25 12:45:00"); len(got) != 0 {
		t.Errorf("partial record: %v", got)
	}
	var st SSHState
	if err := json.Unmarshal(r.state, &st); err != nil || st.Wtmp.Offset%utmpRecordSize != 0 {
		t.Errorf("position %+v not at a record boundary (%v)", st.Wtmp, err)
	}
}

// An unreadable wtmp is the collector's error; the users logged in now
// still go out, as a snapshot, and the position does not move.
func TestSSHHistoryUnreadable(t *testing.T) {
	env, _ := sshHost(t)
	res, err := collecttest.Gather(context.Background(), SSH{Source: "utmp", History: true}, env, json.RawMessage(`{"wtmp":{"dev":1,"ino":2,"offset":384}}`))
	if err == nil || !strings.Contains(err.Error(), "login history") || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %v", err)
	}
	if res.State != nil || len(res.Docs) != 1 || res.Docs[0].Delta || len(sshUsers(t, res)) != 6 {
		t.Errorf("result %+v", res)
	}
}
