package main

import (
	"maps"
	"regexp"
	"slices"

	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atlas-af/afmc/collect/all"
	"github.com/atlas-af/afmc/internal/fixture"
	"github.com/atlas-af/afmc/state"
)

// afmcBin is the binary built once for the tests that need real processes.
var afmcBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "afmc-test-bin")
	if err != nil {
		panic(err)
	}
	afmcBin = filepath.Join(dir, "afmc")
	if out, err := exec.Command("go", "build", "-o", afmcBin, ".").CombinedOutput(); err != nil {
		panic("building afmc: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// hostFixture copies testdata/host to a temp dir and returns the HOST_*
// variables pointing into it.
func hostFixture(t *testing.T) (dir string, env map[string]string) {
	t.Helper()
	dir = fixture.Host(t, filepath.Join("..", "..", "testdata", "host"))
	// An empty config, so that no /etc/afmc/afmc.yaml of the machine counts.
	noConfig := filepath.Join(dir, "no-config.json")
	if err := os.WriteFile(noConfig, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, map[string]string{
		"AFMC_CONFIG":     noConfig,
		"HOST_PROC":       filepath.Join(dir, "proc"),
		"HOST_SYS":        filepath.Join(dir, "sys"),
		"HOST_ROOT":       filepath.Join(dir, "root"),
		"HOST_VAR":        filepath.Join(dir, "var"), // no utmp, no wtmp
		"HOST_RUN":        filepath.Join(dir, "run"), // no systemd-logind
		"AFMC_KUBECTL":    filepath.Join(dir, "no-kubectl"),
		"AFMC_STATE_DIR":  filepath.Join(dir, "state"),
		"AFMC_LOGIN_NODE": "login01.af.example.org",
		"AFMC_CLUSTER":    "TEST-AF",
	}
}

// merged is a copy of the environments, later ones winning.
func merged(envs ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, e := range envs {
		maps.Copy(out, e)
	}
	return out
}

type result struct {
	code           int
	stdout, stderr string
}

// afmc runs the command in-process with env as its whole environment.
func afmc(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb, func(k string) string { return env[k] })
	return result{code, out.String(), errb.String()}
}

// docs parses NDJSON, and puts the documents in the collectors' registry
// order: collectors' documents interleave on stdout, each collector's own
// order kept, which the stable sort keeps too.
func docs(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		var d map[string]any
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("stdout line %q is not JSON: %v", sc.Text(), err)
		}
		out = append(out, d)
	}
	slices.SortStableFunc(out, func(a, b map[string]any) int {
		ka, _ := a["kind"].(string)
		kb, _ := b["kind"].(string)
		return kindRank(ka) - kindRank(kb)
	})
	return out
}

// kinds lists the documents' kinds in the collectors' registry order:
// collectors' documents interleave on stdout, each collector's own order
// kept, which the stable sort keeps too.
func kinds(ds []map[string]any) string {
	var k []string
	for _, d := range ds {
		k = append(k, d["kind"].(string))
	}
	slices.SortStableFunc(k, func(a, b string) int { return kindRank(a) - kindRank(b) })
	return strings.Join(k, " ")
}

// kindRank is the registry position of the collector that makes kind.
func kindRank(kind string) int {
	switch {
	case kind == "CPU":
		return 0
	case kind == "MEM":
		return 1
	case kind == "DISK", kind == "DISKIO":
		return 2
	case kind == "NETWORK":
		return 3
	case kind == "ssh":
		return 4
	case strings.HasPrefix(kind, "jupyter-"):
		return 5
	}
	return 6 // condorjob, condorqueue
}

// inRegistryOrder puts NDJSON lines in the collectors' registry order, as
// kinds does.
func inRegistryOrder(t *testing.T, stdout string) string {
	t.Helper()
	lines := strings.SplitAfter(stdout, "\n")
	slices.SortStableFunc(lines, func(a, b string) int {
		var da, db struct{ Kind string }
		json.Unmarshal([]byte(a), &da)
		json.Unmarshal([]byte(b), &db)
		return kindRank(da.Kind) - kindRank(db.Kind)
	})
	return strings.Join(lines, "")
}

func TestUsageErrors(t *testing.T) {
	_, env := hostFixture(t)
	for _, tt := range []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
	}{
		{"unknown kind", []string{"collect", "dsik", "--json"}, nil, `unknown kind "dsik" (known: condor, cpu, disk, host, jupyter, mem, network, ssh)`},
		{"bad flag", []string{"collect", "cpu", "--jsno"}, nil, "unknown flag --jsno"},
		{"nothing named", []string{"collect"}, nil, "nothing to collect: name a kind"},
		{"kinds and --all", []string{"collect", "cpu", "--all"}, nil, "name kinds or --all, not both"},
		{"bad duration", []string{"collect", "cpu", "--timeout", "soon"}, nil, "--timeout"},
		{"zero timeout", []string{"collect", "cpu", "--lock-timeout=0s"}, nil, "--lock-timeout must be positive and at most 24h0m0s, got 0s"},
		{"post without token", []string{"collect", "cpu", "--post"}, nil, "--post needs a token: --token-file FILE or the AFMC_TOKEN environment variable"},
		{"post without cluster", []string{"collect", "cpu", "--post"}, map[string]string{"AFMC_TOKEN": "s3cret-0123456789abcdef", "AFMC_CLUSTER": ""}, "--post needs --cluster"},
		{"missing token file", []string{"collect", "cpu", "--post", "--token-file", "/nonexistent/token"}, nil, "--token-file: open /nonexistent/token"},
		{"bad url", []string{"collect", "cpu", "--post", "--url", "ftp://x"}, map[string]string{"AFMC_TOKEN": "s3cret-0123456789abcdef"}, "ftp"},
		{"bad spool size", []string{"collect", "cpu", "--spool-max-bytes", "lots"}, nil, `bad size "lots"`},
		{"bad env value", []string{"collect", "cpu"}, map[string]string{"AFMC_BATCH": "many"}, "--batch"},
		{"huge batch", []string{"collect", "cpu", "--batch", "9223372036854775807"}, nil, "--batch must be between 1 and 10000"},
		{"huge in flight", []string{"collect", "cpu", "--max-in-flight", "100000"}, nil, "--max-in-flight must be between 1 and 256"},
		{"overflowing spool size", []string{"collect", "cpu", "--spool-max-bytes", "9000000000GiB"}, nil, "over the most afmc allows, 1.0TiB"},
		{"negative spool age", []string{"collect", "cpu", "--spool-max-age=-1h"}, nil, "--spool-max-age must be between 0"},
		{"huge timeout", []string{"collect", "cpu", "--timeout", "1000h"}, nil, "--timeout must be positive and at most 24h0m0s"},
		{"collector setting", []string{"collect", "cpu", "--ssh-history-since", "0s"}, nil, "--ssh-history-since must be positive"},
		{"token of two lines", []string{"collect", "cpu", "--post"}, map[string]string{"AFMC_TOKEN": "con\nnex"}, "more than one line"},
		{"salt on the command line", []string{"collect", "ssh", "--salt", "x"}, nil, "unknown flag --salt"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := afmc(t, merged(env, tt.env), tt.args...)
			if r.code != exitUsage {
				t.Errorf("exit %d, want %d (stderr %q)", r.code, exitUsage, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.wantErr) {
				t.Errorf("stderr %q does not contain %q", r.stderr, tt.wantErr)
			}
			if lines := strings.Count(strings.TrimSpace(r.stderr), "\n") + 1; lines != 1 {
				t.Errorf("stderr has %d lines, want one: %q", lines, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout not empty: %q", r.stdout)
			}
		})
	}
}

// The kinds are written out in the help (kong's variables cost every
// run more than they save): they must stay those of the registry.
func TestHelpNamesEveryKind(t *testing.T) {
	_, env := hostFixture(t)
	for _, cmd := range []string{"collect", "check"} {
		r := afmc(t, env, cmd, "--help")
		for _, k := range all.KindNames(all.Set{}.List()) {
			if !regexp.MustCompile(`\b` + k + `\b`).MatchString(r.stdout) {
				t.Errorf("%s --help does not name kind %s", cmd, k)
			}
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	_, env := hostFixture(t)
	r := afmc(t, env, "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "collect") || !strings.Contains(r.stdout, "version") {
		t.Errorf("--help: %d %q", r.code, r.stdout)
	}
	r = afmc(t, env, "collect", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "What to collect: cpu, mem, disk, network") || !strings.Contains(r.stdout, "AFMC_TOKEN") {
		t.Errorf("collect --help: %d %q", r.code, r.stdout)
	}
	r = afmc(t, env, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "afmc ") {
		t.Errorf("version: %d %q", r.code, r.stdout)
	}
}

func TestCollectJSONOnFixture(t *testing.T) {
	_, env := hostFixture(t)
	r := afmc(t, env, "collect", "cpu", "mem", "--json")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	want := `{"kind":"CPU","cluster":"TEST-AF","login_node":"login01.af.example.org","load":1.25}
{"kind":"MEM","cluster":"TEST-AF","login_node":"login01.af.example.org","available":24915492864,"total":25276026880}
`
	if got := inRegistryOrder(t, r.stdout); got != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}

	// host = cpu, mem, disk, network; the first network run is a baseline.
	r = afmc(t, env, "collect", "host", "--json", "-v")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	// DISK: the default paths /home, /data and /scratch.
	if got := kinds(docs(t, r.stdout)); got != "CPU MEM DISK DISK DISK" {
		t.Errorf("kinds %s", got)
	}
	if !strings.Contains(r.stderr, "recording a baseline") {
		t.Errorf("-v does not say why there is no NETWORK document: %s", r.stderr)
	}
}

func TestTableOutput(t *testing.T) {
	_, env := hostFixture(t)
	r := afmc(t, env, "collect", "cpu", "mem", "disk", "--mount", "/data")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"cluster TEST-AF, login node login01.af.example.org", "CPU", "load=1.25", "total=23.5GiB", "mount=/data", "device=mapper/vg0-data"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestFailingCollectorDoesNotStopOthers(t *testing.T) {
	dir, env := hostFixture(t)
	r := afmc(t, env, "collect", "cpu", "disk", "--mount", "/data", "--mount", "/nope", "--json")
	if r.code != exitFailed {
		t.Errorf("exit %d, want %d", r.code, exitFailed)
	}
	if got := kinds(docs(t, r.stdout)); got != "CPU DISK" {
		t.Errorf("documents %s, want CPU and the /data DISK", got)
	}
	if !strings.Contains(r.stderr, "mount /nope: does not exist") {
		t.Errorf("stderr %q", r.stderr)
	}

	os.Remove(filepath.Join(dir, "proc", "meminfo"))
	r = afmc(t, env, "collect", "cpu", "mem", "--json")
	if r.code != exitFailed || kinds(docs(t, r.stdout)) != "CPU" || !strings.Contains(r.stderr, "collector mem: reading memory info") {
		t.Errorf("missing meminfo: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestStateProblemsStillPrint(t *testing.T) {
	dir, env := hostFixture(t)
	// A state dir that cannot be created.
	file := filepath.Join(dir, "plainfile")
	os.WriteFile(file, nil, 0o600)
	env["AFMC_STATE_DIR"] = filepath.Join(file, "state")
	r := afmc(t, env, "collect", "cpu", "network", "--json")
	if r.code != exitFailed || kinds(docs(t, r.stdout)) != "CPU" {
		t.Errorf("unwritable state dir: exit %d, stdout %q", r.code, r.stdout)
	}
	if !strings.Contains(r.stderr, "state dir") || !strings.Contains(r.stderr, file) {
		t.Errorf("unclear error: %q", r.stderr)
	}

	// Another run holds the lock.
	env["AFMC_STATE_DIR"] = filepath.Join(dir, "state")
	st, err := state.Open(context.Background(), env["AFMC_STATE_DIR"], time.Second, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r = afmc(t, env, "collect", "cpu", "--json", "--lock-timeout", "20ms")
	if r.code != exitLocked || kinds(docs(t, r.stdout)) != "CPU" || !strings.Contains(r.stderr, "another afmc run holds the state lock") {
		t.Errorf("locked: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestCorruptStateIsReplaced(t *testing.T) {
	dir, env := hostFixture(t)
	r := afmc(t, env, "collect", "network", "--json")
	if r.code != 0 {
		t.Fatal(r.stderr)
	}
	os.WriteFile(filepath.Join(dir, "state", state.FileName), []byte(`{"version":1,"sect`), 0o600)
	r = afmc(t, env, "collect", "network", "--json")
	if r.code != 0 || r.stdout != "" {
		t.Errorf("corrupt state: exit %d, stdout %q; want a fresh baseline and no document", r.code, r.stdout)
	}
	if !strings.Contains(r.stderr, "state file corrupt") {
		t.Errorf("corruption not reported: %q", r.stderr)
	}
	// The baseline it recorded works for the next run.
	os.WriteFile(filepath.Join(dir, "proc", "uptime"), []byte("86500.25 0\n"), 0o644)
	r = afmc(t, env, "collect", "network", "--json")
	if r.code != 0 || kinds(docs(t, r.stdout)) != "NETWORK" {
		t.Errorf("after recovery: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestAllSkipsNothingOnThisHost(t *testing.T) {
	_, env := hostFixture(t)
	r := afmc(t, env, "collect", "--all", "--json")
	if r.code != 0 || !strings.HasPrefix(kinds(docs(t, r.stdout)), "CPU MEM DISK") {
		t.Errorf("--all: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestConfigFile(t *testing.T) {
	dir, env := hostFixture(t)
	delete(env, "AFMC_CLUSTER")
	delete(env, "AFMC_LOGIN_NODE")
	cfg := filepath.Join(dir, "afmc.yaml")
	os.WriteFile(cfg, []byte(`# site settings
cluster: FROM-CONFIG   # the cluster field
login_node: cfg-node
mount:
  - /data
  - /home
lock_timeout: 5s
`), 0o600)
	env["AFMC_CONFIG"] = cfg

	r := afmc(t, env, "collect", "cpu", "disk", "--json")
	ds := docs(t, r.stdout)
	if r.code != 0 || len(ds) != 3 || ds[0]["cluster"] != "FROM-CONFIG" || ds[0]["login_node"] != "cfg-node" || ds[2]["mount"] != "/home" {
		t.Fatalf("settings from the file: exit %d, %v, %s", r.code, ds, r.stderr)
	}
	// A flag beats the environment, which beats the file, which beats the
	// defaults.
	env["AFMC_CLUSTER"] = "FROM-ENV"
	if ds := docs(t, afmc(t, env, "collect", "cpu", "--json").stdout); ds[0]["cluster"] != "FROM-ENV" {
		t.Errorf("environment over file: %v", ds)
	}
	if ds := docs(t, afmc(t, env, "collect", "cpu", "--json", "--cluster", "FROM-FLAG").stdout); ds[0]["cluster"] != "FROM-FLAG" {
		t.Errorf("flag over environment: %v", ds)
	}
	delete(env, "AFMC_CLUSTER")
	os.WriteFile(cfg, []byte("login_node: cfg-node\n"), 0o600)
	if ds := docs(t, afmc(t, env, "collect", "cpu", "--json").stdout); ds[0]["cluster"] != "" || ds[0]["login_node"] != "cfg-node" {
		t.Errorf("file over defaults: %v", ds)
	}
	// --config beats AFMC_CONFIG; the JSON config of earlier versions reads.
	other := filepath.Join(dir, "other.json")
	os.WriteFile(other, []byte(`{"cluster": "FROM-JSON", "loginNode": "json-node", "mount": ["/data"]}`), 0o600)
	r = afmc(t, env, "--config", other, "collect", "cpu", "disk", "--json")
	if ds := docs(t, r.stdout); len(ds) != 2 || ds[0]["cluster"] != "FROM-JSON" || ds[0]["login_node"] != "json-node" {
		t.Errorf("--config with a JSON file: %v %s", ds, r.stderr)
	}
	if ds := docs(t, afmc(t, env, "collect", "--config="+other, "cpu", "--json").stdout); len(ds) != 1 || ds[0]["cluster"] != "FROM-JSON" {
		t.Errorf("--config= after the command: %v", ds)
	}

	for _, tt := range []struct{ content, wantErr string }{
		{"clustr: X\n", `line 1: unknown setting "clustr"`},
		{"cluster: [\n", "config file " + cfg},
		{"batch: many\n", "--batch"},
		{"token-file: /t\n", `unknown setting "token-file"`},
		{"timeout: 30\n", `line 1: setting "timeout": write durations with a unit, such as "30s" or 5m, not 30`},
		{"token: s3cret-token-value\n", "the token does not belong in the config file"},
		{"salt: x\n", "the salt does not belong in the config file"},
		{"mount:\n  path: /x\n", `setting "mount": want a value or a list, not a mapping`},
		{"- cluster\n", "want settings as key: value lines, not a list"},
		{"cluster: a\ncluster: b\n", "already defined"},
		{"login_node: a\nloginNode: b\n", `line 2: setting "loginNode" already defined (as "login_node" on line 1)`},
		{"Cluster: a\n", `unknown setting "Cluster"`},
		{"login_Node: a\n", `unknown setting "login_Node"`},
	} {
		os.WriteFile(cfg, []byte(tt.content), 0o600)
		r := afmc(t, env, "collect", "cpu")
		if r.code != exitUsage || !strings.Contains(r.stderr, tt.wantErr) {
			t.Errorf("config %q: exit %d, stderr %q, want %q", tt.content, r.code, r.stderr, tt.wantErr)
		}
		if strings.Contains(r.stderr, "s3cret") {
			t.Errorf("the token from the file reached the log: %q", r.stderr)
		}
	}
	// An empty file, or one of comments only, sets nothing.
	os.WriteFile(cfg, []byte("# nothing yet\n"), 0o600)
	if r := afmc(t, env, "collect", "cpu", "--json"); r.code != 0 {
		t.Errorf("comments only: exit %d %s", r.code, r.stderr)
	}
	env["AFMC_CONFIG"] = filepath.Join(dir, "missing.yaml")
	if r := afmc(t, env, "collect", "cpu"); r.code != exitUsage || !strings.Contains(r.stderr, "missing.yaml: no such file") {
		t.Errorf("missing AFMC_CONFIG file: exit %d, stderr %q", r.code, r.stderr)
	}
}
