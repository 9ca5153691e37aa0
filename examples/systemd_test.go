package examples

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/atlas-af/afmc/internal/testtool"
)

// unit is a systemd unit file: section -> key -> values, in order.
type unit map[string]map[string][]string

func parseUnit(t *testing.T, path string) unit {
	t.Helper()
	u := unit{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, path)))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			if u[section] == nil {
				u[section] = map[string][]string{}
			}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" || strings.HasSuffix(line, "\\") {
				t.Fatalf("%s:%d: not KEY=VALUE in a section: %q", path, n, line)
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	return u
}

func (u unit) get(section, key string) string {
	vs := u[section][key]
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// systemdVerify runs `systemd-analyze verify` on copies of the units whose
// ExecStart runs afmc binary (verify wants an executable there), and
// returns what it printed: systemd 252 warns of an unknown key or a bad
// value and still exits 0, so anything printed is a failure.
func systemdVerify(t *testing.T, service, timer string) (string, error) {
	t.Helper()
	return verifyUnits(t, map[string]string{"afmc.service": service, "afmc.timer": timer})
}

// verifyUnits is systemdVerify for any units, by file name.
func verifyUnits(t *testing.T, units map[string]string) (string, error) {
	t.Helper()
	analyze := testtool.Need(t, "systemd-analyze")
	dir := t.TempDir()
	bin := afmcBinary(t)
	args := []string{"verify", "--man=no"}
	for name, text := range units {
		text = strings.ReplaceAll(text, "ExecStart=/usr/bin/afmc ", "ExecStart="+bin+" ")
		text = strings.ReplaceAll(text, "ExecStart=/usr/bin/afmc\n", "ExecStart="+bin+"\n")
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, path)
	}
	out, err := exec.Command(analyze, args...).CombinedOutput()
	return string(out), err
}

func TestSystemdUnitsVerify(t *testing.T) {
	service := string(readFile(t, "systemd/afmc.service"))
	timer := string(readFile(t, "systemd/afmc.timer"))
	if !strings.Contains(service, "ExecStart=/usr/bin/afmc ") {
		t.Fatal("afmc.service does not run /usr/bin/afmc, where the package installs it")
	}
	out, err := systemdVerify(t, service, timer)
	if err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	// verify is not vacuous: a misspelt key and a bad value are reported.
	for _, c := range []struct{ from, to string }{
		{"ProtectSystem=strict", "ProtectSytem=strict"},
		{"Type=oneshot", "Type=oneshoot"},
		{"RestrictAddressFamilies=AF_UNIX", "RestrictAddressFamilies=AF_UNX"},
	} {
		bad := strings.Replace(service, c.from, c.to, 1)
		if bad == service {
			t.Fatalf("afmc.service has no %q", c.from)
		}
		if out, err := systemdVerify(t, bad, timer); err == nil && strings.TrimSpace(out) == "" {
			t.Errorf("systemd-analyze verify said nothing of %q", c.to)
		}
	}
	if out, err := systemdVerify(t, service, strings.Replace(timer, "Persistent=true", "Persistant=true", 1)); err == nil && strings.TrimSpace(out) == "" {
		t.Error("systemd-analyze verify said nothing of a misspelt timer key")
	}
}

func TestSystemdService(t *testing.T) {
	u := parseUnit(t, "systemd/afmc.service")
	s := "Service"
	want := map[string]string{
		"Type":               "oneshot",
		"ExecStart":          "/usr/bin/afmc collect --all --post",
		"DynamicUser":        "yes",
		"StateDirectory":     "afmc",
		"StateDirectoryMode": "0700",
		"User":               "afmc", // the dynamic user's name: afmc-check.service's too
		"SuccessExitStatus":  "3 4",
		"ProtectSystem":      "strict",
		// statfs of /home must see the real filesystem.
		"ProtectHome":           "read-only",
		"PrivateTmp":            "yes",
		"NoNewPrivileges":       "yes",
		"ProtectKernelTunables": "yes",
		// AF_NETLINK: glibc's getifaddrs(), which condor's tools call.
		"RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6 AF_NETLINK",
		"CapabilityBoundingSet":   "",
	}
	for k, v := range want {
		if _, ok := u[s][k]; !ok || u.get(s, k) != v {
			t.Errorf("[Service] %s=%q, want %q", k, u.get(s, k), v)
		}
	}
	// The token and the env file: credentials systemd reads as root.
	creds := u[s]["LoadCredential"]
	for _, c := range []string{"token:/etc/afmc/token", "env:/etc/afmc/afmc.env"} {
		if !slices.Contains(creds, c) {
			t.Errorf("[Service] lacks LoadCredential=%s", c)
		}
	}
	// afmc reads the env file itself, with systemd's rules, as cron does:
	// systemd does not read it as well.
	if _, ok := u[s]["EnvironmentFile"]; ok {
		t.Error("[Service] has EnvironmentFile=: afmc reads the env file itself (AFMC_ENV_FILE), as under cron")
	}
	env := u[s]["Environment"]
	for _, e := range []string{"AFMC_STATE_DIR=%S/afmc", "AFMC_TOKEN_FILE=%d/token", "AFMC_ENV_FILE=%d/env"} {
		if !slices.Contains(env, e) {
			t.Errorf("[Service] lacks Environment=%s", e)
		}
	}
	for _, e := range env {
		if strings.HasPrefix(e, "AFMC_TOKEN=") || strings.HasPrefix(e, "AFMC_SALT=") {
			t.Errorf("a secret in the unit: Environment=%s", e)
		}
	}
	// These would hide what the collectors read.
	for _, k := range []string{"ProcSubset", "ProtectProc", "PrivateNetwork"} {
		if _, ok := u[s][k]; ok {
			t.Errorf("[Service] sets %s", k)
		}
	}
	if strings.Contains(u.get(s, "ExecStart"), "token") {
		t.Error("the token on the command line")
	}
	if _, ok := u["Install"]; ok {
		t.Error("afmc.service has an [Install] section: the timer starts it, it is not enabled itself")
	}
	text := string(readFile(t, "systemd/afmc.service"))
	for _, want := range []string{"5 the endpoint needs a person", "systemctl start afmc-check", "journalctl -u afmc-check"} {
		if !strings.Contains(text, want) {
			t.Errorf("afmc.service does not say %q", want)
		}
	}
}

func TestSystemdTimer(t *testing.T) {
	u := parseUnit(t, "systemd/afmc.timer")
	for k, v := range map[string]string{
		"OnCalendar":         "*:0/5",
		"Persistent":         "true",
		"RandomizedDelaySec": "60",
		"AccuracySec":        "1s",
	} {
		if got := u.get("Timer", k); got != v {
			t.Errorf("[Timer] %s=%q, want %q", k, got, v)
		}
	}
	if got := u.get("Install", "WantedBy"); got != "timers.target" {
		t.Errorf("[Install] WantedBy=%q, want timers.target", got)
	}
	if out, err := exec.Command(testtool.Need(t, "systemd-analyze"), "calendar", "--iterations=2", u.get("Timer", "OnCalendar")).CombinedOutput(); err != nil {
		t.Errorf("systemd-analyze calendar: %v\n%s", err, out)
	} else if !strings.Contains(string(out), "*-*-* *:00/5:00") {
		t.Errorf("OnCalendar is not every 5 minutes:\n%s", out)
	}
}

// afmc-check.service is afmc check as afmc.service runs afmc: its
// [Service] is the service's, key for key, but for what it runs (and the
// exit statuses counted as success, which a check does not have).
func TestSystemdCheckUnit(t *testing.T) {
	svc := parseUnit(t, "systemd/afmc.service")
	chk := parseUnit(t, "systemd/afmc-check.service")
	if got := chk.get("Service", "ExecStart"); got != "/usr/bin/afmc check" {
		t.Errorf("afmc-check.service: ExecStart=%q, want /usr/bin/afmc check", got)
	}
	if _, ok := chk["Service"]["SuccessExitStatus"]; ok {
		t.Error("afmc-check.service counts a failing check as a success")
	}
	differ := map[string]bool{"ExecStart": true, "SuccessExitStatus": true}
	keys := map[string]bool{}
	for k := range svc["Service"] {
		keys[k] = true
	}
	for k := range chk["Service"] {
		keys[k] = true
	}
	for k := range keys {
		if !differ[k] && !slices.Equal(svc["Service"][k], chk["Service"][k]) {
			t.Errorf("[Service] %s: afmc.service has %q, afmc-check.service %q: the check must run as the service does", k, svc["Service"][k], chk["Service"][k])
		}
	}
	for _, k := range []string{"After", "Wants"} {
		if !slices.Equal(svc["Unit"][k], chk["Unit"][k]) {
			t.Errorf("[Unit] %s: afmc.service has %q, afmc-check.service %q", k, svc["Unit"][k], chk["Unit"][k])
		}
	}
	if _, ok := chk["Install"]; ok {
		t.Error("afmc-check.service has an [Install] section: it is started by hand")
	}
	text := string(readFile(t, "systemd/afmc-check.service"))
	units := map[string]string{
		"afmc.service":       string(readFile(t, "systemd/afmc.service")),
		"afmc-check.service": text,
		"afmc.timer":         string(readFile(t, "systemd/afmc.timer")),
	}
	if out, err := verifyUnits(t, units); err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	units["afmc-check.service"] = strings.Replace(text, "DynamicUser=yes", "DynamicUser=yess", 1)
	if out, err := verifyUnits(t, units); err == nil && strings.TrimSpace(out) == "" {
		t.Error("systemd-analyze verify said nothing of a bad value in afmc-check.service")
	}
	for _, want := range []string{"systemctl start afmc-check", "journalctl -u afmc-check"} {
		if !strings.Contains(text, want) {
			t.Errorf("afmc-check.service does not say %q", want)
		}
	}
}

// The units' environment, as systemd would give it, runs afmc: the state
// dir of StateDirectory=, the token and the env file as LoadCredential=
// copies named by AFMC_TOKEN_FILE and AFMC_ENV_FILE. afmc.service's run
// delivers to a loopback sink named in the env file; afmc-check.service's
// check passes with the same environment.
func TestUnitsEnvironmentRunAfmc(t *testing.T) {
	var mu sync.Mutex
	var got []string
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, string(b))
		mu.Unlock()
		io.WriteString(w, "ok")
	}))
	defer sink.Close()
	const token = "unit-token-0123456789abcdef"
	for _, name := range []string{"afmc.service", "afmc-check.service"} {
		t.Run(name, func(t *testing.T) {
			u := parseUnit(t, "systemd/"+name)
			root := t.TempDir()
			stateRoot, creds := filepath.Join(root, "state"), filepath.Join(root, "credentials")
			if err := os.MkdirAll(filepath.Join(stateRoot, u.get("Service", "StateDirectory")), 0o700); err != nil {
				t.Fatal(err)
			}
			os.MkdirAll(creds, 0o700)
			noConfig := filepath.Join(root, "afmc.yaml")
			os.WriteFile(noConfig, nil, 0o644)
			// What the site's /etc/afmc/token and /etc/afmc/afmc.env hold.
			sources := map[string]string{
				"/etc/afmc/token":    token + "\n",
				"/etc/afmc/afmc.env": "AFMC_CONFIG=" + noConfig + "\nAFMC_CLUSTER='UNIT TEST'\nAFMC_URL=" + sink.URL + "/\nAFMC_KUBECTL=no-kubectl\nAFMC_CONDOR_BIN_DIR=" + root + "\n",
			}
			for _, c := range u["Service"]["LoadCredential"] {
				id, src, _ := strings.Cut(c, ":")
				content, ok := sources[src]
				if !ok {
					t.Fatalf("LoadCredential=%s: a file this test does not know", c)
				}
				if err := os.WriteFile(filepath.Join(creds, id), []byte(content), 0o400); err != nil {
					t.Fatal(err)
				}
			}
			env := []string{"HOME=" + root}
			for _, e := range u["Service"]["Environment"] {
				env = append(env, strings.NewReplacer("%S", stateRoot, "%d", creds).Replace(e))
			}
			args := strings.Fields(u.get("Service", "ExecStart"))
			if args[0] != "/usr/bin/afmc" {
				t.Fatalf("ExecStart=%s", u.get("Service", "ExecStart"))
			}
			code, out, errOut := runAFMC(t, env, args[1:]...)
			if code != 0 {
				t.Fatalf("%s: exit %d\n%s\n%s", strings.Join(args, " "), code, out, errOut)
			}
			if name == "afmc-check.service" {
				rows := map[string]string{}
				for _, line := range strings.Split(out, "\n") {
					if m := regexp.MustCompile(`^(.+?)\s{2,}((?:OK|SKIP|WARN|FAIL)\s.*)$`).FindStringSubmatch(line); m != nil {
						rows[m[1]] = m[2]
					}
				}
				for what, want := range map[string]string{
					"token":        "OK      from " + filepath.Join(creds, "token"),
					"env file":     "OK      " + filepath.Join(creds, "env") + ": 5 variables",
					"state dir":    "OK      " + filepath.Join(stateRoot, "afmc") + ": writable, lock taken",
					"endpoint url": "OK      plain http to 127.0.0.1, this host",
				} {
					if !strings.HasPrefix(rows[what], want) {
						t.Errorf("check: %s: %q, want %q\n%s", what, rows[what], want, out)
					}
				}
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) < 3 {
				t.Fatalf("the sink got %d documents:\n%s", len(got), errOut)
			}
			for _, d := range got {
				if !strings.Contains(d, `"cluster":"UNIT TEST"`) || !strings.Contains(d, `"token":"`+token+`"`) {
					t.Errorf("document %s: want the env file's cluster and the credential's token", d)
				}
			}
		})
	}
}
