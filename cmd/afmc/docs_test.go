package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alecthomas/kong"

	"github.com/atlas-af/afmc/internal/testtool"
)

// model is the command line as kong sees it.
func model(t *testing.T) *kong.Application {
	t.Helper()
	var c cli
	p, err := kong.New(&c, kong.Vars{"kinds": "", "config": defaultConfig})
	if err != nil {
		t.Fatal(err)
	}
	return p.Model
}

// The man page documents every flag, and groff reads it without a warning.
func TestManPage(t *testing.T) {
	_, env := hostFixture(t)
	r := afmc(t, env, "man")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	app := model(t)
	flags := app.Flags
	for _, c := range app.Children {
		flags = append(flags, c.Flags...)
	}
	for _, f := range flags {
		if !f.Hidden && !strings.Contains(r.stdout, `\fB\-\-`+strings.ReplaceAll(f.Name, "-", `\-`)+`\fR`) {
			t.Errorf("the man page lacks --%s", f.Name)
		}
	}
	for _, want := range []string{".SH EXIT STATUS\n", "\n5\nThe endpoint needs a person", "in the order 1, 5, 4, 3", `afmc\-check.service`, "/etc/afmc/afmc.env"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the man page does not say %q", want)
		}
	}
	page := filepath.Join(t.TempDir(), "afmc.1")
	os.WriteFile(page, []byte(r.stdout), 0o644)
	out, err := exec.Command(testtool.Need(t, "groff"), "-man", "-Tutf8", "-ww", "-z", page).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("groff (install groff-base): %v\n%s", err, out)
	}
}

// complete runs the bash completion for a command line, the cursor on its
// last word, and returns what bash would offer.
func complete(t *testing.T, script string, words ...string) []string {
	t.Helper()
	cmd := exec.Command(testtool.Need(t, "bash"), "-c", `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _afmc; printf '%s\n' "${COMPREPLY[@]}"`, "bash", script)
	cmd.Args = append(cmd.Args, words...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash completion of %q: %v\n%s", words, err, out)
	}
	return strings.Fields(string(out))
}

func TestBashCompletion(t *testing.T) {
	_, env := hostFixture(t)
	r := afmc(t, env, "completion", "bash")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	script := filepath.Join(t.TempDir(), "afmc.bash")
	os.WriteFile(script, []byte(r.stdout), 0o644)
	for _, tt := range []struct {
		words []string
		want  string
	}{
		{[]string{"afmc", "col"}, "collect"},
		{[]string{"afmc", "collect", "c"}, "condor cpu"},
		{[]string{"afmc", "collect", "--ssh-so"}, "--ssh-source"},
		{[]string{"afmc", "collect", "--ssh-source", ""}, "auto utmp logind"},
		{[]string{"afmc", "collect", "--user-hash", "h"}, "hmac-sha256"},
		{[]string{"afmc", "collect", "--cluster", ""}, ""},
		{[]string{"afmc", "--log-level", "d"}, "debug"},
		{[]string{"afmc", "collect", "--json", "ss"}, "ssh"},
		{[]string{"afmc", "check", "c"}, "condor cpu"},
		{[]string{"afmc", "check", "h"}, "host"},
		{[]string{"afmc", "--v"}, "--verbose --version"},
	} {
		if got := strings.Join(complete(t, script, tt.words...), " "); got != tt.want {
			t.Errorf("%q: offered %q, want %q", tt.words, got, tt.want)
		}
	}
}

func TestZshCompletion(t *testing.T) {
	_, env := hostFixture(t)
	r := afmc(t, env, "completion", "zsh")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "#compdef afmc\n") || !strings.Contains(r.stdout, "--ssh-source=[") {
		t.Fatalf("exit %d: %s", r.code, r.stdout)
	}
	script := filepath.Join(t.TempDir(), "_afmc")
	os.WriteFile(script, []byte(r.stdout), 0o644)
	if out, err := exec.Command(testtool.Need(t, "zsh"), "-n", script).CombinedOutput(); err != nil {
		t.Errorf("zsh -n (install zsh): %v\n%s", err, out)
	}
	// collect and check both complete kinds.
	for _, cmd := range []string{"collect", "check"} {
		branch := r.stdout[strings.Index(r.stdout, "\t\t"+cmd+")"):]
		branch = branch[:strings.Index(branch, ";;")]
		if !strings.Contains(branch, "'*:kind:(condor cpu disk host jupyter mem network ssh)'") {
			t.Errorf("zsh: %s does not complete kinds:\n%s", cmd, branch)
		}
	}
	if r := afmc(t, env, "completion", "fish"); r.code != exitUsage {
		t.Errorf("completion fish: exit %d", r.code)
	}
}

func TestVersion(t *testing.T) {
	out, err := exec.Command("go", "run", "-ldflags", "-X main.version=1.2.3 -X main.commit=abc1234 -X main.date=2026-11-29T00:00:00Z", ".", "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "afmc 1.2.3 (commit abc1234, built 2026-11-29T00:00:00Z, go") {
		t.Errorf("version: %v %s", err, out)
	}
}
