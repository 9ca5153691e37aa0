package condor

import (
	"errors"
	"fmt"
	"strings"

	"github.com/atlas-af/afmc/document"
)

// schedd is one schedd asked, and what it answered.
type schedd struct {
	name   string        // "" for the local schedd
	queues []queueCounts // by --condor-queue
	hist   *historyCall  // nil when its history was not asked
	errs   []error
}

func (s *schedd) String() string {
	if s.name == "" {
		return "the local schedd"
	}
	return "schedd " + s.name
}

func (s *schedd) fail(err error) { s.errs = append(s.errs, err) }

// args starts a call's arguments: -name for a schedd of the pool.
func (s *schedd) args(more ...string) []string {
	if s.name == "" {
		return more
	}
	return append([]string{"-name", s.name}, more...)
}

// queueCounts is one queue's counts on one schedd.
type queueCounts struct {
	ok                  bool  // counted
	err                 error // counted, but with a warning (a summary's ErrorCode)
	idle, running, held int64
	cores, mem          int64
}

func (q *queueCounts) add(o queueCounts) {
	q.idle = satAdd(q.idle, o.idle)
	q.running = satAdd(q.running, o.running)
	q.held = satAdd(q.held, o.held)
	q.cores = satAdd(q.cores, o.cores)
	q.mem = satAdd(q.mem, o.mem)
}

// count adds a job of the listing as condor_q -totals counts it (a
// transferring job is running, scheduler-universe jobs such as DAGMan are
// kept apart), and its allocation as condor_q -run lists it.
func (q *queueCounts) count(a *condorAd) {
	if a.universe != schedulerUniverse {
		switch a.status {
		case 1:
			q.idle++
		case 2, 6:
			q.running++
		case 5:
			q.held++
		}
	}
	q.allocate(a)
}

// allocate adds what a running job was given: CpusProvisioned and
// MemoryProvisioned stay in an ad after the job stops, so only jobs that
// condor_q -run lists (JobStatus 2, 6 or 7) count.
func (q *queueCounts) allocate(a *condorAd) {
	if jobRunning(a.status) {
		q.cores = satAdd(q.cores, a.cpus)
		q.mem = satAdd(q.mem, a.memory)
	}
}

const schedulerUniverse = 7

// runningConstraint selects the jobs condor_q -run lists.
const runningConstraint = "JobStatus == 2 || JobStatus == 6 || JobStatus == 7"

// jobAttributes are all the listing asks for: a full job ad is about 8 KB.
var jobAttributes = "Owner,ClusterId,ProcId,JobStatus,JobUniverse,RemoteWallClockTime,ShadowBday,JobCurrentStartDate,ServerTime,CpusProvisioned,MemoryProvisioned"

// collectSchedd asks one schedd everything, one call after the other.
func (r *condorRun) collectSchedd(s *schedd, hist *historyState) {
	listed, listErr := r.jobs(s)
	if listErr != nil {
		s.fail(listErr)
	}
	for i, q := range r.queues {
		if r.ctx.Err() != nil || r.emitError() != nil {
			break
		}
		if q.constraint == "" && listErr == nil {
			s.queues[i] = listed
			continue
		}
		// A constrained queue, or the listing failed: condor counts.
		var err error
		if s.queues[i], err = r.queue(s, q); err != nil {
			s.fail(err)
		}
	}
	if r.ctx.Err() == nil && r.emitError() == nil {
		s.hist = hist.call(r, s)
		if err := s.hist.run(); err != nil {
			s.fail(err)
		}
	}
}

// jobs streams one schedd's job listing, a condorjob document for each
// job as it is read, and returns the counts of the queue without a
// constraint. The documents are sent only if the listing is complete: a
// condor_q that fails voids them.
func (r *condorRun) jobs(s *schedd) (queueCounts, error) {
	// -stream-results: condor_q prints each ad as it arrives, instead of
	// holding the whole answer first.
	args := s.args("-allusers", "-json", "-attributes", jobAttributes, "-stream-results")
	now := r.now
	counts := queueCounts{ok: true}
	ans := &document.Answer{}
	// A pool's worth of documents: each value boxed once, not per job.
	cluster, owners := any(r.env.Cluster), map[string]any{}
	err := r.query(s, "condor_q", args, func(a *condorAd) error {
		if !a.hasCluster || !a.hasProc {
			return nil // not a job ad
		}
		counts.count(a)
		if r.exclude[a.owner] {
			return nil
		}
		owner, ok := owners[a.owner]
		if !ok {
			owner = document.User(a.owner) // typed: the users step filters and hashes it
			if len(owners) < 100000 {
				owners[a.owner] = owner
			}
		}
		d := document.Document{Time: now, Answer: ans, Fields: document.Object{
			{Key: "kind", Value: "condorjob"},
			{Key: "cluster", Value: cluster},
			{Key: "users", Value: owner},
			{Key: "state", Value: jobStateValue(a.status)},
			{Key: "Id", Value: jobID(a)},
			{Key: "Runtime", Value: jobRuntime(a, now.Unix())},
		}}
		return r.send(d)
	})
	if err != nil {
		ans.Void()
		return queueCounts{}, fmt.Errorf("%s: job listing not sent: %w", s, err)
	}
	return counts, nil
}

// queue counts one constrained queue on one schedd: condor_q -totals for
// the counts, and the running jobs' CpusProvisioned and MemoryProvisioned
// for the allocation (a constraint can only be evaluated by condor).
func (r *condorRun) queue(s *schedd, q condorQueue) (queueCounts, error) {
	args := s.args("-allusers", "-totals", "-json")
	if q.constraint != "" {
		args = append(args, "-constraint", q.constraint)
	}
	var qc queueCounts
	var failed []string
	err := r.query(s, "condor_q", args, func(a *condorAd) error {
		if !strings.EqualFold(a.myType, "Summary") {
			return nil
		}
		if a.errorCode != 0 {
			failed = append(failed, fmt.Sprint(a.errorCode))
		}
		qc.idle = satAdd(qc.idle, a.idle)
		qc.running = satAdd(qc.running, a.running)
		qc.held = satAdd(qc.held, a.held)
		return nil
	})
	if err != nil {
		return queueCounts{}, fmt.Errorf("%s: queue %s: %w", s, q.name, err)
	}
	args = s.args("-allusers", "-json", "-attributes", "CpusProvisioned,MemoryProvisioned", "-constraint", and(runningConstraint, q.constraint))
	err = r.query(s, "condor_q", args, func(a *condorAd) error {
		qc.cores = satAdd(qc.cores, a.cpus)
		qc.mem = satAdd(qc.mem, a.memory)
		return nil
	})
	if err != nil {
		return queueCounts{}, fmt.Errorf("%s: queue %s: allocated cores and memory: %w", s, q.name, err)
	}
	qc.ok = true
	if len(failed) > 0 {
		qc.err = fmt.Errorf("%s: queue %s: condor_q -totals: summaries with ErrorCode %s: counts may be short", s, q.name, strings.Join(failed, ", "))
	}
	return qc, nil
}

// scheddNames lists the pool's schedds by name, from condor_status.
func (r *condorRun) scheddNames() ([]string, error) {
	out, err := r.output("condor_status", []string{"-schedd", "-af", "Name"})
	if err != nil {
		return nil, err
	}
	var names []string
	seen := map[string]bool{}
	for _, l := range strings.Split(string(out), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "" || seen[l]:
		case strings.ContainsAny(l, " \t") || hasControl(l) || strings.HasPrefix(l, "-"):
			return nil, fmt.Errorf("condor_status -schedd -af Name: %q is not a schedd name", l)
		default:
			seen[l] = true
			names = append(names, l)
		}
	}
	if len(names) == 0 {
		return nil, errors.New("condor_status -schedd lists no schedd: --condor-global needs the pool's collector")
	}
	return names, nil
}
