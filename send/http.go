package send

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// One HTTP attempt and what to make of its answer.

// backoff returns a full-jitter delay for the given zero-based attempt.
func (s *Sender) backoff(attempt int) time.Duration {
	limit := s.cfg.BackoffMax
	if attempt < 62 {
		if d := s.cfg.BackoffBase << attempt; d > 0 && d>>attempt == s.cfg.BackoffBase && d < limit {
			limit = d
		}
	}
	return s.jitter(limit)
}

// result is what one HTTP attempt produced.
type result struct {
	status     int
	retryAfter time.Duration
	excerpt    string // response body excerpt, control chars replaced, secrets removed
	err        error  // transport error, already stripped of the URL
	html       bool   // a 2xx that is a web page, not the input's acknowledgement
	location   string // a redirect's Location, resolved and without credentials
}

// post performs one HTTP attempt.
func (s *Sender) post(ctx context.Context, body reqBody) result {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()

	req := s.template.WithContext(ctx)
	req.Body = body.reader()
	req.ContentLength = body.len()
	// GetBody lets the transport replay the body on a stale keep-alive
	// connection that failed before anything was written.
	req.GetBody = func() (io.ReadCloser, error) { return body.reader(), nil }

	resp, err := s.client.Do(req)
	if err != nil {
		return result{err: stripURL(err)}
	}
	defer resp.Body.Close()

	res := result{status: resp.StatusCode}
	if resp.StatusCode/100 == 2 {
		if isHTML(resp.Header.Get("Content-Type")) {
			buf, _ := io.ReadAll(io.LimitReader(resp.Body, drainLimit))
			res.html, res.excerpt = true, s.pageExcerpt(buf)
			return res
		}
		// Drain so the connection goes back to the pool.
		_, _ = io.CopyN(io.Discard, resp.Body, drainLimit)
		return res
	}
	buf, _ := io.ReadAll(io.LimitReader(resp.Body, drainLimit))
	res.excerpt = s.excerpt(buf)
	if resp.StatusCode/100 == 3 {
		res.location = s.location(resp.Header.Get("Location"))
	}
	if v := resp.Header.Get("Retry-After"); v != "" {
		res.retryAfter, _ = parseRetryAfter(v, s.now())
	}
	return res
}

// stripURL drops the *url.Error wrapper, whose message repeats the request
// URL (possibly with a user name); the logs carry a redacted URL instead.
func stripURL(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err
	}
	return err
}

// logAttrs describes res for a log line.
func (s *Sender) logAttrs(res result) []any {
	attrs := []any{"url", s.logURL}
	if res.err != nil {
		return append(attrs, "error", s.redact(res.err.Error()))
	}
	attrs = append(attrs, "status", res.status, "body", res.excerpt)
	if res.html {
		attrs = append(attrs, "content_type", "text/html")
	}
	if res.location != "" {
		attrs = append(attrs, "location", res.location)
	}
	if res.retryAfter > 0 {
		attrs = append(attrs, "retry_after", res.retryAfter)
	}
	return attrs
}

// describe is res in a few words for a summary line, with secrets removed.
func (s *Sender) describe(res result) string {
	if res.err != nil {
		return s.redact(res.err.Error())
	}
	if res.html {
		return fmt.Sprintf("HTTP %d, an HTML page: %s", res.status, res.excerpt)
	}
	if res.excerpt == "" {
		return fmt.Sprintf("HTTP %d", res.status)
	}
	return fmt.Sprintf("HTTP %d: %s", res.status, res.excerpt)
}

type action int

const (
	actDeliver action = iota
	actRetry
	actSplit // isolate the refused document(s); a single one is rejected
	actHalt  // configuration problem: stop the run, keep everything
)

func classify(res result) action {
	if res.err != nil {
		// A certificate the roots do not trust will not fix itself within
		// the run; retrying would only burn the deadline.
		var cerr *tls.CertificateVerificationError
		if errors.As(res.err, &cerr) {
			return actHalt
		}
		return actRetry
	}
	switch c := res.status; {
	case c/100 == 2 && res.html:
		// A web page, not the input's "ok": a mistyped --url reaching
		// some other server. Nothing was delivered.
		return actHalt
	case c/100 == 2:
		return actDeliver
	case c == http.StatusNotImplemented, c == http.StatusHTTPVersionNotSupported:
		// The server will not take such a request at all: no retry helps.
		return actHalt
	case c == http.StatusRequestTimeout, c == http.StatusTooManyRequests, c/100 == 5:
		return actRetry
	case c == http.StatusUnauthorized, c == http.StatusForbidden,
		c == http.StatusNotFound, c == http.StatusMethodNotAllowed:
		return actHalt
	case c/100 == 4:
		// 400, 413, 422 and the rest: something in the body is refused.
		return actSplit
	default:
		// 1xx/3xx: the URL does not point at the input.
		return actHalt
	}
}

// parseRetryAfter reads a Retry-After value: delta-seconds or an HTTP-date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseUint(v, 10, 63); err == nil {
		const maxSecs = uint64(1<<63-1) / uint64(time.Second)
		return time.Duration(min(secs, maxSecs)) * time.Second, true
	} else if numErr, ok := err.(*strconv.NumError); ok && errors.Is(numErr.Err, strconv.ErrRange) && strings.Trim(v, "0123456789") == "" {
		return time.Duration(1<<63 - 1), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
