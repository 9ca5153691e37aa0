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
	"github.com/atlas-af/afmc/internal/logstashfake"
	"github.com/atlas-af/afmc/send"
	"github.com/atlas-af/afmc/spool"
	"github.com/atlas-af/afmc/state"
	"github.com/atlas-af/afmc/users"
)

// stub returns one document; delta ones carry a state section.
type stub struct {
	name  string
	delta bool
}

func (s stub) Name() string                 { return s.name }
func (s stub) Available(*collect.Env) error { return nil }
func (s stub) Collect(_ context.Context, env *collect.Env, _ json.RawMessage, emit collect.Emit) (json.RawMessage, error) {
	d := document.New(strings.ToUpper(s.name), env.Cluster, env.Now())
	d.Delta = s.delta
	var state json.RawMessage
	if s.delta {
		state = json.RawMessage(`{"counter":1}`)
	}
	return state, emit(d)
}

// recordingSender is a sender to the fake Logstash endpoint, which
// accepts every request; received lists the documents it got.
func recordingSender(t *testing.T) (sender *send.Sender, received func() []string) {
	sk := logstashfake.New(t, nil)
	sender, err := send.NewSender(send.SenderConfig{URL: sk.URL, Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sender.Close)
	return sender, sk.Docs
}

// When the state cannot be saved, the run's deltas would be counted again
// by the next run: they are withheld. Its snapshots are sent.
func TestSaveFailureWithholdsDeltasOnly(t *testing.T) {
	sender, received := recordingSender(t)

	dir := t.TempDir()
	// A directory where the state file should be: it reads as unreadable
	// (a fresh baseline) and the save's rename over it fails.
	if err := os.MkdirAll(filepath.Join(dir, state.FileName, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	rep := Run(context.Background(), Config{
		Env: &collect.Env{Cluster: "C", Now: time.Now,
			Log: slog.New(slog.NewTextHandler(&logs, nil))},
		Collectors:       []collect.Collector{stub{name: "snap"}, stub{name: "net", delta: true}},
		StateDir:         dir,
		LockTimeout:      time.Second,
		CollectorTimeout: time.Second,
		Timeout:          10 * time.Second,
		Stdout:           io.Discard,
		Post:             &PostConfig{Sender: sender},
	})
	if rep.StateErr == nil || !strings.Contains(logs.String(), "login history and finished jobs are not sent") {
		t.Fatalf("save did not fail as planned: %+v\n%s", rep, logs.String())
	}
	if got := received(); len(got) != 1 || !strings.Contains(got[0], `"kind":"SNAP"`) {
		t.Errorf("sent %q, want only the snapshot", got)
	}
	if rep.Delivered != 1 {
		t.Errorf("report %+v", rep)
	}
}

// saboteur makes the spool and the save fail once the run has opened
// them: directories where the spool file and the state file go. (Files
// are reached through the state dir's handle, so renaming the dir away no
// longer does.) Available runs before any collector emits.
type saboteur struct{ dir string }

func (s saboteur) Name() string { return "saboteur" }
func (s saboteur) Available(*collect.Env) error {
	for _, p := range []string{filepath.Join(s.dir, spool.SpoolName), filepath.Join(s.dir, state.FileName, "x")} {
		if err := os.MkdirAll(p, 0o700); err != nil {
			return err
		}
	}
	return nil
}
func (s saboteur) Collect(_ context.Context, env *collect.Env, _ json.RawMessage, emit collect.Emit) (json.RawMessage, error) {
	return nil, emit(document.New("SAB", env.Cluster, env.Now()))
}

// With neither spool nor state usable, the snapshots still go out (without
// a copy); the deltas, whose state was not saved, do not.
func TestNoSpoolNoStateStillSendsSnapshots(t *testing.T) {
	sender, received := recordingSender(t)
	dir := filepath.Join(t.TempDir(), "state")
	rep := Run(context.Background(), Config{
		Env:              &collect.Env{Cluster: "C", Now: time.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))},
		Collectors:       []collect.Collector{saboteur{dir}, stub{name: "net", delta: true}},
		StateDir:         dir,
		LockTimeout:      time.Second,
		CollectorTimeout: time.Second,
		Timeout:          10 * time.Second,
		Stdout:           io.Discard,
		Post:             &PostConfig{Sender: sender},
	})
	if rep.StateErr == nil || rep.Delivered != 1 || rep.Lost != 0 {
		t.Errorf("report %+v", rep)
	}
	if got := received(); len(got) != 1 || !strings.Contains(got[0], `"kind":"SAB"`) {
		t.Errorf("sent %q, want the snapshot only", got)
	}
}

// userStub emits one document naming a user; its delta twin carries a
// state section, as the ssh collector with --ssh-history does.
type userStub struct{ delta bool }

func (userStub) Name() string                 { return "ssh" }
func (userStub) Available(*collect.Env) error { return nil }
func (u userStub) Collect(_ context.Context, env *collect.Env, _ json.RawMessage, emit collect.Emit) (json.RawMessage, error) {
	d := document.New("ssh", env.Cluster, env.Now()).Add("ssh_user_count", document.UserCount(1)).Add("users", document.UserList{"alice"})
	d.Delta = u.delta
	return json.RawMessage(`{"wtmp":{"offset":384}}`), emit(d)
}

type downNS struct{}

func (downNS) Group(context.Context, string) (string, []string, error) {
	return "", nil, errors.New("getent: connection to sssd refused")
}
func (downNS) PrimaryGroups(context.Context, []string) (map[string]string, error) {
	return nil, errors.New("unreachable")
}

// When the users step cannot tell who is in the group, the events it
// dropped must be collected again: the state is not saved. Snapshots
// that name no user still go out.
func TestUsersStepFailureKeepsTheState(t *testing.T) {
	sender, received := recordingSender(t)
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	step, err := users.New(users.Settings{Group: "atlas"}, "", "", downNS{}, log)
	if err != nil {
		t.Fatal(err)
	}
	rep := Run(context.Background(), Config{
		Env:              &collect.Env{Cluster: "C", Now: time.Now, Log: log},
		Collectors:       []collect.Collector{stub{name: "cpu"}, userStub{delta: true}},
		StateDir:         dir,
		LockTimeout:      time.Second,
		CollectorTimeout: time.Second,
		Timeout:          10 * time.Second,
		Stdout:           io.Discard,
		Post:             &PostConfig{Sender: sender},
		Users:            step,
	})
	if len(rep.FailedCollector) != 1 || !strings.Contains(rep.FailedCollector[0].Error(), "sssd refused") {
		t.Errorf("failures %v", rep.FailedCollector)
	}
	if got := received(); len(got) != 1 || !strings.Contains(got[0], `"kind":"CPU"`) {
		t.Errorf("sent %q, want the CPU snapshot only", got)
	}
	if b, err := os.ReadFile(filepath.Join(dir, state.FileName)); err == nil && strings.Contains(string(b), "wtmp") {
		t.Errorf("the state moved past the dropped events: %s", b)
	}
}

// A run locked out leaves its snapshots in the inbox, never its deltas:
// without the state they were computed against nothing, and would repeat
// what the run holding the lock reports.
func TestLockedOutRunLeavesNoDeltas(t *testing.T) {
	sender, _ := recordingSender(t)
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	holder, err := state.Open(context.Background(), dir, time.Second, log)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	rep := Run(context.Background(), Config{
		Env:              &collect.Env{Cluster: "C", Now: time.Now, Log: log},
		Collectors:       []collect.Collector{stub{name: "cpu"}, stub{name: "net", delta: true}, userStub{delta: true}},
		StateDir:         dir,
		LockTimeout:      50 * time.Millisecond,
		CollectorTimeout: time.Second,
		Timeout:          10 * time.Second,
		Stdout:           io.Discard,
		Post:             &PostConfig{Sender: sender},
	})
	if !errors.Is(rep.StateErr, state.ErrLockTimeout) || rep.Spooled != 1 {
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
	if !strings.Contains(string(b), `"kind":"CPU"`) || strings.Contains(string(b), "NET") || strings.Contains(string(b), "ssh") {
		t.Errorf("inbox holds %s, want the CPU snapshot only", b)
	}
}

// many emits n snapshots of about 100 bytes each.
type many struct{ n int }

func (many) Name() string                 { return "many" }
func (many) Available(*collect.Env) error { return nil }
func (m many) Collect(_ context.Context, env *collect.Env, _ json.RawMessage, emit collect.Emit) (json.RawMessage, error) {
	for i := range m.n {
		if err := emit(document.New("MANY", env.Cluster, env.Now()).Add("i", i).Add("pad", strings.Repeat("x", 50))); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// Without a spool, documents are held in memory only up to the spool's
// bound: those past it are lost and said to be, not held whatever their
// number (a pool's million jobs on a node whose state dir broke).
func TestNoSpoolHoldsNoMoreThanTheSpoolBound(t *testing.T) {
	sender, received := recordingSender(t)
	dir := filepath.Join(t.TempDir(), "state")
	var logs bytes.Buffer
	const n, limit = 200, 4096
	rep := Run(context.Background(), Config{
		Env:              &collect.Env{Cluster: "C", Now: time.Now, Log: slog.New(slog.NewTextHandler(&logs, nil))},
		Collectors:       []collect.Collector{saboteur{dir}, many{n}},
		StateDir:         dir,
		LockTimeout:      time.Second,
		CollectorTimeout: 5 * time.Second,
		Timeout:          20 * time.Second,
		Stdout:           io.Discard,
		Post:             &PostConfig{Sender: sender, Spool: spool.SpoolLimits{MaxBytes: limit}},
	})
	got := received()
	// Each document holds 50 bytes of padding: no more than limit/50 fit.
	if len(got) == 0 || len(got) > limit/50 {
		t.Errorf("sent %d documents, want some, at most %d", len(got), limit/50)
	}
	if rep.Delivered != len(got) || rep.Lost != n+1-len(got) || rep.Collected != n+1 {
		t.Errorf("report %+v: %d sent, want the other %d lost", rep, len(got), n+1-len(got))
	}
	if !strings.Contains(logs.String(), "documents past --spool-max-bytes are not held: lost") {
		t.Errorf("no word of the lost documents:\n%s", logs.String())
	}
}
