package collect

import (
	"context"
	"encoding/json"
	"errors"
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
func (f fake) Collect(ctx context.Context, _ *Env, _ json.RawMessage) (Result, error) {
	return f.collect(ctx)
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
	out := Run(context.Background(), discardEnv(), cs, nil, 50*time.Millisecond, true)
	if len(out) != 4 {
		t.Fatalf("%d outcomes", len(out))
	}
	if out[0].Err != nil || len(out[0].Docs) != 1 || string(out[0].State) != `{"n":1}` {
		t.Errorf("ok: %+v", out[0])
	}
	if !errors.Is(out[1].Err, ErrTimeout) || !strings.Contains(out[1].Err.Error(), "collector stuck: timed out after 50ms") {
		t.Errorf("stuck: %v", out[1].Err)
	}
	if out[2].Err == nil || len(out[2].Docs) != 1 {
		t.Errorf("failing: documents and error must both come back: %+v", out[2])
	}
	if out[3].Skipped == nil || out[3].Err != nil || len(out[3].Docs) != 0 {
		t.Errorf("absent under --all: %+v", out[3])
	}

	// Named explicitly, a missing source is an error.
	out = Run(context.Background(), discardEnv(), cs[3:], nil, time.Second, false)
	if out[0].Err == nil || !strings.Contains(out[0].Err.Error(), "no condor_q") {
		t.Errorf("absent, named: %+v", out[0])
	}
}

func TestSelect(t *testing.T) {
	cs := Set{}.List()
	names := func(cs []Collector) string {
		var s []string
		for _, c := range cs {
			s = append(s, c.Name())
		}
		return strings.Join(s, " ")
	}
	for _, tt := range []struct {
		args    []string
		all     bool
		want    string
		wantErr string
	}{
		{[]string{"disk"}, false, "disk", ""},
		{[]string{"mem", "cpu", "CPU"}, false, "cpu mem", ""},
		{[]string{"host"}, false, "cpu mem disk network", ""},
		{[]string{"host", "disk"}, false, "cpu mem disk network", ""},
		{nil, true, "cpu mem disk network", ""},
		{[]string{"dsik"}, false, "", `unknown kind "dsik" (known: cpu, disk, host, mem, network)`},
	} {
		got, err := Select(cs, tt.args, tt.all)
		checkErr(t, err, tt.wantErr)
		if err == nil && names(got) != tt.want {
			t.Errorf("Select(%v) = %s, want %s", tt.args, names(got), tt.want)
		}
	}
}
