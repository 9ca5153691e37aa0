package collecttest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/atlas-af/afmc/collect"
	"github.com/atlas-af/afmc/document"
)

// docs is a collector that emits the documents it holds.
type docs struct {
	docs  []document.Document
	state json.RawMessage
}

func (docs) Name() string                 { return "docs" }
func (docs) Available(*collect.Env) error { return nil }
func (c docs) Collect(_ context.Context, _ *collect.Env, _ json.RawMessage, emit collect.Emit) (json.RawMessage, error) {
	for _, d := range c.docs {
		if err := emit(d); err != nil {
			return nil, err
		}
	}
	return c.state, nil
}

func TestGatherLeavesOutVoidedAnswers(t *testing.T) {
	bad, good := &document.Answer{}, &document.Answer{}
	a := document.New("A", "c", time.Now())
	a.Answer = bad
	b := document.New("B", "c", time.Now())
	b.Answer = good
	bad.Void()
	c := docs{docs: []document.Document{a, b, document.New("C", "c", time.Now())}, state: json.RawMessage(`{}`)}
	env := &collect.Env{Now: time.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	res, err := Gather(context.Background(), c, env, nil)
	if err != nil || len(res.Docs) != 3-1 || res.Docs[0].Kind() != "B" || res.Docs[1].Kind() != "C" {
		t.Errorf("documents %v, %v", res.Docs, err)
	}
}

func TestGatherVoidsDeltasWithoutState(t *testing.T) {
	ans := &document.Answer{}
	d := document.New("D", "c", time.Now())
	d.Delta, d.Answer = true, ans
	env := &collect.Env{Now: time.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	res, err := Gather(context.Background(), docs{docs: []document.Document{d}}, env, nil)
	if err != nil || len(res.Docs) != 0 || !ans.Voided() {
		t.Errorf("documents %v, voided %v, %v", res.Docs, ans.Voided(), err)
	}
}
