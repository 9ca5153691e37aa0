package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atlas-af/afmc/internal/fixture"
)

// Every collector at once, on its fixtures (utmp, the fake Kubernetes API
// through the real kubectl, the fake condor tools with finished jobs),
// with --obfuscate-users: not one of the names they report without it is
// in what is printed. The users step finds names by their type in the
// document, so a collector naming users in a field of another name would
// show here.
func TestObfuscateUsersEveryCollector(t *testing.T) {
	env := jupyterKubectlEnv(t)
	run := filepath.Join(env["HOST_VAR"], "run")
	if err := os.MkdirAll(run, 0o755); err != nil {
		t.Fatal(err)
	}
	dump := filepath.Join("..", "..", "testdata", "ssh", "utmp.txt")
	fixture.Utmp(t, dump, filepath.Join(run, "utmp"))
	fixture.LiveSessions(t, dump, env["HOST_PROC"])
	api := newE2EKubeAPI(t, "kubeconfig-token")
	env["AFMC_KUBECONFIG"] = api.Kubeconfig(t, "kubeconfig-token")
	env["AFMC_JUPYTER"] = "jupyter-ml=af-jupyter/owner,jupyter-coffea=coffea-casa/jhub_user"
	env["AFMC_CONDOR_BIN_DIR"] = condorScenario(t, map[string]string{
		"jobs.out":    condorFile(t, "q-jobs.json"),
		"totals.out":  condorFile(t, "q-totals.json"),
		"history.out": historyOf(90, time.Now().Add(-time.Minute).Unix()),
	})
	env["AFMC_SALT"] = "5tKC%>f&%#hg"

	// Dry runs: the second sees the same state, so the same finished jobs.
	plain := afmc(t, env, "collect", "--all", "--dry-run", "--json")
	if plain.code != 0 {
		t.Fatalf("exit %d: %s", plain.code, plain.stderr)
	}
	names := map[string]string{} // name → the kind that reported it
	for _, d := range docs(t, plain.stdout) {
		switch u := d["users"].(type) {
		case string:
			names[u] = d["kind"].(string)
		case []any:
			for _, n := range u {
				names[n.(string)] = d["kind"].(string)
			}
		}
	}
	reported := map[string]bool{}
	for _, kind := range names {
		reported[kind] = true
	}
	for _, kind := range []string{"ssh", "jupyter-ml", "jupyter-coffea", "condorjob"} {
		if !reported[kind] {
			t.Errorf("no %s document names a user: the fixtures do not cover it\n%s", kind, plain.stdout)
		}
	}

	hidden := afmc(t, env, "collect", "--all", "--dry-run", "--json", "--obfuscate-users")
	if hidden.code != 0 || len(docs(t, hidden.stdout)) != len(docs(t, plain.stdout)) {
		t.Fatalf("exit %d, %d documents against %d: %s", hidden.code, len(docs(t, hidden.stdout)), len(docs(t, plain.stdout)), hidden.stderr)
	}
	for name, kind := range names {
		if strings.Contains(hidden.stdout, `"`+name+`"`) {
			t.Errorf("%s's user %q is in the output of --obfuscate-users", kind, name)
		}
	}
}
