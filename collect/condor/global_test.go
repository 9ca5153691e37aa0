package condor

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atlas-af/afmc/collect"
	"github.com/atlas-af/afmc/collect/collecttest"
)

const (
	schedd01 = "schedd01.af.example.org"
	schedd02 = "schedd02.af.example.org"
	schedd03 = "schedd03.af.example.org"
)

// poolFiles are a pool of three schedds for the fakes: schedd01 and
// schedd02 answer, schedd03 does not.
func poolFiles(t *testing.T) map[string]string {
	const T = serverTime
	return map[string]string{
		"status.out":                     schedd01 + "\n" + schedd02 + "\n" + schedd03 + "\n",
		"jobs@" + schedd01 + ".out":      condorFixture(t, "q-jobs-schedd01.json"),
		"jobs@" + schedd02 + ".out":      condorFixture(t, "q-jobs-schedd02.json"),
		"jobs@" + schedd03 + ".err":      strings.ReplaceAll(strings.ReplaceAll(condorFixture(t, "failed-fetch.err"), "schedd02", "schedd03"), "192.0.2.12", "192.0.2.13"),
		"jobs@" + schedd03 + ".exit":     "1",
		"totals@" + schedd03 + ".exit":   "1",
		"history@" + schedd01 + ".out":   historyOut(hrec{"schedd01", 10, "alice", T - 30, 0}),
		"history@" + schedd02 + ".out":   historyOut(hrec{"schedd02", 20, "bob", T - 20, 0}),
		"history@" + schedd03 + ".out":   "[\n",
		"history@" + schedd03 + ".exit":  "1",
		"history@" + schedd03 + ".err":   "Error: Failed to connect to " + schedd03 + "\n",
		"alloc@" + schedd03 + ".exit":    "1",
		"format@" + schedd03 + ".exit":   "1",
		"status@" + schedd03 + ".unused": "",
	}
}

// Under --condor-global the schedds are listed once, then each is asked
// by name, its queue and its history: one that fails is an error naming
// it, the others are counted and their checkpoints move; the failed one's
// moves when it answers again, and nothing is sent twice or lost.
func TestCondorGlobal(t *testing.T) {
	const T = serverTime
	dir := fakeCondor(t, poolFiles(t))
	c := testCondor(dir)
	c.Global = true
	env, _ := condorEnv(T + 100)
	res, err := collecttest.Gather(context.Background(), c, env, nil)
	if err == nil {
		t.Fatal("schedd03 failed, and no error says so")
	}
	for _, want := range []string{
		"schedd " + schedd03 + ": job listing not sent",
		"schedd " + schedd03 + ": finished jobs not sent",
		"queue all: schedd " + schedd03 + " not counted",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), schedd01) || strings.Contains(err.Error(), schedd02) {
		t.Errorf("error %v names a schedd that answered", err)
	}
	got := lines(t, res.Docs)
	want := []string{
		job("alice", "running", "201.0", 60), job("bob", "idle", "301.0", 0), job("bob", "held", "301.1", 99),
		job("alice", "finished", "10.0", 10), job("bob", "finished", "20.0", 20),
		queue("all", 1, 1, 1, 1, 2048),
	}
	// The schedds answer side by side: their documents interleave.
	if !sameLines(got, want) || got[len(got)-1] != want[len(want)-1] {
		t.Errorf("documents:\n%s\nwant, in any order but the summary last:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	calls := condorCalls(t, dir)
	var status, named int
	for _, call := range calls {
		switch {
		case strings.Join(call, " ") == "-schedd -af Name":
			status++
		case len(call) > 2 && call[0] == "-name":
			named++
		default:
			t.Errorf("call %q not by schedd name", call)
		}
	}
	// Each schedd: its listing and its history; schedd03's failed listing
	// makes the queue counts asked of -totals (which fails too).
	if status != 1 || named != 2+2+3 {
		t.Errorf("%d condor_status and %d calls by name: %q", status, named, calls)
	}
	st := decodeState(t, res.State)
	if st.Schedds[schedd01] == nil || st.Schedds[schedd02] == nil {
		t.Fatalf("state %s: the schedds that answered keep a checkpoint", res.State)
	}
	if cp := st.Schedds[schedd03]; cp == nil || cp.Done != 0 || cp.From != T+100-600 {
		t.Errorf("state %s: schedd03 keeps where it is to be read from", res.State)
	}

	// schedd03 answers now, with a job that finished before the first run
	// (within its lookback) and one since: both are sent, once; schedd01's
	// history is as before, and sends nothing again.
	for name, content := range map[string]string{
		"jobs@" + schedd03 + ".exit":    "0",
		"jobs@" + schedd03 + ".err":     "",
		"history@" + schedd03 + ".exit": "0",
		"history@" + schedd03 + ".err":  "",
		"history@" + schedd03 + ".out":  historyOut(hrec{"schedd03", 31, "carol", T + 200, 0}, hrec{"schedd03", 30, "carol", T - 100, 0}),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env2, _ := condorEnv(T + 400)
	res2, err := collecttest.Gather(context.Background(), c, env2, res.State)
	if err != nil {
		t.Fatal(err)
	}
	var finished []string
	for _, d := range res2.Docs {
		if d.Delta {
			id, _ := d.Fields.Get("Id")
			finished = append(finished, id.(string))
		}
	}
	wantIDs(t, "schedd03 back", finished, "31.0", "30.0")
	st2 := decodeState(t, res2.State)
	if cp := st2.Schedds[schedd03]; cp == nil || cp.Done != T+200 {
		t.Errorf("state %s: schedd03's checkpoint moved", res2.State)
	}
	// Each schedd's history is asked from its own checkpoint.
	for _, call := range condorCalls(t, dir)[len(calls):] {
		if len(call) < 2 || sinceOf(call) == "" {
			continue
		}
		want := map[string]string{schedd01: "JobFinishedHookDone < 1699999910", schedd02: "JobFinishedHookDone < 1699999920", schedd03: "JobFinishedHookDone < 1699999500"}[call[1]]
		if got := sinceOf(call); got != want {
			t.Errorf("%s asked -since %q, want %q", call[1], got, want)
		}
	}
}

func decodeState(t *testing.T, raw json.RawMessage) condorState {
	t.Helper()
	var st condorState
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatalf("state %s: %v", raw, err)
	}
	return st
}

func sameLines(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	count := map[string]int{}
	for _, s := range a {
		count[s]++
	}
	for _, s := range b {
		if count[s]--; count[s] < 0 {
			return false
		}
	}
	return true
}

// The schedds are asked side by side, --condor-parallel at a time: three
// listings that each wait until three have started finish only when all
// three run at once. The deadline is only the failure's bound.
func TestCondorGlobalParallel(t *testing.T) {
	for _, tt := range []struct {
		parallel int
		ok       bool
	}{{3, true}, {2, false}} {
		files := poolFiles(t)
		files["jobs@"+schedd03+".out"] = condorFixture(t, "q-jobs-dagman.json")
		for _, f := range []string{"jobs@" + schedd03 + ".err", "jobs@" + schedd03 + ".exit", "history@" + schedd03 + ".exit", "history@" + schedd03 + ".err"} {
			delete(files, f)
		}
		files["history@"+schedd03+".out"] = historyOut()
		files["jobs.barrier"] = "3"
		dir := fakeCondor(t, files)
		c := testCondor(dir)
		c.Global, c.Parallel = true, tt.parallel
		c.Timeout = 20 * time.Second
		if !tt.ok {
			c.Timeout = 2 * time.Second
		}
		env, _ := condorEnv(serverTime + 100)
		res, err := collecttest.Gather(context.Background(), c, env, nil)
		switch {
		case tt.ok && err != nil:
			t.Errorf("--condor-parallel %d: %v", tt.parallel, err)
		case !tt.ok && !errors.Is(err, collect.ErrTimeout):
			t.Errorf("--condor-parallel %d: three listings ran at once (error %v)", tt.parallel, err)
		}
		if tt.ok && len(res.Docs) != 3+3+2+1 {
			t.Errorf("--condor-parallel %d: %q", tt.parallel, lines(t, res.Docs))
		}
	}
}

// A schedd that hangs is killed at --condor-timeout; the others' counts
// and checkpoints stand.
func TestCondorGlobalHungSchedd(t *testing.T) {
	files := poolFiles(t)
	files["status.out"] = schedd01 + "\n" + schedd02 + "\n"
	files["jobs@"+schedd02+".hang"] = ""
	dir := fakeCondor(t, files)
	c := testCondor(dir)
	c.Global = true
	c.Timeout = time.Second
	env, _ := condorEnv(serverTime + 100)
	res, err := collecttest.Gather(context.Background(), c, env, nil)
	if !errors.Is(err, collect.ErrTimeout) || !strings.Contains(err.Error(), "schedd "+schedd02) || strings.Contains(err.Error(), "schedd "+schedd01) {
		t.Errorf("error %v: want schedd02's timeout alone", err)
	}
	equalLines(t, lines(t, res.Docs), []string{job("alice", "running", "201.0", 60), job("alice", "finished", "10.0", 10), queue("all", 0, 1, 0, 1, 2048)})
	st := decodeState(t, res.State)
	if st.Schedds[schedd01] == nil || st.Schedds[schedd02] == nil || st.Schedds[schedd02].Done != 0 {
		t.Errorf("state %s", res.State)
	}
}

func TestCondorGlobalNoSchedd(t *testing.T) {
	dir := fakeCondor(t, map[string]string{"status.out": ""})
	c := testCondor(dir)
	c.Global = true
	env, _ := condorEnv(serverTime)
	res, err := collecttest.Gather(context.Background(), c, env, nil)
	if err == nil || !strings.Contains(err.Error(), "lists no schedd") || res.State != nil {
		t.Errorf("no schedd: %v, state %s", err, res.State)
	}
	dir = fakeCondor(t, map[string]string{"status.out": "-bad name\n"})
	c.BinDir = dir
	if _, err := collecttest.Gather(context.Background(), c, env, nil); err == nil || !strings.Contains(err.Error(), "is not a schedd name") {
		t.Errorf("bad name: %v", err)
	}
}
