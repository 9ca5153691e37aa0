package prom

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/atlas-af/afmc/document"
)

// LastSuccess is the metric a site alerts on when it goes stale; a run
// that fails reads it back from the previous textfile and keeps it.
const LastSuccess = "afmc_last_success_timestamp_seconds"

// Collector is how one collector fared in a run.
type Collector struct {
	Name     string
	Skipped  bool // not run: its source is not on this host (--all)
	OK       bool // ran and produced its documents
	Duration time.Duration
}

// Run is what the textfile says of afmc's own run.
type Run struct {
	Version     string
	Collectors  []Collector
	Documents   map[string]int // collected this run, by kind
	Backlog     int            // documents waiting in the spool after the run; < 0: unknown
	Dropped     int            // documents dropped from the spool for its bounds this run
	Finished    time.Time
	Duration    time.Duration
	LastSuccess time.Time // zero: no success known
}

// Figures are the Analysis Facility figures of a run's documents, as they
// passed the users step: counts only, never a user name (privacy, and a
// label per user would be a series per user).
type Figures struct {
	sshUsers   int
	ssh        bool
	hubs       map[string]int   // jupyter kind -> users
	jobs       map[string]int   // state -> jobs in the queue
	queues     map[string]queue // --condor-queue name -> its summary
	condorSeen bool             // a condorqueue document came: condor_q answered
}

type queue struct{ idle, running, held, cores, memMiB float64 }

// Observe takes one document's figures in.
func (f *Figures) Observe(d document.Document) {
	kind := d.Kind()
	switch {
	case kind == "ssh":
		if n, ok := number(d, "ssh_user_count"); ok {
			f.ssh, f.sshUsers = true, int(n)
		}
	case kind == "condorjob":
		// Finished jobs (Delta: they left the queue since the previous
		// run) are events, not the queue's state.
		if s, ok := str(d, "state"); ok && !d.Delta {
			if f.jobs == nil {
				f.jobs = map[string]int{}
			}
			f.jobs[s]++
		}
	case kind == "condorqueue":
		name, ok := str(d, "queue")
		if !ok {
			return
		}
		f.condorSeen = true
		if f.queues == nil {
			f.queues = map[string]queue{}
		}
		q := f.queues[name] // the same name twice is summed, never two series
		for _, v := range []struct {
			key string
			to  *float64
		}{{"idle", &q.idle}, {"running", &q.running}, {"held", &q.held}, {"allocated_cores", &q.cores}, {"allocated_mem", &q.memMiB}} {
			if n, ok := number(d, v.key); ok {
				*v.to += n
			}
		}
		f.queues[name] = q
	default:
		if n, ok := number(d, "jupyter_user_count"); ok {
			if f.hubs == nil {
				f.hubs = map[string]int{}
			}
			f.hubs[kind] = int(n)
		}
	}
}

func number(d document.Document, key string) (float64, bool) {
	v, ok := d.Fields.Get(key)
	if !ok {
		return 0, false
	}
	switch n := document.Plain(v).(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint64:
		return float64(n), true
	case float64:
		return n, true
	case document.Float:
		return float64(n), true
	}
	return 0, false
}

func str(d document.Document, key string) (string, bool) {
	v, ok := d.Fields.Get(key)
	s, isStr := v.(string)
	return s, ok && isStr
}

// queueStates are the states a condorqueue document counts; with condor
// answering, afmc_condor_jobs has them all, 0 when no job is in one, so
// that a graph shows 0 rather than nothing.
var queueStates = []string{"idle", "running", "held"}

// Families are afmc's metric families: the figures of the documents, then
// afmc's own health. Names, units and types follow Prometheus's naming
// guide: base units (_seconds, _bytes), gauges for values of this run.
func Families(r Run, f *Figures) []Family {
	if f == nil {
		f = &Figures{}
	}
	fams := []Family{
		{Name: "afmc_ssh_users", Help: "Users logged in to this login node (the ssh document's ssh_user_count).", Type: Gauge},
		{Name: "afmc_jupyter_users", Help: "Users with a Pending or Running pod in a JupyterHub, by hub (the document kind).", Type: Gauge},
		{Name: "afmc_condor_jobs", Help: "HTCondor jobs in the queue by state, as sent in condorjob documents (--condor-exclude-owner and --group apply).", Type: Gauge},
		{Name: "afmc_condor_queue_jobs", Help: "HTCondor jobs by --condor-queue and state, from condor_q -totals (every owner).", Type: Gauge},
		{Name: "afmc_condor_allocated_cores", Help: "Cores provisioned to the running jobs of a --condor-queue.", Type: Gauge},
		{Name: "afmc_condor_allocated_memory_bytes", Help: "Memory provisioned to the running jobs of a --condor-queue.", Type: Gauge},
		{Name: "afmc_collector_up", Help: "1 when the collector produced its documents this run, 0 when it failed (a collector skipped for its missing source has none).", Type: Gauge},
		{Name: "afmc_collector_skipped", Help: "1 for a collector --all skipped this run: its source is not on this host.", Type: Gauge},
		{Name: "afmc_collector_duration_seconds", Help: "How long the collector took this run.", Type: Gauge},
		{Name: "afmc_documents", Help: "Documents collected this run, by kind.", Type: Gauge},
		{Name: "afmc_spool_documents", Help: "Documents waiting in the spool for the next run, after this run's delivery.", Type: Gauge},
		{Name: "afmc_spool_dropped_documents", Help: "Documents dropped from the spool this run for --spool-max-bytes or --spool-max-age: lost for good.", Type: Gauge},
		{Name: "afmc_run_duration_seconds", Help: "How long the last run took, delivery included.", Type: Gauge},
		{Name: "afmc_last_run_timestamp_seconds", Help: "When the last run finished, in seconds since the epoch.", Type: Gauge},
		{Name: LastSuccess, Help: "When the last run whose documents were all delivered (or printed) finished, in seconds since the epoch; 0: none known.", Type: Gauge},
		{Name: "afmc_build_info", Help: "afmc's version, as a label; the value is 1.", Type: Gauge},
	}
	at := func(name string) *Family {
		for i := range fams {
			if fams[i].Name == name {
				return &fams[i]
			}
		}
		panic("prom: no family " + name)
	}

	if f.ssh {
		at("afmc_ssh_users").Add(float64(f.sshUsers))
	}
	for _, hub := range sortedKeys(f.hubs) {
		at("afmc_jupyter_users").Add(float64(f.hubs[hub]), "hub", hub)
	}
	jobs := maps.Clone(f.jobs)
	if f.condorSeen {
		if jobs == nil {
			jobs = map[string]int{}
		}
		for _, s := range queueStates {
			jobs[s] += 0
		}
	}
	for _, s := range sortedKeys(jobs) {
		at("afmc_condor_jobs").Add(float64(jobs[s]), "state", s)
	}
	for _, name := range sortedKeys(f.queues) {
		q := f.queues[name]
		qj := at("afmc_condor_queue_jobs")
		qj.Add(q.idle, "queue", name, "state", "idle")
		qj.Add(q.running, "queue", name, "state", "running")
		qj.Add(q.held, "queue", name, "state", "held")
		at("afmc_condor_allocated_cores").Add(q.cores, "queue", name)
		at("afmc_condor_allocated_memory_bytes").Add(q.memMiB*(1<<20), "queue", name)
	}

	for _, c := range r.Collectors {
		if c.Skipped {
			at("afmc_collector_skipped").Add(1, "collector", c.Name)
			continue
		}
		up := 0.0
		if c.OK {
			up = 1
		}
		at("afmc_collector_up").Add(up, "collector", c.Name)
		at("afmc_collector_duration_seconds").Add(c.Duration.Seconds(), "collector", c.Name)
	}
	for _, k := range sortedKeys(r.Documents) {
		at("afmc_documents").Add(float64(r.Documents[k]), "kind", k)
	}
	if r.Backlog >= 0 {
		at("afmc_spool_documents").Add(float64(r.Backlog))
	}
	at("afmc_spool_dropped_documents").Add(float64(r.Dropped))
	at("afmc_run_duration_seconds").Add(r.Duration.Seconds())
	at("afmc_last_run_timestamp_seconds").Add(Seconds(r.Finished))
	last := 0.0
	if !r.LastSuccess.IsZero() {
		last = Seconds(r.LastSuccess)
	}
	at(LastSuccess).Add(last)
	at("afmc_build_info").Add(1, "version", r.Version)
	return fams
}

// Seconds is t in seconds since the epoch, to the millisecond.
func Seconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1e3 }

func sortedKeys[V any](m map[string]V) []string {
	return slices.SortedFunc(maps.Keys(m), strings.Compare)
}
