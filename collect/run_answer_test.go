package collect

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/atlas-af/afmc/document"
)

// streamer emits deltas of one answer, waiting after each until the sink
// has it: a run that held deltas until the collector returned would never
// let it finish (the test's deadline fails it).
type streamer struct {
	state json.RawMessage
	seen  chan string
	ans   *document.Answer
}

func (streamer) Name() string         { return "streamer" }
func (streamer) Available(*Env) error { return nil }
func (s streamer) Collect(ctx context.Context, env *Env, _ json.RawMessage, emit Emit) (json.RawMessage, error) {
	for _, id := range []string{"1.0", "2.0"} {
		d := document.New("condorjob", "c", env.Now()).Add("Id", id)
		d.Delta, d.Answer = true, s.ans
		if err := emit(d); err != nil {
			return nil, err
		}
		select {
		case got := <-s.seen:
			if got != id {
				return nil, nil
			}
		case <-time.After(10 * time.Second):
			return nil, nil // held: the test fails below
		}
	}
	return s.state, nil
}

func TestRunPassesAnswerDeltasAsTheyCome(t *testing.T) {
	for _, state := range []json.RawMessage{json.RawMessage(`{"n":1}`), nil} {
		s := streamer{state: state, seen: make(chan string, 1), ans: &document.Answer{}}
		var got []string
		sink := func(d document.Document) error {
			id, _ := d.Fields.Get("Id")
			got = append(got, id.(string))
			s.seen <- id.(string)
			return nil
		}
		out := Run(context.Background(), discardEnv(), []Collector{s}, nil, time.Minute, false, sink)
		if len(got) != 2 {
			t.Fatalf("state %s: sink got %q: deltas of an answer were held until the collector returned", state, got)
		}
		// Without a state nothing accounts for them: their answer is void,
		// so they are not sent.
		if s.ans.Voided() != (state == nil) {
			t.Errorf("state %s: answer voided %v", state, s.ans.Voided())
		}
		if string(out[0].State) != string(state) {
			t.Errorf("state %s, want %s", out[0].State, state)
		}
	}
}
