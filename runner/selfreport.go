package runner

import (
	"maps"
	"slices"
	"time"

	"github.com/atlas-af/afmc/document"
	"github.com/atlas-af/afmc/internal/extcmd"
	"github.com/atlas-af/afmc/spool"
)

// maxReportError bounds an error message in the self-report: a condor_q
// excerpt can be long, and the document is sent every run.
const maxReportError = 512

// selfReport is the run's document about itself, of kind afmc
// (--self-report): with it the central dashboard tells a broken collector
// from a quiet node. It is made once the collectors are done and before
// anything is spooled or sent, so it says what is known then: the run so
// far, each collector's outcome, the documents by kind, the spool's
// backlog from earlier runs and what the spool's bounds dropped when it
// was opened. It passes the users step like every document (login_node is
// obfuscated with the others).
func selfReport(cfg Config, rep *Report, kinds map[string]int, sp *spool.Spool, usersErr error, took time.Duration) document.Document {
	env := cfg.Env
	collectors := make(document.Object, 0, len(rep.Collectors))
	for _, c := range rep.Collectors {
		o := document.Object{{Key: "outcome", Value: string(c.Status)}}
		switch c.Status {
		case StatusSkipped:
			o = append(o, document.Field{Key: "reason", Value: bounded(c.Why)})
		case StatusError:
			o = append(o, document.Field{Key: "error", Value: bounded(c.Why)})
		}
		if c.Status != StatusSkipped {
			o = append(o,
				document.Field{Key: "duration", Value: document.Float(c.Took.Seconds())},
				document.Field{Key: "documents", Value: c.Documents})
		}
		collectors = append(collectors, document.Field{Key: c.Name, Value: o})
	}
	docs := make(document.Object, 0, len(kinds))
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		docs = append(docs, document.Field{Key: k, Value: kinds[k]})
	}
	d := document.NewHost("afmc", env.Cluster, env.LoginNode, env.Now()).
		Add("version", cfg.Version).
		Add("duration", document.Float(took.Seconds())).
		Add("collectors", collectors).
		Add("documents", docs)
	if sp != nil {
		d = d.Add("spool", document.Object{
			{Key: "backlog", Value: sp.Len()},
			{Key: "dropped", Value: sp.Dropped},
		})
	}
	if rep.StateErr != nil {
		d = d.Add("state_error", bounded(rep.StateErr.Error()))
	}
	if usersErr != nil {
		d = d.Add("users_error", bounded(usersErr.Error()))
	}
	return d
}

// bounded is an error message made printable and cut to maxReportError
// bytes, on a character boundary.
func bounded(s string) string {
	s = extcmd.Printable(s)
	if len(s) <= maxReportError {
		return s
	}
	cut := maxReportError
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
