package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atlas-af/afmc/internal/fixture"
)

// sshFixture is hostFixture with a utmp made from testdata/ssh/utmp.txt,
// every session's process running (HOST_PROC/PID).
func sshFixture(t *testing.T) (string, map[string]string) {
	t.Helper()
	dir, env := hostFixture(t)
	run := filepath.Join(env["HOST_VAR"], "run")
	if err := os.MkdirAll(run, 0o755); err != nil {
		t.Fatal(err)
	}
	dump := filepath.Join("..", "..", "testdata", "ssh", "utmp.txt")
	fixture.Utmp(t, dump, filepath.Join(run, "utmp"))
	fixture.LiveSessions(t, dump, env["HOST_PROC"])
	return dir, env
}

func sshUsers(t *testing.T, d map[string]any) []string {
	t.Helper()
	var out []string
	for _, u := range d["users"].([]any) {
		out = append(out, u.(string))
	}
	if int(d["ssh_user_count"].(float64)) != len(out) {
		t.Errorf("ssh_user_count %v for %d users", d["ssh_user_count"], len(out))
	}
	return out
}

func TestSSHCommand(t *testing.T) {
	_, env := sshFixture(t)
	r := afmc(t, env, "collect", "ssh", "--json")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	want := `{"kind":"ssh","cluster":"TEST-AF","login_node":"login01.af.example.org","ssh_user_count":6,"users":["brosser","localx","mhank","milaivanovska","rjacobse","screenu"]}` + "\n"
	if r.stdout != want {
		t.Errorf("stdout\n%s\nwant\n%s", r.stdout, want)
	}
	r = afmc(t, env, "collect", "ssh", "--json", "--ssh-remote-only")
	if got := sshUsers(t, docs(t, r.stdout)[0]); !slices.Equal(got, []string{"brosser", "mhank", "milaivanovska"}) {
		t.Errorf("--ssh-remote-only: %v", got)
	}
	// The table shows the users too.
	r = afmc(t, env, "collect", "ssh")
	if r.code != 0 || !strings.Contains(r.stdout, "ssh_user_count=6") || !strings.Contains(r.stdout, "milaivanovska") {
		t.Errorf("table: %d %q", r.code, r.stdout)
	}
}

// From the command line: a utmp record whose process is gone (HOST_PROC/PID
// absent) is not counted, as who does not count it.
func TestSSHEndedSessionsCommand(t *testing.T) {
	_, env := sshFixture(t)
	// milaivanovska's sshd (pts/2) and rjacobse's console login (tty2) ended
	// without writing a DEAD_PROCESS record.
	for _, pid := range []string{"4455", "950"} {
		if err := os.Remove(filepath.Join(env["HOST_PROC"], pid)); err != nil {
			t.Fatal(err)
		}
	}
	r := afmc(t, env, "collect", "ssh", "--json")
	want := `{"kind":"ssh","cluster":"TEST-AF","login_node":"login01.af.example.org","ssh_user_count":4,"users":["brosser","localx","mhank","screenu"]}` + "\n"
	if r.code != 0 || r.stderr != "" || r.stdout != want {
		t.Errorf("exit %d, stderr %q, stdout\n%s\nwant\n%s", r.code, r.stderr, r.stdout, want)
	}
}

func TestSSHWithoutSource(t *testing.T) {
	_, env := hostFixture(t)
	r := afmc(t, env, "collect", "ssh", "--json")
	if r.code != exitFailed || !strings.Contains(r.stderr, "no source of login sessions") || r.stdout != "" {
		t.Errorf("named: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = afmc(t, env, "collect", "--all", "--json", "-v")
	if r.code != 0 || strings.Contains(r.stdout, `"ssh"`) || !strings.Contains(r.stderr, "collector=ssh") {
		t.Errorf("--all: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestUsersObfuscated(t *testing.T) {
	_, env := sshFixture(t)
	env["AFMC_SALT"] = "" // the vectors with no salt
	r := afmc(t, env, "collect", "ssh", "--json", "--obfuscate-users", "--obfuscate-hosts", "af.example.org")
	ds := docs(t, r.stdout)
	if r.code != 0 || len(ds) != 1 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	got := sshUsers(t, ds[0])
	if !slices.Contains(got, "733160e9") || !slices.Contains(got, "8a8b0ebe") || len(got) != 6 || slices.Contains(got, "brosser") {
		t.Errorf("users %v", got)
	}
	if ds[0]["login_node"] != "atlas01.af.example.org" {
		t.Errorf("login_node %v", ds[0]["login_node"])
	}

	// The salt comes from a file or AFMC_SALT, never argv.
	salt := filepath.Join(t.TempDir(), "salt")
	os.WriteFile(salt, []byte("5tKC%>f&%#hg\n"), 0o600)
	r = afmc(t, env, "collect", "ssh", "--json", "--obfuscate-users", "--salt-file", salt)
	if got := sshUsers(t, docs(t, r.stdout)[0]); !slices.Contains(got, "67833a37") {
		t.Errorf("salted: %v (%s)", got, r.stderr)
	}
	env["AFMC_SALT"] = "5tKC%>f&%#hg"
	r = afmc(t, env, "collect", "ssh", "--json", "--obfuscate-users")
	if got := sshUsers(t, docs(t, r.stdout)[0]); !slices.Contains(got, "67833a37") {
		t.Errorf("AFMC_SALT: %v", got)
	}
	if r := afmc(t, env, "collect", "ssh", "--salt", "x"); r.code != exitUsage {
		t.Errorf("--salt on the command line: exit %d", r.code)
	}
	r = afmc(t, env, "collect", "ssh", "--obfuscate-users", "--user-hash", "hmac-sha256", "--json")
	if got := sshUsers(t, docs(t, r.stdout)[0]); len(got) != 6 || len(got[0]) != 16 {
		t.Errorf("hmac: %v", got)
	}
	delete(env, "AFMC_SALT")
	if r := afmc(t, env, "collect", "ssh", "--obfuscate-users", "--user-hash", "hmac-sha256"); r.code != exitUsage || !strings.Contains(r.stderr, "needs a secret key") {
		t.Errorf("hmac without a key: exit %d, %q", r.code, r.stderr)
	}
}

func TestUsersGroupFilter(t *testing.T) {
	_, env := sshFixture(t)
	getent, err := filepath.Abs(filepath.Join("..", "..", "testdata", "ssh", "bin", "getent"))
	if err != nil {
		t.Fatal(err)
	}
	calls := filepath.Join(t.TempDir(), "calls")
	t.Setenv("GETENT_CALLS", calls)
	r := afmc(t, env, "collect", "ssh", "--json", "--group", "atlas", "--getent", getent)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	// brosser by primary group; mhank and rjacobse as members; screenu is
	// unknown to the name service.
	if got := sshUsers(t, docs(t, r.stdout)[0]); !slices.Equal(got, []string{"brosser", "mhank", "rjacobse"}) {
		t.Errorf("users %v", got)
	}
	b, _ := os.ReadFile(calls)
	if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) != 2 || lines[0] != "atlas" {
		t.Errorf("getent calls %q: want one for the group, one for every other user", lines)
	}
	r = afmc(t, env, "collect", "ssh", "--json", "--group", "nosuchgroup", "--getent", getent)
	if r.code != exitFailed || r.stdout != "" || !strings.Contains(r.stderr, `group \"nosuchgroup\" unknown to the name service`) {
		t.Errorf("unknown group: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// Runs that overlap while sessions come and go: the lock serialises them,
// and every short session is reported by exactly one run.
func TestSSHHistoryConcurrentRuns(t *testing.T) {
	dir, env := sshFixture(t)
	// Nobody logged in now: what is reported comes from wtmp alone.
	if err := os.WriteFile(filepath.Join(env["HOST_VAR"], "run", "utmp"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	const sessions = 120
	var dump strings.Builder
	now := time.Now().UTC()
	for i := range sessions {
		at := now.Add(time.Duration(i) * time.Millisecond).Format("2006-01-02T15:04:05")
		fmt.Fprintf(&dump, "[7] [%05d] [id  ] [%-8s] [pts/%-8d] [%-20s] [0.0.0.0        ] [%s,000000+00:00]\n", 1000+i, fmt.Sprintf("u%03d", i), i, "192.0.2.50", at)
	}
	dumpPath := filepath.Join(dir, "wtmp.txt")
	os.WriteFile(dumpPath, []byte(dump.String()), 0o644)
	all := filepath.Join(dir, "wtmp.all")
	fixture.Utmp(t, dumpPath, all)
	records, err := os.ReadFile(all)
	if err != nil || len(records) != sessions*384 {
		t.Fatalf("wtmp of %d bytes: %v", len(records), err)
	}
	wtmp := filepath.Join(env["HOST_VAR"], "log", "wtmp")
	os.MkdirAll(filepath.Dir(wtmp), 0o755)
	f, err := os.OpenFile(wtmp, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	var mu sync.Mutex
	reported := map[string]int{}
	collectOnce := func() {
		r := runBin(t, env, "collect", "ssh", "--ssh-history", "--json")
		if r.code != 0 {
			t.Errorf("exit %d: %s", r.code, r.stderr)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, d := range docs(t, r.stdout) {
			for _, u := range sshUsers(t, d) {
				reported[u]++
			}
		}
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
					collectOnce()
				}
			}
		})
	}
	// Sessions are written one record at a time while the runs go on.
	for i := range sessions {
		if _, err := f.Write(records[i*384 : (i+1)*384]); err != nil {
			t.Fatal(err)
		}
		if i%10 == 9 {
			collectOnce()
		}
	}
	close(done)
	wg.Wait()
	collectOnce() // after the last write
	for i := range sessions {
		if u := fmt.Sprintf("u%03d", i); reported[u] != 1 {
			t.Errorf("%s reported %d times, want once", u, reported[u])
		}
	}
}
