package collect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"

	"github.com/atlas-af/afmc/internal/extcmd"
)

// query runs a condor tool for schedd s and hands each ad of its -json
// output to fn, as it is read. The exit status is checked as well as the
// output: a failed query may leave a valid-looking prefix, so what fn was
// handed counts only when query returns nil. An ad that is not valid JSON
// fails the query, and the error names it.
func (r *condorRun) query(s *schedd, tool string, args []string, fn func(*condorAd) error) error {
	var stderr extcmd.Tail
	cmd := extcmd.Cmd{Path: r.c.program(tool), Args: args, Stderr: &stderr}
	var ad condorAd
	strs := map[string]string{}
	truncated := false
	err := extcmd.Stream(r.ctx, cmd, func(out io.Reader) error {
		sc := newAdScanner(out)
		for {
			raw, err := sc.next()
			switch {
			case err == io.EOF:
				return nil
			case errors.Is(err, errTruncated):
				truncated = true // judged with the exit status, below
				return nil
			case err != nil:
				return err
			}
			if err := parseAd(raw, &ad, strs); err != nil {
				return sc.badAd(raw, err)
			}
			if ad.badID != "" {
				return sc.badAd(raw, fmt.Errorf("has a %s that is not a job id", ad.badID))
			}
			if err := fn(&ad); err != nil {
				return err
			}
		}
	})
	switch {
	case r.emitError() != nil:
		return r.emitError()
	case err != nil:
		return r.explain(tool, err)
	case truncated:
		return fmt.Errorf("%s: %w (exit status 0)", tool, errTruncated)
	}
	// A schedd that does not answer may be only a line on stderr (with
	// -global, exit status 0): its absence is an error.
	if m := failedFetch().FindStringSubmatch(stderr.String()); m != nil {
		return fmt.Errorf("%s: schedd %s (%s) did not answer: %s", tool, extcmd.Printable(m[2]), extcmd.Printable(m[1]), stderr.String())
	}
	return nil
}

// output runs a condor tool and returns its stdout, at most 1 MiB.
func (r *condorRun) output(tool string, args []string) ([]byte, error) {
	out, err := extcmd.Output(r.ctx, extcmd.Cmd{Path: r.c.program(tool), Args: args, MaxStdout: 1 << 20})
	if err != nil {
		return nil, r.explain(tool, err)
	}
	return out, nil
}

// failedFetch is condor's line for a schedd that did not answer; compiled
// when first needed.
var failedFetch = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`Failed to fetch ads from: (\S+) : (\S+)`)
})

// explain adds what a site administrator should look at to a failed
// condor call.
func (r *condorRun) explain(tool string, err error) error {
	if r.ctx.Err() != nil {
		return fmt.Errorf("%s killed: %w", tool, context.Cause(r.ctx))
	}
	var e *extcmd.Error
	if !errors.As(err, &e) {
		return fmt.Errorf("%s: %w", tool, err)
	}
	if strings.Contains(e.Stderr, "Couldn't contact the condor_collector") {
		return fmt.Errorf("%s: the HTCondor collector cannot be reached (is the pool up, is COLLECTOR_HOST right?): %w", tool, err)
	}
	if m := failedFetch().FindStringSubmatch(e.Stderr); m != nil {
		return fmt.Errorf("%s: schedd %s (%s) did not answer: %w", tool, extcmd.Printable(m[2]), extcmd.Printable(m[1]), err)
	}
	return err // it names the program, its arguments and its stderr
}
