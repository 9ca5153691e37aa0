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
	"github.com/atlas-af/afmc/format/prom"
	"github.com/atlas-af/afmc/users"
)

// failing emits one document and fails; missing has no source here.
type failing struct{}

func (failing) Name() string                 { return "condor" }
func (failing) Available(*collect.Env) error { return nil }
func (failing) Collect(_ context.Context, env *collect.Env, _ json.RawMessage, emit collect.Emit) (json.RawMessage, error) {
	_ = emit(document.New("condorqueue", env.Cluster, env.Now()).Add("queue", "all"))
	return nil, errors.New("schedd02 did not answer")
}

type missing struct{}

func (missing) Name() string                 { return "jupyter" }
func (missing) Available(*collect.Env) error { return errors.New("no kubectl") }
func (missing) Collect(context.Context, *collect.Env, json.RawMessage, collect.Emit) (json.RawMessage, error) {
	panic("a skipped collector ran")
}

// The report records each collector's outcome; the self-report says it,
// with the users step's failure, and passes the users step itself (it
// names no user, so it is not dropped with those that do).
func TestSelfReportAndOutcomes(t *testing.T) {
	dir, tf := t.TempDir(), t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	step, err := users.New(users.Settings{Group: "atlas", ObfuscateHosts: "af.example", ObfuscateHostsPrefix: "atlas"}, "", "login07", downNS{}, log)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep := Run(context.Background(), Config{
		Env:              &collect.Env{Cluster: "C", LoginNode: "login07", Now: time.Now, Log: log},
		Collectors:       []collect.Collector{stub{name: "cpu"}, userStub{}, failing{}, missing{}},
		SkipUnavailable:  true,
		StateDir:         dir,
		LockTimeout:      time.Second,
		CollectorTimeout: time.Second,
		Timeout:          10 * time.Second,
		Stdout:           &out,
		Format:           FormatJSON,
		Users:            step,
		SelfReport:       true,
		TextfileDir:      tf,
		Version:          "v9",
	})
	want := []struct {
		name   string
		status Status
		why    string
	}{{"cpu", StatusOK, ""}, {"ssh", StatusOK, ""}, {"condor", StatusError, "schedd02 did not answer"}, {"jupyter", StatusSkipped, "no kubectl"}}
	if len(rep.Collectors) != len(want) {
		t.Fatalf("collectors %+v", rep.Collectors)
	}
	for i, w := range want {
		c := rep.Collectors[i]
		if c.Name != w.name || c.Status != w.status || !strings.Contains(c.Why, w.why) || (w.why == "") != (c.Why == "") {
			t.Errorf("collector %d: %+v, want %+v", i, c, w)
		}
	}
	if rep.Succeeded() || rep.TextfileErr != nil {
		t.Errorf("succeeded %v, textfile %v", rep.Succeeded(), rep.TextfileErr)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var sr map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sr); err != nil {
		t.Fatal(err)
	}
	if sr["kind"] != "afmc" || sr["login_node"] != "atlas07.af.example" || sr["version"] != "v9" ||
		!strings.Contains(sr["users_error"].(string), "sssd refused") {
		t.Errorf("self-report %s", lines[len(lines)-1])
	}
	// ssh named a user and was dropped by the failing users step: not counted.
	if docs := sr["documents"].(map[string]any); len(docs) != 2 || docs["CPU"] != 1.0 || docs["condorqueue"] != 1.0 {
		t.Errorf("documents %v", docs)
	}
	if rep.Kinds["afmc"] != 1 || rep.Kinds["ssh"] != 0 {
		t.Errorf("kinds %v", rep.Kinds)
	}
	b, err := os.ReadFile(filepath.Join(tf, TextfileName))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := prom.Value(b, prom.LastSuccess); !ok || v != 0 {
		t.Errorf("a failed first run: last success %v %v", v, ok)
	}
	for _, want := range []string{`afmc_collector_up{collector="condor"} 0`, `afmc_collector_skipped{collector="jupyter"} 1`, `afmc_build_info{version="v9"} 1`, "afmc_spool_documents 0\n"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("textfile lacks %s:\n%s", want, b)
		}
	}
}
