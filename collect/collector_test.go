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

// Documents reach the sink in registry order even when a later collector
// finishes first; the first collector's stream is never held back.
func TestRunKeepsRegistryOrder(t *testing.T) {
	firstMayEnd := make(chan struct{})
	var got []string
	var sawLiveA bool
	cs := []Collector{
		fake{name: "a", collect: func(context.Context) (Result, error) {
			<-firstMayEnd
			return Result{Docs: []document.Document{document.New("A1", "c", time.Now()), document.New("A2", "c", time.Now())}}, nil
		}},
		fake{name: "b", collect: func(context.Context) (Result, error) {
			defer close(firstMayEnd) // b is done before a even starts emitting
			return Result{Docs: []document.Document{document.New("B1", "c", time.Now())}}, nil
		}},
	}
	out := Run(context.Background(), discardEnv(), cs, nil, time.Second, false, func(d document.Document) error {
		got = append(got, d.Kind())
		if d.Kind() == "A1" && len(got) == 1 {
			sawLiveA = true
		}
		return nil
	})
	if strings.Join(got, " ") != "A1 A2 B1" || !sawLiveA {
		t.Errorf("sink got %v, want A1 A2 B1", got)
	}
	if out[0].Emitted != 2 || out[1].Emitted != 1 {
		t.Errorf("emitted %d %d", out[0].Emitted, out[1].Emitted)
	}
}
