package send

import (
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// paceTransport times the requests the endpoint answered with a 2xx: the
// round trip a run's delivery is bound by when the endpoint takes every
// request but cannot take them fast enough.
type paceTransport struct {
	next  http.RoundTripper
	n     atomic.Int64
	total atomic.Int64 // nanoseconds
}

func (t *paceTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	if err == nil && resp.StatusCode/100 == 2 {
		t.n.Add(1)
		t.total.Add(int64(time.Since(start)))
	}
	return resp, err
}

// roundTrip is the mean time of a request answered 2xx, 0 before any.
func (t *paceTransport) roundTrip() time.Duration {
	n := t.n.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(t.total.Load() / n)
}

// paceRemedy is the batch --batch suggests to a run the endpoint's pace
// cannot carry.
const paceRemedy = 500

// paceAdvice says, for a run that reached its deadline with documents
// left although the endpoint took what it was sent, how fast it took
// them and what would carry them: "N documents left; at this endpoint's
// pace (X a second) a run delivers about Y; `--batch 500` sends them in
// about Z". It is "" for a run whose requests failed (then the failure is
// the reason), whose time went to a request that hung, or that delivered
// nothing.
func (s *Sender) paceAdvice(stats SendStats, elapsed time.Duration) string {
	rtt := s.pace.roundTrip()
	if stats.Delivered == 0 || stats.Pending == 0 || elapsed <= 0 || rtt <= 0 || stats.Retries*10 > stats.Requests {
		return ""
	}
	// The requests made, each a round trip, side by side, must account for
	// most of the time: if not, the time went elsewhere (a request that
	// hung), and the pace is not the reason.
	if busy := time.Duration(stats.Requests) * rtt / time.Duration(max(s.cfg.Concurrency, 1)); busy < elapsed/2 {
		return ""
	}
	rate := float64(stats.Delivered) / elapsed.Seconds()
	msg := fmt.Sprintf("%s documents left; at this endpoint's pace (%s a second) a run delivers about %s",
		groupDigits(int64(stats.Pending)), groupDigits(int64(rate+0.5)), groupDigits(int64(rate*elapsed.Seconds()+0.5)))
	// The remedy: bigger batches, or, when they are big already, more of
	// them in flight. Each request costs about the round trip measured.
	batch, inFlight := max(s.cfg.Batch, 1), s.cfg.Concurrency
	remedy := fmt.Sprintf("--batch %d", paceRemedy)
	if batch >= paceRemedy {
		inFlight = min(2*inFlight, 256)
		remedy = fmt.Sprintf("--max-in-flight %d", inFlight)
	} else {
		batch = paceRemedy
	}
	requests := (int64(stats.Pending) + int64(batch) - 1) / int64(batch)
	took := time.Duration(requests) * rtt / time.Duration(inFlight)
	return msg + fmt.Sprintf("; `%s` sends them in about %s", remedy, roundDuration(took))
}

// groupDigits writes n with thousands separated: 190,676.
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// roundDuration keeps two significant figures or so: 5.8s, 43s, 12m0s.
func roundDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d < 10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d < 10*time.Minute:
		return d.Round(time.Second).String()
	}
	return d.Round(time.Minute).String()
}
