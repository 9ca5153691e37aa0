// Package gen writes a realistic `condor_q -json` listing of N jobs, for
// afmc's benchmarks: about 30 attributes a job, in condor's layout (a "["
// line, pretty-printed ads with keys sorted case-insensitively, "," lines
// between them, a "]" line), reals with ".0", unevaluated expressions as
// "\/Expr(...)\/" strings, and a mix of states like a busy pool's. It can
// also project the ads as -attributes does, write condor_history's records
// of finished jobs, and write the text the original Python collector asked
// condor_q for with -format, the reference of afmc's benchmark.
package gen

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
)

// ServerTime is the ServerTime of every generated ad, unless Options.Now
// says otherwise.
const ServerTime = 1700000000

// Layout is what the output looks like.
type Layout int

const (
	JSON   Layout = iota // condor_q -json / condor_history -json
	Format               // the original's condor_q -format (or condor_history -format) text
)

// Options choose what is written.
type Options struct {
	Seed uint64
	// Attributes projects every ad onto these keys, as -attributes does;
	// nil keeps every attribute.
	Attributes []string
	// Schedd is the schedd named in GlobalJobId (default
	// login01.af.example.org); FirstCluster the first ClusterId (default
	// 1000000): schedds of one pool get different ones.
	Schedd       string
	FirstCluster int64
	Layout       Layout
	// History writes condor_history's records instead of a queue: every
	// job finished, newest first, JobFinishedHookDone going back from Now
	// a second for every Spacing jobs (default 100), no ServerTime.
	History bool
	Spacing int
	// Now is the ServerTime (default ServerTime).
	Now int64
}

var owners = func() []string {
	var o []string
	for i := range 400 {
		o = append(o, fmt.Sprintf("user%03d", i))
	}
	return o
}()

type kv struct {
	k string
	v string // JSON text
}

// Write writes n jobs, the same ones for the same seed, in full.
func Write(w io.Writer, n int, seed uint64) error {
	return WriteOpts(w, n, Options{Seed: seed})
}

// WriteOpts writes n jobs as o says.
func WriteOpts(w io.Writer, n int, o Options) error {
	if o.Schedd == "" {
		o.Schedd = "login01.af.example.org"
	}
	if o.FirstCluster == 0 {
		o.FirstCluster = 1000000
	}
	if o.Now == 0 {
		o.Now = ServerTime
	}
	if o.Spacing <= 0 {
		o.Spacing = 100
	}
	keep := map[string]bool{}
	for _, a := range o.Attributes {
		keep[strings.ToLower(a)] = true
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	rng := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	if o.Layout == JSON && (n > 0 || o.History) {
		bw.WriteString("[\n") // condor_history prints its brackets even for nothing
	}
	var ad []kv
	first := true
	for i := range n {
		ad = job(ad[:0], rng, i, o)
		if o.Layout == Format {
			writeFormat(bw, ad, o.History)
			continue
		}
		if len(keep) > 0 {
			ad = project(ad, keep)
		}
		sort.Slice(ad, func(a, b int) bool { return strings.ToLower(ad[a].k) < strings.ToLower(ad[b].k) })
		if !first {
			bw.WriteString(",\n")
		}
		first = false
		bw.WriteString("{\n")
		for j, f := range ad {
			bw.WriteString(`  "`)
			bw.WriteString(f.k)
			bw.WriteString(`": `)
			bw.WriteString(f.v)
			if j < len(ad)-1 {
				bw.WriteByte(',')
			}
			bw.WriteByte('\n')
		}
		bw.WriteString("}\n")
	}
	if o.Layout == JSON && (n > 0 || o.History) {
		bw.WriteString("]\n")
	}
	return bw.Flush()
}

func project(ad []kv, keep map[string]bool) []kv {
	out := ad[:0]
	for _, f := range ad {
		if keep[strings.ToLower(f.k)] {
			out = append(out, f)
		}
	}
	return out
}

// writeFormat writes a job as the original asked condor_q for it:
//
//	-format "%s " Owner -format "%d." ClusterId -format "%d " ProcId
//	-format "%d " RemoteWallClockTime -format "%s \n" JobStatus
//
// (condor_history's the same without JobStatus and with "%d \n" last).
func writeFormat(w *bufio.Writer, ad []kv, history bool) {
	get := func(k string) string {
		for _, f := range ad {
			if f.k == k {
				return f.v
			}
		}
		return ""
	}
	owner, _ := strconv.Unquote(get("Owner"))
	wall, _ := strconv.ParseFloat(get("RemoteWallClockTime"), 64)
	w.WriteString(owner)
	w.WriteByte(' ')
	w.WriteString(get("ClusterId"))
	w.WriteByte('.')
	w.WriteString(get("ProcId"))
	w.WriteByte(' ')
	w.WriteString(strconv.FormatInt(int64(wall), 10))
	if history {
		w.WriteString(" \n")
		return
	}
	w.WriteByte(' ')
	w.WriteString(get("JobStatus"))
	w.WriteString(" \n")
}

func str(s string) string { return strconv.Quote(s) }

// expr is an unevaluated expression as -json prints it (its "/" escaped).
func expr(e string) string  { return `"\/Expr(` + e + `)\/"` }
func num(n int64) string    { return strconv.FormatInt(n, 10) }
func real(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

func job(ad []kv, rng *rand.Rand, i int, o Options) []kv {
	now := o.Now
	cluster := o.FirstCluster + int64(i/10)
	proc := int64(i % 10)
	owner := owners[rng.IntN(len(owners))]
	qdate := now - 3600 - int64(rng.IntN(7*86400))
	cpus := []int64{1, 1, 1, 2, 4, 8}[rng.IntN(6)]
	mem := cpus * 2048
	status := int64(1)
	switch p := rng.IntN(100); {
	case p < 60:
		status = 2
	case p < 90:
		status = 1
	case p < 98:
		status = 5
	default:
		status = []int64{3, 4, 6, 7}[rng.IntN(4)]
	}
	universe := int64(5)
	if rng.IntN(100) == 0 {
		universe = 7 // a DAGMan job: the scheduler universe
	}
	if o.History {
		status = 4
	}
	starts := int64(0)
	wall := 0.0
	if status != 1 || rng.IntN(5) == 0 {
		starts = int64(1 + rng.IntN(3))
		wall = float64(rng.IntN(20000))
	}
	ad = append(ad,
		kv{"AccountingGroup", str("group_atlas." + owner)},
		kv{"Args", str(fmt.Sprintf("--events 10000 --skip %d --output out_%d.root", i*10000, i))},
		kv{"ClusterId", num(cluster)},
		kv{"Cmd", str("/home/" + owner + "/analysis/run.sh")},
		kv{"DiskUsage", num(int64(rng.IntN(5000000)))},
		kv{"EnteredCurrentStatus", num(qdate + int64(rng.IntN(3000)))},
		kv{"GlobalJobId", str(fmt.Sprintf("%s#%d.%d#%d", o.Schedd, cluster, proc, qdate))},
		kv{"ImageSize", num(int64(rng.IntN(4000000)))},
		kv{"Iwd", str("/home/" + owner + "/analysis")},
		kv{"JobPrio", num(0)},
		kv{"JobStatus", num(status)},
		kv{"JobUniverse", num(universe)},
		kv{"MemoryUsage", expr("( ( ResidentSetSize + 1023 ) / 1024 )")},
		kv{"NumJobStarts", num(starts)},
		kv{"Owner", str(owner)},
		kv{"ProcId", num(proc)},
		kv{"QDate", num(qdate)},
		kv{"RemoteUserCpu", real(wall * 0.8)},
		kv{"RemoteWallClockTime", real(wall)},
		kv{"RequestCpus", num(cpus)},
		kv{"RequestDisk", expr("DiskUsage")},
		kv{"RequestMemory", expr("ifthenelse(MemoryUsage =!= undefined,MAX({ 2048,quantize(MemoryUsage,{ 128 }) }),2048)")},
		kv{"TransferInput", str("input_" + strconv.Itoa(i%100) + ".txt,/cvmfs/atlas.cern.ch/repo/sw/setup.sh")},
		kv{"User", str(owner + "@af.example.org")},
		kv{"WantDocker", "false"},
	)
	if !o.History {
		ad = append(ad, kv{"ServerTime", num(now)})
	}
	if starts > 0 {
		ad = append(ad,
			kv{"CpusProvisioned", num(cpus)},
			kv{"MemoryProvisioned", num(mem)},
			kv{"LastRemoteHost", str(fmt.Sprintf("slot1_%d@wn%03d.af.example.org", rng.IntN(64), rng.IntN(300)))},
		)
	}
	switch status {
	case 2, 6, 7:
		start := now - int64(rng.IntN(40000))
		ad = append(ad,
			kv{"JobCurrentStartDate", num(start - 5)},
			kv{"RemoteHost", str(fmt.Sprintf("slot1_%d@wn%03d.af.example.org", rng.IntN(64), rng.IntN(300)))},
			kv{"ShadowBday", num(start)},
		)
	case 4:
		done := now - int64(i/o.Spacing)
		ad = append(ad, kv{"CompletionDate", num(done - 1)})
		if o.History { // stamped as the job leaves the queue
			ad = append(ad, kv{"JobFinishedHookDone", num(done)})
		}
	case 5:
		ad = append(ad,
			kv{"HoldReason", str("Error from slot1_3@wn042.af.example.org: Job has gone over memory limit of 2048 megabytes.")},
			kv{"HoldReasonCode", num(34)},
		)
	}
	return ad
}
