// Package gen writes a realistic `condor_q -json` listing of N jobs, for
// afmc's benchmarks: about 30 attributes a job, in condor's layout (a "["
// line, pretty-printed ads with keys sorted case-insensitively, "," lines
// between them, a "]" line), reals with ".0", unevaluated expressions as
// "\/Expr(...)\/" strings, and a mix of states like a busy pool's.
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

// ServerTime is the ServerTime of every generated ad.
const ServerTime = 1700000000

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

// Write writes n jobs, the same ones for the same seed.
func Write(w io.Writer, n int, seed uint64) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	if n > 0 {
		bw.WriteString("[\n")
	}
	var ad []kv
	for i := range n {
		if i > 0 {
			bw.WriteString(",\n")
		}
		ad = job(ad[:0], rng, i)
		sort.Slice(ad, func(a, b int) bool { return strings.ToLower(ad[a].k) < strings.ToLower(ad[b].k) })
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
	if n > 0 {
		bw.WriteString("]\n")
	}
	return bw.Flush()
}

func str(s string) string { return strconv.Quote(s) }

// expr is an unevaluated expression as -json prints it (its "/" escaped).
func expr(e string) string  { return `"\/Expr(` + e + `)\/"` }
func num(n int64) string    { return strconv.FormatInt(n, 10) }
func real(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

func job(ad []kv, rng *rand.Rand, i int) []kv {
	cluster := int64(1000000 + i/10)
	proc := int64(i % 10)
	owner := owners[rng.IntN(len(owners))]
	qdate := int64(ServerTime - 3600 - rng.IntN(7*86400))
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
		kv{"GlobalJobId", str(fmt.Sprintf("login01.af.example.org#%d.%d#%d", cluster, proc, qdate))},
		kv{"ImageSize", num(int64(rng.IntN(4000000)))},
		kv{"Iwd", str("/home/" + owner + "/analysis")},
		kv{"JobPrio", num(0)},
		kv{"JobStatus", num(status)},
		kv{"JobUniverse", num(5)},
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
		kv{"ServerTime", num(ServerTime)},
		kv{"TransferInput", str("input_" + strconv.Itoa(i%100) + ".txt,/cvmfs/atlas.cern.ch/repo/sw/setup.sh")},
		kv{"User", str(owner + "@af.example.org")},
		kv{"WantDocker", "false"},
	)
	if starts > 0 {
		ad = append(ad,
			kv{"CpusProvisioned", num(cpus)},
			kv{"MemoryProvisioned", num(mem)},
			kv{"LastRemoteHost", str(fmt.Sprintf("slot1_%d@wn%03d.af.example.org", rng.IntN(64), rng.IntN(300)))},
		)
	}
	switch status {
	case 2, 6, 7:
		start := int64(ServerTime - rng.IntN(40000))
		ad = append(ad,
			kv{"JobCurrentStartDate", num(start - 5)},
			kv{"RemoteHost", str(fmt.Sprintf("slot1_%d@wn%03d.af.example.org", rng.IntN(64), rng.IntN(300)))},
			kv{"ShadowBday", num(start)},
		)
	case 5:
		ad = append(ad,
			kv{"HoldReason", str("Error from slot1_3@wn042.af.example.org: Job has gone over memory limit of 2048 megabytes.")},
			kv{"HoldReasonCode", num(34)},
		)
	}
	return ad
}
