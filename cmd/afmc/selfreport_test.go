package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// --self-report adds one afmc document: each collector's outcome (ok,
// skipped with why, error with its message), documents by kind, the
// spool's backlog. It is printed and sent like the others, its login_node
// obfuscated like theirs.
func TestSelfReport(t *testing.T) {
	s := newSink(t)
	_, env := postEnv(t, s)
	env["AFMC_CONDOR_BIN_DIR"] = t.TempDir() // no condor_q: --all skips condor

	r := afmc(t, env, "collect", "--all", "--json")
	if r.code != 0 || strings.Contains(r.stdout, `"kind":"afmc"`) {
		t.Fatalf("off by default: exit %d, stdout %s", r.code, r.stdout)
	}

	// Two documents left in the spool by a run whose endpoint failed.
	s.mode.Store(sinkFail500)
	if r := afmc(t, env, "collect", "cpu", "mem", "--post", "--timeout", "1s", "--request-timeout", "200ms"); r.code != exitUndelivered {
		t.Fatalf("failing endpoint: exit %d: %s", r.code, r.stderr)
	}
	s.mode.Store(sinkOK)

	r = afmc(t, env, "collect", "--all", "--json", "--post", "--self-report",
		"--mount", "/data", "--mount", "/nope", "--obfuscate-hosts", "af.example")
	if r.code != exitFailed {
		t.Fatalf("exit %d, want %d (a mount failed): %s", r.code, exitFailed, r.stderr)
	}
	ds := docs(t, r.stdout)
	rep := ds[len(ds)-1]
	if rep["kind"] != "afmc" || strings.Count(r.stdout, `"kind":"afmc"`) != 1 {
		t.Fatalf("the last document is not the one self-report:\n%s", r.stdout)
	}
	counted := map[string]any{}
	for _, d := range ds[:len(ds)-1] {
		k := d["kind"].(string)
		n, _ := counted[k].(float64)
		counted[k] = n + 1
	}
	var got struct {
		Cluster    string
		LoginNode  string `json:"login_node"`
		Version    string
		Duration   float64
		Collectors map[string]struct {
			Outcome   string
			Reason    string
			Error     string
			Duration  *float64
			Documents *int
		}
		Documents map[string]any
		Spool     struct{ Backlog, Dropped int }
	}
	b, _ := json.Marshal(rep)
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Cluster != "TEST-AF" || got.LoginNode != "atlas01.af.example" || got.Version != "devel" || got.Duration <= 0 {
		t.Errorf("header: %s", b)
	}
	c := got.Collectors
	if len(c) != 7 {
		t.Errorf("want the 7 collectors, got %s", b)
	}
	if c["cpu"].Outcome != "ok" || c["cpu"].Documents == nil || *c["cpu"].Documents != 1 || c["cpu"].Duration == nil {
		t.Errorf("cpu: %+v", c["cpu"])
	}
	if c["disk"].Outcome != "error" || !strings.Contains(c["disk"].Error, "mount /nope: does not exist") || *c["disk"].Documents != 1 {
		t.Errorf("disk: %+v", c["disk"])
	}
	if c["condor"].Outcome != "skipped" || !strings.Contains(c["condor"].Reason, "condor_q") || c["condor"].Duration != nil {
		t.Errorf("condor: %+v", c["condor"])
	}
	if len(got.Documents) != len(counted) {
		t.Errorf("documents %v, printed before it %v", got.Documents, counted)
	}
	for k, n := range counted {
		if got.Documents[k] != n {
			t.Errorf("documents[%s] = %v, printed %v", k, got.Documents[k], n)
		}
	}
	if got.Spool.Backlog != 2 || got.Spool.Dropped != 0 {
		t.Errorf("spool %+v, want the 2 documents left by the failed run", got.Spool)
	}
	// Sent like the others.
	if n := s.countDocs(t)[strings.TrimSpace(strings.Split(r.stdout, "\n")[len(ds)-1])]; n != 1 {
		t.Errorf("the self-report reached the endpoint %d times", n)
	}
}
