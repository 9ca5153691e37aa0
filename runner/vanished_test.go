package runner

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/atlas-af/afmc/collect"
)

// The record of what ran: an --all run sets it to what it ran, a run of
// named kinds adds to it; a collector skipped now that ran before warns.
func TestRunRecord(t *testing.T) {
	gone := errors.New("condor_q not found")
	all := []collect.Outcome{{Name: "cpu"}, {Name: "condor"}, {Name: "jupyter", Skipped: gone}}
	rec := nextRunRecord(nil, all, true)
	if string(rec) != `{"ran":["condor","cpu"]}` {
		t.Fatalf("after --all: %s", rec)
	}
	// A run of named kinds keeps what --all recorded.
	if got := nextRunRecord(rec, []collect.Outcome{{Name: "mem"}}, false); string(got) != `{"ran":["condor","cpu","mem"]}` {
		t.Errorf("after a named run: %s", got)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	later := []collect.Outcome{{Name: "cpu"}, {Name: "condor", Skipped: gone}, {Name: "jupyter", Skipped: gone}}
	warnVanished(log, rec, later)
	if strings.Count(logs.String(), "level=WARN") != 1 || !strings.Contains(logs.String(), "collector=condor") || !strings.Contains(logs.String(), "condor_q not found") {
		t.Errorf("warnings:\n%s", logs.String())
	}
	rec = nextRunRecord(rec, later, true)
	logs.Reset()
	warnVanished(log, rec, later)
	if logs.Len() != 0 {
		t.Errorf("warned twice:\n%s", logs.String())
	}
	// A record that cannot be read is no record: nothing to warn of.
	warnVanished(log, json.RawMessage(`{"ran":`), later)
	if logs.Len() != 0 {
		t.Errorf("an unreadable record warned:\n%s", logs.String())
	}
}
