package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atlas-af/afmc/spool"
)

// condorScenario makes a directory holding the fake condor_q and
// condor_history of testdata/condor/bin and the given files (the scripts
// say what each name means), for --condor-bin-dir.
func condorScenario(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for _, p := range []string{"condor_q", "condor_history", "condor_status"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "condor", "bin", p))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func condorFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "condor", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// finishedIDs are the Ids of the finished-job documents printed.
func finishedIDs(ds []map[string]any) string {
	var ids []string
	for _, d := range ds {
		// 104.0 of q-jobs.json is finished but still in the queue.
		if d["kind"] == "condorjob" && d["state"] == "finished" && d["Id"] != "104.0" {
			ids = append(ids, d["Id"].(string))
		}
	}
	return strings.Join(ids, " ")
}

// historyOf prints finished jobs (cluster id, JobFinishedHookDone) in
// condor_history's layout, newest first as given.
func historyOf(recs ...int64) string {
	var ads []string
	for i := 0; i+1 < len(recs); i += 2 {
		cluster := strconv.FormatInt(recs[i], 10)
		ads = append(ads, "{\n  \"ClusterId\": "+cluster+",\n  \"GlobalJobId\": \"schedd01.af.example.org#"+cluster+".0#1699990000\",\n"+
			"  \"JobFinishedHookDone\": "+strconv.FormatInt(recs[i+1], 10)+",\n  \"JobStatus\": 4,\n  \"Owner\": \"alice\",\n  \"ProcId\": 0,\n  \"RemoteWallClockTime\": 42.0\n}")
	}
	return "[\n" + strings.Join(ads, "\n,\n") + "\n]\n"
}

func TestCondorEndToEnd(t *testing.T) {
	_, env := hostFixture(t)
	done90 := time.Now().Add(-time.Minute).Unix()
	bin := condorScenario(t, map[string]string{
		"jobs.out":    condorFile(t, "q-jobs.json"),
		"totals.out":  condorFile(t, "q-totals.json"),
		"history.out": historyOf(90, done90),
	})
	env["AFMC_CONDOR_BIN_DIR"] = bin

	r := afmc(t, env, "collect", "condor", "--json")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	ds := docs(t, r.stdout)
	if got := kinds(ds); got != strings.TrimSpace(strings.Repeat("condorjob ", 15)+"condorqueue") {
		t.Fatalf("kinds %s", got)
	}
	// Field order as the dashboards know it.
	if !strings.HasPrefix(r.stdout, `{"kind":"condorjob","cluster":"TEST-AF","users":"alice","state":"idle","Id":"101.0","Runtime":0}`+"\n"+
		`{"kind":"condorjob","cluster":"TEST-AF","users":"alice","state":"running","Id":"101.1","Runtime":1120}`) {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	if want := `{"kind":"condorqueue","cluster":"TEST-AF","queue":"all","idle":1,"running":4,"held":1,"allocated_cores":9,"allocated_mem":16240}`; !strings.Contains(r.stdout, want) {
		t.Errorf("no %s in\n%s", want, r.stdout)
	}
	if got := finishedIDs(ds); got != "90.0" {
		t.Errorf("finished %q", got)
	}

	// The checkpoint was saved: the same history sends nothing again.
	r = afmc(t, env, "collect", "condor", "--json")
	if got := finishedIDs(docs(t, r.stdout)); r.code != 0 || got != "" {
		t.Errorf("second run: exit %d, finished %q, stderr %q", r.code, got, r.stderr)
	}

	// A dry run shows a new finished job but moves no checkpoint.
	os.WriteFile(filepath.Join(bin, "history.out"), []byte(historyOf(91, time.Now().Unix(), 90, done90)), 0o644)
	r = afmc(t, env, "collect", "condor", "--json", "--dry-run")
	if got := finishedIDs(docs(t, r.stdout)); r.code != 0 || got != "91.0" {
		t.Errorf("dry run: exit %d, finished %q, stderr %q", r.code, got, r.stderr)
	}
	r = afmc(t, env, "collect", "condor", "--json")
	if got := finishedIDs(docs(t, r.stdout)); r.code != 0 || got != "91.0" {
		t.Errorf("after the dry run: exit %d, finished %q, stderr %q", r.code, got, r.stderr)
	}
}

// Queues and owners from flags and the environment reach condor_q as
// single arguments, quotes, colons, spaces and = included. Under
// --condor-global every call names its schedd.
func TestCondorEndToEndSettings(t *testing.T) {
	_, env := hostFixture(t)
	bin := condorScenario(t, map[string]string{
		"jobs.out":           condorFile(t, "q-jobs-dagman.json"),
		"totals.short.match": `Queue == "short"`,
		"totals.short.out":   condorFile(t, "q-totals-short.json"),
		"alloc.short.match":  `Queue == "short"`,
		"alloc.short.out":    condorFile(t, "q-alloc-short.json"),
		"history.out":        "[\n]\n",
		"status.out":         "schedd01.af.example.org\n",
	})
	env["AFMC_CONDOR_BIN_DIR"] = bin
	r := afmc(t, env, "collect", "condor", "--json", "--condor-global",
		"--condor-queue", "all", "--condor-queue", `short=Queue == "short" && Cmd =!= "/a b:c"`)
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	// atlas-coffea, the service account the original left out, is left
	// out by default: counted, not sent.
	want := `{"kind":"condorjob","cluster":"TEST-AF","users":"carol","state":"running","Id":"401.0","Runtime":1000}
{"kind":"condorqueue","cluster":"TEST-AF","queue":"all","idle":1,"running":1,"held":0,"allocated_cores":2,"allocated_mem":4096}
{"kind":"condorqueue","cluster":"TEST-AF","queue":"short","idle":1,"running":1,"held":0,"allocated_cores":5,"allocated_mem":8192}
`
	if r.stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
	log, err := os.ReadFile(filepath.Join(bin, "argv.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, arg := range []string{
		"\037-constraint\037Queue == \"short\" && Cmd =!= \"/a b:c\"\037",
		"\037-constraint\037(JobStatus == 2 || JobStatus == 6 || JobStatus == 7) && (Queue == \"short\" && Cmd =!= \"/a b:c\")\037",
	} {
		if !strings.Contains(string(log), arg) {
			t.Errorf("no call with %q in\n%s", arg, log)
		}
	}
	if n := strings.Count(string(log), "-name\037schedd01.af.example.org\037"); n != 4 || strings.Contains(string(log), "-global") {
		t.Errorf("%d calls by schedd name, want 4, and none with -global:\n%s", n, log)
	}

	// An empty --condor-exclude-owner keeps every owner, from the command
	// line, the environment or the config file.
	for _, how := range []struct {
		args []string
		env  map[string]string
	}{
		{[]string{"--condor-exclude-owner="}, nil},
		// An empty variable is as if unset: a lone comma is the empty list.
		{nil, map[string]string{"AFMC_CONDOR_EXCLUDE_OWNER": ","}},
		{nil, map[string]string{"AFMC_CONFIG": writeConfig(t, "condor_exclude_owner: []\n")}},
		{nil, map[string]string{"AFMC_CONFIG": writeConfig(t, "condor_exclude_owner: ['']\n")}},
	} {
		r = afmc(t, merged(env, how.env), append([]string{"collect", "condor", "--json"}, how.args...)...)
		if r.code != 0 || strings.Count(r.stdout, `"users":"atlas-coffea"`) != 2 {
			t.Errorf("%v %v: exit %d, stdout %s, stderr %s", how.args, how.env, r.code, r.stdout, r.stderr)
		}
	}

	// One queue from the environment: its constraint keeps its commas.
	env["AFMC_CONDOR_QUEUE"] = `gpu=RequestGpus > 0 && stringListMember("a", "a,b")`
	r = afmc(t, env, "collect", "condor", "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"queue":"gpu"`) || strings.Count(r.stdout, "condorqueue") != 1 {
		t.Errorf("AFMC_CONDOR_QUEUE: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "afmc.yaml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// A condor_q that prints its listing and then fails sends none of it: the
// run fails naming it, and the queue summary is counted by -totals.
func TestCondorEndToEndFailedListingNotSent(t *testing.T) {
	s := newSink(t)
	dir, env := postEnv(t, s)
	env["AFMC_CONDOR_BIN_DIR"] = condorScenario(t, map[string]string{
		"jobs.out":    condorFile(t, "q-jobs.json"),
		"jobs.err":    "Error: Failed to fetch ads from: <192.0.2.11:9618> : schedd01.af.example.org\nSECMAN:2007:Failed to end classad message.\n",
		"jobs.exit":   "1",
		"totals.out":  condorFile(t, "q-totals.json"),
		"history.out": "[\n]\n",
	})
	r := afmc(t, env, "collect", "condor", "--json", "--post")
	if r.code != exitFailed || !strings.Contains(r.stderr, "job listing not sent") {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}
	if n := strings.Count(r.stdout, `"kind":"condorjob"`); n != 14 {
		t.Errorf("printed %d jobs, want the 14 printed as they came", n)
	}
	got := s.received()
	if len(got) != 1 || !strings.Contains(got[0], `"kind":"condorqueue"`) || !strings.Contains(got[0], `"idle":2,"running":3,"held":1`) {
		t.Errorf("sent %q, want the queue summary alone", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "state", spool.SpoolName)); !os.IsNotExist(err) {
		t.Errorf("documents left in the spool: %v", err)
	}
}

// Deeply nested output is the collector's error (exit 1), not a crash:
// the other collectors' documents go out.
func TestCondorEndToEndDeepNesting(t *testing.T) {
	_, env := hostFixture(t)
	deep := "[\n{\n  \"ClusterId\": " + strings.Repeat("[", 4<<20) + "\n"
	env["AFMC_CONDOR_BIN_DIR"] = condorScenario(t, map[string]string{"jobs.out": deep, "history.out": "[\n]\n"})
	r := afmc(t, env, "collect", "cpu", "condor", "--json")
	if r.code != exitFailed || !strings.Contains(r.stderr, "nests deeper than 32 levels") || !strings.Contains(r.stdout, `"kind":"CPU"`) {
		t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// A hung condor_q is killed at --condor-timeout; the other collectors'
// documents still go out, and the run fails naming condor.
func TestCondorEndToEndTimeout(t *testing.T) {
	_, env := hostFixture(t)
	env["AFMC_CONDOR_BIN_DIR"] = condorScenario(t, map[string]string{"jobs.hang": ""})
	start := time.Now()
	r := afmc(t, env, "collect", "cpu", "condor", "--json", "--condor-timeout", "300ms")
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("took %s", took)
	}
	if r.code != exitFailed || kinds(docs(t, r.stdout)) != "CPU" {
		t.Errorf("exit %d, stdout %q", r.code, r.stdout)
	}
	if !strings.Contains(r.stderr, "collector condor") || !strings.Contains(r.stderr, "--condor-timeout 300ms reached") {
		t.Errorf("stderr %q", r.stderr)
	}
}

func TestCondorEndToEndMissing(t *testing.T) {
	_, env := hostFixture(t)
	env["AFMC_CONDOR_BIN_DIR"] = t.TempDir()
	r := afmc(t, env, "collect", "--all", "--json", "-v")
	if r.code != 0 || strings.Contains(r.stdout, "condor") || !strings.Contains(r.stderr, "collector=condor") {
		t.Errorf("--all without condor_q: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = afmc(t, env, "collect", "condor", "--json")
	if r.code != exitFailed || !strings.Contains(r.stderr, "condor_q not found") {
		t.Errorf("condor named without condor_q: exit %d, stderr %q", r.code, r.stderr)
	}
}
