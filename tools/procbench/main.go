// Command procbench measures a whole afmc process: the median wall time
// over repeated runs, and the peak RSS as GNU time reports it. With -vs it
// runs reference programs beside it, alternating run by run, and reports
// the ratios of the medians: machines differ and are noisy, a ratio
// measured in one run is what a target can be stated in. The first -vs is
// the baseline (a Go hello-world); every further one (an earlier afmc) is
// reported against it too, so two builds' ratios to the baseline come from
// the same runs. RSS must come from a small parent: a child of a large
// process (a Go test binary) can report its parent's high-water mark as its
// own.
//
//	go run ./tools/procbench -n 50 -max-rss-mib 10 -vs bin/hello -vs 'old/afmc collect host --json' -- bin/afmc collect host --json
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"
)

func main() {
	n := flag.Int("n", 50, "runs")
	maxMS := flag.Float64("max-ms", 0, "fail when the median wall time exceeds this (0: report only)")
	maxRSS := flag.Float64("max-rss-mib", 0, "fail when the median peak RSS exceeds this (0: report only)")
	var refs [][]string
	flag.Func("vs", "a reference command (split at spaces) run beside, alternating; repeatable, the first is the baseline of the ratios", func(s string) error {
		if f := strings.Fields(s); len(f) > 0 {
			refs = append(refs, f)
		}
		return nil
	})
	maxRatio := flag.Float64("max-ratio", 0, "with -vs: fail when the ratio of the median wall times to the first reference exceeds this (0: report only)")
	flag.Parse()
	args := flag.Args()
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: procbench [-n N] [-vs 'REF ARGS']... -- COMMAND [ARGS...]")
		os.Exit(2)
	}
	// A few runs first: the page cache and the state files settle.
	for range 3 {
		_, _ = run(args)
		for _, ref := range refs {
			_, _ = run(ref)
		}
	}
	walls, cpus := make([]float64, 0, *n), make([]float64, 0, *n)
	refWalls, refCPUs := make([][]float64, len(refs)), make([][]float64, len(refs))
	for range *n {
		w, c := run(args)
		walls, cpus = append(walls, w), append(cpus, c)
		for i, ref := range refs {
			w, c := run(ref)
			refWalls[i], refCPUs[i] = append(refWalls[i], w), append(refCPUs[i], c)
		}
	}
	rss := make([]float64, 0, *n)
	for range *n {
		rss = append(rss, peakRSS(args))
	}
	wall, mem := median(walls), median(rss)
	fmt.Printf("%s: %d runs, median wall %.2f ms (min %.2f, max %.2f), CPU %.2f ms, median peak RSS %.2f MiB (max %.2f)\n",
		strings.Join(args, " "), *n, wall, minOf(walls), maxOf(walls), median(cpus), mem, maxOf(rss))
	failed := false
	if len(refs) > 0 {
		base := median(refWalls[0])
		fmt.Printf("%s: median wall %.2f ms (min %.2f, max %.2f), CPU %.2f ms, median peak RSS %.2f MiB; ratio %.2f\n",
			strings.Join(refs[0], " "), base, minOf(refWalls[0]), maxOf(refWalls[0]), median(refCPUs[0]), peakRSS(refs[0]), wall/base)
		for i, ref := range refs[1:] {
			rw := median(refWalls[i+1])
			fmt.Printf("%s: median wall %.2f ms (min %.2f, max %.2f), CPU %.2f ms, median peak RSS %.2f MiB; its ratio to the first reference %.2f, against %.2f above (%+.1f%%)\n",
				strings.Join(ref, " "), rw, minOf(refWalls[i+1]), maxOf(refWalls[i+1]), median(refCPUs[i+1]), peakRSS(ref), rw/base, wall/base, 100*(wall/rw-1))
		}
		if *maxRatio > 0 && wall/base > *maxRatio {
			fmt.Printf("FAIL: the ratio of the median wall times %.2f is over the %.2f target\n", wall/base, *maxRatio)
			failed = true
		}
	}
	if *maxMS > 0 && wall > *maxMS {
		fmt.Printf("FAIL: median wall %.2f ms is over the %.2f ms target\n", wall, *maxMS)
		failed = true
	}
	if *maxRSS > 0 && mem > *maxRSS {
		fmt.Printf("FAIL: median peak RSS %.2f MiB is over the %.2f MiB target\n", mem, *maxRSS)
		failed = true
	}
	if failed {
		os.Exit(1)
	}
}

// run runs a command once and returns its wall time and its CPU time (user
// and system) in milliseconds.
func run(args []string) (wall, cpu float64) {
	cmd := exec.Command(args[0], args[1:]...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	start := time.Now()
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "procbench: %s: %v\n%s", strings.Join(args, " "), err, errb.String())
		os.Exit(1)
	}
	wall = float64(time.Since(start).Microseconds()) / 1000
	cpu = float64((cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Microseconds()) / 1000
	return wall, cpu
}

// peakRSS runs a command under GNU time and returns its peak RSS in MiB.
func peakRSS(args []string) float64 {
	var errb bytes.Buffer
	cmd := exec.Command("/usr/bin/time", append([]string{"-f", "%M"}, args...)...)
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "procbench: /usr/bin/time: %v: %s\n", err, errb.String())
		os.Exit(1)
	}
	lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
	kib, err := strconv.ParseFloat(lines[len(lines)-1], 64)
	if err != nil {
		fmt.Fprintf(os.Stderr, "procbench: reading /usr/bin/time's output %q: %v\n", errb.String(), err)
		os.Exit(1)
	}
	return kib / 1024
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func minOf(xs []float64) float64 {
	m := xs[0]
	for _, x := range xs {
		m = min(m, x)
	}
	return m
}

func maxOf(xs []float64) float64 {
	m := xs[0]
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}
