package runner

import (
	"time"

	"github.com/atlas-af/afmc/collect"
)

// Status is how a collector fared in a run.
type Status string

// Collector statuses, as the self-report names them.
const (
	StatusOK      Status = "ok"      // it produced its documents
	StatusSkipped Status = "skipped" // not run: its source is not on this host (--all)
	StatusError   Status = "error"   // it failed, wholly or partly
)

// CollectorResult is one collector's outcome, for the textfile and the
// self-report.
type CollectorResult struct {
	Name      string
	Status    Status
	Why       string        // why it was skipped, or its error
	Took      time.Duration // how long it ran; 0 when skipped
	Documents int           // documents it passed on, before the users step
}

func collectorResults(outcomes []collect.Outcome) []CollectorResult {
	out := make([]CollectorResult, 0, len(outcomes))
	for _, o := range outcomes {
		r := CollectorResult{Name: o.Name, Status: StatusOK, Took: o.Took, Documents: o.Emitted}
		switch {
		case o.Skipped != nil:
			r.Status, r.Why = StatusSkipped, o.Skipped.Error()
		case o.Err != nil:
			r.Status, r.Why = StatusError, o.Err.Error()
		}
		out = append(out, r)
	}
	return out
}

// Succeeded tells whether the run did all it was asked: every collector
// that ran produced its documents, the users step and the state held, and
// every document was printed or delivered. It is the exit status 0, and
// what afmc_last_success_timestamp_seconds records.
func (r Report) Succeeded() bool {
	return len(r.FailedCollector) == 0 && r.PrintErr == nil && r.StateErr == nil && !r.Undelivered()
}
