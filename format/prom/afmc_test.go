package prom

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atlas-af/afmc/document"
	"github.com/atlas-af/afmc/internal/promtest"
)

var runAt = time.Date(2026, 11, 3, 10, 15, 0, 250e6, time.UTC)

// documents shaped as the collectors make them, users step passed.
func testDocuments() []document.Document {
	at := runAt
	job := func(user, state string, delta bool) document.Document {
		d := document.New("condorjob", "TEST-AF", at).Add("users", user).Add("state", state).Add("Id", "1.0").Add("Runtime", 5)
		d.Delta = delta
		return d
	}
	return []document.Document{
		document.NewHost("CPU", "TEST-AF", "login01", at).Add("load", document.Float(0.5)),
		document.NewHost("ssh", "TEST-AF", "login01", at).Add("ssh_user_count", 3).Add("users", []string{"alice", "bob", "carol"}),
		document.New("jupyter-ml", "TEST-AF", at).Add("jupyter_user_count", 2).Add("users", []string{"alice", "dave"}),
		document.New("jupyter-coffea", "TEST-AF", at).Add("jupyter_user_count", 0).Add("users", []string{}),
		job("alice", "running", false), job("alice", "running", false), job("bob", "idle", false),
		job("bob", "finished", true), // left the queue: an event, not the queue's state
		document.New("condorqueue", "TEST-AF", at).Add("queue", "all").Add("idle", int64(4)).Add("running", int64(2)).
			Add("held", int64(1)).Add("allocated_cores", int64(8)).Add("allocated_mem", int64(2048)),
		document.New("condorqueue", "TEST-AF", at).Add("queue", `gpu "A100"`).Add("idle", int64(0)).Add("running", int64(1)).
			Add("held", int64(0)).Add("allocated_cores", int64(4)).Add("allocated_mem", int64(100)),
	}
}

func testRun() Run {
	return Run{
		Version: "v1.2.3",
		Collectors: []Collector{
			{Name: "cpu", OK: true, Duration: 250 * time.Microsecond},
			{Name: "ssh", OK: true, Duration: 3 * time.Millisecond},
			{Name: "jupyter", OK: false, Duration: 2 * time.Second},
			{Name: "condor", OK: true, Duration: 1500 * time.Millisecond},
			{Name: "disk", Skipped: true},
		},
		Documents:   map[string]int{"CPU": 1, "ssh": 1, "condorjob": 4},
		Backlog:     12,
		Dropped:     3,
		Finished:    runAt,
		Duration:    2100 * time.Millisecond,
		LastSuccess: runAt.Add(-10 * time.Minute),
	}
}

func testFigures() *Figures {
	f := &Figures{}
	for _, d := range testDocuments() {
		f.Observe(d)
	}
	return f
}

func TestFamiliesFromDocuments(t *testing.T) {
	b, err := Append(nil, Families(testRun(), testFigures()))
	if err != nil {
		t.Fatal(err)
	}
	got, err := promtest.Samples(string(b))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		`afmc_ssh_users{}`:                                             3,
		`afmc_jupyter_users{hub="jupyter-coffea"}`:                     0,
		`afmc_jupyter_users{hub="jupyter-ml"}`:                         2,
		`afmc_condor_jobs{state="held"}`:                               0,
		`afmc_condor_jobs{state="idle"}`:                               1,
		`afmc_condor_jobs{state="running"}`:                            2,
		`afmc_condor_queue_jobs{queue="all",state="held"}`:             1,
		`afmc_condor_queue_jobs{queue="all",state="idle"}`:             4,
		`afmc_condor_queue_jobs{queue="all",state="running"}`:          2,
		`afmc_condor_queue_jobs{queue="gpu \"A100\"",state="held"}`:    0,
		`afmc_condor_queue_jobs{queue="gpu \"A100\"",state="idle"}`:    0,
		`afmc_condor_queue_jobs{queue="gpu \"A100\"",state="running"}`: 1,
		`afmc_condor_allocated_cores{queue="all"}`:                     8,
		`afmc_condor_allocated_cores{queue="gpu \"A100\""}`:            4,
		`afmc_condor_allocated_memory_bytes{queue="all"}`:              2048 << 20,
		`afmc_condor_allocated_memory_bytes{queue="gpu \"A100\""}`:     100 << 20,
		`afmc_collector_up{collector="condor"}`:                        1,
		`afmc_collector_up{collector="cpu"}`:                           1,
		`afmc_collector_up{collector="jupyter"}`:                       0,
		`afmc_collector_up{collector="ssh"}`:                           1,
		`afmc_collector_skipped{collector="disk"}`:                     1,
		`afmc_collector_duration_seconds{collector="condor"}`:          1.5,
		`afmc_collector_duration_seconds{collector="cpu"}`:             0.00025,
		`afmc_collector_duration_seconds{collector="jupyter"}`:         2,
		`afmc_collector_duration_seconds{collector="ssh"}`:             0.003,
		`afmc_documents{kind="CPU"}`:                                   1,
		`afmc_documents{kind="condorjob"}`:                             4,
		`afmc_documents{kind="ssh"}`:                                   1,
		`afmc_spool_documents{}`:                                       12,
		`afmc_spool_dropped_documents{}`:                               3,
		`afmc_run_duration_seconds{}`:                                  2.1,
		`afmc_last_run_timestamp_seconds{}`:                            float64(runAt.Unix()) + 0.25,
		`afmc_last_success_timestamp_seconds{}`:                        float64(runAt.Unix()-600) + 0.25,
		`afmc_build_info{version="v1.2.3"}`:                            1,
	}
	if !maps.Equal(got, want) {
		for _, k := range slices.Sorted(maps.Keys(want)) {
			if g, ok := got[k]; !ok || g != want[k] {
				t.Errorf("%s: got %v (present %v), want %v", k, g, ok, want[k])
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected %s %v", k, got[k])
			}
		}
	}
	// No user name in any label or anywhere else.
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		if strings.Contains(string(b), name) {
			t.Errorf("user %s in the textfile:\n%s", name, b)
		}
	}
}

func TestFamiliesWithNothingKnown(t *testing.T) {
	b, err := Append(nil, Families(Run{Version: "devel", Backlog: -1, Finished: runAt}, nil))
	if err != nil {
		t.Fatal(err)
	}
	got, err := promtest.Samples(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := got[`afmc_last_success_timestamp_seconds{}`]; !ok || v != 0 {
		t.Errorf("no success known: want 0, got %v %v", v, ok)
	}
	for k := range got {
		if strings.HasPrefix(k, "afmc_spool_documents") || strings.HasPrefix(k, "afmc_condor") || strings.HasPrefix(k, "afmc_ssh") {
			t.Errorf("%s written without a figure for it", k)
		}
	}
}

// promtool lints what afmc writes as Prometheus's naming guide says.
func TestFamiliesPassPromtool(t *testing.T) {
	b, err := Append(nil, Families(testRun(), testFigures()))
	if err != nil {
		t.Fatal(err)
	}
	if out, ok := promtest.CheckMetrics(t, b); !ok || strings.TrimSpace(out) != "" {
		t.Errorf("promtool check metrics: ok %v\n%s\n%s", ok, out, b)
	}
	// The check is not vacuous: a counter without _total is reported.
	bad := Family{Name: "afmc_runs", Help: "Runs.", Type: Counter}
	bad.Add(1)
	b, _ = Append(nil, []Family{bad})
	if out, ok := promtest.CheckMetrics(t, b); ok {
		t.Errorf("promtool passed a counter without _total: %s", out)
	}
}

// The real node_exporter serves the file as written: no scrape error, and
// every sample with its labels and value, tricky label values included.
func TestNodeExporterServesTextfile(t *testing.T) {
	dir := t.TempDir()
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	b, err := Append(nil, Families(testRun(), testFigures()))
	if err != nil {
		t.Fatal(err)
	}
	q := Family{Name: "afmc_test_label_values", Help: "Label values that need escaping.", Type: Gauge}
	for i, v := range []string{`back\slash`, `"quoted"`, "new\nline", "ünï cödé", "tab\there", ""} {
		q.Add(float64(i), "value", v)
	}
	extra, err := Append(nil, []Family{q})
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, extra...)
	if err := d.WriteFile("afmc.prom", b, runAt); err != nil {
		t.Fatal(err)
	}
	// A temp file as a killed run leaves it: node_exporter must ignore it.
	writeFile(t, dir, ".afmc.prom.killed.tmp", "this is not { the text format\n")

	ne := promtest.StartNodeExporter(t, dir)
	scraped := ne.Scrape(t)
	served, err := promtest.Samples(scraped)
	if err != nil {
		t.Fatalf("%v\n%s", err, scraped)
	}
	if v, ok := served[`node_textfile_scrape_error{}`]; !ok || v != 0 {
		t.Fatalf("node_textfile_scrape_error %v (present %v):\n%s", v, ok, scraped)
	}
	written, err := promtest.Samples(string(b))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range written {
		if got, ok := served[k]; !ok || got != v {
			t.Errorf("%s: served %v (present %v), written %v", k, got, ok, v)
		}
	}
	if t.Failed() {
		t.Logf("served:\n%s", scraped)
	}
	// Not vacuous: a broken file is a scrape error.
	writeFile(t, dir, "broken.prom", "afmc_broken{ 1\n")
	if served, err := promtest.Samples(ne.Scrape(t)); err != nil || served[`node_textfile_scrape_error{}`] != 1 {
		t.Errorf("a broken .prom file: node_textfile_scrape_error %v, %v", served[`node_textfile_scrape_error{}`], err)
	}
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
