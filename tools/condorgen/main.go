// Command condorgen writes a realistic `condor_q -json` listing of N jobs
// (about 30 attributes each, in condor's layout, mixed states), for
// benchmarking afmc's condor collector without a pool:
//
//	go run ./tools/condorgen -n 200000 -o /tmp/jobs.json
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/atlas-af/afmc/tools/condorgen/gen"
)

func main() {
	n := flag.Int("n", 200000, "jobs")
	seed := flag.Uint64("seed", 1, "random seed: the same seed writes the same jobs")
	out := flag.String("o", "", "output file (default: stdout)")
	flag.Parse()
	if err := write(*out, *n, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "condorgen:", err)
		os.Exit(1)
	}
}

func write(path string, n int, seed uint64) error {
	if path == "" {
		return gen.Write(os.Stdout, n, seed)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := gen.Write(f, n, seed); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
