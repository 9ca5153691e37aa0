package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unicode/utf16"

	"github.com/atlas-af/afmc/internal/asuser"
	"github.com/atlas-af/afmc/internal/testtool"
)

// hungGetent is a getent that never answers, as one does behind an LDAP
// server that is gone.
func hungGetent(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "getent")
	if err := os.WriteFile(p, []byte("#!/bin/sh\nexec sleep 1000\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// A name service that hangs holds the users step to --collector-timeout,
// not the run to --timeout: CPU and MEM are still delivered, the
// documents naming users are left out, and the run fails (exit 1).
func TestHungNameService(t *testing.T) {
	s := newSink(t)
	_, env := postEnv(t, s)
	_, sshEnv := sshFixture(t)
	env["HOST_VAR"] = sshEnv["HOST_VAR"]
	r := afmc(t, env, "collect", "cpu", "mem", "ssh", "--post", "--group", "atlas", "--getent", hungGetent(t),
		"--collector-timeout", "1s", "--timeout", "1m")
	if r.code != exitFailed {
		t.Errorf("exit %d, want %d:\n%s", r.code, exitFailed, r.stderr)
	}
	if !strings.Contains(r.stderr, "the name service did not answer within 1s (--collector-timeout)") {
		t.Errorf("the log does not say why:\n%s", r.stderr)
	}
	got := s.countDocs(t)
	var kinds []string
	for d := range got {
		kinds = append(kinds, d[:strings.Index(d, ",")])
	}
	if len(got) != 2 || !strings.Contains(strings.Join(kinds, " "), `"CPU"`) || !strings.Contains(strings.Join(kinds, " "), `"MEM"`) {
		t.Errorf("delivered %v, want CPU and MEM alone", kinds)
	}

	// afmc check --group is bounded the same way.
	r = afmc(t, env, "check", "cpu", "--group", "atlas", "--getent", hungGetent(t), "--collector-timeout", "1s")
	rows := rowsOf(t, r.stdout)
	wantRow(t, rows, "group atlas", "FAIL ")
	if !strings.Contains(rows["group atlas"], "killed") {
		t.Errorf("group row %q", rows["group atlas"])
	}
}

// echoes are the encodings an endpoint or a proxy may echo a request in.
var echoes = map[string]func([]byte) string{
	"raw":             func(b []byte) string { return string(b) },
	"upper-cased":     func(b []byte) string { return strings.ToUpper(string(b)) },
	"base64":          func(b []byte) string { return base64.StdEncoding.EncodeToString(b) },
	"base64 url, cut": func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b[3:]) },
	"hex":             func(b []byte) string { return hex.EncodeToString(b) },
	"HEX, cut":        func(b []byte) string { return strings.ToUpper(hex.EncodeToString(b[1:])) },
	"utf-16":          utf16LE,
	"json in base64": func(b []byte) string {
		return base64.StdEncoding.EncodeToString([]byte(`{"echo":` + strconvQuote(b) + `}`))
	},
}

func utf16LE(b []byte) string {
	var u16 []byte
	for _, c := range utf16.Encode([]rune(string(b))) {
		u16 = append(u16, byte(c), byte(c>>8))
	}
	return string(u16)
}

func strconvQuote(b []byte) string {
	j, _ := json.Marshal(string(b))
	return string(j)
}

// echoSink refuses every document and echoes what of the request follows
// "token" in enc, so that the token is in the excerpt the sender logs.
func echoSink(t *testing.T, enc func([]byte) string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if i := bytes.Index(body, []byte(`"token"`)); i >= 0 {
			body = body[i:]
		}
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, "refused: "+enc(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// A site's token is issued centrally, whatever its length: a short one is
// used, with one warning, and no log shows it in any encoding.
func TestShortTokenWorksAndNeverShows(t *testing.T) {
	const token = "k3Y9Tok"
	s := newSink(t)
	_, env := postEnv(t, s)
	env["AFMC_TOKEN"] = token
	r := afmc(t, env, "collect", "cpu", "--post")
	if strings.Count(r.stderr, "shorter than the 16") != 1 {
		t.Errorf("want one warning that the token is short:\n%s", r.stderr)
	}
	if r.code != exitOK || len(s.received()) != 1 {
		t.Fatalf("exit %d, %d delivered:\n%s", r.code, len(s.received()), r.stderr)
	}
	if _, tok, _ := stripSent(t, s.received()[0]); tok != token {
		t.Errorf("sent with token %q", tok)
	}
	for name, enc := range echoes {
		t.Run(name, func(t *testing.T) {
			_, env := postEnv(t, s)
			env["AFMC_TOKEN"] = token
			env["AFMC_URL"] = echoSink(t, enc).URL
			r := afmc(t, env, "collect", "cpu", "--post")
			if !strings.Contains(r.stderr, "status=400") || !strings.Contains(r.stderr, "[REDACTED]") {
				t.Fatalf("the refusal is not logged, or nothing in it redacted:\n%s", r.stderr)
			}
			if strings.Contains(strings.ToLower(r.stderr), strings.ToLower(enc([]byte(token)))) {
				t.Errorf("the token shows, %s:\n%s", name, r.stderr)
			}
			// Whatever the alignment: decode every base64 or hex run.
			for _, run := range strings.FieldsFunc(r.stderr, func(c rune) bool {
				return !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_", c)
			}) {
				for off := 0; off < 4 && off < len(run); off++ {
					for _, e := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
						p := run[off:]
						b, _ := e.DecodeString(p[:len(p)/4*4])
						if bytes.Contains(b, []byte(token)) {
							t.Errorf("the token shows in base64 %q:\n%s", run, r.stderr)
						}
					}
					if b, err := hex.DecodeString(run[off : off+(len(run)-off)/2*2]); err == nil && bytes.Contains(bytes.ToLower(b), bytes.ToLower([]byte(token))) {
						t.Errorf("the token shows in hex %q", run)
					}
				}
			}
		})
	}
}

// The token file and the salt file: refused when another user can write
// them; used with a warning naming them when another user owns them or,
// afmc running as root, everyone can read them. check says the same.
func TestSecretFilesOthersCanReach(t *testing.T) {
	asuser.Root(t)
	s := newSink(t)
	_, env := postEnv(t, s)
	delete(env, "AFMC_TOKEN")
	dir := t.TempDir()
	tokenFile := func(mode os.FileMode, uid int) string {
		p := filepath.Join(dir, "token"+mode.String()+string(rune('a'+uid%26)))
		if err := os.WriteFile(p, []byte(testToken+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
		os.Chown(p, uid, uid)
		return p
	}
	for _, tc := range []struct {
		name string
		path string
		code int
		want string
	}{
		{"root's alone", tokenFile(0o600, 0), exitOK, ""},
		{"readable by all", tokenFile(0o644, 0), exitOK, "is readable by every user"},
		{"another user's", tokenFile(0o600, asuser.NobodyUID), exitOK, "belongs to uid 65534"},
		{"group-writable", tokenFile(0o620, 0), exitUsage, "another user could change it"},
		{"world-writable", tokenFile(0o602, 0), exitUsage, "another user could change it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := afmc(t, env, "collect", "cpu", "--post", "--token-file", tc.path)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d:\n%s", r.code, tc.code, r.stderr)
			}
			if tc.want == "" && r.stderr != "" || !strings.Contains(r.stderr, tc.want) || tc.want != "" && !strings.Contains(r.stderr, tc.path) {
				t.Errorf("stderr %q, want %q naming %s", r.stderr, tc.want, tc.path)
			}
			r = afmc(t, env, "check", "cpu", "--token-file", tc.path)
			row := rowsOf(t, r.stdout)["token"]
			switch {
			case tc.code == exitUsage && !strings.HasPrefix(row, "FAIL"),
				tc.code == exitOK && !strings.HasPrefix(row, "OK"),
				!strings.Contains(row, tc.want):
				t.Errorf("check: token row %q, want %q", row, tc.want)
			}
			noSecrets(t, r)
		})
	}
}

// The config file names the programs afmc runs as root and where the
// token goes: one another user could change is refused.
func TestConfigFileOthersCanChange(t *testing.T) {
	_, env := hostFixture(t)
	cfg := filepath.Join(t.TempDir(), "afmc.yaml")
	os.WriteFile(cfg, []byte("cluster: X\n"), 0o644)
	os.Chmod(cfg, 0o666)
	env["AFMC_CONFIG"] = cfg
	r := afmc(t, env, "collect", "cpu", "--json")
	if r.code != exitUsage || !strings.Contains(r.stderr, cfg+" has mode -rw-rw-rw- (0666), writable by group or others") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

// Programs afmc runs, and the kubeconfig kubectl reads, that another user
// could change are not used: the collector fails, naming them, and the
// others' documents go out.
func TestProgramsOthersCanChange(t *testing.T) {
	asuser.Root(t)
	_, env := hostFixture(t)
	bin := condorScenario(t, map[string]string{"jobs.out": condorFile(t, "q-jobs.json"), "totals.out": condorFile(t, "q-totals.json"), "history.out": "[\n]\n"})
	if err := os.Chown(filepath.Join(bin, "condor_q"), asuser.NobodyUID, asuser.NobodyGID); err != nil {
		t.Fatal(err)
	}
	r := afmc(t, env, "collect", "cpu", "condor", "--json", "--condor-bin-dir", bin)
	if r.code != exitFailed || !strings.Contains(r.stderr, "condor_q") || !strings.Contains(r.stderr, "belongs to uid 65534") {
		t.Errorf("condor: exit %d, stderr %q", r.code, r.stderr)
	}
	if kinds(docs(t, r.stdout)) != "CPU" {
		t.Errorf("stdout %q, want CPU alone", r.stdout)
	}

	kc := filepath.Join(t.TempDir(), "kubeconfig")
	os.WriteFile(kc, []byte("apiVersion: v1\nkind: Config\n"), 0o600)
	os.Chown(kc, asuser.NobodyUID, asuser.NobodyGID)
	kubectl := fakeProgram(t, "kubectl", "exit 0")
	env["AFMC_KUBECTL"] = kubectl
	r = afmc(t, env, "collect", "cpu", "jupyter", "--json", "--kubeconfig", kc)
	if r.code != exitFailed || !strings.Contains(r.stderr, "kubeconfig: another user could change it") || !strings.Contains(r.stderr, kc) {
		t.Errorf("jupyter: exit %d, stderr %q", r.code, r.stderr)
	}
	if kinds(docs(t, r.stdout)) != "CPU" {
		t.Errorf("stdout %q, want CPU alone", r.stdout)
	}
}

func fakeProgram(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// 12 MB of nested brackets from kubectl is the jupyter collector's error
// (exit 1), not a crash of the run: the other documents go out.
func TestDeepJSONFromKubectl(t *testing.T) {
	_, env := hostFixture(t)
	deep := filepath.Join(t.TempDir(), "deep.json")
	os.WriteFile(deep, bytes.Repeat([]byte("["), 12<<20), 0o644)
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	os.WriteFile(kc, []byte("apiVersion: v1\nkind: Config\n"), 0o600)
	env["AFMC_KUBECTL"] = fakeProgram(t, "kubectl", "exec cat "+deep)
	for _, nested := range []string{"top", "items"} {
		if nested == "items" {
			os.WriteFile(deep, append([]byte(`{"kind":"List","items":[`), bytes.Repeat([]byte("{\"a\":"), 2<<20)...), 0o644)
		}
		r := afmc(t, env, "collect", "cpu", "jupyter", "--json", "--kubeconfig", kc)
		if r.code != exitFailed || !strings.Contains(r.stderr, "collector failed") || !strings.Contains(r.stderr, "not a list of pods") {
			t.Errorf("%s: exit %d, stderr %.400q", nested, r.code, r.stderr)
		}
		if kinds(docs(t, r.stdout)) != "CPU" {
			t.Errorf("%s: stdout %q, want CPU alone", nested, r.stdout)
		}
	}
}

// A condor Owner meets the one user-name rule too: escapes, a
// right-to-left override and an empty owner do not reach the endpoint.
func TestCondorOwnersMeetTheNameRule(t *testing.T) {
	_, env := hostFixture(t)
	job := func(id int, owner string) string {
		o, _ := json.Marshal(owner)
		return fmt.Sprintf(`{"ClusterId": %d, "ProcId": 0, "JobStatus": 1, "Owner": %s, "ServerTime": 1700000000}`, id, o)
	}
	jobs := "[\n" + strings.Join([]string{job(1, "alice"), job(2, "\u202eecila"), job(3, "ev\x1b[2Jil"), job(4, ""), job(5, "bo\nb")}, ",\n") + "\n]\n"
	bin := condorScenario(t, map[string]string{"jobs.out": jobs, "totals.out": condorFile(t, "q-totals.json"), "history.out": "[\n]\n"})
	r := afmc(t, env, "collect", "condor", "--json", "--condor-bin-dir", bin, "--condor-exclude-owner", "nobody-at-all")
	var owners []string
	for _, d := range docs(t, r.stdout) {
		if d["kind"] == "condorjob" {
			owners = append(owners, d["users"].(string))
		}
	}
	if strings.Join(owners, ",") != "alice" {
		t.Errorf("owners sent %q, want alice alone:\n%s", owners, r.stderr)
	}
	if c := strings.Count(r.stderr, "user name refused, not sent"); c != 4 || !strings.Contains(r.stderr, "source=condorjob") {
		t.Errorf("%d refusals logged, want 4 naming condorjob:\n%s", c, r.stderr)
	}
}

// loginctl's JSON nested 12 MB deep is the ssh collector's error.
func TestDeepJSONFromLoginctl(t *testing.T) {
	_, env := hostFixture(t)
	deep := filepath.Join(t.TempDir(), "deep.json")
	os.WriteFile(deep, bytes.Repeat([]byte("["), 12<<20), 0o644)
	loginctl := fakeProgram(t, "loginctl", "exec cat "+deep)
	os.MkdirAll(filepath.Join(env["HOST_RUN"], "systemd", "system"), 0o755) // logind runs
	os.MkdirAll(filepath.Join(env["HOST_RUN"], "systemd", "sessions"), 0o755)
	r := afmc(t, env, "collect", "cpu", "ssh", "--json", "--ssh-source", "logind", "--ssh-loginctl", loginctl)
	if r.code != exitFailed || !strings.Contains(r.stderr, "JSON nested too deeply") {
		t.Errorf("exit %d, stderr %.400q", r.code, r.stderr)
	}
	if kinds(docs(t, r.stdout)) != "CPU" {
		t.Errorf("stdout %q, want CPU alone", r.stdout)
	}
}

// The binary as cron runs it: a kubectl (or a site's wrapper) that prints
// its answer and leaves a child that left its process group holding
// stdout. Each call ends when kubectl exits, not at the deadline, and no
// such child outlives afmc.
func TestLeftoversOfProgramsEnd(t *testing.T) {
	testtool.Need(t, "setsid")
	_, env := hostFixture(t)
	pids := filepath.Join(t.TempDir(), "pids")
	kubectl := fakeProgram(t, "kubectl", `setsid sleep 1000 & echo $! >> `+pids+`
echo '{"apiVersion":"v1","items":[],"kind":"List","metadata":{"resourceVersion":""}}'`)
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	os.WriteFile(kc, []byte("apiVersion: v1\nkind: Config\n"), 0o600)
	env["AFMC_KUBECTL"] = kubectl
	r := runBin(t, env, "collect", "jupyter", "--json", "--kubeconfig", kc, "--collector-timeout", "1m", "--jupyter", "jupyter-ml=af-jupyter/owner")
	if r.code != exitOK || kinds(docs(t, r.stdout)) != "jupyter-ml" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	b, err := os.ReadFile(pids)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range strings.Fields(string(b)) {
		st, err := os.ReadFile("/proc/" + p + "/stat")
		if err == nil && !strings.Contains(string(st), ") Z ") {
			t.Errorf("the child %s kubectl left behind outlived afmc: %s", p, st)
			if pid, err := strconv.Atoi(p); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}
