package condor

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/atlas-af/afmc/document"
	"github.com/atlas-af/afmc/internal/extcmd"
)

// Finished jobs are events: once the checkpoint moves past a job, no later
// run reports it. So each schedd keeps a checkpoint of the newest
// JobFinishedHookDone (stamped when a job leaves the queue for the
// history) shipped, and the next run asks condor_history for everything
// from there on, however late it runs. Records reach the history file a
// little after they are stamped, and several share a second, so the run
// reads from historySlack before the checkpoint and skips the jobs it
// remembers shipping in that window. The documents are Delta: they count
// only once the state that moved the checkpoint is saved.
//
// The query is a plain -constraint on JobFinishedHookDone, which every
// condor_history has; -since and -scanlimit (newer versions) would stop
// the scan early but also skip records written out of order.
const historySlack = 60 // seconds

// condorState is the condor collector's state section.
type condorState struct {
	// Scanned is when the history was last read (Unix seconds): a schedd
	// with no checkpoint is read from there.
	Scanned int64                         `json:"scanned"`
	Schedds map[string]*historyCheckpoint `json:"schedds,omitempty"`
}

// historyCheckpoint is where one schedd's history has been shipped up to.
type historyCheckpoint struct {
	Done   int64            `json:"done"`   // newest JobFinishedHookDone shipped
	Newest string           `json:"newest"` // that job's GlobalJobId
	Recent map[string]int64 `json:"recent"` // GlobalJobId → JobFinishedHookDone, for those shipped within historySlack of Done
}

var historyAttributes = "GlobalJobId,Owner,ClusterId,ProcId,JobStatus,RemoteWallClockTime,JobFinishedHookDone"

// history emits a finished condorjob for each job that left the queue
// since the checkpoint and returns the next state section.
func (r *condorRun) history(prevRaw []byte, exclude string) (json.RawMessage, error) {
	nowT := r.env.Now()
	now := nowT.Unix()
	log := r.env.Log
	var st condorState
	if len(prevRaw) > 0 {
		if err := json.Unmarshal(prevRaw, &st); err != nil {
			log.Warn("condor: unreadable history checkpoint, looking back --condor-history-since as on a first run", "error", err, "since", r.c.HistorySince)
			st = condorState{}
		}
	}
	// From where a schedd without a checkpoint is read: the previous scan,
	// or on the first run the lookback bound.
	fresh := now - int64(r.c.HistorySince/time.Second)
	if st.Scanned > 0 && st.Scanned <= now+historySlack {
		fresh = st.Scanned - historySlack
	}
	bound := fresh
	for name, cp := range st.Schedds {
		if cp == nil || cp.Done > now+historySlack {
			log.Warn("condor: history checkpoint is in the future (clock change?), reading that schedd from the previous scan", "schedd", name)
			delete(st.Schedds, name)
			continue
		}
		bound = min(bound, cp.Done-historySlack)
	}

	args := []string{"-json", "-attributes", historyAttributes,
		"-constraint", and("JobStatus == 4", "JobFinishedHookDone >= "+strconv.FormatInt(bound, 10), exclude)}
	found := map[string]bool{} // schedds whose checkpointed job is still in the history
	shipped := map[string]*historyCheckpoint{}
	ship := func(a *condorAd) error {
		if a.status != 4 || a.hookDone <= 0 {
			return nil
		}
		id := a.globalJobID
		if id == "" {
			id = jobID(a) // a history without GlobalJobId: one schedd
		}
		schedd, _, _ := strings.Cut(a.globalJobID, "#")
		cp := st.Schedds[schedd]
		if cp != nil {
			if id == cp.Newest {
				found[schedd] = true
			}
			if _, ok := cp.Recent[id]; ok || a.hookDone < cp.Done-historySlack {
				return nil
			}
		} else if a.hookDone < fresh {
			return nil
		}
		next := shipped[schedd]
		if next == nil {
			next = &historyCheckpoint{Recent: map[string]int64{}}
			shipped[schedd] = next
		}
		if _, dup := next.Recent[id]; dup {
			return nil
		}
		next.Recent[id] = a.hookDone
		if a.hookDone > next.Done {
			next.Done, next.Newest = a.hookDone, id
		}
		d := document.New("condorjob", r.env.Cluster, nowT)
		d.Fields = append(d.Fields,
			document.Field{Key: "users", Value: document.User(a.owner)},
			document.Field{Key: "state", Value: jobState(4)},
			document.Field{Key: "Id", Value: jobID(a)},
			document.Field{Key: "Runtime", Value: max(a.wallClock, 0)})
		d.Delta = true
		return r.send(d)
	}
	// condor_history has no -global: under --condor-global every schedd's
	// history is asked by name. One that fails fails the step: no
	// checkpoint moves, and the next run reads them all again.
	var err error
	if r.c.Global {
		var names []string
		if names, err = r.schedds(); err == nil {
			for _, n := range names {
				if err = r.query("condor_history", append([]string{"-name", n}, args...), ship); err != nil {
					break
				}
			}
		}
	} else {
		err = r.query("condor_history", args, ship)
	}
	if err != nil {
		return nil, fmt.Errorf("finished jobs: %w", err)
	}

	next := condorState{Scanned: now, Schedds: map[string]*historyCheckpoint{}}
	for name, cp := range st.Schedds {
		if !found[name] {
			log.Warn("condor: the history no longer holds the last finished job shipped (rotated out, or the history was cleared): jobs that left the queue between then and the oldest record kept may be missing",
				"schedd", name, "checkpoint", time.Unix(cp.Done, 0).UTC().Format(time.RFC3339), "job", cp.Newest)
			if shipped[name] == nil {
				continue // read from this scan on, as a schedd seen for the first time
			}
		}
		next.Schedds[name] = cp
	}
	for name, s := range shipped {
		next.Schedds[name] = merge(next.Schedds[name], s)
	}
	raw, err := json.Marshal(next)
	if err != nil {
		return nil, err
	}
	return raw, nil
}

// schedds lists the pool's schedds by name, from condor_status.
func (r *condorRun) schedds() ([]string, error) {
	out, err := extcmd.Output(r.ctx, extcmd.Cmd{Path: r.c.program("condor_status"), Args: []string{"-schedd", "-af", "Name"}, MaxStdout: 1 << 20})
	if err != nil {
		return nil, r.explain("condor_status", err)
	}
	var names []string
	for _, l := range strings.Split(string(out), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "":
		case strings.ContainsAny(l, " \t") || hasControl(l) || strings.HasPrefix(l, "-"):
			return nil, fmt.Errorf("condor_status -schedd -af Name: %q is not a schedd name", extcmd.Printable(l))
		default:
			names = append(names, l)
		}
	}
	if len(names) == 0 {
		return nil, errors.New("condor_status -schedd lists no schedd: --condor-global needs the pool's collector")
	}
	return names, nil
}

// merge moves checkpoint cp (nil for a schedd without one) on by the jobs
// shipped in s, keeping the ids within historySlack of the newest.
func merge(cp, s *historyCheckpoint) *historyCheckpoint {
	out := &historyCheckpoint{Done: s.Done, Newest: s.Newest, Recent: map[string]int64{}}
	if cp != nil && cp.Done >= s.Done {
		out.Done, out.Newest = cp.Done, cp.Newest
	}
	for _, m := range []map[string]int64{s.Recent, recentOf(cp)} {
		for id, done := range m {
			if done >= out.Done-historySlack {
				out.Recent[id] = done
			}
		}
	}
	return out
}

func recentOf(cp *historyCheckpoint) map[string]int64 {
	if cp == nil {
		return nil
	}
	return cp.Recent
}
