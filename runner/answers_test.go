package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atlas-af/afmc/collect"
	"github.com/atlas-af/afmc/document"
	"github.com/atlas-af/afmc/internal/safedir"
	"github.com/atlas-af/afmc/spool"
	"github.com/atlas-af/afmc/state"
)

// answerStub emits the documents of two answers, as a condor collector
// does for two schedds' listings, interleaved, with a delta of each, then
// finds the first answer failed and voids it.
type answerStub struct{}

func (answerStub) Name() string                 { return "condor" }
func (answerStub) Available(*collect.Env) error { return nil }
func (answerStub) Collect(_ context.Context, env *collect.Env, _ json.RawMessage, emit collect.Emit) (json.RawMessage, error) {
	bad, good := &document.Answer{}, &document.Answer{}
	for i := range 3 {
		for _, a := range []*document.Answer{bad, good} {
			d := document.New("condorjob", env.Cluster, env.Now()).Add("n", i)
			if a == bad {
				d = d.Add("answer", "bad")
			}
			d.Answer = a
			d.Delta = i == 2
			if err := emit(d); err != nil {
				return nil, err
			}
		}
	}
	bad.Void()
	return json.RawMessage(`{"checkpoint":1}`), errors.New("schedd02: listing failed")
}

func answersRun(t *testing.T, dir string, stdout io.Writer, lockTimeout time.Duration) (Report, []string) {
	t.Helper()
	sender, received := recordingSender(t)
	rep := Run(context.Background(), Config{
		Env:              &collect.Env{Cluster: "C", Now: time.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))},
		Collectors:       []collect.Collector{answerStub{}, stub{name: "cpu"}}, // first: its documents pass as they come
		StateDir:         dir,
		LockTimeout:      lockTimeout,
		CollectorTimeout: 5 * time.Second,
		Timeout:          10 * time.Second,
		Stdout:           stdout,
		Format:           FormatJSON,
		Post:             &PostConfig{Sender: sender},
	})
	return rep, received()
}

// The documents of a voided answer are printed as they came but never
// sent: not from the spool, not by the next run; the other answer's are.
func TestVoidedAnswerIsNotSent(t *testing.T) {
	dir := t.TempDir()
	var stdout bytes.Buffer
	rep, got := answersRun(t, dir, &stdout, time.Second)
	if len(got) != 1+3 || strings.Contains(strings.Join(got, "\n"), `"answer":"bad"`) {
		t.Errorf("sent %q: want the CPU document and the good answer's three", got)
	}
	if rep.Delivered != 4 || rep.Spooled != 0 || len(rep.FailedCollector) != 1 {
		t.Errorf("report %+v", rep)
	}
	if n := strings.Count(stdout.String(), `"answer":"bad"`); n != 3 {
		t.Errorf("printed %d of the voided answer's documents, want the 3 printed as they came", n)
	}
	// Nothing of it waits in the spool for the next run either.
	d, err := safedir.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	sp, err := spool.OpenSpool(d, ^uint64(0), spool.SpoolLimits{}, time.Now(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	if left := sp.Waiting(^uint64(0)); left != 0 {
		t.Errorf("spool keeps %d documents", left)
	}
}

// A run locked out leaves in its inbox the good answer's snapshots, not
// the voided one's (nor any delta).
func TestVoidedAnswerLeavesTheInbox(t *testing.T) {
	dir := t.TempDir()
	holder, err := state.Open(context.Background(), dir, time.Second, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	rep, _ := answersRun(t, dir, io.Discard, 50*time.Millisecond)
	if !errors.Is(rep.StateErr, state.ErrLockTimeout) || rep.Spooled != 1+2 {
		t.Fatalf("report %+v", rep)
	}
	inbox, _ := filepath.Glob(filepath.Join(dir, "spool.inbox-*"))
	if len(inbox) != 1 {
		t.Fatalf("inbox files %v", inbox)
	}
	b, err := os.ReadFile(inbox[0])
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(b), "\n") != 3 || strings.Contains(string(b), `"answer":"bad"`) {
		t.Errorf("inbox holds %s", b)
	}
}

// Without a spool (the state dir unusable) the held documents of a voided
// answer are left out too.
func TestVoidedAnswerWithoutSpool(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.WriteFile(dir, nil, 0o600); err != nil { // not a directory
		t.Fatal(err)
	}
	rep, got := answersRun(t, dir, io.Discard, time.Second)
	// No state was saved: the deltas go too; the good snapshots do not.
	if rep.StateErr == nil || len(got) != 1+2 || strings.Contains(strings.Join(got, "\n"), `"answer":"bad"`) {
		t.Errorf("sent %q, report %+v", got, rep)
	}
}
