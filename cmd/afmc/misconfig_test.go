package main

import (
	"bufio"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/atlas-af/afmc/runner"
	"github.com/atlas-af/afmc/state"
	"github.com/atlas-af/afmc/users"

	"github.com/atlas-af/afmc/internal/testtool"
)

// A misconfigured site is told, never silently ignored: these tests run
// the command line against endpoints and state dirs set up wrong.

// 1, 5, 4, 3: what needs a person before what heals by itself.
func TestExitStatusOrder(t *testing.T) {
	locked := fmt.Errorf("%w (afmc.lock) after waiting 30s", state.ErrLockTimeout)
	broken := errors.New("saving state: disk full")
	for _, tt := range []struct {
		rep  runner.Report
		want int
	}{
		{runner.Report{}, exitOK},
		{runner.Report{Spooled: 3}, exitUndelivered},
		{runner.Report{Rejected: 1}, exitUndelivered},
		{runner.Report{StateErr: locked}, exitLocked},
		{runner.Report{StateErr: locked, Spooled: 3}, exitLocked},
		{runner.Report{ConfigError: "redirected", Spooled: 3}, exitNeedsPerson},
		{runner.Report{ConfigError: "redirected", StateErr: locked, Spooled: 3}, exitNeedsPerson},
		{runner.Report{ConfigError: "redirected", StateErr: broken}, exitFailed},
		{runner.Report{ConfigError: "redirected", FailedCollector: []error{broken}}, exitFailed},
		{runner.Report{StateErr: broken, Spooled: 1}, exitFailed},
	} {
		if got := exitStatus(tt.rep); got != tt.want {
			t.Errorf("%+v: exit %d, want %d", tt.rep, got, tt.want)
		}
	}
}

// Each answer that needs a person stops sending, keeps every document in
// the spool, says what to change and exits 5; once --url is right, the
// next run delivers them all.
func TestPostNeedsPerson(t *testing.T) {
	for _, tt := range []struct {
		name   string
		answer func(s *sink) func(http.ResponseWriter, *http.Request) bool
		want   []string // in stderr, beside the sink's URL
	}{
		{"HTML page", func(*sink) func(http.ResponseWriter, *http.Request) bool {
			return func(w http.ResponseWriter, _ *http.Request) bool {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				io.WriteString(w, "<html><head><title>Site Login</title></head><body>Please sign in</body></html>")
				return true
			}
		}, []string{"an HTML page (title Site Login) answered at", "not Logstash", "--url"}},
		{"redirect", func(s *sink) func(http.ResponseWriter, *http.Request) bool {
			return func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path == "/logstash/" {
					return false
				}
				http.Redirect(w, r, s.srv.URL+"/logstash/", http.StatusMovedPermanently)
				return true
			}
		}, []string{"redirected to " + "SINK/logstash/ (HTTP 301): set --url to it"}},
		{"401", status(401), []string{"refused the token (HTTP 401)"}},
		{"404", status(404), []string{"has no input there (HTTP 404): check --url"}},
		{"501", status(501), []string{"does not take such a request (HTTP 501)"}},
		{"505", status(505), []string{"does not take such a request (HTTP 505)"}},
		{"every document refused", status(400), []string{"refused every document it was sent (2): check --url"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newSink(t)
			_, env := postEnv(t, s)
			f := tt.answer(s)
			s.answer.Store(&f)
			r := afmc(t, env, "collect", "cpu", "mem", "--post", "--timeout", "5s")
			noSecrets(t, r)
			if r.code != exitNeedsPerson {
				t.Fatalf("exit %d, want %d: %s", r.code, exitNeedsPerson, r.stderr)
			}
			for _, w := range append(tt.want, s.srv.URL) {
				if !strings.Contains(r.stderr, strings.ReplaceAll(w, "SINK", s.srv.URL)) {
					t.Errorf("stderr does not say %q:\n%s", w, r.stderr)
				}
			}
			if !strings.Contains(r.stderr, "documents kept in the spool for the next run") {
				t.Errorf("stderr does not say the documents are kept:\n%s", r.stderr)
			}
			if n := len(s.received()); n != 0 {
				t.Fatalf("the sink accepted %d documents", n)
			}
			// Fixed: the next run sends what was kept, and its own.
			s.answer.Store(nil)
			r = afmc(t, env, "collect", "cpu", "--post")
			if r.code != exitOK || len(s.received()) != 3 {
				t.Errorf("after the fix: exit %d, %d documents delivered, want 3: %s", r.code, len(s.received()), r.stderr)
			}
		})
	}
}

func status(code int) func(*sink) func(http.ResponseWriter, *http.Request) bool {
	return func(*sink) func(http.ResponseWriter, *http.Request) bool {
		return func(w http.ResponseWriter, _ *http.Request) bool {
			http.Error(w, "no", code)
			return true
		}
	}
}

// localAddress is an address of this host that is not a loopback one: a
// plain http URL to it is "another host" to afmc, and what is sent there
// never leaves the machine.
func localAddress(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.String()
		}
	}
	testtool.Unavailable(t, "this host has no address but loopback ones")
	return ""
}

// --post to plain http on another host is refused, before anything is
// collected, unless --insecure-http; check agrees with collect.
func TestPlainHTTPNeedsInsecureHTTP(t *testing.T) {
	_, env := hostFixture(t)
	env["AFMC_TOKEN"] = testToken
	// Refused before any connection: .invalid names nothing.
	r := afmc(t, env, "collect", "cpu", "--post", "--url", "http://ingest.example.invalid/")
	if r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, "is plain http to another host: the token would cross the network unencrypted") || !strings.Contains(r.stderr, "--insecure-http") {
		t.Errorf("plain http: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(env["AFMC_STATE_DIR"]); !os.IsNotExist(err) {
		t.Errorf("a refused run touched the state dir: %v", err)
	}
	r = afmc(t, env, "check", "cpu", "--url", "http://ingest.example.invalid/")
	rows := rowsOf(t, r.stdout)
	wantRow(t, rows, "endpoint url", "FAIL --url http://ingest.example.invalid/ is plain http to another host")
	if _, probed := rows["endpoint name"]; probed || r.code != exitFailed {
		t.Errorf("check probed an endpoint collect refuses, or passed: exit %d\n%s", r.code, r.stdout)
	}

	// Meant: --insecure-http (or insecure_http in the file). The endpoint
	// is this host, on an address that is not a loopback one.
	ip := localAddress(t)
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []string
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, string(b))
		mu.Unlock()
		io.WriteString(w, "ok")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	u := "http://" + ln.Addr().String() + "/"
	r = afmc(t, env, "collect", "cpu", "--post", "--insecure-http", "--url", u)
	mu.Lock()
	n := len(got)
	mu.Unlock()
	if r.code != exitOK || n != 1 || r.stderr != "" {
		t.Errorf("--insecure-http: exit %d, %d documents, stderr %q", r.code, n, r.stderr)
	}
	r = afmc(t, env, "check", "cpu", "--insecure-http", "--url", u)
	rows = rowsOf(t, r.stdout)
	wantRow(t, rows, "endpoint url", "OK plain http, allowed by --insecure-http: the token crosses the network unencrypted")
	wantRow(t, rows, "endpoint tcp", "OK connected to "+ip)
	if _, ok := rows["endpoint tls"]; ok || r.code != exitOK {
		t.Errorf("check with --insecure-http: exit %d\n%s", r.code, r.stdout)
	}
	// This host by name or loopback address needs no flag.
	for _, host := range []string{"localhost", "127.0.0.1", "[::1]"} {
		cfgOK, msg := (&Settings{URL: "http://" + host + ":8080/"}).plainHTTP()
		if msg != "" || !strings.Contains(cfgOK, "this host") {
			t.Errorf("%s: %q %q", host, cfgOK, msg)
		}
	}
}

// openPTY opens a pseudo-terminal: a run's stderr at the slave end is a
// person's terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("no pseudo-terminal: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening the terminal: %v", err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// A dead endpoint, at a terminal: a line at the default level says the
// run retries until --timeout, rather than two silent minutes. Under cron
// (no terminal) the run's one warning stays one.
func TestDeadEndpointAtTerminal(t *testing.T) {
	// An endpoint that accepts connections and never answers: the first
	// request outlasts the notice's few seconds.
	deadEnv := func(t *testing.T) map[string]string {
		s := newSink(t)
		_, env := postEnv(t, s)
		s.mode.Store(sinkHang)
		return env
	}
	args := []string{"collect", "cpu", "--post", "--timeout", "6s", "--request-timeout", "5s"}
	const notice = "the endpoint is not taking documents; retrying until the run's deadline (--timeout)"
	t.Run("terminal", func(t *testing.T) {
		t.Parallel()
		env := deadEnv(t)
		master, slave := openPTY(t)
		cmd := exec.Command(afmcBin, args...)
		cmd.Env = envList(env)
		cmd.Stderr = slave
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		slave.Close()
		var lines []string
		done := make(chan struct{})
		go func() {
			defer close(done)
			sc := bufio.NewScanner(master)
			for sc.Scan() { // ends with EIO once the run has exited
				lines = append(lines, strings.TrimRight(sc.Text(), "\r"))
			}
		}()
		err := cmd.Wait()
		<-done
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitUndelivered {
			t.Errorf("exit %v, want %d", err, exitUndelivered)
		}
		n, at, kept := 0, -1, -1
		for i, l := range lines {
			if strings.Contains(l, notice) {
				n, at = n+1, i
				if !strings.Contains(l, "level=WARN") || !strings.Contains(l, "last_failure=") || !strings.Contains(l, "until=") {
					t.Errorf("the notice does not say why and until when: %s", l)
				}
			}
			if strings.Contains(l, "documents kept in the spool for the next run") {
				kept = i
			}
		}
		if n != 1 || at > kept {
			t.Errorf("%d notices (want one, before the summary):\n%s", n, strings.Join(lines, "\n"))
		}
		noSecrets(t, result{stderr: strings.Join(lines, "\n")})
	})
	t.Run("cron", func(t *testing.T) {
		t.Parallel()
		r := runBin(t, deadEnv(t), args...)
		if r.code != exitUndelivered || strings.Contains(r.stderr, notice) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("no terminal: exit %d, want one line:\n%s", r.code, r.stderr)
		}
	})
}

// The env file means what systemd's EnvironmentFile= makes of it: a salt
// with a $, quotes and blanks hashes as the same salt in a salt file.
func TestEnvFileSalt(t *testing.T) {
	dir, env := sshFixture(t)
	for _, tt := range []struct{ line, salt string }{
		{`AFMC_SALT=5tKC%>f&%#hg $HOME "q"   `, `5tKC%>f&%#hg $HOME "q"`},
		{`AFMC_SALT= 'a b  '"$c \"d\""`, `a b  $c "d"`},
		{"AFMC_SALT=x\\\ny", "xy"},
	} {
		envFile := filepath.Join(dir, "afmc.env")
		if err := os.WriteFile(envFile, []byte("# the salt\n"+tt.line+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		r := afmc(t, env, "--env-file", envFile, "collect", "ssh", "--json", "--obfuscate-users")
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("%q: exit %d, stderr %q", tt.line, r.code, r.stderr)
		}
		got := sshUsers(t, docs(t, r.stdout)[0])
		want := map[string]bool{}
		for _, u := range []string{"brosser", "localx", "mhank", "milaivanovska", "rjacobse", "screenu"} {
			want[users.SaltedSHA256(tt.salt, u)] = true
		}
		for _, h := range got {
			if !want[h] {
				t.Errorf("%q: hash %s is not of the salt %q", tt.line, h, tt.salt)
			}
		}
		// The same salt from a salt file: the same hashes.
		saltFile := filepath.Join(dir, "salt")
		os.WriteFile(saltFile, []byte(tt.salt+"\n"), 0o600)
		if r2 := afmc(t, env, "collect", "ssh", "--json", "--obfuscate-users", "--salt-file", saltFile); r2.stdout != r.stdout {
			t.Errorf("%q: the env file's salt and the salt file's differ:\n%s%s", tt.line, r.stdout, r2.stdout)
		}
		if strings.Contains(r.stdout+r.stderr, tt.salt) {
			t.Errorf("the salt was printed")
		}
	}
	// Named and missing, or not a file: a usage error naming it.
	for _, bad := range []string{filepath.Join(dir, "none.env"), dir} {
		if r := afmc(t, env, "--env-file", bad, "collect", "cpu"); r.code != exitUsage || !strings.Contains(r.stderr, "--env-file") || !strings.Contains(r.stderr, bad) {
			t.Errorf("--env-file %s: exit %d, stderr %q", bad, r.code, r.stderr)
		}
	}
	// A misspelt setting is named, never silently unused.
	os.WriteFile(filepath.Join(dir, "typo.env"), []byte("AFMC_SLAT=x\n"), 0o600)
	r := afmc(t, env, "--env-file", filepath.Join(dir, "typo.env"), "collect", "cpu", "--json")
	if r.code != 0 || !strings.Contains(r.stderr, "line 1: AFMC_SLAT is no afmc setting") {
		t.Errorf("a misspelt variable: exit %d, stderr %q", r.code, r.stderr)
	}
}

// Variables of the env file that are not afmc's reach the programs afmc
// runs, as under systemd: kubectl finds its KUBECONFIG there.
func TestEnvFileReachesPrograms(t *testing.T) {
	env := jupyterKubectlEnv(t)
	api := newE2EKubeAPI(t, "tok")
	envFile := filepath.Join(t.TempDir(), "afmc.env")
	content := "KUBECONFIG=" + api.Kubeconfig(t, "tok") + "\nKUBECACHEDIR=" + t.TempDir() + "\n"
	if err := os.WriteFile(envFile, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	env["HOME"] = t.TempDir() // no ~/.kube/config
	r := runBin(t, env, "--env-file", envFile, "collect", "jupyter", "--json")
	// The default hubs: both namespaces are on the fake API.
	if r.code != 0 || r.stdout != e2eML+"\n"+e2eCoffea+"\n" {
		t.Errorf("KUBECONFIG from the env file: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// afmc --version is afmc version.
func TestVersionFlag(t *testing.T) {
	_, env := hostFixture(t)
	want := afmc(t, env, "version")
	for _, args := range [][]string{{"--version"}, {"collect", "--version"}} {
		if r := afmc(t, env, args...); r.code != 0 || r.stdout != want.stdout || !strings.HasPrefix(r.stdout, "afmc ") {
			t.Errorf("%v: exit %d, %q, want %q", args, r.code, r.stdout, want.stdout)
		}
	}
	env["AFMC_VERSION"] = "1" // not a setting: no effect
	if r := afmc(t, env, "collect", "cpu", "--json"); r.code != 0 || !strings.Contains(r.stdout, `"kind":"CPU"`) {
		t.Errorf("AFMC_VERSION set: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
}

// A table without rows (the first NETWORK run) names the cluster and
// login node the settings give.
func TestTableTitleWithoutRows(t *testing.T) {
	_, env := hostFixture(t)
	r := afmc(t, env, "collect", "network")
	if r.code != 0 || !strings.Contains(r.stdout, "(cluster TEST-AF, login node login01.af.example.org)") || strings.Contains(r.stdout, "unset") {
		t.Errorf("exit %d, stdout %q", r.code, r.stdout)
	}
	delete(env, "AFMC_CLUSTER")
	if r := afmc(t, env, "collect", "network"); !strings.Contains(r.stdout, "(cluster unset, login node login01.af.example.org)") {
		t.Errorf("no cluster: %q", r.stdout)
	}
}

// --all skips a collector whose source is not on the host with an info
// line; one whose source was there at the previous run is a warning, once.
func TestAllWarnsOfVanishedCollector(t *testing.T) {
	_, env := hostFixture(t)
	env["AFMC_CONDOR_BIN_DIR"] = condorScenario(t, map[string]string{
		"jobs.out": condorFile(t, "q-jobs.json"), "totals.out": condorFile(t, "q-totals.json"), "history.out": "[\n]\n"})
	r := afmc(t, env, "collect", "--all", "--json")
	if r.code != 0 || r.stderr != "" || !strings.Contains(r.stdout, `"kind":"condorjob"`) {
		t.Fatalf("with condor: exit %d, stderr %q", r.code, r.stderr)
	}
	env["AFMC_CONDOR_BIN_DIR"] = t.TempDir() // condor's tools gone
	const warning = `level=WARN msg="collector skipped: its source is gone since the previous run, which sent its documents" collector=condor`
	r = afmc(t, env, "collect", "--all", "--json")
	if r.code != 0 || strings.Count(r.stderr, warning) != 1 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("condor gone: exit %d, want one warning, stderr %q", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "condor_q not found") {
		t.Errorf("the warning does not say why: %q", r.stderr)
	}
	// A dry run reads the record and changes it not.
	if r := afmc(t, env, "collect", "--all", "--json", "--dry-run"); strings.Count(r.stderr, warning) != 0 {
		t.Errorf("dry run after the warning: %q", r.stderr)
	}
	r = afmc(t, env, "collect", "--all", "--json")
	if r.code != 0 || r.stderr != "" {
		t.Errorf("the next run: exit %d, stderr %q (said once)", r.code, r.stderr)
	}
}

// --obfuscate-users without a salt warns: unsalted 8-hex hashes of a
// directory's names are a lookup table away.
func TestObfuscateWithoutSaltWarns(t *testing.T) {
	_, env := hostFixture(t)
	r := afmc(t, env, "collect", "cpu", "--json", "--obfuscate-users")
	if r.code != 0 || !strings.Contains(r.stderr, "level=WARN") || !strings.Contains(r.stderr, "--obfuscate-users without a salt") || !strings.Contains(r.stderr, "--salt-file or AFMC_SALT") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	env["AFMC_SALT"] = "pepper"
	if r := afmc(t, env, "collect", "cpu", "--json", "--obfuscate-users"); r.stderr != "" {
		t.Errorf("with a salt: %q", r.stderr)
	}
}

// What check says of what --post will need, the env file, the users step
// and a collector that reports from its second run, without a FAIL for
// what only --post needs.
func TestCheckTellsWhatToDo(t *testing.T) {
	s := newTLSSink(t)
	dir, env := postEnv(t, s)
	delete(env, "AFMC_TOKEN")
	ca := filepath.Join(dir, "site-ca.pem")
	os.WriteFile(ca, pemOf(s), 0o644)
	envFile := filepath.Join(dir, "afmc.env")
	os.WriteFile(envFile, []byte("AFMC_SALT=not shown\nAFMC_CA_FILE="+ca+"\n"), 0o600)
	r := afmc(t, env, "--env-file", envFile, "check", "cpu", "network", "--obfuscate-users")
	rows := rowsOf(t, r.stdout)
	wantRow(t, rows, "token", "SKIP none set: --post will need one, from --token-file FILE (token_file) or AFMC_TOKEN")
	wantRow(t, rows, "env file", "OK "+envFile+": 2 variables (AFMC_CA_FILE, AFMC_SALT)")
	wantRow(t, rows, "collector network", "OK 0 documents; NETWORK documents come from the second run")
	wantRow(t, rows, "endpoint tls", "OK TLS")
	if _, ok := rows["users step"]; ok || r.code != exitOK {
		t.Errorf("exit %d (want 0: nothing is wrong for a node that only prints)\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, "not shown") {
		t.Error("check showed the salt")
	}
	// No salt: a warning, not a failure; a misspelt variable is named.
	os.WriteFile(envFile, []byte("AFMC_SLAT=x\n"), 0o600)
	r = afmc(t, env, "--env-file", envFile, "check", "cpu", "--obfuscate-users", "--ca-file", ca)
	rows = rowsOf(t, r.stdout)
	wantRow(t, rows, "users step", "WARN --obfuscate-users without a salt")
	wantRow(t, rows, "env file", "WARN "+envFile+": 1 variable (AFMC_SLAT); line 1: AFMC_SLAT is no afmc setting")
	if r.code != exitOK || r.stderr != "" {
		t.Errorf("warnings only: exit %d, stderr %q", r.code, r.stderr)
	}
}

// Root on a packaged node meets the service's state dir, owned by the
// service's user: --dry-run reads it and shows the intervals since the
// service's last run, changing nothing; a real run names it as the
// service's and says to use --dry-run or another --state-dir; check says
// how to check as the service.
func TestServiceStateDirAsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		testtool.Unavailable(t, "needs root, who meets the service's state dir")
	}
	dir, env := hostFixture(t)
	if r := afmc(t, env, "collect", "network", "disk", "--json"); r.code != 0 {
		t.Fatalf("the service's baseline: %d %s", r.code, r.stderr)
	}
	stateDir := env["AFMC_STATE_DIR"]
	const nobody = 65534 // the service's user
	filepath.Walk(stateDir, func(p string, _ os.FileInfo, _ error) error { return os.Lchown(p, nobody, nobody) })
	writeHostFile(t, dir, "proc/uptime", "86700.25 0\n")
	grow(t, dir)
	owners := func() string {
		var b strings.Builder
		filepath.Walk(stateDir, func(p string, fi os.FileInfo, _ error) error {
			fmt.Fprintf(&b, "%s %d\n", p, fi.Sys().(*syscall.Stat_t).Uid)
			return nil
		})
		return b.String()
	}
	before, beforeOwners := snapshotDir(t, stateDir), owners()

	r := afmc(t, env, "collect", "network", "--json", "--dry-run")
	if r.code != 0 || kinds(docs(t, r.stdout)) != "NETWORK" || r.stderr != "" {
		t.Errorf("root's dry run: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = afmc(t, env, "collect", "network", "--json")
	if r.code != exitFailed || r.stdout != "" {
		t.Errorf("root's run: exit %d, stdout %q", r.code, r.stdout)
	}
	for _, want := range []string{stateDir, "uid 65534", "the state of the afmc service", "--dry-run", "another --state-dir"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("root's run does not say %q: %s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "chown") || strings.Contains(r.stderr, "chmod") {
		t.Errorf("the hint would take the service's dir over: %s", r.stderr)
	}
	env["AFMC_TOKEN"] = testToken
	rows := rowsOf(t, afmc(t, env, "check", "cpu").stdout)
	wantRow(t, rows, "state dir", "SKIP "+stateDir+": the afmc service's")
	if !strings.Contains(rows["state dir"], "systemctl start afmc-check") {
		t.Errorf("check does not say how to check as the service: %q", rows["state dir"])
	}
	sameSnapshot(t, before, snapshotDir(t, stateDir))
	if owners() != beforeOwners {
		t.Errorf("owners changed:\n%s\n%s", beforeOwners, owners())
	}
}

// A shared dir is never chmod'ed by a hint: root is given a subdirectory.
func TestStateDirHintForSharedDir(t *testing.T) {
	if os.Geteuid() != 0 {
		testtool.Unavailable(t, "needs root: the hint for root")
	}
	_, env := hostFixture(t)
	r := afmc(t, env, "collect", "cpu", "--json", "--state-dir", "/tmp")
	if r.code != exitFailed || kinds(docs(t, r.stdout)) != "CPU" {
		t.Errorf("exit %d, stdout %q", r.code, r.stdout)
	}
	if !strings.Contains(r.stderr, "--state-dir /tmp/afmc-root (afmc creates it, mode 0700)") || strings.Contains(r.stderr, "chmod") || strings.Contains(r.stderr, "chown") {
		t.Errorf("stderr %q", r.stderr)
	}
}

// pemOf is the certificate of a TLS sink, as a site CA file holds it.
func pemOf(s *sink) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
}
