package runner

import (
	"encoding/json"
	"log/slog"
	"slices"

	"github.com/atlas-af/afmc/collect"
)

// --all skips a collector whose source is not on the host, with an info
// line only: on a host that never had HTCondor that is right. A source
// that was there at the previous run and is gone now (kubectl removed, a
// kubeconfig moved, condor's tools off the PATH) is a warning: otherwise
// its documents would stop without a word.

// runSection is the state section of the run itself, beside the
// collectors' own.
const runSection = "_run"

// runRecord is what a run remembers of itself: the collectors that ran.
type runRecord struct {
	Ran []string `json:"ran"`
}

func readRunRecord(raw json.RawMessage) runRecord {
	var rec runRecord
	_ = json.Unmarshal(raw, &rec) // none, or unreadable: nothing ran before
	return rec
}

// warnVanished warns of each collector skipped by this --all run that the
// previous run ran.
func warnVanished(log *slog.Logger, prev json.RawMessage, outcomes []collect.Outcome) {
	rec := readRunRecord(prev)
	for _, o := range outcomes {
		if o.Skipped != nil && slices.Contains(rec.Ran, o.Name) {
			log.Warn("collector skipped: its source is gone since the previous run, which sent its documents",
				"collector", o.Name, "reason", o.Skipped)
		}
	}
}

// nextRunRecord is the record this run saves. An --all run ran every
// collector there is a source for: what it skipped is off the list. A
// run of named kinds adds those to it and leaves the rest as they were.
func nextRunRecord(prev json.RawMessage, outcomes []collect.Outcome, all bool) json.RawMessage {
	var ran []string
	if !all {
		ran = readRunRecord(prev).Ran
	}
	for _, o := range outcomes {
		if o.Skipped == nil && !slices.Contains(ran, o.Name) {
			ran = append(ran, o.Name)
		}
	}
	slices.Sort(ran)
	b, err := json.Marshal(runRecord{Ran: ran})
	if err != nil {
		return nil // keeps the previous record
	}
	return b
}
