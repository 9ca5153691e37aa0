package condor

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
// output to fn, in order, as it is read. The exit status is checked as
// well as the output: a failed query may leave a valid-looking prefix, so
// what fn was handed counts only when query returns nil. An ad that is not
// valid JSON fails the query, and the error names it.
//
// Reading and judging the ads (the scanner, the validator, the walk) and
// what fn makes of them (documents, their encoding, stdout) take about as
// long each: they run side by side, ads passed on in batches.
func (r *condorRun) query(s *schedd, tool string, args []string, fn func(*condorAd) error) error {
	var stderr extcmd.Tail
	cmd := extcmd.Cmd{Path: r.c.program(tool), Args: args, Stderr: &stderr}
	truncated := false
	err := extcmd.Stream(r.ctx, cmd, func(out io.Reader) error {
		var err error
		truncated, err = readAds(out, fn)
		return err
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

// The ads of a large answer pass three stages, each in a goroutine of
// its own, in batches: cut from the stream (the scanner), judged and read
// (gjson's validator, the walk), and made into documents (fn). They take
// about as long each, so that on two cores a pool's listing is read in
// about the time of the slowest, not of all three.
const adBatchLen = 256

// rawBatch is ads cut from the stream, back to back in buf.
type rawBatch struct {
	buf   []byte
	ends  []int   // where each ad ends in buf
	at    []int64 // where each starts in the stream, for errors
	first int     // the number of the first (from 1)
}

// adBatch is ads judged and read, on their way to fn.
type adBatch struct{ ads []condorAd }

// readAds reads the ads of out and hands each to fn, in order. It returns
// once every stage is done, so that nothing reads out or calls fn after
// it: the first error of any stage, the ads before it handed on. A stream
// that ends inside an ad or an array is reported as truncated, for the
// exit status to judge.
func readAds(out io.Reader, fn func(*condorAd) error) (truncated bool, err error) {
	raws := make(chan *rawBatch, 2)
	ads := make(chan *adBatch, 2)
	// Batches go back for reuse: a pool's worth of ads, 50 MB, is not
	// garbage to collect.
	rawFree, adFree := make(chan *rawBatch, 4), make(chan *adBatch, 4)
	stop := make(chan struct{}) // closed by a later stage that failed: stop early
	var stopOnce sync.Once
	halt := func() { stopOnce.Do(func() { close(stop) }) }

	var parseErr, fnErr error
	parsed, called := make(chan struct{}), make(chan struct{})
	go func() { // judge and read; after a bad ad, only drain
		defer close(parsed)
		defer close(ads)
		strs := map[string]string{}
		for rb := range raws {
			if parseErr != nil {
				continue // drain
			}
			var b *adBatch
			select {
			case b = <-adFree:
				b.ads = b.ads[:0]
			default:
				b = &adBatch{ads: make([]condorAd, 0, adBatchLen)}
			}
			start := 0
			for k, end := range rb.ends {
				raw := rb.buf[start:end]
				start = end
				b.ads = append(b.ads, condorAd{})
				a := &b.ads[len(b.ads)-1]
				bad := parseAd(raw, a, strs)
				if bad == nil && a.badID != "" {
					bad = fmt.Errorf("has a %s that is not a job id", a.badID)
				}
				if bad != nil {
					b.ads = b.ads[:len(b.ads)-1]
					parseErr = badAd(rb.first+k, rb.at[k], raw, bad)
					halt()
					break
				}
			}
			select {
			case rawFree <- rb:
			default:
			}
			ads <- b // the next stage drains, whatever happens: no select needed
		}
	}()
	go func() { // make documents; after a failure, only drain
		defer close(called)
		for b := range ads {
			for i := range b.ads {
				if fnErr != nil {
					break
				}
				if fnErr = fn(&b.ads[i]); fnErr != nil {
					halt()
				}
			}
			select {
			case adFree <- b:
			default:
			}
		}
	}()

	// Cut the stream into ads, here.
	sc := newAdScanner(out)
	rb := &rawBatch{first: 1}
	err = func() error {
		for {
			raw, err := sc.next()
			switch {
			case err == io.EOF:
				return nil
			case errors.Is(err, errTruncated):
				truncated = true
				return nil
			case err != nil:
				return err
			}
			rb.buf = append(rb.buf, raw...)
			rb.ends = append(rb.ends, len(rb.buf))
			rb.at = append(rb.at, sc.at)
			if len(rb.ends) < adBatchLen && len(rb.buf) < 256<<10 {
				continue
			}
			raws <- rb
			select {
			case rb = <-rawFree:
				rb.buf, rb.ends, rb.at = rb.buf[:0], rb.ends[:0], rb.at[:0]
			default:
				rb = &rawBatch{}
			}
			rb.first = sc.n + 1
			select {
			case <-stop: // a later stage failed: read no further
				return nil
			default:
			}
		}
	}()
	if len(rb.ends) > 0 {
		raws <- rb
	}
	close(raws)
	<-parsed
	<-called
	switch {
	case parseErr != nil:
		return truncated, parseErr
	case fnErr != nil:
		return truncated, fnErr
	}
	return truncated, err
}

// badAd names an ad afmc refused: its number in the output, where it
// starts, and its first bytes.
func badAd(n int, at int64, ad []byte, why error) error {
	ex := ad
	if len(ex) > 80 {
		ex = ex[:80]
	}
	return fmt.Errorf("ad %d (at byte %d) %w: %s", n, at, why, extcmd.Printable(strings.Join(strings.Fields(string(ex)), " ")))
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
