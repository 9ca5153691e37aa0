package examples

import (
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
	if !strings.Contains(cmd, "/usr/bin/afmc collect --all --post") {
		t.Errorf("cron/afmc: command %q does not run /usr/bin/afmc collect --all --post", cmd)
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
}
