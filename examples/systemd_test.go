package examples

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
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
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze is not installed: apt-get install systemd (the units are checked with `systemd-analyze verify`)")
	}
	dir := t.TempDir()
	bin := afmcBinary(t)
	service = strings.ReplaceAll(service, "ExecStart=/usr/bin/afmc ", "ExecStart="+bin+" ")
	for name, text := range map[string]string{"afmc.service": service, "afmc.timer": timer} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(analyze, "verify", "--man=no", filepath.Join(dir, "afmc.service"), filepath.Join(dir, "afmc.timer"))
	out, err := cmd.CombinedOutput()
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
		"LoadCredential":     "token:/etc/afmc/token",
		"EnvironmentFile":    "-/etc/afmc/afmc.env",
		"ProtectSystem":      "strict",
		// statfs of /home must see the real filesystem.
		"ProtectHome":             "read-only",
		"PrivateTmp":              "yes",
		"NoNewPrivileges":         "yes",
		"ProtectKernelTunables":   "yes",
		"RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
		"CapabilityBoundingSet":   "",
	}
	for k, v := range want {
		if _, ok := u[s][k]; !ok || u.get(s, k) != v {
			t.Errorf("[Service] %s=%q, want %q", k, u.get(s, k), v)
		}
	}
	env := u[s]["Environment"]
	for _, e := range []string{"AFMC_STATE_DIR=%S/afmc", "AFMC_TOKEN_FILE=%d/token"} {
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
	for _, k := range []string{"ProcSubset", "ProtectProc", "PrivateNetwork", "User"} {
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
	if out, err := exec.Command("systemd-analyze", "calendar", "--iterations=2", u.get("Timer", "OnCalendar")).CombinedOutput(); err != nil {
		t.Errorf("systemd-analyze calendar: %v\n%s", err, out)
	} else if !strings.Contains(string(out), "*-*-* *:00/5:00") {
		t.Errorf("OnCalendar is not every 5 minutes:\n%s", out)
	}
}
