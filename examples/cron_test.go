package examples

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestCronFile(t *testing.T) {
	b := string(readFile(t, "cron/afmc"))
	env := map[string]string{}
	var jobs []string
	for n, line := range strings.Split(b, "\n") {
		switch {
		case strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#"):
		case regexp.MustCompile(`^[A-Z_][A-Z0-9_]*=`).MatchString(line):
			k, v, _ := strings.Cut(line, "=")
			env[k] = v
		default:
			jobs = append(jobs, line)
			if strings.Contains(line, "%") {
				t.Errorf("cron/afmc:%d: %% is a newline to cron", n+1)
			}
		}
	}
	if len(jobs) != 1 {
		t.Fatalf("cron/afmc: %d job lines, want one", len(jobs))
	}
	f := strings.Fields(jobs[0])
	if len(f) < 7 {
		t.Fatalf("cron/afmc: %q: want 5 time fields, a user and a command", jobs[0])
	}
	if got := everyMinutes(t, strings.Join(f[:5], " ")); got != 300 {
		t.Errorf("cron/afmc runs every %ds, want 300", got)
	}
	if f[5] != "afmc" {
		t.Errorf("cron/afmc runs as %q, want the unprivileged user afmc", f[5])
	}
	cmd := strings.Join(f[6:], " ")
	if cmd != cronCommand {
		t.Errorf("cron/afmc: command %q, want %q", cmd, cronCommand)
	}
	// The env file is afmc's to read, with systemd's rules: a shell
	// sourcing it would read a salt with a $ or a space otherwise.
	if regexp.MustCompile(`(^|[;&|]\s*)(\.|source|set -a)\s`).MatchString(cmd) {
		t.Errorf("cron/afmc: the command sources a file with the shell: %q", cmd)
	}
	if regexp.MustCompile(`(?i)token|salt`).MatchString(cmd) {
		t.Errorf("cron/afmc: a secret or its file on the command line: %q", cmd)
	}
	for k := range env {
		if k == "AFMC_TOKEN" || k == "AFMC_SALT" {
			t.Errorf("cron/afmc sets %s: the secret would be in a world-readable file", k)
		}
	}
	if env["AFMC_STATE_DIR"] != "/var/lib/afmc" {
		t.Errorf("cron/afmc: AFMC_STATE_DIR=%q, want /var/lib/afmc (the afmc user's, 0700)", env["AFMC_STATE_DIR"])
	}
	if !strings.Contains(b, "install -d -o afmc -g afmc -m 0700 /var/lib/afmc") || !strings.Contains(b, "useradd --system") {
		t.Error("cron/afmc does not say how to make the user and its state dir")
	}
	if !strings.Contains(b, "5 the endpoint needs a person") || !strings.Contains(b, "chgrp afmc /etc/afmc/afmc.env") {
		t.Error("cron/afmc does not say exit status 5, or how the afmc user reads the env file")
	}
}

// cronCommand is the cron file's command: afmc reads the env file itself.
const cronCommand = "/usr/bin/afmc --env-file /etc/afmc/afmc.env collect --all --post"

// The env file means the same under cron and under systemd: the cron
// line's afmc and the unit's (AFMC_ENV_FILE=%d/env, the credential's copy)
// read a value with a $, quotes and blanks as systemd's EnvironmentFile=
// does, where /bin/sh sourcing it would not.
func TestEnvFileOneMeaning(t *testing.T) {
	dir := t.TempDir()
	envFile := filepath.Join(dir, "afmc.env")
	// A cluster name stands in for the salt: it is printed, the salt is not.
	const raw = `AFMC_CLUSTER=UC $HOME "x"  ` + "\n" + `AFMC_LOGIN_NODE='login 01'` + "\n"
	const want = `UC $HOME "x"`
	if err := os.WriteFile(envFile, []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	noConfig := filepath.Join(dir, "none.yaml")
	os.WriteFile(noConfig, nil, 0o600)
	base := []string{"AFMC_CONFIG=" + noConfig, "AFMC_STATE_DIR=" + filepath.Join(dir, "state")}

	// The cron line, with the test's env file and a run that prints.
	words := strings.Fields(cronCommand)
	var args []string
	for _, w := range words[1:] {
		switch w {
		case "/etc/afmc/afmc.env":
			w = envFile
		case "--all":
			w = "cpu"
		case "--post":
			w = "--json"
		}
		args = append(args, w)
	}
	code, out, errOut := runAFMC(t, base, args...)
	if code != 0 || !strings.Contains(out, `"cluster":"UC $HOME \"x\""`) || !strings.Contains(out, `"login_node":"login 01"`) {
		t.Errorf("the cron line's afmc: exit %d, stdout %s, stderr %s", code, out, errOut)
	}
	// The unit's way: AFMC_ENV_FILE names the file.
	unitOut := ""
	if code, unitOut, errOut = runAFMC(t, append(base, "AFMC_ENV_FILE="+envFile), "collect", "cpu", "--json"); code != 0 || withoutLoad(unitOut) != withoutLoad(out) {
		t.Errorf("the unit's afmc: exit %d, stdout %s (cron's: %s), stderr %s", code, unitOut, out, errOut)
	}
	// What sourcing the file with /bin/sh, as the cron line once did, reads.
	sh, err := exec.Command("sh", "-c", `set -a; . "$1" 2>/dev/null; printf %s "$AFMC_CLUSTER"`, "sh", envFile).Output()
	if err == nil && string(sh) == want {
		t.Errorf("sh reads %q as systemd does: this test would show nothing", sh)
	}
}

// withoutLoad drops the load average from a CPU document: two runs read
// it at different instants.
func withoutLoad(doc string) string {
	return regexp.MustCompile(`"load":[0-9.e+-]+`).ReplaceAllString(doc, `"load":_`)
}
