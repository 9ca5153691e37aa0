package condor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/atlas-af/afmc/collect"
	"github.com/atlas-af/afmc/collect/collecttest"
	"github.com/atlas-af/afmc/document"
)

// serverTime is the ServerTime of the condor fixtures.
const serverTime = 1700000000

// fakeCondor makes a scenario directory holding the fake condor_q and
// condor_history of testdata/condor/bin and the given files (see the
// scripts for their names), and returns it.
func fakeCondor(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files = maps.Clone(files)
	if files == nil {
		files = map[string]string{}
	}
	for _, p := range []string{"condor_q", "condor_history", "condor_status"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "condor", "bin", p))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	defaults := map[string]string{
		"totals.out":  condorFixture(t, "q-totals-empty.json"),
		"history.out": condorFixture(t, "history-empty.json"),
	}
	for name, content := range defaults {
		if _, ok := files[name]; !ok {
			files[name] = content
		}
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func condorFixture(t testing.TB, name string) string {
	return string(readFixture(t, filepath.Join("condor", name)))
}

// condorCalls reads the arguments of every call the fakes recorded.
func condorCalls(t *testing.T, dir string) [][]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "argv.log"))
	if err != nil {
		t.Fatal(err)
	}
	var calls [][]string
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		calls = append(calls, strings.Split(strings.TrimSuffix(line, "\037"), "\037"))
	}
	return calls
}

// condorEnv is an collect.Env at serverTime+100 whose log is returned.
func condorEnv(now int64) (*collect.Env, *bytes.Buffer) {
	var log bytes.Buffer
	return &collect.Env{
		Cluster: "TEST-AF",
		Now:     func() time.Time { return time.Unix(now, 0) },
		Log:     slog.New(slog.NewTextHandler(&log, nil)),
	}, &log
}

func testCondor(dir string) Condor {
	return Condor{BinDir: dir, Queues: []string{"all"}, HistorySince: 10 * time.Minute, Timeout: 10 * time.Second}
}

// lines renders documents as JSON lines, deltas marked with a "Δ".
func lines(t *testing.T, ds []document.Document) []string {
	t.Helper()
	var out []string
	for _, d := range ds {
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if d.Delta {
			s = "Δ" + s
		}
		out = append(out, s)
	}
	return out
}

func equalLines(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("documents:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func job(user, state, id string, runtime int) string {
	b, _ := json.Marshal(document.Object{{Key: "kind", Value: "condorjob"}, {Key: "cluster", Value: "TEST-AF"},
		{Key: "users", Value: user}, {Key: "state", Value: state}, {Key: "Id", Value: id}, {Key: "Runtime", Value: runtime}})
	if state == "finished" {
		return "Δ" + string(b)
	}
	return string(b)
}

func queue(name string, idle, running, held, cores, mem int) string {
	b, _ := json.Marshal(document.Object{{Key: "kind", Value: "condorqueue"}, {Key: "cluster", Value: "TEST-AF"},
		{Key: "queue", Value: name}, {Key: "idle", Value: idle}, {Key: "running", Value: running}, {Key: "held", Value: held},
		{Key: "allocated_cores", Value: cores}, {Key: "allocated_mem", Value: mem}})
	return string(b)
}

// fixtureJobs are the documents of q-jobs.json at serverTime+100.
var fixtureJobs = []string{
	job("alice", "idle", "101.0", 0),
	job("alice", "running", "101.1", 120+1000), // previous runs + ServerTime - ShadowBday
	job("bob", "running", "102.0", 100),        // no ShadowBday: JobCurrentStartDate
	job("carol", "removed", "103.0", 50),
	job("carol", "finished", "104.0", 3600)[len("Δ"):], // still in the queue: a snapshot
	job("dave", "held", "105.0", 200),
	job("dave", "transferring_output", "106.0", 10+500),
	job("erin", "suspended", "107.0", 10),
	job("erin", "failed", "108.0", 30),
	job("frank", "blocked", "109.0", 0),
	job("frank", "preparing", "110.0", 0),
	job("grace", "unexpanded", "111.0", 0),  // JobStatus 0, RemoteWallClockTime an /Expr(...)/
	job("grace", "unknown", "112.0", 5),     // JobStatus 42
	job("heidi", "running", "113.0", 7+300), // no ServerTime: the collector's clock
}

// history1 are the finished jobs of history-1.json within a 10m lookback
// of serverTime+100.
var history1 = []string{
	job("alice", "finished", "90.1", 1800),
	job("alice", "finished", "90.0", 1700),
	job("bob", "finished", "91.0", 60),
}

func TestCondorCollect(t *testing.T) {
	dir := fakeCondor(t, map[string]string{
		"jobs.out":    condorFixture(t, "q-jobs.json"),
		"totals.out":  condorFixture(t, "q-totals.json"),
		"history.out": condorFixture(t, "history-1.json"),
	})
	env, _ := condorEnv(serverTime + 100)
	res, err := collecttest.Gather(context.Background(), testCondor(dir), env, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := append(append(fixtureJobs[:len(fixtureJobs):len(fixtureJobs)], history1...),
		// Counted from the listing as condor_q -totals counts: idle 101.0;
		// running 101.1, 102.0, 113.0 and 106.0 (transferring output);
		// held 105.0. Allocated: what condor_q -run lists, JobStatus 2, 6
		// and 7 (107.0 suspended); held 105.0 and removed 103.0 keep their
		// CpusProvisioned, and count nothing.
		queue("all", 1, 4, 1, 4+1+2+1+1, 8192+2048+4000+1000+1000))
	equalLines(t, lines(t, res.Docs), want)
	if res.State == nil {
		t.Fatal("no state returned: the finished jobs would be withheld")
	}

	calls := condorCalls(t, dir)
	wantCalls := [][]string{
		// The queue without a constraint needs no -totals round.
		{"-allusers", "-json", "-attributes", jobAttributes, "-stream-results"},
		// The first run looks back --condor-history-since (10m) from now.
		{"-json", "-attributes", historyAttributes, "-since", "JobFinishedHookDone < 1699999500", "-scanlimit", "1000000"},
	}
	if !equalCalls(calls, wantCalls) {
		t.Errorf("calls:\n%q\nwant:\n%q", calls, wantCalls)
	}
}

func equalCalls(a, b [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if strings.Join(a[i], "\x00") != strings.Join(b[i], "\x00") {
			return false
		}
	}
	return true
}

// Owners left out get no documents but are counted; a constrained queue
// is counted by condor.
func TestCondorQueuesAndOwners(t *testing.T) {
	short := `short=Queue == "short" && RequestCpus <= 4 && Cmd =!= "/bin/a:b"`
	dir := fakeCondor(t, map[string]string{
		"jobs.out":           condorFixture(t, "q-jobs-dagman.json"),
		"totals.short.match": `Queue == "short"`,
		"totals.short.out":   condorFixture(t, "q-totals-short.json"),
		"alloc.short.match":  `Queue == "short"`,
		"alloc.short.out":    condorFixture(t, "q-alloc-short.json"),
	})
	c := testCondor(dir)
	c.Queues = []string{"all", short}
	c.ExcludeOwner = []string{"atlas-coffea", `odd"na\me`, ""}
	env, _ := condorEnv(serverTime + 100)
	res, err := collecttest.Gather(context.Background(), c, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		job("carol", "running", "401.0", 1000),
		// atlas-coffea's 402.0 and 403.0 are counted, not sent. The DAGMan
		// job (scheduler universe) is not counted as running, as condor_q
		// -totals keeps it apart; it was provisioned nothing.
		queue("all", 1, 1, 0, 2, 4096),
		// "/Expr(...)/" memory counts nothing.
		queue("short", 1, 1, 0, 5, 8192),
	}
	equalLines(t, lines(t, res.Docs), want)

	wantCalls := [][]string{
		{"-allusers", "-json", "-attributes", jobAttributes, "-stream-results"},
		{"-allusers", "-totals", "-json", "-constraint", `Queue == "short" && RequestCpus <= 4 && Cmd =!= "/bin/a:b"`},
		{"-allusers", "-json", "-attributes", "CpusProvisioned,MemoryProvisioned", "-constraint", `(JobStatus == 2 || JobStatus == 6 || JobStatus == 7) && (Queue == "short" && RequestCpus <= 4 && Cmd =!= "/bin/a:b")`},
		{"-json", "-attributes", historyAttributes, "-since", "JobFinishedHookDone < 1699999500", "-scanlimit", "1000000"},
	}
	if calls := condorCalls(t, dir); !equalCalls(calls, wantCalls) {
		t.Errorf("calls:\n%q\nwant:\n%q", calls, wantCalls)
	}
}

// Numbers out of any range condor can mean saturate or read as absent:
// no Runtime or sum wraps negative, and an unknown JobStatus is unknown.
func TestCondorAbsurdNumbers(t *testing.T) {
	dir := fakeCondor(t, map[string]string{"jobs.out": condorFixture(t, "q-jobs-absurd.json")})
	env, _ := condorEnv(serverTime + 100)
	res, err := collecttest.Gather(context.Background(), testCondor(dir), env, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		job("mallory", "running", "501.0", 0),
		job("mallory", "unknown", "502.0", 0),
		job("mallory", "suspended", "503.0", 1<<40+1000),
		job("mallory", "unknown", "504.0", 12),
		job("mallory", "unknown", "505.0", 0), // 2.0 is not a JobStatus
		queue("all", 0, 1, 0, 4, 1<<40),
	}
	equalLines(t, lines(t, res.Docs), want)
	for _, d := range res.Docs {
		for _, f := range d.Fields {
			if n, ok := f.Value.(int64); ok && n < 0 {
				t.Errorf("%s: %s is %d", d.Kind(), f.Key, n)
			}
		}
	}
}

func TestCondorEmptyAndFailedOutput(t *testing.T) {
	jobs := condorFixture(t, "q-jobs-schedd01.json")
	badListing := strings.TrimSuffix(jobs, "]\n") + ",\n{\n  \"ClusterId\": 1,\n  \"ProcId\": 0,\n  \"Owner\": alice\n}\n]\n"
	for _, tt := range []struct {
		name      string
		files     map[string]string
		want      []string
		wantErr   string // "" for none
		wantMoved bool   // the history checkpoint moved
	}{
		{"empty queue: 0 bytes", map[string]string{"jobs.out": ""},
			[]string{queue("all", 0, 0, 0, 0, 0)}, "", true},
		{"empty pool", map[string]string{"jobs.out": condorFixture(t, "q-all-empty.txt")},
			[]string{queue("all", 0, 0, 0, 0, 0)}, "", true},
		{"history: lone [ and exit 1", map[string]string{"jobs.out": jobs, "history.out": "[\n", "history.exit": "1",
			"history.err": "Error: Failed to connect to schedd01.af.example.org\n"},
			[]string{job("alice", "running", "201.0", 60), queue("all", 0, 1, 0, 1, 2048)},
			"exit status 1: Error: Failed to connect to schedd01", false},
		{"history: lone [ and exit 0", map[string]string{"history.out": "[\n"},
			[]string{queue("all", 0, 0, 0, 0, 0)}, "condor_history: output ends inside an array or an ad (exit status 0)", false},
		{"history: finished jobs, then exit 1", map[string]string{"history.out": condorFixture(t, "history-1.json"), "history.exit": "1"},
			// Streamed, then voided: none is sent.
			[]string{queue("all", 0, 0, 0, 0, 0)}, "finished jobs not sent", false},
		{"collector down", map[string]string{"jobs.err": condorFixture(t, "no-collector.err"), "jobs.exit": "1",
			"totals.err": condorFixture(t, "no-collector.err"), "totals.exit": "1", "history.out": condorFixture(t, "history-1.json")},
			history1, "condor_q: the HTCondor collector cannot be reached", true},
		// A failed listing sends none of the jobs it printed; the counts
		// are asked of condor_q -totals instead.
		{"listing, then exit 1", map[string]string{"jobs.out": jobs, "jobs.exit": "1", "jobs.err": "Error: Failed to fetch ads\n",
			"totals.out": condorFixture(t, "q-totals.json")},
			[]string{queue("all", 2, 3, 1, 0, 0)}, "job listing not sent", true},
		{"a schedd that does not answer, exit status 0", map[string]string{"jobs.out": jobs, "jobs.err": condorFixture(t, "failed-fetch.err")},
			[]string{queue("all", 0, 0, 0, 0, 0)},
			"condor_q: schedd schedd02.af.example.org (<192.0.2.12:9618?addrs=192.0.2.12-9618&alias=schedd02.af.example.org>) did not answer", true},
		{"not -json output", map[string]string{"jobs.out": "-- Schedd: schedd01 : <192.0.2.11:9618>\n OWNER BATCH_NAME SUBMITTED\nalice ID: 101 11/14 22:13\n"},
			[]string{queue("all", 0, 0, 0, 0, 0)}, `unexpected text in condor output (not -json output?): "OWNER BATCH_NAME SUBMITTED"`, true},
		{"summary with an error code", map[string]string{"jobs.exit": "1", "totals.out": strings.Replace(condorFixture(t, "q-totals.json"), `"ErrorCode": 0`, `"ErrorCode": 2`, 1)},
			[]string{queue("all", 2, 3, 1, 0, 0)}, "summaries with ErrorCode 2", true},
		// A bad ad fails the listing, and the error names it.
		{"an ad that is not JSON", map[string]string{"jobs.out": badListing},
			[]string{queue("all", 0, 0, 0, 0, 0)},
			fmt.Sprintf(`ad 2 (at byte %d) is not valid JSON: { "ClusterId": 1, "ProcId": 0, "Owner": alice }`, strings.LastIndex(badListing, "{")), true},
		{"a ClusterId that is not a job id", map[string]string{"jobs.out": "[\n{\n  \"ClusterId\": -3,\n  \"ProcId\": 0\n}\n]\n"},
			[]string{queue("all", 0, 0, 0, 0, 0)}, "ad 1 (at byte 2) has a ClusterId that is not a job id", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := fakeCondor(t, tt.files)
			env, _ := condorEnv(serverTime + 100)
			res, err := collecttest.Gather(context.Background(), testCondor(dir), env, nil)
			equalLines(t, lines(t, res.Docs), tt.want)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("error %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error %v, want one containing %q", err, tt.wantErr)
			}
			if res.State == nil {
				t.Fatal("no state: the other schedds' checkpoints could not move")
			}
			var st condorState
			if err := json.Unmarshal(res.State, &st); err != nil {
				t.Fatal(err)
			}
			// A first run: the next one reads from this one's scan, or,
			// when this one could not read, from its own lookback.
			wantScanned := int64(serverTime + 100)
			if !tt.wantMoved {
				wantScanned = serverTime + 100 - 600 + historySlack
			}
			if st.Scanned != wantScanned {
				t.Errorf("state %s: scanned %d, want %d", res.State, st.Scanned, wantScanned)
			}
		})
	}
}

// A call that hangs is killed at --condor-timeout: its schedd is the
// error, nothing it printed is sent, and its checkpoint stays.
func TestCondorTimeoutKillsAHungCall(t *testing.T) {
	for _, hung := range []string{"jobs", "history"} {
		t.Run(hung, func(t *testing.T) {
			dir := fakeCondor(t, map[string]string{
				"jobs.out":     condorFixture(t, "q-jobs-schedd01.json"),
				"history.out":  condorFixture(t, "history-1.json"),
				hung + ".hang": "",
			})
			c := testCondor(dir)
			c.Timeout = 300 * time.Millisecond
			env, _ := condorEnv(serverTime + 100)
			start := time.Now()
			res, err := collecttest.Gather(context.Background(), c, env, nil)
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %s: the hung call was not killed at --condor-timeout", took)
			}
			if !errors.Is(err, collect.ErrTimeout) || !strings.Contains(err.Error(), "--condor-timeout 300ms reached") || !strings.Contains(err.Error(), "the local schedd") {
				t.Errorf("error %v, want the --condor-timeout and the schedd", err)
			}
			var st condorState
			if err := json.Unmarshal(res.State, &st); err != nil || len(st.Schedds) > 0 || st.Scanned != serverTime+100-600+historySlack {
				t.Errorf("state %s after a timeout: the checkpoint must not move (%v)", res.State, err)
			}
			for _, l := range lines(t, res.Docs) {
				// The listing finished before the history hung.
				if hung == "jobs" && strings.Contains(l, "condorjob") || strings.Contains(l, `"finished"`) {
					t.Errorf("sent %s from a call that was killed", l)
				}
			}
		})
	}
}

func TestCondorEmitErrorStops(t *testing.T) {
	dir := fakeCondor(t, map[string]string{"jobs.out": condorFixture(t, "q-jobs.json")})
	env, _ := condorEnv(serverTime + 100)
	stop := errors.New("stdout closed")
	n := 0
	state, err := testCondor(dir).Collect(context.Background(), env, nil, func(document.Document) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || state != nil {
		t.Errorf("state %s, error %v: want the emit error and no state", state, err)
	}
	if n != 2 {
		t.Errorf("%d documents offered after emit failed at the second", n)
	}
}

func TestCondorAvailable(t *testing.T) {
	dir := fakeCondor(t, nil)
	if err := (Condor{BinDir: dir}).Available(nil); err != nil {
		t.Errorf("condor_q in --condor-bin-dir: %v", err)
	}
	err := (Condor{BinDir: t.TempDir()}).Available(nil)
	if err == nil || !strings.Contains(err.Error(), "condor_q not found") {
		t.Errorf("no condor_q: %v", err)
	}
}

func TestCondorSettings(t *testing.T) {
	ok := Condor{Queues: []string{"all"}, HistorySince: time.Minute, Timeout: time.Second, Parallel: 8}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid settings: %v", err)
	}
	with := func(f func(*Condor)) Condor { c := ok; f(&c); return c }
	for _, tt := range []struct {
		name    string
		c       Condor
		wantErr string
	}{
		{"queue without a name", with(func(c *Condor) { c.Queues = []string{`=Queue == "x"`} }), "the queue needs a name"},
		{"queue twice", with(func(c *Condor) { c.Queues = []string{"a", "a=x"} }), `queue "a" is given twice`},
		{"control character", with(func(c *Condor) { c.Queues = []string{"a=x\ny"} }), `control characters are not allowed`},
		{"owner with a newline", with(func(c *Condor) { c.ExcludeOwner = []string{"a\nb"} }), "--condor-exclude-owner"},
		{"owner with spaces", with(func(c *Condor) { c.ExcludeOwner = []string{" a"} }), "--condor-exclude-owner"},
		{"no timeout", with(func(c *Condor) { c.Timeout = 0 }), "--condor-timeout must be positive"},
		{"no lookback", with(func(c *Condor) { c.HistorySince = 0 }), "--condor-history-since must be positive"},
		{"too parallel", with(func(c *Condor) { c.Parallel = 1000 }), "--condor-parallel must be between 1 and 64"},
		{"negative scan limit", with(func(c *Condor) { c.HistoryScanLimit = -1 }), "--condor-history-scan-limit"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// Checked at parse time (kong calls Validate), not by Collect.
			if err := tt.c.Validate(); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Validate: %v, want %q", err, tt.wantErr)
			}
		})
	}
	if err := with(func(c *Condor) { c.ExcludeOwner = []string{""} }).Validate(); err != nil {
		t.Errorf("an empty --condor-exclude-owner keeps every owner: %v", err)
	}
}

func TestParseQueues(t *testing.T) {
	got, err := parseQueues([]string{"all", `short=Queue == "short"`, "a=b=c", "colon=Cmd == \"x:y\"", "blank="})
	if err != nil {
		t.Fatal(err)
	}
	want := []condorQueue{{"all", ""}, {"short", `Queue == "short"`}, {"a", "b=c"}, {"colon", `Cmd == "x:y"`}, {"blank", ""}}
	if len(got) != len(want) {
		t.Fatalf("%q", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%d: %q, want %q", i, got[i], want[i])
		}
	}
}

func TestAdScanner(t *testing.T) {
	for _, tt := range []struct {
		name    string
		in      string
		want    []string
		wantErr error
	}{
		{"pretty", "[\n{\n  \"A\": 1\n}\n,\n{\n  \"B\": [1, {\"c\": 2}]\n}\n]\n", []string{"{\n  \"A\": 1\n}", "{\n  \"B\": [1, {\"c\": 2}]\n}"}, nil},
		{"jsonl", "{\"A\": 1,\"B\": \"x\"}\n{\"A\": 2}\n", []string{`{"A": 1,"B": "x"}`, `{"A": 2}`}, nil},
		{"braces and escapes in strings", `[{"A": "}{[\"\\"},{"B": "\\"}]`, []string{`{"A": "}{[\"\\"}`, `{"B": "\\"}`}, nil},
		{"two arrays", "[\n{\"A\": 1}\n]\n[\n{\"A\": 2}\n]\n", []string{`{"A": 1}`, `{"A": 2}`}, nil},
		{"empty", "", nil, nil},
		{"empty history", "[\n]\n", nil, nil},
		{"all queues are empty", "\nAll queues are empty\n", nil, nil},
		{"schedd banner", "-- Schedd: s1 : <192.0.2.1:9618>\n[\n{\"A\": 1}\n]\n", []string{`{"A": 1}`}, nil},
		{"lone [", "[\n", nil, errTruncated},
		{"cut inside an ad", "[\n{\n  \"A\": 1,\n", nil, errTruncated},
		{"stray ]", "]", nil, errors.New(`unexpected "]"`)},
		{"text", "[\n{\"A\": 1}\nnonsense\n", []string{`{"A": 1}`}, errors.New(`unexpected text in condor output (not -json output?): "nonsense"`)},
	} {
		for _, oneByte := range []bool{false, true} {
			t.Run(tt.name, func(t *testing.T) {
				var r io.Reader = strings.NewReader(tt.in)
				if oneByte {
					r = iotest.OneByteReader(r)
				}
				s := newAdScanner(r)
				var got []string
				var err error
				for {
					var ad []byte
					ad, err = s.next()
					if err != nil {
						break
					}
					got = append(got, string(ad))
				}
				if strings.Join(got, "|") != strings.Join(tt.want, "|") {
					t.Errorf("ads %q, want %q", got, tt.want)
				}
				switch {
				case tt.wantErr == nil && err != io.EOF:
					t.Errorf("end %v, want io.EOF", err)
				case tt.wantErr == errTruncated && !errors.Is(err, errTruncated):
					t.Errorf("end %v, want %v", err, errTruncated)
				case tt.wantErr != nil && tt.wantErr != errTruncated && (err == nil || !strings.Contains(err.Error(), tt.wantErr.Error())):
					t.Errorf("end %v, want %v", err, tt.wantErr)
				}
			})
		}
	}
}

func TestAdScannerBoundsAnAd(t *testing.T) {
	s := newAdScanner(strings.NewReader(`{"A": "` + strings.Repeat("x", maxAdBytes) + `"}`))
	if _, err := s.next(); err == nil || !strings.Contains(err.Error(), "ad 1 (at byte 0) is longer than 1048576 bytes") {
		t.Errorf("error %v", err)
	}
}

func TestJobRuntimeAndState(t *testing.T) {
	const now = serverTime + 100
	for _, tt := range []struct {
		name string
		ad   condorAd
		want int64
	}{
		{"idle, never ran", condorAd{status: 1}, 0},
		{"held: previous runs", condorAd{status: 5, wallClock: 300, shadowBday: serverTime - 50}, 300},
		{"running: ShadowBday", condorAd{status: 2, wallClock: 300, shadowBday: serverTime - 50, startDate: serverTime - 60, serverTime: serverTime}, 350},
		{"running: JobCurrentStartDate", condorAd{status: 2, startDate: serverTime - 60, serverTime: serverTime}, 60},
		{"running: no ServerTime", condorAd{status: 2, shadowBday: serverTime}, 100},
		{"running: start after the reply (clock skew)", condorAd{status: 2, wallClock: 5, shadowBday: serverTime + 10, serverTime: serverTime}, 5},
		{"suspended", condorAd{status: 7, shadowBday: serverTime - 1, serverTime: serverTime}, 1},
	} {
		if got := jobRuntime(&tt.ad, now); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
	for code, want := range map[int64]string{-1: "unknown", 0: "unexpanded", 1: "idle", 4: "finished", 6: "transferring_output", 10: "preparing", 11: "unknown"} {
		if got := jobState(code); got != want {
			t.Errorf("state %d: %q, want %q", code, got, want)
		}
	}
}

func TestCondorNumber(t *testing.T) {
	for _, tt := range []struct {
		raw  string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"42", 42, true}, {"-7", -7, true}, {"37327.0", 37327, true}, {"2.9", 2, true},
		{"-2.9", -2, true}, {"1e3", 1000, true}, {"1.5E2", 150, true}, {"123456789012", 123456789012, true},
		// Saturated, never wrapped.
		{"9223372036854775807", math.MaxInt64, true}, {"9223372036854775808", math.MaxInt64, true},
		{"46116860184273879040", math.MaxInt64, true}, {"-99999999999999999999", math.MinInt64, true}, {"-9223372036854775808", math.MinInt64, true},
		{"1e300", math.MaxInt64, true}, {"-1e300", math.MinInt64, true},
		{"null", 0, false}, {`"\/Expr(RequestMemory)\/"`, 0, false}, {`"12"`, 0, false}, {"true", 0, false},
	} {
		got, ok := number([]byte(tt.raw))
		if got != tt.want || ok != tt.ok {
			t.Errorf("number(%s) = %d, %v; want %d, %v", tt.raw, got, ok, tt.want, tt.ok)
		}
	}
	for raw, want := range map[string]int64{"5": 5, "0": 0, "37327.9": 37327, "-1": 0, "1099511627776": 1 << 40, "1099511627777": 0,
		"9223372036854775807": 0, "1e300": 0, "null": 0, `"\/Expr(x)\/"`: 0} {
		if got := quantity([]byte(raw)); got != want {
			t.Errorf("quantity(%s) = %d, want %d", raw, got, want)
		}
	}
	if satAdd(math.MaxInt64-1, 5) != math.MaxInt64 || satAdd(2, 3) != 5 {
		t.Error("satAdd wraps")
	}
}
