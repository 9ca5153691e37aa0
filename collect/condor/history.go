package condor

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/atlas-af/afmc/document"
)

// Finished jobs are events: once the checkpoint moves past a job, no later
// run reports it. So each schedd keeps a checkpoint of the newest
// JobFinishedHookDone (stamped when a job leaves the queue for the
// history) shipped, and the next run asks condor_history for what came
// since, however late it runs. condor_history reads its file backwards,
// newest first, and -since stops the scan at the first record stamped
// before the checkpoint, less historySlack: records reach the file a
// little after they are stamped, and several share a second, so the run
// reads a minute more and skips the jobs it remembers shipping in it.
// -scanlimit bounds a scan whose checkpoint is nowhere (a history
// cleared). The documents are streamed as they are read, as Delta
// documents of the call's answer: they count only once the state that
// moved the checkpoint is saved, and a call that fails voids them and
// moves nothing.
const historySlack = 60 // seconds

// historyFuture is how far ahead of afmc's clock a record may be stamped
// (a schedd's clock may be off): one further ahead is not a finished job
// afmc can place, and is left out with a warning.
const historyFuture = 24 * 3600

// condorState is the condor collector's state section.
type condorState struct {
	// Scanned is when the history was last read (Unix seconds): a schedd
	// with no checkpoint is read from there.
	Scanned int64                         `json:"scanned"`
	Schedds map[string]*historyCheckpoint `json:"schedds,omitempty"`
}

// historyCheckpoint is where one schedd's history has been shipped up to.
type historyCheckpoint struct {
	Done   int64            `json:"done"`   // newest JobFinishedHookDone shipped; 0: none yet
	Newest string           `json:"newest"` // that job's GlobalJobId
	Recent map[string]int64 `json:"recent"` // GlobalJobId → JobFinishedHookDone, for those shipped within historySlack of Done
	// From is where a schedd with nothing shipped yet is read from: one
	// whose history failed keeps the bound it was to be read from.
	From int64 `json:"from,omitempty"`
}

// historyAttributes are what the history is asked for. There is no
// -constraint: every record scanned is printed, so that a scan cut by
// -scanlimit can be told (and JobStatus and the owners left out are
// judged here).
var historyAttributes = "GlobalJobId,Owner,ClusterId,ProcId,JobStatus,RemoteWallClockTime,JobFinishedHookDone"

// historyState is the previous run's checkpoints, read once and shared by
// the schedds' calls, which only read it.
type historyState struct {
	st    condorState
	now   int64
	fresh int64 // where a schedd never read is read from
}

func (r *condorRun) readHistoryState(prevRaw []byte) *historyState {
	now := r.now.Unix()
	log := r.env.Log
	h := &historyState{now: now}
	if len(prevRaw) > 0 {
		if err := json.Unmarshal(prevRaw, &h.st); err != nil {
			log.Warn("condor: unreadable history checkpoint, looking back --condor-history-since as on a first run", "error", err, "since", r.c.HistorySince)
			h.st = condorState{}
		}
	}
	// From where a schedd without a checkpoint is read: the previous scan,
	// or on the first run the lookback bound.
	h.fresh = now - int64(r.c.HistorySince/time.Second)
	if h.st.Scanned > 0 && h.st.Scanned <= now+historySlack {
		h.fresh = h.st.Scanned - historySlack
	}
	for name, cp := range h.st.Schedds {
		if cp == nil || cp.Done > now+historySlack || cp.From > now+historySlack {
			log.Warn("condor: history checkpoint is in the future (clock change?), reading that schedd from the previous scan", "schedd", name)
			delete(h.st.Schedds, name)
		}
	}
	return h
}

// from is where schedd name's history is read from.
func (h *historyState) from(name string) int64 {
	cp := h.st.Schedds[name]
	switch {
	case cp == nil:
		return h.fresh
	case cp.Done > 0:
		return cp.Done - historySlack
	case cp.From > 0:
		return cp.From
	}
	return h.fresh
}

// historyCall is one condor_history call and what it shipped.
type historyCall struct {
	r       *condorRun
	h       *historyState
	s       *schedd
	bound   int64                         // records stamped before it are not new
	covers  []string                      // the schedds whose checkpoints this call moves
	shipped map[string]*historyCheckpoint // by schedd, as GlobalJobId names it
	found   map[string]bool               // schedds whose checkpointed job was seen
	scanned int                           // records read
	future  int                           // records stamped too far ahead
	ans     *document.Answer
	ok      bool
}

// call prepares schedd s's history call. The local schedd's history is
// one call for every schedd its records name (one, normally); under
// --condor-global each schedd is asked by name, for its own checkpoint.
func (h *historyState) call(r *condorRun, s *schedd) *historyCall {
	c := &historyCall{r: r, h: h, s: s, shipped: map[string]*historyCheckpoint{}, found: map[string]bool{}, ans: &document.Answer{}}
	if s.name != "" {
		c.covers = []string{s.name}
		c.bound = h.from(s.name)
		return c
	}
	c.bound = h.fresh
	for name := range h.st.Schedds {
		c.covers = append(c.covers, name)
		c.bound = min(c.bound, h.from(name))
	}
	return c
}

func (c *historyCall) run() error {
	r := c.r
	args := c.s.args("-json", "-attributes", historyAttributes,
		"-since", "JobFinishedHookDone < "+strconv.FormatInt(c.bound, 10),
		"-scanlimit", strconv.Itoa(r.c.HistoryScanLimit))
	err := r.query(c.s, "condor_history", args, c.ship)
	if err != nil {
		c.ans.Void()
		return fmt.Errorf("%s: finished jobs not sent (they are read again next run): %w", c.s, err)
	}
	c.ok = true
	log := r.env.Log
	if c.scanned >= r.c.HistoryScanLimit {
		log.Warn("condor: condor_history stopped at --condor-history-scan-limit before reaching the checkpoint: jobs that finished before the oldest record read may be missing",
			"schedd", c.s.String(), "records", c.scanned, "from", time.Unix(c.bound, 0).UTC().Format(time.RFC3339))
	}
	if c.future > 0 {
		log.Warn("condor: finished jobs stamped more than a day ahead of this host's clock were left out (a schedd's clock?)",
			"schedd", c.s.String(), "jobs", c.future)
	}
	return nil
}

// ship emits a finished condorjob for a record that is new: stamped since
// its schedd's checkpoint and not among those shipped within
// historySlack of it.
func (c *historyCall) ship(a *condorAd) error {
	c.scanned++
	if a.status != 4 || a.hookDone <= 0 {
		return nil
	}
	if a.hookDone > c.h.now+historyFuture {
		c.future++
		return nil
	}
	id := a.globalJobID
	if id == "" {
		id = jobID(a) // a history without GlobalJobId: one schedd
	}
	schedd, _, _ := strings.Cut(a.globalJobID, "#")
	if cp := c.h.st.Schedds[schedd]; cp != nil && cp.Done > 0 {
		if id == cp.Newest {
			c.found[schedd] = true
		}
		if _, ok := cp.Recent[id]; ok || a.hookDone < cp.Done-historySlack {
			return nil
		}
	} else if a.hookDone < c.h.from(schedd) {
		return nil
	}
	next := c.shipped[schedd]
	if next == nil {
		next = &historyCheckpoint{Recent: map[string]int64{}}
		c.shipped[schedd] = next
	}
	if !next.add(id, a.hookDone) {
		return nil // the same record twice
	}
	if c.r.exclude[a.owner] {
		return nil
	}
	d := document.New("condorjob", c.r.env.Cluster, c.r.now)
	d.Fields = append(d.Fields,
		document.Field{Key: "users", Value: document.User(a.owner)},
		document.Field{Key: "state", Value: jobState(4)},
		document.Field{Key: "Id", Value: jobID(a)},
		document.Field{Key: "Runtime", Value: a.wallClock})
	d.Delta = true
	d.Answer = c.ans
	return c.r.send(d)
}

// add records a shipped job, and tells whether it is new. Only the jobs
// within historySlack of the newest are remembered, so a run of 200,000
// finished jobs keeps a minute's worth, not all of them: records come
// newest first, so the newest is known almost at once.
func (cp *historyCheckpoint) add(id string, done int64) bool {
	if _, dup := cp.Recent[id]; dup {
		return false
	}
	if done > cp.Done {
		cp.Done, cp.Newest = done, id
	}
	if done >= cp.Done-historySlack {
		cp.Recent[id] = done
	}
	if len(cp.Recent) > 1024 && len(cp.Recent)%1024 == 0 {
		for k, d := range cp.Recent {
			if d < cp.Done-historySlack {
				delete(cp.Recent, k)
			}
		}
	}
	return true
}

// next is the state after this run: the checkpoints of the schedds whose
// history was read moved on, the others' kept.
func (h *historyState) next(schedds []*schedd, global bool) (json.RawMessage, error) {
	next := condorState{Scanned: h.now, Schedds: map[string]*historyCheckpoint{}}
	covered := map[string]bool{}
	for _, s := range schedds {
		c := s.hist
		if c == nil || !c.ok {
			if !global {
				// The local history was not read: a schedd without a
				// checkpoint is still to be read from where it was.
				next.Scanned = h.fresh + historySlack
			}
			continue
		}
		for _, name := range c.covers {
			covered[name] = true
		}
	}
	// Checkpoints no call of this run read are kept: a schedd that failed,
	// or one of the pool not listed this time.
	for name, cp := range h.st.Schedds {
		if !covered[name] {
			next.Schedds[name] = cp
		}
	}
	for _, s := range schedds {
		c := s.hist
		if c == nil || !c.ok {
			// Never read: it stays where it was to be read from.
			if global && s.name != "" && next.Schedds[s.name] == nil {
				next.Schedds[s.name] = &historyCheckpoint{From: h.from(s.name), Recent: map[string]int64{}}
			}
			continue
		}
		for _, name := range c.covers {
			cp := h.st.Schedds[name]
			if cp == nil || cp.Done == 0 {
				continue
			}
			if !c.found[name] {
				h.rotated(c.r, name, cp)
				if c.shipped[name] == nil {
					continue // read from this scan on, as a schedd seen for the first time
				}
			}
			next.Schedds[name] = cp
		}
		for name, sh := range c.shipped {
			next.Schedds[name] = merge(next.Schedds[name], sh)
		}
	}
	raw, err := json.Marshal(next)
	if err != nil {
		return nil, err
	}
	return raw, nil
}

func (h *historyState) rotated(r *condorRun, name string, cp *historyCheckpoint) {
	r.env.Log.Warn("condor: the history no longer holds the last finished job shipped (rotated out, or the history was cleared): jobs that left the queue between then and the oldest record kept may be missing",
		"schedd", name, "checkpoint", time.Unix(cp.Done, 0).UTC().Format(time.RFC3339), "job", cp.Newest)
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
