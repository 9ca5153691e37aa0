package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/alecthomas/kong"

	"github.com/atlas-af/afmc/collect/all"
)

// --help and the man page say the defaults a site coming from the
// original collector relies on, as the README does.
func TestHelpAndManSayTheParityDefaults(t *testing.T) {
	_, env := hostFixture(t)
	help := afmc(t, env, "collect", "--help")
	man := afmc(t, env, "man")
	if help.code != 0 || man.code != 0 {
		t.Fatalf("--help exit %d, man exit %d", help.code, man.code)
	}
	flat := func(s string) string { return strings.Join(strings.Fields(strings.ReplaceAll(s, `\-`, "-")), " ") }
	for _, want := range []string{
		"default: /home, /data and /scratch, each skipped where it does not exist",
		"as df PATH does: the filesystem holding it, under mount = PATH",
		"--all-mounts",
		"Report every mounted real filesystem under its mount point",
		"Default: jupyter-ml=af-jupyter/owner and jupyter-coffea=coffea-casa/jhub_user, each skipped where its namespace does not exist",
		"a hub named here whose namespace does not exist is an error",
	} {
		for name, text := range map[string]string{"--help": help.stdout, "the man page": man.stdout} {
			if !strings.Contains(flat(text), want) {
				t.Errorf("%s does not say %q", name, want)
			}
		}
	}
	if !strings.Contains(man.stdout, `\fBAFMC_ALL_MOUNTS\fR`) || !strings.Contains(help.stdout, "($AFMC_ALL_MOUNTS)") {
		t.Error("AFMC_ALL_MOUNTS is not named")
	}
}

// originalOptions are afmetrics_collector's options (its skeleton.py):
// docs/MIGRATING.md says what replaces each.
var originalOptions = []string{"-s", "-S", "-j", "-n", "-l", "-b", "-q", "--host", "-t", "-c", "-u", "-g", "-o", "-O", "-z", "-d", "-v"}

// docs/MIGRATING.md, which the README links, names every option of the
// original, and only flags, config keys and kinds afmc has.
func TestMigratingDoc(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "MIGRATING.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "(docs/MIGRATING.md)") {
		t.Error("the README does not link docs/MIGRATING.md")
	}

	flags := map[string]bool{}
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		for _, f := range n.Flags {
			flags[f.Name] = true
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(model(t).Node)
	kinds := all.KindNames(all.Set{}.List())

	rows := map[string]string{} // an original option: what replaces it
	for _, line := range strings.Split(doc, "\n") {
		cells := strings.Split(line, " | ")
		if len(cells) != 3 || !strings.HasPrefix(line, "| `-") {
			continue
		}
		for _, opt := range regexp.MustCompile("`(-[-a-zA-Z]+)").FindAllStringSubmatch(cells[0], -1) {
			rows[opt[1]] = cells[2]
		}
	}
	for _, opt := range originalOptions {
		afmcSide, ok := rows[opt]
		if !ok {
			t.Errorf("docs/MIGRATING.md has no row for the original's %s", opt)
			continue
		}
		if !regexp.MustCompile("--[a-z]|kind `").MatchString(afmcSide) {
			t.Errorf("%s: the row names no afmc flag or kind: %q", opt, afmcSide)
		}
	}
	// Every afmc flag, config key and kind the table and the translated
	// cron lines name.
	var afmcText []string
	for _, v := range rows {
		if !slices.Contains(afmcText, v) { // -s and --ssh share a row
			afmcText = append(afmcText, v)
		}
	}
	for _, line := range strings.Split(doc, "\n") {
		if _, cmd, ok := strings.Cut(line, "/usr/bin/afmc "); ok {
			afmcText = append(afmcText, cmd)
			// The kinds: the words between collect and the first flag.
			for _, k := range strings.Fields(strings.TrimPrefix(cmd, "collect ")) {
				if strings.HasPrefix(k, "-") {
					break
				}
				if !slices.Contains(kinds, k) {
					t.Errorf("cron line: %q is no kind of afmc's (%s)", k, cmd)
				}
			}
		}
	}
	text := strings.Join(afmcText, "\n")
	for _, m := range regexp.MustCompile(`--([a-z][a-z0-9-]+)`).FindAllStringSubmatch(text, -1) {
		if !flags[m[1]] {
			t.Errorf("docs/MIGRATING.md names --%s, which afmc does not have", m[1])
		}
	}
	for _, m := range regexp.MustCompile("config `([a-z_]+)`").FindAllStringSubmatch(text, -1) {
		if !flags[strings.ReplaceAll(m[1], "_", "-")] {
			t.Errorf("docs/MIGRATING.md names the config key %s, which is no flag of afmc's", m[1])
		}
	}
	for _, m := range regexp.MustCompile("kind `([a-z]+)`").FindAllStringSubmatch(text, -1) {
		if !slices.Contains(kinds, m[1]) {
			t.Errorf("docs/MIGRATING.md names the kind %s, which afmc does not know", m[1])
		}
	}
	for _, want := range []string{"`timestamp`", "stale zeros", "loopback", "`Runtime` of running jobs", "6-minute", "`submission_err`", "Pending and Running"} {
		if !strings.Contains(doc, want) {
			t.Errorf("docs/MIGRATING.md does not mention %s", want)
		}
	}
}
