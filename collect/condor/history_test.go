package condor

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atlas-af/afmc/collect/collecttest"
)

// hrec is one condor_history record.
type hrec struct {
	schedd  string
	cluster int
	owner   string
	done    int64 // JobFinishedHookDone
	status  int   // 0: 4
}

// historyOut prints records as condor_history -json does, in the order
// given (newest first, as condor_history reads its file backwards).
func historyOut(recs ...hrec) string {
	var ads []string
	for _, r := range recs {
		if r.status == 0 {
			r.status = 4
		}
		ads = append(ads, fmt.Sprintf(`{
  "ClusterId": %d,
  "CompletionDate": %d,
  "GlobalJobId": "%s.af.example.org#%d.0#1699990000",
  "JobFinishedHookDone": %d,
  "JobStatus": %d,
  "Owner": %q,
  "ProcId": 0,
  "RemoteWallClockTime": %d.0
}`, r.cluster, r.done-1, r.schedd, r.cluster, r.done, r.status, r.owner, r.cluster))
	}
	if len(ads) == 0 {
		return "[\n]\n"
	}
	return "[\n" + strings.Join(ads, "\n,\n") + "\n]\n"
}

// historyRun runs the collector at now on a history and returns the
// finished-job ids it sent, its state, the -since expression it asked
// condor_history to stop at, and its log.
func historyRun(t *testing.T, now int64, prev json.RawMessage, history string) (ids []string, state json.RawMessage, constraint, log string) {
	t.Helper()
	dir := fakeCondor(t, map[string]string{"history.out": history})
	env, logBuf := condorEnv(now)
	res, err := collecttest.Gather(context.Background(), testCondor(dir), env, prev)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range res.Docs {
		if d.Kind() != "condorjob" {
			continue
		}
		if !d.Delta {
			t.Errorf("finished job not a Delta: %v", d.Fields)
		}
		id, _ := d.Fields.Get("Id")
		ids = append(ids, id.(string))
	}
	calls := condorCalls(t, dir)
	return ids, res.State, sinceOf(calls[len(calls)-1]), logBuf.String()
}

// sinceOf is the -since argument of a condor_history call.
func sinceOf(call []string) string {
	for i, a := range call {
		if a == "-since" && i+1 < len(call) {
			return call[i+1]
		}
	}
	return ""
}

func wantIDs(t *testing.T, step string, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("%s: sent %q, want %q", step, got, want)
	}
}

// Sequential runs sharing their state (the lock serialises overlapping
// runs): a late run misses nothing, nothing is sent twice, and records
// written out of order or within the checkpoint's second still go once.
func TestCondorHistoryAcrossRuns(t *testing.T) {
	t.Parallel()
	const T = serverTime
	old := []hrec{
		{"schedd01", 90, "alice", T - 30, 0},
		{"schedd02", 91, "bob", T - 120, 0},
		{"schedd01", 80, "carol", T - 3000, 0}, // before the first lookback
		{"schedd01", 89, "carol", T - 40, 3},   // removed: not finished
	}
	ids, state, constraint, _ := historyRun(t, T+100, nil, historyOut(old...))
	wantIDs(t, "first run", ids, "90.0", "91.0")
	if constraint != "JobFinishedHookDone < 1699999500" {
		t.Errorf("first run asked %q", constraint)
	}

	// An hour late: far past --condor-history-since, and nothing is lost.
	late := append([]hrec{
		{"schedd02", 93, "bob", T + 2000, 0},
		{"schedd01", 92, "alice", T + 1000, 0},
	}, old...)
	ids, state, constraint, _ = historyRun(t, T+3600, state, historyOut(late...))
	wantIDs(t, "late run", ids, "93.0", "92.0")
	// From the oldest checkpoint (schedd02's), less a minute of slack.
	if want := fmt.Sprintf("JobFinishedHookDone < %d", T-120-historySlack); constraint != want {
		t.Errorf("late run asked %q, want %q", constraint, want)
	}

	// A record stamped before the checkpoint but written after it, and
	// one in the checkpoint's own second.
	more := append([]hrec{
		{"schedd01", 95, "dave", T + 1000, 0},
		{"schedd01", 94, "dave", T + 990, 0},
	}, late...)
	ids, state, _, _ = historyRun(t, T+3700, state, historyOut(more...))
	wantIDs(t, "records out of order", ids, "95.0", "94.0")

	ids, state, _, _ = historyRun(t, T+4000, state, historyOut(more...))
	wantIDs(t, "nothing new", ids)
	if state == nil {
		t.Fatal("a run with nothing new must still return its state")
	}
	var st condorState
	if err := json.Unmarshal(state, &st); err != nil {
		t.Fatal(err)
	}
	if cp := st.Schedds["schedd01.af.example.org"]; cp == nil || cp.Done != T+1000 || len(cp.Recent) != 3 {
		t.Errorf("schedd01 checkpoint %+v: want done %d and the 3 ids within a minute of it", cp, T+1000)
	}
	if st.Scanned != T+4000 {
		t.Errorf("scanned %d", st.Scanned)
	}
}

// A failed save: the runner keeps the old state, so the next run starts
// from the same checkpoint and sends the same finished jobs again (the
// documents of the failed run were withheld).
func TestCondorHistoryFailedSaveResends(t *testing.T) {
	t.Parallel()
	const T = serverTime
	_, prev, _, _ := historyRun(t, T, nil, historyOut(hrec{"schedd01", 1, "alice", T - 10, 0}))
	history := historyOut(hrec{"schedd01", 3, "bob", T + 200, 0}, hrec{"schedd01", 2, "bob", T + 100, 0}, hrec{"schedd01", 1, "alice", T - 10, 0})
	first, _, _, _ := historyRun(t, T+300, prev, history)
	again, _, _, _ := historyRun(t, T+600, prev, history)
	wantIDs(t, "first attempt", first, "3.0", "2.0")
	wantIDs(t, "after a failed save", again, "3.0", "2.0")
}

func TestCondorHistoryRotatedCheckpoint(t *testing.T) {
	t.Parallel()
	const T = serverTime
	prev := json.RawMessage(fmt.Sprintf(`{"scanned": %d, "schedds": {
		"schedd01.af.example.org": {"done": %d, "newest": "schedd01.af.example.org#50.0#1699990000", "recent": {"schedd01.af.example.org#50.0#1699990000": %d}},
		"schedd02.af.example.org": {"done": %d, "newest": "schedd02.af.example.org#60.0#1699990000", "recent": {}}}}`,
		T-300, T-5000, T-5000, T-4000))
	// Both checkpoints rotated out: schedd01 has newer records, which are
	// all sent; schedd02 has none, and its checkpoint is dropped.
	history := historyOut(hrec{"schedd01", 70, "alice", T - 100, 0}, hrec{"schedd01", 69, "alice", T - 4500, 0})
	ids, state, constraint, log := historyRun(t, T, prev, history)
	wantIDs(t, "rotated", ids, "70.0", "69.0")
	if want := fmt.Sprintf("JobFinishedHookDone < %d", T-5000-historySlack); constraint != want {
		t.Errorf("asked %q, want %q", constraint, want)
	}
	for _, s := range []string{"schedd01", "schedd02"} {
		if !strings.Contains(log, "the history no longer holds the last finished job shipped") || !strings.Contains(log, s+".af.example.org") {
			t.Errorf("rotation of %s not logged: %s", s, log)
		}
	}
	var st condorState
	if err := json.Unmarshal(state, &st); err != nil {
		t.Fatal(err)
	}
	if _, ok := st.Schedds["schedd02.af.example.org"]; ok || st.Schedds["schedd01.af.example.org"].Done != T-100 {
		t.Errorf("state %s", state)
	}

	// schedd02 is read from the last scan on, like a new schedd: its job
	// that finished since is sent, nothing older is looked for.
	ids, _, constraint, _ = historyRun(t, T+300, state, historyOut(hrec{"schedd02", 71, "bob", T + 200, 0}, hrec{"schedd01", 70, "alice", T - 100, 0}))
	wantIDs(t, "after the rotation", ids, "71.0")
	if want := fmt.Sprintf("JobFinishedHookDone < %d", T-100-historySlack); constraint != want {
		t.Errorf("asked %q, want %q", constraint, want)
	}
}

func TestCondorHistoryUntrustedState(t *testing.T) {
	t.Parallel()
	const T = serverTime
	for _, tt := range []struct {
		name, prev, wantLog string
		wantBound           int64
	}{
		{"corrupt", `{"scanned": "yesterday"`, "unreadable history checkpoint", T - 600},
		{"checkpoint in the future", fmt.Sprintf(`{"scanned": %d, "schedds": {"schedd01.af.example.org": {"done": %d, "newest": "x", "recent": {}}}}`, T-300, T+86400),
			"history checkpoint is in the future", T - 300 - historySlack},
		{"scan in the future", fmt.Sprintf(`{"scanned": %d}`, T+86400), "", T - 600},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ids, state, constraint, log := historyRun(t, T, json.RawMessage(tt.prev), historyOut(hrec{"schedd01", 1, "alice", T - 10, 0}))
			wantIDs(t, tt.name, ids, "1.0")
			if want := fmt.Sprintf("JobFinishedHookDone < %d", tt.wantBound); constraint != want {
				t.Errorf("asked %q, want %q", constraint, want)
			}
			if !strings.Contains(log, tt.wantLog) {
				t.Errorf("log %q lacks %q", log, tt.wantLog)
			}
			if state == nil {
				t.Error("no state")
			}
		})
	}
}

// A history without GlobalJobId (one schedd): jobs are told apart by id.
func TestCondorHistoryWithoutGlobalJobID(t *testing.T) {
	t.Parallel()
	const T = serverTime
	out := "[\n{\n  \"ClusterId\": 7,\n  \"JobFinishedHookDone\": " + fmt.Sprint(T-5) + ",\n  \"JobStatus\": 4,\n  \"Owner\": \"alice\",\n  \"ProcId\": 1\n}\n]\n"
	ids, state, _, _ := historyRun(t, T, nil, out)
	wantIDs(t, "first", ids, "7.1")
	ids, _, _, _ = historyRun(t, T+300, state, out)
	wantIDs(t, "second", ids)
}

// The fixture history file is the one the end-to-end test uses too.
func TestCondorHistoryFixtureIsNewestFirst(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "condor", "history-1.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ads []map[string]any
	if err := json.Unmarshal(b, &ads); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(ads); i++ {
		if ads[i]["JobFinishedHookDone"].(float64) > ads[i-1]["JobFinishedHookDone"].(float64) {
			t.Errorf("ad %d is newer than the one before it", i)
		}
	}
}

// A scan that reaches -scanlimit before the checkpoint says so; owners
// left out and records stamped far ahead of the clock are not sent, and
// neither moves anything wrongly.
func TestCondorHistoryLimitsAndOwners(t *testing.T) {
	const T = serverTime
	recs := []hrec{
		{"schedd01", 5, "alice", T + 3*86400, 0}, // a schedd clock days ahead
		{"schedd01", 4, "atlas-coffea", T - 5, 0},
		{"schedd01", 3, "alice", T - 10, 0},
		{"schedd01", 2, "bob", T - 20, 3}, // removed: printed, as every record scanned is
	}
	dir := fakeCondor(t, map[string]string{"history.out": historyOut(recs...)})
	env, log := condorEnv(T)
	c := testCondor(dir)
	c.ExcludeOwner = []string{"atlas-coffea"}
	c.HistoryScanLimit = 4
	res, err := collecttest.Gather(context.Background(), c, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	equalLines(t, lines(t, res.Docs), []string{job("alice", "finished", "3.0", 3), queue("all", 0, 0, 0, 0, 0)})
	for _, want := range []string{"stopped at --condor-history-scan-limit", "more than a day ahead"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q: %s", want, log)
		}
	}
	calls := condorCalls(t, dir)
	if last := calls[len(calls)-1]; !strings.Contains(strings.Join(last, " "), "-scanlimit 4") {
		t.Errorf("history asked %q", last)
	}
	// The owner left out moved the checkpoint: it is not looked at again.
	var st condorState
	if err := json.Unmarshal(res.State, &st); err != nil || st.Schedds["schedd01.af.example.org"].Done != T-5 {
		t.Errorf("state %s (%v)", res.State, err)
	}
}

// 200,000 finished jobs in one run: the checkpoint remembers only the
// jobs within historySlack of the newest, not every job shipped.
func TestCondorHistoryRecentIsBounded(t *testing.T) {
	cp := &historyCheckpoint{Recent: map[string]int64{}}
	const n, perSecond = 200000, 100
	for i := range n {
		if !cp.add(fmt.Sprintf("s#%d.0#1", i), serverTime-int64(i/perSecond)) {
			t.Fatalf("job %d seen twice", i)
		}
	}
	if cp.add("s#7.0#1", serverTime) {
		t.Error("a job within the slack shipped twice")
	}
	if len(cp.Recent) > 3*historySlack*perSecond {
		t.Errorf("%d jobs remembered, want about %d", len(cp.Recent), historySlack*perSecond)
	}
	if cp.Done != serverTime || cp.Newest != "s#0.0#1" {
		t.Errorf("done %d newest %s", cp.Done, cp.Newest)
	}
}
