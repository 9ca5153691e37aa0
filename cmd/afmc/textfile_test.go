package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atlas-af/afmc/internal/promtest"
)

// textfile reads the samples of DIR/afmc.prom.
func textfile(t *testing.T, dir string) map[string]float64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "afmc.prom"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := promtest.Samples(string(b))
	if err != nil {
		t.Fatalf("afmc.prom: %v\n%s", err, b)
	}
	return s
}

// A run of ssh, condor and cpu: the textfile holds the figures of the
// documents it printed, passes promtool, and the real node_exporter
// serves it without a scrape error.
func TestTextfileEndToEnd(t *testing.T) {
	_, env := sshFixture(t)
	env["AFMC_CONDOR_BIN_DIR"] = condorScenario(t, map[string]string{
		"jobs.out":    condorFile(t, "q-jobs.json"),
		"totals.out":  condorFile(t, "q-totals.json"),
		"history.out": historyOf(90, time.Now().Add(-time.Minute).Unix()),
	})
	tf := t.TempDir()
	before := time.Now()
	r := afmc(t, env, "collect", "cpu", "ssh", "condor", "--json", "--textfile-dir", tf)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	ds := docs(t, r.stdout)
	got := textfile(t, tf)

	want := map[string]float64{}
	for _, d := range ds {
		kind := d["kind"].(string)
		want[fmt.Sprintf(`afmc_documents{kind=%q}`, kind)]++
		switch kind {
		case "ssh":
			want[`afmc_ssh_users{}`] = d["ssh_user_count"].(float64)
		case "condorjob":
			if d["Id"] != "90.0" { // finished since the last run: not in the queue
				want[fmt.Sprintf(`afmc_condor_jobs{state=%q}`, d["state"])]++
			}
		case "condorqueue":
			q := d["queue"].(string)
			for _, s := range []string{"idle", "running", "held"} {
				want[fmt.Sprintf(`afmc_condor_queue_jobs{queue=%q,state=%q}`, q, s)] = d[s].(float64)
			}
			want[fmt.Sprintf(`afmc_condor_allocated_cores{queue=%q}`, q)] = d["allocated_cores"].(float64)
			want[fmt.Sprintf(`afmc_condor_allocated_memory_bytes{queue=%q}`, q)] = d["allocated_mem"].(float64) * (1 << 20)
		}
	}
	for _, c := range []string{"cpu", "ssh", "condor"} {
		want[fmt.Sprintf(`afmc_collector_up{collector=%q}`, c)] = 1
	}
	want[`afmc_spool_documents{}`] = 0
	want[`afmc_spool_dropped_documents{}`] = 0
	want[`afmc_build_info{version="devel"}`] = 1
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if got[`afmc_ssh_users{}`] != 6 || got[`afmc_condor_queue_jobs{queue="all",state="running"}`] != 4 { // 2 and 6, counted from the listing
		t.Errorf("the fixture's figures are not there: %v", got)
	}
	last, success := got[`afmc_last_run_timestamp_seconds{}`], got[`afmc_last_success_timestamp_seconds{}`]
	if last < float64(before.Unix()) || last > float64(time.Now().Unix()+1) || success != last {
		t.Errorf("last run %v, last success %v, want both the run's end", last, success)
	}
	for _, c := range []string{"cpu", "ssh", "condor"} {
		if _, ok := got[fmt.Sprintf(`afmc_collector_duration_seconds{collector=%q}`, c)]; !ok {
			t.Errorf("no duration for %s", c)
		}
	}
	b, _ := os.ReadFile(filepath.Join(tf, "afmc.prom"))
	for _, user := range []string{"alice", "brosser", "mhank"} {
		if strings.Contains(string(b), user) {
			t.Errorf("user name %s in the textfile", user)
		}
	}
	if out, ok := promtest.CheckMetrics(t, b); !ok || strings.TrimSpace(out) != "" {
		t.Errorf("promtool check metrics: %s", out)
	}

	ne := promtest.StartNodeExporter(t, tf)
	served, err := promtest.Samples(ne.Scrape(t))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := served[`node_textfile_scrape_error{}`]; !ok || v != 0 {
		t.Errorf("node_textfile_scrape_error %v (present %v)", v, ok)
	}
	for k, v := range got {
		if served[k] != v {
			t.Errorf("node_exporter serves %s = %v, the file says %v", k, served[k], v)
		}
	}
}

// A run that fails keeps the last success time; the spool's backlog is
// what waits for the next run; a run that delivers everything moves the
// success time on and empties the backlog.
func TestTextfileLastSuccessSurvivesFailures(t *testing.T) {
	s := newSink(t)
	_, env := postEnv(t, s)
	tf := t.TempDir()
	env["AFMC_TEXTFILE_DIR"] = tf

	r := afmc(t, env, "collect", "cpu", "mem", "--post")
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	first := textfile(t, tf)
	success := first[`afmc_last_success_timestamp_seconds{}`]
	if success == 0 || success != first[`afmc_last_run_timestamp_seconds{}`] || first[`afmc_spool_documents{}`] != 0 {
		t.Fatalf("after a good run: %v", first)
	}

	s.mode.Store(sinkFail500)
	r = afmc(t, env, "collect", "cpu", "mem", "--post", "--timeout", "1s", "--request-timeout", "200ms")
	if r.code != exitUndelivered {
		t.Fatalf("failing endpoint: exit %d: %s", r.code, r.stderr)
	}
	failed := textfile(t, tf)
	if got := failed[`afmc_last_success_timestamp_seconds{}`]; got != success {
		t.Errorf("undelivered run: last success %v, want the earlier %v", got, success)
	}
	if got := failed[`afmc_last_run_timestamp_seconds{}`]; got < success {
		t.Errorf("last run %v before the last success %v", got, success)
	}
	if got := failed[`afmc_spool_documents{}`]; got != 2 {
		t.Errorf("backlog %v, want the run's 2 documents", got)
	}
	if failed[`afmc_collector_up{collector="cpu"}`] != 1 {
		t.Errorf("the collectors worked: %v", failed)
	}

	// A failing collector, without --post: the success time stays.
	r = afmc(t, env, "collect", "cpu", "disk", "--mount", "/nope", "--json")
	if r.code != exitFailed {
		t.Fatalf("failing collector: exit %d", r.code)
	}
	broken := textfile(t, tf)
	if broken[`afmc_last_success_timestamp_seconds{}`] != success || broken[`afmc_collector_up{collector="disk"}`] != 0 {
		t.Errorf("failing collector: %v", broken)
	}
	if broken[`afmc_spool_documents{}`] != 2 {
		t.Errorf("without --post the backlog is still there: %v", broken[`afmc_spool_documents{}`])
	}

	s.mode.Store(sinkOK)
	r = afmc(t, env, "collect", "cpu", "--post")
	if r.code != exitOK {
		t.Fatalf("recovered: exit %d: %s", r.code, r.stderr)
	}
	good := textfile(t, tf)
	if got := good[`afmc_last_success_timestamp_seconds{}`]; got <= success || got != good[`afmc_last_run_timestamp_seconds{}`] {
		t.Errorf("recovered: last success %v, earlier %v, last run %v", got, success, good[`afmc_last_run_timestamp_seconds{}`])
	}
	if good[`afmc_spool_documents{}`] != 0 {
		t.Errorf("recovered: backlog %v", good[`afmc_spool_documents{}`])
	}

	// A file that is not afmc's own (a link planted there) is not read:
	// the success time is not known then, and the file is replaced.
	os.Remove(filepath.Join(tf, "afmc.prom"))
	planted := filepath.Join(t.TempDir(), "planted.prom")
	os.WriteFile(planted, []byte("afmc_last_success_timestamp_seconds 1e+09\n"), 0o644)
	os.Symlink(planted, filepath.Join(tf, "afmc.prom"))
	r = afmc(t, env, "collect", "cpu", "disk", "--mount", "/nope")
	if got := textfile(t, tf)[`afmc_last_success_timestamp_seconds{}`]; r.code != exitFailed || got != 0 {
		t.Errorf("planted link: exit %d, last success %v, want 0", r.code, got)
	}
	if b, _ := os.ReadFile(planted); string(b) != "afmc_last_success_timestamp_seconds 1e+09\n" {
		t.Errorf("the link's target was written: %q", b)
	}
}

// From the config file and the environment; not on a dry run; a dir that
// does not exist fails the run, whose documents are still printed.
func TestTextfileSettings(t *testing.T) {
	dir, env := hostFixture(t)
	tf := t.TempDir()
	cfg := filepath.Join(dir, "afmc.yaml")
	os.WriteFile(cfg, []byte("textfile_dir: "+tf+"\nself_report: true\n"), 0o600)
	env["AFMC_CONFIG"] = cfg
	r := afmc(t, env, "collect", "cpu", "--json")
	if r.code != 0 || kinds(docs(t, r.stdout)) != "CPU afmc" {
		t.Fatalf("from the config file: exit %d, stdout %s, stderr %s", r.code, r.stdout, r.stderr)
	}
	if got := textfile(t, tf); got[`afmc_documents{kind="afmc"}`] != 1 || got[`afmc_documents{kind="CPU"}`] != 1 {
		t.Errorf("from the config file: %v", got)
	}

	os.Remove(filepath.Join(tf, "afmc.prom"))
	r = afmc(t, env, "collect", "cpu", "--json", "--dry-run")
	if _, err := os.Stat(filepath.Join(tf, "afmc.prom")); r.code != 0 || err == nil {
		t.Errorf("a dry run wrote the textfile (exit %d)", r.code)
	}

	other := t.TempDir()
	env["AFMC_TEXTFILE_DIR"] = other
	env["AFMC_SELF_REPORT"] = "false"
	r = afmc(t, env, "collect", "cpu", "--json")
	if _, err := os.Stat(filepath.Join(other, "afmc.prom")); r.code != 0 || err != nil || kinds(docs(t, r.stdout)) != "CPU" {
		t.Errorf("from the environment: exit %d, %v, %s", r.code, err, r.stdout)
	}

	env["AFMC_TEXTFILE_DIR"] = filepath.Join(other, "missing")
	r = afmc(t, env, "collect", "cpu", "--json")
	if r.code != exitFailed || kinds(docs(t, r.stdout)) != "CPU" || !strings.Contains(r.stderr, "missing does not exist") {
		t.Errorf("missing dir: exit %d, stdout %s, stderr %s", r.code, r.stdout, r.stderr)
	}
}

// afmc check says whether a run could write its textfile, leaving nothing.
func TestCheckTextfileDir(t *testing.T) {
	s := newSink(t)
	_, env := postEnv(t, s)
	tf := t.TempDir()
	r := afmc(t, env, "check", "cpu", "--textfile-dir", tf)
	wantRow(t, rowsOf(t, r.stdout), "textfile dir", "OK "+tf+": writable")
	if entries, _ := os.ReadDir(tf); len(entries) != 0 {
		t.Errorf("check left %v", entries)
	}
	r = afmc(t, env, "check", "cpu", "--textfile-dir", filepath.Join(tf, "missing"))
	wantRow(t, rowsOf(t, r.stdout), "textfile dir", "FAIL textfile dir "+filepath.Join(tf, "missing")+" does not exist")
	if r.code != exitFailed {
		t.Errorf("exit %d", r.code)
	}
	if r := afmc(t, env, "check", "cpu"); strings.Contains(r.stdout, "textfile") {
		t.Errorf("a textfile row without --textfile-dir:\n%s", r.stdout)
	}
}
