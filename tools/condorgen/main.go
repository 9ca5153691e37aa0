// Command condorgen writes a realistic `condor_q -json` listing of N jobs
// (about 30 attributes each, in condor's layout, mixed states), for
// benchmarking afmc's condor collector without a pool:
//
//	go run ./tools/condorgen -n 200000 -o /tmp/jobs.json
//	go run ./tools/condorgen -n 200000 -attributes Owner,ClusterId,ProcId -o /tmp/projected.json
//	go run ./tools/condorgen -n 200000 -history -now $(date +%s) -o /tmp/history.json
//	go run ./tools/condorgen -n 200000 -format -o /tmp/jobs.txt   # the original's condor_q -format text
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/atlas-af/afmc/tools/condorgen/gen"
)

func main() {
	n := flag.Int("n", 200000, "jobs")
	var o gen.Options
	flag.Uint64Var(&o.Seed, "seed", 1, "random seed: the same seed writes the same jobs")
	attrs := flag.String("attributes", "", "project the ads onto these attributes (comma-separated), as condor_q -attributes does")
	flag.StringVar(&o.Schedd, "schedd", "", "schedd named in GlobalJobId (default login01.af.example.org)")
	flag.Int64Var(&o.FirstCluster, "first-cluster", 0, "first ClusterId (default 1000000)")
	flag.BoolVar(&o.History, "history", false, "condor_history records of finished jobs, newest first")
	flag.IntVar(&o.Spacing, "spacing", 0, "history: jobs finished in each second (default 100)")
	flag.Int64Var(&o.Now, "now", 0, "ServerTime, and the newest JobFinishedHookDone of a history (Unix seconds; default 1700000000)")
	format := flag.Bool("format", false, "the text the original collector asked for with condor_q -format (condor_history -format with -history)")
	out := flag.String("o", "", "output file (default: stdout)")
	flag.Parse()
	if *attrs != "" {
		o.Attributes = strings.Split(*attrs, ",")
	}
	if *format {
		o.Layout = gen.Format
	}
	if err := write(*out, *n, o); err != nil {
		fmt.Fprintln(os.Stderr, "condorgen:", err)
		os.Exit(1)
	}
}

func write(path string, n int, o gen.Options) error {
	if path == "" {
		return gen.WriteOpts(os.Stdout, n, o)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := gen.WriteOpts(f, n, o); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
