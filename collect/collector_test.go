package collect

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/atlas-af/afmc/document"
)

// Result is what a fake collector makes.
type Result struct {
	Docs  []document.Document
	State json.RawMessage
}

// fake is a collector whose behaviour a test sets.
type fake struct {
	name    string
	missing error
	collect func(ctx context.Context) (Result, error)
}

func (f fake) Name() string         { return f.name }
func (f fake) Available(*Env) error { return f.missing }
func (f fake) Collect(ctx context.Context, _ *Env, _ json.RawMessage, emit Emit) (json.RawMessage, error) {
	res, err := f.collect(ctx)
	for _, d := range res.Docs {
		if err := emit(d); err != nil {
			return nil, err
		}
	}
	return res.State, err
}

func oneDoc(kind string) func(context.Context) (Result, error) {
	return func(context.Context) (Result, error) {
		return Result{Docs: []document.Document{document.New(kind, "c", time.Now())}, State: json.RawMessage(`{"n":1}`)}, nil
	}
}

func TestRunIsolatesCollectors(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	cs := []Collector{
		fake{name: "ok", collect: oneDoc("OK")},
		fake{name: "stuck", collect: func(context.Context) (Result, error) {
			<-release // ignores its context, like a statfs on a dead NFS server
			return Result{}, nil
		}},
		fake{name: "failing", collect: func(context.Context) (Result, error) {
			return Result{Docs: []document.Document{document.New("PARTIAL", "c", time.Now())}}, errors.New("bad mount")
		}},
		fake{name: "absent", missing: errors.New("no condor_q"), collect: oneDoc("NEVER")},
	}
	var got []string
	sink := func(d document.Document) error {
		got = append(got, d.Kind())
		return nil
	}
	out := Run(context.Background(), discardEnv(), cs, nil, 50*time.Millisecond, true, sink)
	if len(out) != 4 {
		t.Fatalf("%d outcomes", len(out))
	}
	if out[0].Err != nil || out[0].Emitted != 1 || string(out[0].State) != `{"n":1}` {
		t.Errorf("ok: %+v", out[0])
	}
	if !errors.Is(out[1].Err, ErrTimeout) || !strings.Contains(out[1].Err.Error(), "collector stuck: timed out after 50ms") {
		t.Errorf("stuck: %v", out[1].Err)
	}
	if out[2].Err == nil || out[2].Emitted != 1 {
		t.Errorf("failing: documents and error must both come back: %+v", out[2])
	}
	if out[3].Skipped == nil || out[3].Err != nil || out[3].Emitted != 0 {
		t.Errorf("absent under --all: %+v", out[3])
	}
	sort.Strings(got)
	if strings.Join(got, " ") != "OK PARTIAL" {
		t.Errorf("sink got %v", got)
	}

	// Named explicitly, a missing source is an error.
	out = Run(context.Background(), discardEnv(), cs[3:], nil, time.Second, false, sink)
	if out[0].Err == nil || !strings.Contains(out[0].Err.Error(), "no condor_q") {
		t.Errorf("absent, named: %+v", out[0])
	}
}

// Delta documents count only with the state they were computed against:
// a collector that fails before returning its state, or times out, has its
// deltas held back; its snapshots still go through.
func TestDeltasOnlyWithTheirState(t *testing.T) {
	delta := func(kind string) document.Document {
		d := document.New(kind, "c", time.Now())
		d.Delta = true
		return d
	}
	release := make(chan struct{})
	defer close(release)
	cs := []Collector{
		fake{name: "saved", collect: func(context.Context) (Result, error) {
			return Result{Docs: []document.Document{delta("EVENT-SAVED")}, State: json.RawMessage(`{}`)}, nil
		}},
		fake{name: "failed", collect: func(context.Context) (Result, error) {
			return Result{Docs: []document.Document{delta("EVENT-FAILED"), document.New("SNAP-FAILED", "c", time.Now())}}, errors.New("history query failed")
		}},
		stuckAfter{doc: delta("EVENT-STUCK"), release: release},
	}
	var got []string
	out := Run(context.Background(), discardEnv(), cs, nil, 50*time.Millisecond, false, func(d document.Document) error {
		got = append(got, d.Kind())
		return nil
	})
	sort.Strings(got)
	if strings.Join(got, " ") != "EVENT-SAVED SNAP-FAILED" {
		t.Errorf("sink got %v, want the saved event and the snapshot only", got)
	}
	if out[0].Emitted != 1 || out[1].Emitted != 1 || out[2].Emitted != 0 {
		t.Errorf("emitted counts %d %d %d", out[0].Emitted, out[1].Emitted, out[2].Emitted)
	}
}

// stuckAfter emits a delta, then hangs past its timeout, then emits more.
type stuckAfter struct {
	doc     document.Document
	release chan struct{}
}

func (stuckAfter) Name() string         { return "stuck" }
func (stuckAfter) Available(*Env) error { return nil }
func (s stuckAfter) Collect(_ context.Context, _ *Env, _ json.RawMessage, emit Emit) (json.RawMessage, error) {
	_ = emit(s.doc)
	<-s.release
	if err := emit(s.doc); !errors.Is(err, errAbandoned) {
		panic("an abandoned collector could still emit")
	}
	return json.RawMessage(`{}`), nil
}

// Collectors never wait for each other: a collector listed behind a slow
// one has its documents passed on as they come, each collector's own
// order kept. Here the first collector cannot finish until the sink has
// had every document of the second: with documents held in registry order
// it would wait out its timeout.
func TestRunInterleaves(t *testing.T) {
	const n = 1000
	allOfB := make(chan struct{})
	var got []string
	var bSeen int
	cs := []Collector{
		fake{name: "slow", collect: func(ctx context.Context) (Result, error) {
			select {
			case <-allOfB:
			case <-ctx.Done():
				return Result{}, ctx.Err()
			}
			return Result{Docs: []document.Document{document.New("A1", "c", time.Now()), document.New("A2", "c", time.Now())}}, nil
		}},
		fake{name: "big", collect: func(context.Context) (Result, error) {
			var docs []document.Document
			for i := range n {
				docs = append(docs, document.New("B", "c", time.Now()).Add("seq", i))
			}
			return Result{Docs: docs}, nil
		}},
	}
	out := Run(context.Background(), discardEnv(), cs, nil, 10*time.Second, false, func(d document.Document) error {
		if d.Kind() == "B" {
			if seq, _ := d.Fields.Get("seq"); seq != bSeen {
				t.Errorf("big's document %v came as its %dth: its order is not kept", seq, bSeen)
			}
			if d.Collector != "big" {
				t.Errorf("document of big says it is %q's", d.Collector)
			}
			if bSeen++; bSeen == n {
				close(allOfB)
			}
		}
		got = append(got, d.Kind())
		return nil
	})
	if out[0].Err != nil || out[1].Err != nil {
		t.Fatalf("outcomes %+v", out)
	}
	if len(got) != n+2 || got[n] != "A1" || got[n+1] != "A2" {
		t.Errorf("sink got %d documents ending %v, want big's %d then A1 A2", len(got), got[max(0, len(got)-2):], n)
	}
	if out[0].Emitted != 2 || out[1].Emitted != n {
		t.Errorf("emitted %d %d", out[0].Emitted, out[1].Emitted)
	}
}
