package main

import (
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/atlas-af/afmc/internal/fixture"
)

// rowsOf parses afmc check's table: CHECK, RESULT and DETAIL columns.
func rowsOf(t *testing.T, out string) map[string]string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "CHECK") {
		t.Fatalf("not a check table:\n%s", out)
	}
	re := regexp.MustCompile(`^(.+?)\s{2,}(OK|FAIL|SKIP|WARN)\s*(.*)$`)
	rows := map[string]string{}
	for _, l := range lines[1:] {
		m := re.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("row %q", l)
		}
		rows[m[1]] = m[2] + " " + m[3]
	}
	return rows
}

func wantRow(t *testing.T, rows map[string]string, what, prefix string) {
	t.Helper()
	if !strings.HasPrefix(rows[what], prefix) {
		t.Errorf("%s: %q, want it to start with %q", what, rows[what], prefix)
	}
}

// afmc check on a node where everything works: every row OK (or SKIP for
// a collector whose source is not there), and the endpoint is reached
// without a single request.
func TestCheckAllGood(t *testing.T) {
	s := newTLSSink(t)
	dir, env := postEnv(t, s)
	run := filepath.Join(env["HOST_VAR"], "run")
	os.MkdirAll(run, 0o755)
	utmp, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "ssh", "utmp.txt"))
	fixture.Utmp(t, utmp, filepath.Join(run, "utmp"))
	ca := filepath.Join(dir, "site-ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw}), 0o644)
	bin := condorScenario(t, map[string]string{"jobs.out": condorFile(t, "q-jobs.json"), "totals.out": condorFile(t, "q-totals.json"), "history.out": "[\n]\n"})

	getent, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "ssh", "bin", "getent"))
	r := afmc(t, env, "check", "--ca-file", ca, "--condor-bin-dir", bin, "--group", "atlas", "--getent", getent)
	if r.code != exitOK {
		t.Errorf("exit %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	rows := rowsOf(t, r.stdout)
	wantRow(t, rows, "cluster", "OK TEST-AF")
	wantRow(t, rows, "token", "OK from AFMC_TOKEN")
	wantRow(t, rows, "group atlas", "OK gid 5000, 2 members as supplementary group")
	wantRow(t, rows, "collector cpu", "OK 1 document")
	wantRow(t, rows, "collector ssh", "OK 1 document")
	wantRow(t, rows, "collector condor", "OK ")
	wantRow(t, rows, "collector jupyter", "SKIP ")
	wantRow(t, rows, "state dir", "OK "+env["AFMC_STATE_DIR"])
	wantRow(t, rows, "spool", "OK 0 documents waiting")
	wantRow(t, rows, "endpoint name", "OK 127.0.0.1 is an address")
	wantRow(t, rows, "endpoint tcp", "OK connected to ")
	wantRow(t, rows, "endpoint tls", "OK TLS 1.3, certificate for 127.0.0.1 valid until")
	requests := s.requests()
	if requests != 0 {
		t.Errorf("check sent %d requests to the endpoint", requests)
	}
	noSecrets(t, r)
}

// Each thing that is wrong is a FAIL row that says what to do, and the
// exit status is 1.
func TestCheckFailures(t *testing.T) {
	s := newTLSSink(t)
	_, env := postEnv(t, s)
	delete(env, "AFMC_CLUSTER")
	env["AFMC_TOKEN"] = "two\tparts-of-a-token" // a token set, and wrong
	hung := condorScenario(t, map[string]string{"jobs.hang": ""})
	getent, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "ssh", "bin", "getent"))
	r := afmc(t, env, "check", "cpu", "ssh", "condor", "--condor-bin-dir", hung, "--condor-timeout", "300ms",
		"--group", "nosuchgroup", "--getent", getent)
	if r.code != exitFailed {
		t.Errorf("exit %d, want %d", r.code, exitFailed)
	}
	rows := rowsOf(t, r.stdout)
	wantRow(t, rows, "cluster", `FAIL not set: set "cluster" in the config file`)
	wantRow(t, rows, "token", "FAIL token: the token holds a space or a control character")
	wantRow(t, rows, "group nosuchgroup", `FAIL group "nosuchgroup" unknown to the name service`)
	wantRow(t, rows, "collector cpu", "OK")
	wantRow(t, rows, "collector ssh", "FAIL ") // named explicitly, not on this host
	wantRow(t, rows, "collector condor", "FAIL ")
	if !strings.Contains(rows["collector condor"], "--condor-timeout 300ms") {
		t.Errorf("condor: %q", rows["collector condor"])
	}
	wantRow(t, rows, "endpoint tls", "FAIL TLS with 127.0.0.1")
	if !strings.Contains(rows["endpoint tls"], "--ca-file") {
		t.Errorf("the TLS failure does not say how to fix it: %q", rows["endpoint tls"])
	}

	// Nothing listening.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r = afmc(t, env, "check", "cpu", "--url", "https://"+addr+"/")
	wantRow(t, rowsOf(t, r.stdout), "endpoint tcp", "FAIL cannot connect to 127.0.0.1")
	// An unsafe state dir.
	env["AFMC_STATE_DIR"] = t.TempDir()
	os.Chmod(env["AFMC_STATE_DIR"], 0o777)
	r = afmc(t, env, "check", "cpu")
	wantRow(t, rowsOf(t, r.stdout), "state dir", "FAIL ")
	if !strings.Contains(r.stdout, "a directory of its own, such as --state-dir ") || strings.Contains(r.stdout, "chmod") {
		t.Errorf("the state dir failure does not say how to fix it, or says to chmod a dir open to all:\n%s", r.stdout)
	}
}

// Each collector's settings are checked when they are parsed, and a
// collector's own deadline must be below --collector-timeout, for the
// collectors selected only.
func TestCollectorSettingsAreUsageErrors(t *testing.T) {
	_, env := hostFixture(t)
	for _, args := range [][]string{
		{"collect", "cpu", "--condor-queue", "=x"},
		{"collect", "cpu", "--interface", "eth["},
		{"collect", "condor", "--condor-timeout", "30s"},
		{"collect", "condor", "--collector-timeout", "20s"},
		{"check", "condor", "--condor-timeout", "1m"},
	} {
		if r := afmc(t, env, args...); r.code != exitUsage {
			t.Errorf("%v: exit %d (%s), want %d", args, r.code, r.stderr, exitUsage)
		}
	}
	r := afmc(t, env, "collect", "condor", "--condor-timeout", "30s")
	if !strings.Contains(r.stderr, "--condor-timeout (30s) must be below --collector-timeout (30s)") {
		t.Errorf("stderr %q", r.stderr)
	}
	// Not selected, condor's deadline is no concern.
	if r := afmc(t, env, "collect", "cpu", "--json", "--collector-timeout", "10s"); r.code != 0 {
		t.Errorf("cpu with a short --collector-timeout: exit %d: %s", r.code, r.stderr)
	}
}
