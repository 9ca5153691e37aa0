package login

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/atlas-af/afmc/collect"
	"github.com/atlas-af/afmc/collect/collecttest"
	"github.com/atlas-af/afmc/internal/fixture"
	"github.com/atlas-af/afmc/internal/testtool"
)

// A utmp record whose process is gone (a crashed sshd, a killed terminal)
// is not a login, as `who` counts: the fixture's proc tree says which
// processes run.
func TestSSHSkipsEndedSessions(t *testing.T) {
	all := []string{"brosser", "localx", "mhank", "milaivanovska", "rjacobse", "screenu"}
	for _, tt := range []struct {
		name string
		gone []int // PIDs of testdata/ssh/utmp.txt whose proc/PID is removed
		want []string
	}{
		{"every process runs", nil, all},
		{"brosser's pts/0 ended, his tmux pane runs", []int{4242}, all},
		{"both of brosser's sessions ended", []int{4242, 25724}, []string{"localx", "mhank", "milaivanovska", "rjacobse", "screenu"}},
		{"mhank's mosh and the console ended", []int{4310, 950}, []string{"brosser", "localx", "milaivanovska", "screenu"}},
		{"every session ended", []int{4242, 4310, 4455, 25724, 950, 1101, 5120}, []string{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env, logs := sshHost(t)
			for _, pid := range tt.gone {
				if err := os.Remove(env.Roots.ProcPath(strconv.Itoa(pid))); err != nil {
					t.Fatal(err)
				}
			}
			res, err := collecttest.Gather(context.Background(), SSH{Source: "utmp"}, env, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := sshUsers(t, res); !slices.Equal(got, tt.want) {
				t.Errorf("users %v, want %v", got, tt.want)
			}
			for _, pid := range tt.gone {
				if !strings.Contains(logs.String(), "no longer runs ignored") || !strings.Contains(logs.String(), fmt.Sprintf("pid=%d", pid)) {
					t.Errorf("no debug log for PID %d:\n%s", pid, logs)
				}
			}
		})
	}

	// A proc root that shows no PID 1 (mounted with hidepid, or no proc at
	// all) cannot tell an ended session: every record counts, and -v says why.
	env, logs := sshHost(t)
	if err := os.RemoveAll(env.Roots.Proc); err != nil {
		t.Fatal(err)
	}
	res, err := collecttest.Gather(context.Background(), SSH{Source: "utmp"}, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := sshUsers(t, res); !slices.Equal(got, all) || !strings.Contains(logs.String(), "cannot see processes in the proc root") {
		t.Errorf("no proc: users %v\n%s", got, logs)
	}

	// wtmp is history: its sessions ended by definition, and their PIDs
	// (1000 here, which no proc/ of the fixture holds) are never checked.
	env, _ = sshHost(t)
	if err := os.WriteFile(filepath.Join(env.Roots.Var, "run", "utmp"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	w := &wtmpLog{t: t, dump: filepath.Join(t.TempDir(), "wtmp.txt"), path: filepath.Join(env.Roots.Var, "log", "wtmp")}
	w.login("shortlived", "pts/3", "2026-11-25T11:58:00")
	w.logout("pts/3", "2026-11-25T11:59:00")
	res, err = collecttest.Gather(context.Background(), SSH{Source: "utmp", History: true, HistorySince: 5 * time.Minute}, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := sshUsers(t, res); !slices.Equal(got, []string{"shortlived"}) {
		t.Errorf("history: %v", got)
	}
}

// liveAndDeadUtmp writes a utmp, with the real utmpdump -r, whose
// sessions belong to processes this test keeps running (sleep) and to
// processes it started and reaped, and returns its path, what who needs to
// read it as the system's, and the users whose sessions all ended.
func liveAndDeadUtmp(t *testing.T, dir string) (utmp string, dead []string) {
	t.Helper()
	live := func() int {
		cmd := exec.Command("sleep", "600")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd.Process.Pid
	}
	gone := func() int {
		cmd := exec.Command("true")
		if err := cmd.Run(); err != nil { // started, ended and reaped
			t.Fatal(err)
		}
		return cmd.Process.Pid
	}
	l1, l2, l3 := live(), live(), live()
	d1, d2, d3 := gone(), gone(), gone()
	records := []struct {
		typ, pid         int
		user, line, host string
	}{
		{2, 0, "reboot", "~", "6.1.0-28-amd64"},
		{6, d1, "LOGIN", "tty1", ""},
		{7, l1, "alice", "pts/0", "192.0.2.7"},
		{7, d1, "bob", "pts/1", "192.0.2.8"}, // sshd crashed
		{7, l2, "carol", "pts/2", "198.51.100.23"},
		{7, d2, "dave", "pts/3", ":0"}, // terminal killed
		{7, d3, "erin", "pts/4", "192.0.2.9"},
		{7, l3, "erin", "pts/5", "192.0.2.9"}, // one of erin's two runs
		{7, 0, "frank", "tty2", ""},           // no PID: not checked, by who either
		{8, d2, "", "pts/6", ""},
	}
	var b strings.Builder
	for i, r := range records {
		fmt.Fprintf(&b, "[%d] [%05d] [id%02d] [%-8s] [%-12s] [%-20s] [0.0.0.0        ] [2026-11-25T09:%02d:00,000000+00:00]\n",
			r.typ, r.pid, i, r.user, r.line, r.host, i)
	}
	dump := filepath.Join(dir, "utmp.txt")
	if err := os.WriteFile(dump, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	utmp = filepath.Join(dir, "var", "run", "utmp")
	if err := os.MkdirAll(filepath.Dir(utmp), 0o755); err != nil {
		t.Fatal(err)
	}
	fixture.Utmp(t, dump, utmp)
	for _, pid := range []int{d1, d2, d3} {
		if !pidGone(pid) {
			t.Skipf("PID %d was taken again before the test could use it", pid)
		}
	}
	return utmp, []string{"bob", "dave"}
}

// pidGone is coreutils's own test of a utmp record (gnulib's read_utmp
// with READ_UTMP_CHECK_PIDS): kill(pid, 0) fails with ESRCH.
func pidGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func uniqueSorted(users []string) []string {
	out := slices.Clone(users)
	slices.Sort(out)
	return slices.Compact(out)
}

// afmc on the real /proc, reading a utmp of live and ended sessions,
// counts the users the real `who` shows for the system's utmp.
//
// `who` checks PIDs only when it reads the system's utmp (no file
// argument); `who FILE` shows every record. So two comparisons:
//   - always: `who -u FILE` (every USER_PROCESS record, with its PID),
//     less the records whose PID kill(pid, 0) says is gone, which is the
//     test coreutils applies to the system's file;
//   - where the machine allows a mount namespace (unshare -rm): the real
//     `who`, without a file, in a namespace where /var/run/utmp is this
//     file, so that coreutils's own PID check runs.
func TestSSHAgreesWithWhoOnEndedSessions(t *testing.T) {
	for _, tool := range []string{"who", "utmpdump", "sleep"} {
		testtool.Need(t, tool)
	}
	dir := t.TempDir()
	utmp, dead := liveAndDeadUtmp(t, dir)
	env, _ := sshHost(t)
	env.Roots = collect.Roots{Proc: "/proc", Var: filepath.Join(dir, "var"), Run: filepath.Join(dir, "run")}
	res, err := collecttest.Gather(context.Background(), SSH{Source: "utmp"}, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := sshUsers(t, res)
	for _, u := range dead {
		if slices.Contains(got, u) {
			t.Errorf("afmc counts %s, whose only session's process is gone: %v", u, got)
		}
	}

	t.Run("who FILE less ended PIDs", func(t *testing.T) {
		cmd := exec.Command("who", "-u", utmp)
		cmd.Env = []string{"LC_ALL=C", "TZ=UTC"}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("who -u %s: %v", utmp, err)
		}
		var all, alive []string
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			// alice    pts/0        Nov 25 09:02   ?    12345 (192.0.2.7)
			// The PID is the last field but the host's comment.
			f := strings.Fields(line)
			if len(f) > 0 && strings.HasPrefix(f[len(f)-1], "(") {
				f = f[:len(f)-1]
			}
			if len(f) < 5 {
				t.Fatalf("who -u line %q", line)
			}
			pid, err := strconv.Atoi(f[len(f)-1])
			if err != nil {
				t.Fatalf("who -u line %q: PID %q", line, f[len(f)-1])
			}
			all = append(all, f[0])
			if pid <= 0 || !pidGone(pid) {
				alive = append(alive, f[0])
			}
		}
		if len(uniqueSorted(all)) != 6 {
			t.Fatalf("who %s shows %v: want the 6 users of the file", utmp, all)
		}
		if want := uniqueSorted(alive); !slices.Equal(got, want) {
			t.Errorf("afmc %v, who less ended PIDs %v", got, want)
		}
		t.Logf("who FILE: %v; less ended PIDs: %v; afmc: %v", uniqueSorted(all), uniqueSorted(alive), got)
	})

	t.Run("who in a mount namespace", func(t *testing.T) {
		for _, tool := range []string{"unshare", "mount", "cp", "sh"} {
			testtool.Need(t, tool)
		}
		// glibc's _PATH_UTMP, which coreutils's who reads without a file.
		run, err := filepath.EvalSymlinks("/var/run")
		if err != nil {
			testtool.Unavailable(t, "no /var/run: %v", err)
		}
		cmd := exec.Command("unshare", "-rm", "sh", "-c", `mount -t tmpfs afmc-test "$1" && cp "$2" "$1/utmp" && exec who`, "sh", run, utmp)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C", "TZ=UTC"}
		out, err := cmd.CombinedOutput()
		if err != nil {
			testtool.Unavailable(t, "no mount namespace here (unshare -rm: %v): %s", err, out)
		}
		var fromWho []string
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if f := strings.Fields(line); len(f) > 0 {
				fromWho = append(fromWho, f[0])
			}
		}
		fromWho = uniqueSorted(fromWho)
		if !slices.Contains(fromWho, "frank") {
			// A who that asks systemd-logind (coreutils built with
			// --enable-systemd) does not read utmp at all.
			t.Skipf("who did not read /var/run/utmp: %q", out)
		}
		for _, u := range dead {
			if slices.Contains(fromWho, u) {
				t.Fatalf("who lists %s, whose process is gone: this who checks no PIDs (%v)", u, fromWho)
			}
		}
		if !slices.Equal(got, fromWho) {
			t.Errorf("afmc %v, who %v", got, fromWho)
		}
		t.Logf("who: %v; afmc: %v", fromWho, got)
	})
}
