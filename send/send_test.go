package send

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atlas-af/afmc/internal/logstashfake"
)

const testToken = `s3cr3t"tok<&>\en`

var baseTime = time.Date(2024, 5, 17, 12, 30, 0, 0, time.UTC)

// makeItems returns n documents whose fields are deliberately not in sorted
// order, so a re-encoding sender would be caught.
func makeItems(n int) []Item {
	items := make([]Item, n)
	for i := range items {
		items[i] = Item{
			ID:          uint64(1000 + i),
			Doc:         fmt.Appendf(nil, `{"seq":%d,"name":"node-%d","z":1,"a":{"y":2,"b":[1,2]}}`, i, i),
			CollectedAt: baseTime.Add(time.Duration(i)*time.Millisecond + 987654*time.Nanosecond),
		}
	}
	return items
}

// wantDoc is what the sink must receive for makeItems(...)[i].
func wantDoc(token string, i int) string {
	tok, _ := json.Marshal(token)
	ms := baseTime.Add(time.Duration(i) * time.Millisecond).UnixMilli()
	return fmt.Sprintf(`{"seq":%d,"name":"node-%d","z":1,"a":{"y":2,"b":[1,2]},"token":%s,"timestamp":%d}`, i, i, tok, ms)
}

func testConfig(u string) SenderConfig {
	return SenderConfig{
		URL:            u,
		Token:          testToken,
		Concurrency:    4,
		RequestTimeout: 5 * time.Second,
		BackoffBase:    time.Millisecond,
		BackoffMax:     5 * time.Millisecond,
	}
}

func newSender(t *testing.T, cfg SenderConfig) *Sender {
	t.Helper()
	s, err := NewSender(cfg)
	if err != nil {
		t.Fatalf("NewSender: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// logBuffer captures slog text output.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// ackRecorder checks that ack is called once per item and never concurrently.
// It deliberately uses a plain map: concurrent calls would trip -race.
type ackRecorder struct {
	t   *testing.T
	in  atomic.Bool
	got map[uint64]Outcome
}

func newAckRecorder(t *testing.T) *ackRecorder {
	return &ackRecorder{t: t, got: make(map[uint64]Outcome)}
}

func (a *ackRecorder) ack(ids []uint64, o Outcome) {
	if !a.in.CompareAndSwap(false, true) {
		a.t.Error("ack called concurrently")
	}
	defer a.in.Store(false)
	if len(ids) == 0 {
		a.t.Error("ack called with no ids")
	}
	for _, id := range ids {
		if prev, ok := a.got[id]; ok {
			a.t.Errorf("ack called twice for id %d: %v then %v", id, prev, o)
		}
		a.got[id] = o
	}
}

// check asserts every item got exactly the outcome want returns for it.
func (a *ackRecorder) check(items []Item, want func(i int) Outcome) {
	a.t.Helper()
	if len(a.got) != len(items) {
		a.t.Errorf("acked %d ids, want %d", len(a.got), len(items))
	}
	for i, it := range items {
		got, ok := a.got[it.ID]
		if !ok {
			a.t.Errorf("item %d (id %d) never acked", i, it.ID)
			continue
		}
		if w := want(i); got != w {
			a.t.Errorf("item %d (id %d): outcome %v, want %v", i, it.ID, got, w)
		}
	}
}

func all(o Outcome) func(int) Outcome { return func(int) Outcome { return o } }

// sink is the fake Logstash endpoint every test of the sender uses.
type sink = logstashfake.Sink

func newSink(t *testing.T, intercept logstashfake.Intercept) *sink {
	t.Helper()
	return logstashfake.New(t, intercept)
}

// checkOnce asserts the sink received exactly the documents of items for
// which delivered(i) holds, each exactly once.
func checkOnce(t *testing.T, s *sink, token string, n int, delivered func(i int) bool) {
	t.Helper()
	got := s.Got()
	want := 0
	for i := range n {
		d := wantDoc(token, i)
		c := got[d]
		if !delivered(i) {
			if c != 0 {
				t.Errorf("document %d received %d times, want never", i, c)
			}
			continue
		}
		want++
		if c != 1 {
			t.Errorf("document %d received %d times, want once", i, c)
		}
	}
	if len(got) != want {
		t.Errorf("sink holds %d distinct documents, want %d", len(got), want)
		for d := range got {
			t.Logf("received %s", d)
			break
		}
	}
	for _, m := range s.BadMeta() {
		t.Errorf("bad request: %s", m)
	}
}

func everyDoc(int) bool { return true }

func TestSendDeliversEveryDocumentOnce(t *testing.T) {
	tests := []struct {
		name        string
		batch       int
		concurrency int
	}{
		{"one-per-post", 0, 4},
		{"one-per-post-serial", 1, 1},
		{"batch-7", 7, 4},
		{"batch-100", 100, 2},
		{"batch-larger-than-input", 1000, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const n = 250
			sk := newSink(t, nil)
			cfg := testConfig(sk.URL + "/")
			cfg.Batch = tc.batch
			cfg.Concurrency = tc.concurrency
			s := newSender(t, cfg)
			items := makeItems(n)
			acks := newAckRecorder(t)

			st := s.Send(t.Context(), items, acks.ack)

			acks.check(items, all(Delivered))
			checkOnce(t, sk, testToken, n, everyDoc)
			per := max(tc.batch, 1)
			wantReq := (n + per - 1) / per
			if st != (SendStats{Delivered: n, Requests: wantReq}) {
				t.Errorf("stats = %+v, want %d delivered in %d requests", st, n, wantReq)
			}
			for _, b := range sk.Batches() {
				if b > per {
					t.Errorf("request carried %d documents, batch is %d", b, per)
				}
			}
			if per == 1 && sk.Bare() != wantReq {
				t.Errorf("%d of %d requests had a bare object body", sk.Bare(), wantReq)
			}
			if per > 1 && sk.Bare() != 0 {
				t.Errorf("%d requests had a bare object body in batch mode", sk.Bare())
			}
			if c := sk.Conns(); c > int64(tc.concurrency) {
				t.Errorf("server saw %d connections, want at most %d (keep-alive)", c, tc.concurrency)
			}
		})
	}
}

func TestSendRecoversFromFaults(t *testing.T) {
	status := func(code int, retryAfter string) func(http.ResponseWriter, *http.Request) {
		return func(w http.ResponseWriter, _ *http.Request) {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			http.Error(w, http.StatusText(code), code)
		}
	}
	hijack := func(reset bool) func(http.ResponseWriter, *http.Request) {
		return func(w http.ResponseWriter, _ *http.Request) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			if tc, ok := conn.(*net.TCPConn); ok && reset {
				_ = tc.SetLinger(0) // close with RST
			}
			_ = conn.Close()
		}
	}
	tests := []struct {
		name    string
		timeout time.Duration
		fault   func(s *sink) func(http.ResponseWriter, *http.Request)
	}{
		{name: "500", fault: func(*sink) func(http.ResponseWriter, *http.Request) { return status(500, "") }},
		{name: "502", fault: func(*sink) func(http.ResponseWriter, *http.Request) { return status(502, "") }},
		{name: "503-retry-after-0", fault: func(*sink) func(http.ResponseWriter, *http.Request) { return status(503, "0") }},
		{name: "429-retry-after-0", fault: func(*sink) func(http.ResponseWriter, *http.Request) { return status(429, "0") }},
		{name: "429-retry-after-past-date", fault: func(*sink) func(http.ResponseWriter, *http.Request) {
			return status(429, "Sun, 06 Nov 1994 08:49:37 GMT")
		}},
		{name: "408", fault: func(*sink) func(http.ResponseWriter, *http.Request) { return status(408, "") }},
		{name: "hang-past-timeout", timeout: 100 * time.Millisecond, fault: func(s *sink) func(http.ResponseWriter, *http.Request) {
			return func(_ http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done(): // the client gave up and closed the connection
				case <-s.Released():
				}
			}
		}},
		{name: "connection-reset", fault: func(*sink) func(http.ResponseWriter, *http.Request) { return hijack(true) }},
		{name: "connection-closed", fault: func(*sink) func(http.ResponseWriter, *http.Request) { return hijack(false) }},
	}
	for _, tc := range tests {
		for _, batch := range []int{1, 10} {
			t.Run(fmt.Sprintf("%s/batch-%d", tc.name, batch), func(t *testing.T) {
				const n, faults = 40, 3
				var fault func(http.ResponseWriter, *http.Request)
				sk := newSink(t, func(i int64, w http.ResponseWriter, r *http.Request, _ []json.RawMessage) bool {
					if i > faults {
						return false
					}
					fault(w, r)
					return true
				})
				fault = tc.fault(sk)
				cfg := testConfig(sk.URL)
				cfg.Batch = batch
				if tc.timeout > 0 {
					cfg.RequestTimeout = tc.timeout
				}
				s := newSender(t, cfg)
				items := makeItems(n)
				acks := newAckRecorder(t)
				ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
				defer cancel()

				st := s.Send(ctx, items, acks.ack)

				acks.check(items, all(Delivered))
				checkOnce(t, sk, testToken, n, everyDoc)
				if st.Delivered != n || st.Pending != 0 || st.Rejected != 0 {
					t.Errorf("stats = %+v, want all %d delivered", st, n)
				}
				if st.Retries < faults {
					t.Errorf("stats = %+v, want at least %d retries", st, faults)
				}
				if st.Requests != int(sk.Requests()) {
					t.Errorf("sender counted %d requests, server saw %d", st.Requests, sk.Requests())
				}
			})
		}
	}
}

func TestSendDoesNotWaitPastDeadline(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter string
		backoff    time.Duration
	}{
		{"backoff", "", time.Hour},
		{"retry-after-seconds", "3600", time.Millisecond},
		{"retry-after-date", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat), time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sk := newSink(t, func(_ int64, w http.ResponseWriter, _ *http.Request, _ []json.RawMessage) bool {
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return true
			})
			cfg := testConfig(sk.URL)
			cfg.BackoffBase, cfg.BackoffMax = tc.backoff, tc.backoff
			s := newSender(t, cfg)
			// Full jitter could pick a tiny wait; pin it to its upper bound.
			s.jitter = func(limit time.Duration) time.Duration { return limit }
			items := makeItems(50)
			acks := newAckRecorder(t)
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()

			st := s.Send(ctx, items, acks.ack)

			if ctx.Err() != nil {
				t.Fatalf("Send slept until the deadline instead of giving up")
			}
			acks.check(items, all(Pending))
			if st.Pending != len(items) || st.Requests > cfg.Concurrency || st.Retries != 0 {
				t.Errorf("stats = %+v, want all pending after at most %d requests and no retries", st, cfg.Concurrency)
			}
		})
	}
}

func TestSendReturnsByDeadline(t *testing.T) {
	always503 := func(_ int64, w http.ResponseWriter, _ *http.Request, _ []json.RawMessage) bool {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return true
	}
	// A port nothing listens on: bind, note the address, close.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://alice:hunter2@" + ln.Addr().String() + "/"
	ln.Close()

	tests := []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"always-503", func(t *testing.T) string { return newSink(t, always503).URL }},
		{"nothing-listening", func(*testing.T) string { return closedURL }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs logBuffer
			cfg := testConfig(tc.url(t))
			cfg.Logger = logs.logger()
			cfg.BackoffMax = 20 * time.Millisecond
			s := newSender(t, cfg)
			items := makeItems(30)
			acks := newAckRecorder(t)
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			deadline, _ := ctx.Deadline()

			st := s.Send(ctx, items, acks.ack)

			// Generous slack for -race on a loaded machine; the point is
			// that Send does not outlive its context by a retry cycle.
			if late := time.Since(deadline); late > time.Second {
				t.Errorf("Send returned %v after the deadline", late)
			}
			acks.check(items, all(Pending))
			if st.Pending != len(items) || st.Delivered != 0 || st.Requests == 0 {
				t.Errorf("stats = %+v, want all %d pending", st, len(items))
			}
			if st.Requests-st.Retries > cfg.Concurrency {
				t.Errorf("stats = %+v: more than %d first attempts against a dead endpoint", st, cfg.Concurrency)
			}
			out := logs.String()
			for _, secret := range []string{"hunter2", "alice", "s3cr3t"} {
				if strings.Contains(out, secret) {
					t.Errorf("log leaks %q:\n%s", secret, out)
				}
			}
		})
	}
}

func TestSendSplitsTooLargeBatches(t *testing.T) {
	const n, limit = 50, 3
	sk := newSink(t, func(_ int64, w http.ResponseWriter, _ *http.Request, docs []json.RawMessage) bool {
		if len(docs) <= limit {
			return false
		}
		http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
		return true
	})
	cfg := testConfig(sk.URL)
	cfg.Batch = 16
	s := newSender(t, cfg)
	items := makeItems(n)
	acks := newAckRecorder(t)

	st := s.Send(t.Context(), items, acks.ack)

	acks.check(items, all(Delivered))
	checkOnce(t, sk, testToken, n, everyDoc)
	if st.Delivered != n || st.Retries != 0 {
		t.Errorf("stats = %+v, want %d delivered without retries", st, n)
	}
	for _, b := range sk.Batches() {
		if b > limit {
			t.Errorf("accepted a batch of %d", b)
		}
	}
}

func TestSendRejectsRefusedDocuments(t *testing.T) {
	tests := []struct {
		name   string
		status int
		batch  int
		bad    map[int]bool // seq numbers the endpoint refuses
	}{
		{"400-single", 400, 1, map[int]bool{5: true}},
		{"400-batch", 400, 8, map[int]bool{5: true, 13: true}},
		{"400-batch-adjacent", 400, 64, map[int]bool{0: true, 1: true, 39: true}},
		{"422-batch", 422, 8, map[int]bool{20: true}},
		{"413-single-document", 413, 1, map[int]bool{7: true}},
		{"413-in-batch", 413, 4, map[int]bool{7: true}},
		{"409-batch", 409, 5, map[int]bool{3: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const n = 40
			sk := newSink(t, func(_ int64, w http.ResponseWriter, _ *http.Request, docs []json.RawMessage) bool {
				for _, d := range docs {
					var v struct{ Seq int }
					if err := json.Unmarshal(d, &v); err == nil && tc.bad[v.Seq] {
						http.Error(w, fmt.Sprintf("refused seq %d", v.Seq), tc.status)
						return true
					}
				}
				return false
			})
			var logs logBuffer
			cfg := testConfig(sk.URL)
			cfg.Batch = tc.batch
			cfg.Logger = logs.logger()
			s := newSender(t, cfg)
			items := makeItems(n)
			acks := newAckRecorder(t)

			st := s.Send(t.Context(), items, acks.ack)

			acks.check(items, func(i int) Outcome {
				if tc.bad[i] {
					return Rejected
				}
				return Delivered
			})
			checkOnce(t, sk, testToken, n, func(i int) bool { return !tc.bad[i] })
			if st.Rejected != len(tc.bad) || st.Delivered != n-len(tc.bad) || st.Retries != 0 {
				t.Errorf("stats = %+v, want %d rejected, rest delivered, no retries", st, len(tc.bad))
			}
			out := logs.String()
			for i := range tc.bad {
				if !strings.Contains(out, fmt.Sprintf("id=%d", items[i].ID)) {
					t.Errorf("rejected id %d not logged:\n%s", items[i].ID, out)
				}
			}
			if !strings.Contains(out, fmt.Sprintf("status=%d", tc.status)) {
				t.Errorf("status %d not logged:\n%s", tc.status, out)
			}
		})
	}
}

// What needs a person stops sending for the run and keeps every document:
// a status no retry changes, a redirect (named with its Location), a web
// page where Logstash's "ok" was expected. The reason, for the exit status
// and the run's summary, says what to change.
func TestSendStopsOnConfigurationErrors(t *testing.T) {
	type answer struct {
		name string
		code int
		want string // in ConfigError and the one log line
	}
	for _, a := range []answer{
		{"401", 401, "refused the token (HTTP 401): check the token and --url"},
		{"403", 403, "refused the token (HTTP 403)"},
		{"404", 404, "has no input there (HTTP 404): check --url"},
		{"405", 405, "has no input there (HTTP 405)"},
		{"501", 501, "does not take such a request (HTTP 501)"},
		{"505", 505, "does not take such a request (HTTP 505)"},
		{"302", 302, "/elsewhere (HTTP 302): set --url to it"},
		{"308 relative", 308, "/ingest/ (HTTP 308): set --url to it"},
		{"html 200", 200, "an HTML page (title Welcome to nginx!) answered at"},
		{"xhtml 201", 201, "an HTML page (title Sign in) answered at"},
	} {
		for _, batch := range []int{1, 10} {
			t.Run(fmt.Sprintf("%s/batch-%d", a.name, batch), func(t *testing.T) {
				var sk *sink
				sk = newSink(t, func(_ int64, w http.ResponseWriter, r *http.Request, _ []json.RawMessage) bool {
					switch {
					case r.URL.Path == "/elsewhere" || r.URL.Path == "/ingest/":
						return false // a redirect target that would swallow the data
					case a.name == "302":
						http.Redirect(w, r, sk.URL+"/elsewhere", a.code)
					case a.name == "308 relative":
						w.Header().Set("Location", "ingest/")
						w.WriteHeader(a.code)
					case a.name == "html 200":
						// No Content-Type: the server sniffs text/html.
						w.WriteHeader(a.code)
						io.WriteString(w, "<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title></head><body>ok</body></html>")
					case a.name == "xhtml 201":
						w.Header().Set("Content-Type", "application/xhtml+xml; charset=utf-8")
						w.WriteHeader(a.code)
						io.WriteString(w, "<html><head><TITLE>\n  Sign  in\n</TITLE></head></html>")
					default:
						http.Error(w, "go away", a.code)
					}
					return true
				})
				var logs logBuffer
				cfg := testConfig(sk.URL)
				cfg.Batch = batch
				cfg.Logger = logs.logger()
				s := newSender(t, cfg)
				items := makeItems(100)
				acks := newAckRecorder(t)

				st := s.Send(t.Context(), items, acks.ack)

				acks.check(items, all(Pending))
				checkOnce(t, sk, testToken, len(items), func(int) bool { return false })
				if st.Pending != len(items) || st.Retries != 0 || st.Requests > cfg.Concurrency {
					t.Errorf("stats = %+v, want all pending after at most %d requests", st, cfg.Concurrency)
				}
				if !strings.Contains(st.ConfigError, a.want) || !strings.Contains(st.ConfigError, sk.URL) {
					t.Errorf("ConfigError %q, want it to name the URL and say %q", st.ConfigError, a.want)
				}
				out := logs.String()
				if c := strings.Count(out, "sending stopped, documents kept for the next run"); c != 1 {
					t.Errorf("configuration problem logged %d times, want once:\n%s", c, out)
				}
				if !strings.Contains(out, a.want) || !strings.Contains(out, fmt.Sprintf("status=%d", a.code)) {
					t.Errorf("log does not say %q and the status:\n%s", a.want, out)
				}
			})
		}
	}
}

// Logstash's own answers are delivered: "ok" in plain text, an empty 200,
// JSON; only a web page is taken for another server.
func TestSendPlainAnswersDeliver(t *testing.T) {
	for _, ct := range []string{"text/plain", "", "application/json", "text/plain; charset=utf-8"} {
		sk := newSink(t, func(_ int64, w http.ResponseWriter, _ *http.Request, _ []json.RawMessage) bool {
			if ct != "" {
				w.Header().Set("Content-Type", ct)
			} else {
				w.Header()["Content-Type"] = nil // as sent: none
			}
			w.WriteHeader(200)
			return true
		})
		s := newSender(t, testConfig(sk.URL))
		items := makeItems(5)
		st := s.Send(t.Context(), items, nil)
		if st.Delivered != 5 || st.ConfigError != "" {
			t.Errorf("Content-Type %q: %+v", ct, st)
		}
	}
}

func TestIsHTML(t *testing.T) {
	for ct, want := range map[string]bool{
		"text/html": true, "text/html; charset=utf-8": true, "TEXT/HTML": true, "application/xhtml+xml": true,
		"text/html;;bad": true, "text/plain": false, "": false, "application/json": false, "text/htmlx": false,
	} {
		if got := isHTML(ct); got != want {
			t.Errorf("isHTML(%q) = %v", ct, got)
		}
	}
}

// A redirect's Location is an answer of the server's: named without the
// credentials of a URL and bounded, never the token.
func TestSendRedirectLocationIsSafe(t *testing.T) {
	sk := newSink(t, func(_ int64, w http.ResponseWriter, r *http.Request, _ []json.RawMessage) bool {
		w.Header().Set("Location", "https://user:pw@sso.example.org/login?next="+testToken+strings.Repeat("x", 500))
		w.WriteHeader(302)
		return true
	})
	var logs logBuffer
	cfg := testConfig(sk.URL)
	cfg.Logger = logs.logger()
	st := newSender(t, cfg).Send(t.Context(), makeItems(3), nil)
	for _, text := range []string{st.ConfigError, logs.String()} {
		if !strings.Contains(text, "https://redacted@sso.example.org/login") || strings.Contains(text, "pw@") || strings.Contains(text, "tok<&>") || strings.Contains(text, strings.Repeat("x", 300)) {
			t.Errorf("the Location is not made safe:\n%s", text)
		}
	}
}

// An endpoint that stops taking documents is named once, StallNotice
// after the last document it took, with the deadline the run retries
// until; one that takes them is not. (Timers never fire early: the bound
// below holds however loaded the machine.)
func TestSendStallNotice(t *testing.T) {
	const notice = "the endpoint is not taking documents; retrying until the run's deadline"
	run := func(t *testing.T, after, timeout time.Duration, n int, answer func(i int64, w http.ResponseWriter) bool) (string, SendStats) {
		sk := newSink(t, func(i int64, w http.ResponseWriter, _ *http.Request, _ []json.RawMessage) bool { return answer(i, w) })
		var logs logBuffer
		cfg := testConfig(sk.URL)
		cfg.Concurrency = 1
		cfg.Logger = logs.logger()
		cfg.StallNotice = after
		ctx, cancel := context.WithTimeout(t.Context(), timeout)
		defer cancel()
		st := newSender(t, cfg).Send(ctx, makeItems(n), nil)
		return logs.String(), st
	}
	t.Run("dead", func(t *testing.T) {
		out, st := run(t, 100*time.Millisecond, 3*time.Second, 20, func(_ int64, w http.ResponseWriter) bool {
			http.Error(w, "pipeline busy", http.StatusServiceUnavailable)
			return true
		})
		if strings.Count(out, notice) != 1 || !strings.Contains(out, "level=WARN") || !strings.Contains(out, `last_failure="HTTP 503: pipeline busy`) || !strings.Contains(out, "until=") {
			t.Errorf("stats %+v:\n%s", st, out)
		}
	})
	t.Run("taking documents", func(t *testing.T) {
		out, st := run(t, 5*time.Second, 10*time.Second, 20, func(int64, http.ResponseWriter) bool { return false })
		if strings.Contains(out, notice) || st.Delivered != 20 {
			t.Errorf("stats %+v:\n%s", st, out)
		}
	})
	t.Run("dead after taking some", func(t *testing.T) {
		const after = 200 * time.Millisecond
		var mu sync.Mutex
		var lastOK time.Time
		out, st := run(t, after, 1500*time.Millisecond, 20, func(i int64, w http.ResponseWriter) bool {
			if i <= 5 {
				w.WriteHeader(http.StatusOK)
				mu.Lock()
				lastOK = time.Now()
				mu.Unlock()
				return true
			}
			http.Error(w, "gone", http.StatusBadGateway)
			return true
		})
		if strings.Count(out, notice) != 1 || st.Delivered != 5 {
			t.Fatalf("stats %+v:\n%s", st, out)
		}
		line := out[strings.Index(out, "time="):]
		for !strings.Contains(line[:strings.IndexByte(line, '\n')], notice) {
			line = line[strings.IndexByte(line, '\n')+1:]
		}
		at, err := time.Parse("2006-01-02T15:04:05.000Z07:00", strings.Fields(line)[0][len("time="):])
		mu.Lock()
		defer mu.Unlock()
		if err != nil || at.Before(lastOK.Add(after-2*time.Millisecond)) {
			t.Errorf("notice at %v (%v), the last delivery at %v: want %v after it at least", at, err, lastOK, after)
		}
	})
}

func TestSendNeverLogsSecrets(t *testing.T) {
	// The endpoint echoes what it got, token included, in its error pages:
	// first a 500 (retried), then a 400 for one document (split, rejected).
	sk := newSink(t, func(i int64, w http.ResponseWriter, r *http.Request, docs []json.RawMessage) bool {
		var b bytes.Buffer
		for _, d := range docs {
			b.Write(d)
		}
		switch {
		case i == 1:
			w.WriteHeader(http.StatusInternalServerError)
		case bytes.Contains(b.Bytes(), []byte(`"seq":3,`)):
			w.WriteHeader(http.StatusBadRequest)
		default:
			return false
		}
		// Pad so the token straddles the excerpt cut in some lines.
		fmt.Fprintf(w, "%s\x00\x1b[31m echo: %s", strings.Repeat("x", 120), b.Bytes())
		return true
	})
	u, _ := url.Parse(sk.URL)
	u.User = url.UserPassword("alice", "hunter2")
	var logs logBuffer
	cfg := testConfig(u.String())
	cfg.Batch = 4
	cfg.Logger = logs.logger()
	s := newSender(t, cfg)
	items := makeItems(12)
	acks := newAckRecorder(t)

	st := s.Send(t.Context(), items, acks.ack)

	acks.check(items, func(i int) Outcome {
		if i == 3 {
			return Rejected
		}
		return Delivered
	})
	if st.Retries == 0 || st.Rejected != 1 {
		t.Errorf("stats = %+v, want a retry and a rejection", st)
	}
	out := logs.String()
	escaped, _ := json.Marshal(testToken)
	for _, secret := range []string{testToken, string(escaped[1 : len(escaped)-1]), "s3cr3t", "hunter2", "alice"} {
		if strings.Contains(out, secret) {
			t.Errorf("log leaks %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{"status=500", "status=400", "[REDA", "redacted@127.0.0.1"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.ContainsAny(out, "\x00\x1b") {
		t.Errorf("log contains raw control characters:\n%q", out)
	}
}

func TestSendCancelledMidway(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	sk := newSink(t, func(i int64, _ http.ResponseWriter, _ *http.Request, _ []json.RawMessage) bool {
		if i == 5 {
			cancel()
		}
		return false
	})
	cfg := testConfig(sk.URL)
	cfg.Concurrency = 2
	s := newSender(t, cfg)
	items := makeItems(100)
	acks := newAckRecorder(t)

	st := s.Send(ctx, items, acks.ack)

	if len(acks.got) != len(items) {
		t.Fatalf("acked %d of %d items", len(acks.got), len(items))
	}
	if st.Delivered+st.Pending != len(items) || st.Pending == 0 || st.Rejected != 0 {
		t.Errorf("stats = %+v, want delivered+pending = %d with some pending", st, len(items))
	}
	// Every document the sink accepted may be reported Delivered or (if the
	// answer was lost to the cancellation) Pending; nothing may be Delivered
	// that did not arrive.
	for i, it := range items {
		if acks.got[it.ID] == Delivered && sk.Count(wantDoc(testToken, i)) != 1 {
			t.Errorf("item %d acked Delivered but received %d times", i, sk.Count(wantDoc(testToken, i)))
		}
	}
}

func TestSendRejectsNonObjects(t *testing.T) {
	sk := newSink(t, nil)
	var logs logBuffer
	cfg := testConfig(sk.URL)
	cfg.Batch = 3
	cfg.Logger = logs.logger()
	s := newSender(t, cfg)
	items := makeItems(6)
	bad := map[int]bool{1: true, 2: true, 4: true}
	items[1].Doc = []byte(`[1,2]`)
	items[2].Doc = []byte(`  `)
	items[4].Doc = []byte(`{"truncated":`)
	acks := newAckRecorder(t)

	st := s.Send(t.Context(), items, acks.ack)

	acks.check(items, func(i int) Outcome {
		if bad[i] {
			return Rejected
		}
		return Delivered
	})
	checkOnce(t, sk, testToken, len(items), func(i int) bool { return !bad[i] })
	if st.Requests != 1 {
		t.Errorf("stats = %+v, want the 3 valid documents in one request", st)
	}
	if c := strings.Count(logs.String(), "not a JSON object"); c != len(bad) {
		t.Errorf("logged %d non-object errors, want %d", c, len(bad))
	}
}

func TestSendNothingToDo(t *testing.T) {
	s := newSender(t, testConfig("http://127.0.0.1:1/"))
	if st := s.Send(t.Context(), nil, nil); st != (SendStats{}) {
		t.Errorf("stats = %+v for no items", st)
	}
}

func TestSendOverTLSWithCAFile(t *testing.T) {
	var got atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			http.Error(w, "no tls", http.StatusBadRequest)
			return
		}
		got.Add(1)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // expected handshake failures
	srv.StartTLS()
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("trusted", func(t *testing.T) {
		cfg := testConfig(srv.URL)
		cfg.CAFile = caFile
		s := newSender(t, cfg)
		items := makeItems(10)
		acks := newAckRecorder(t)
		st := s.Send(t.Context(), items, acks.ack)
		acks.check(items, all(Delivered))
		if st.Delivered != 10 || got.Load() != 10 {
			t.Errorf("stats = %+v, server got %d", st, got.Load())
		}
	})
	t.Run("untrusted", func(t *testing.T) {
		// Without the CA the certificate cannot verify: nothing is sent,
		// nothing is lost, and the run does not spin on it.
		var logs logBuffer
		cfg := testConfig(srv.URL)
		cfg.Logger = logs.logger()
		s := newSender(t, cfg)
		items := makeItems(10)
		acks := newAckRecorder(t)
		st := s.Send(t.Context(), items, acks.ack)
		acks.check(items, all(Pending))
		if st.Requests > cfg.Concurrency {
			t.Errorf("stats = %+v, want at most %d attempts", st, cfg.Concurrency)
		}
		if !strings.Contains(st.ConfigError, "is not trusted") || !strings.Contains(st.ConfigError, "--ca-file") {
			t.Errorf("ConfigError %q: a person must give the site CA", st.ConfigError)
		}
		if !strings.Contains(logs.String(), "certificate") {
			t.Errorf("certificate problem not logged:\n%s", logs.String())
		}
	})
}

func TestNewSender(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")

	tests := []struct {
		name    string
		url     string
		caFile  string
		wantErr string // substring; "" means success
	}{
		{"https", "https://af.atlas-ml.org/", "", ""},
		{"http-with-port-and-path", "http://127.0.0.1:8080/ingest", "", ""},
		{"empty", "", "", "scheme"},
		{"no-scheme", "af.atlas-ml.org", "", "scheme"},
		{"ftp", "ftp://alice:hunter2@af.atlas-ml.org/", "", "scheme"},
		{"no-host", "http:///path", "", "no host"},
		{"port-only", "http://:8080/", "", "no host"},
		{"unparsable", "http://alice:hunter2@host:port/", "", "invalid URL"},
		{"missing-ca", "https://af.atlas-ml.org/", missing, missing},
		{"garbage-ca", "https://af.atlas-ml.org/", garbage, garbage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewSender(SenderConfig{URL: tc.url, CAFile: tc.caFile, Token: testToken})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("NewSender: %v", err)
				}
				s.Close()
				return
			}
			if err == nil {
				s.Close()
				t.Fatalf("NewSender(%q) succeeded, want error containing %q", tc.url, tc.wantErr)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.wantErr) {
				t.Errorf("error %q does not mention %q", msg, tc.wantErr)
			}
			for _, secret := range []string{"hunter2", testToken} {
				if strings.Contains(msg, secret) {
					t.Errorf("error %q leaks %q", msg, secret)
				}
			}
		})
	}
}

func TestNewSenderDefaults(t *testing.T) {
	s := newSender(t, SenderConfig{URL: "https://af.atlas-ml.org/"})
	c := s.cfg
	if c.Concurrency != 4 || c.RequestTimeout != 10*time.Second || c.BackoffBase != 500*time.Millisecond ||
		c.BackoffMax != 30*time.Second || c.UserAgent != "afmc" || c.Batch != 1 {
		t.Errorf("defaults = %+v", c)
	}
	tr := s.transport
	if tr.MaxIdleConnsPerHost < c.Concurrency || tr.TLSClientConfig.MinVersion < 0x0303 || tr.TLSClientConfig.RootCAs == nil {
		t.Errorf("transport: idle/host %d, min TLS %#x", tr.MaxIdleConnsPerHost, tr.TLSClientConfig.MinVersion)
	}
}

func TestAppendDoc(t *testing.T) {
	field := []byte(`"token":"t","timestamp":`)
	at := time.UnixMilli(1700000000123).Add(999 * time.Microsecond)
	tests := []struct{ in, want string }{
		{`{}`, `{"token":"t","timestamp":1700000000123}`},
		{`{ }`, `{ "token":"t","timestamp":1700000000123}`},
		{`{"a":1}`, `{"a":1,"token":"t","timestamp":1700000000123}`},
		{`{"z":1,"a":{}}`, `{"z":1,"a":{},"token":"t","timestamp":1700000000123}`},
		{`{"a":"{"}`, `{"a":"{","token":"t","timestamp":1700000000123}`},
		{"{\"a\":[1]\n}", "{\"a\":[1]\n,\"token\":\"t\",\"timestamp\":1700000000123}"},
	}
	for _, tc := range tests {
		got := string(appendDoc([]byte("prefix|"), []byte(tc.in), field, at))
		if got != "prefix|"+tc.want {
			t.Errorf("appendDoc(%q) = %q, want %q", tc.in, got, "prefix|"+tc.want)
		}
		if !json.Valid([]byte(got[len("prefix|"):])) {
			t.Errorf("appendDoc(%q) = %q is not valid JSON", tc.in, got)
		}
	}
}

func TestArrayReader(t *testing.T) {
	for _, size := range []int{1, 2, 3, 7, 4096} {
		r := reqBody{docs: []byte(`{"a":1},{"b":2}`), array: true}.reader()
		var got bytes.Buffer
		buf := make([]byte, size)
		for {
			n, err := r.Read(buf)
			got.Write(buf[:n])
			if err != nil {
				break
			}
		}
		if got.String() != `[{"a":1},{"b":2}]` {
			t.Errorf("read size %d: %q", size, got.String())
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2024, 5, 17, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"0", 0, true},
		{"1", time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"Fri, 17 May 2024 12:00:30 GMT", 30 * time.Second, true},
		{"Friday, 17-May-24 12:01:00 GMT", time.Minute, true}, // RFC 850
		{"Fri May 17 12:00:05 2024", 5 * time.Second, true},   // asctime
		{"Fri, 17 May 2024 11:00:00 GMT", 0, true},            // past
		{"99999999999999999999", 1<<63 - 1, true},
		{"", 0, false},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
	}
	for _, tc := range tests {
		got, ok := parseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.wantOK)
		}
	}
}

func TestBackoff(t *testing.T) {
	s := newSender(t, SenderConfig{URL: "http://127.0.0.1/", BackoffBase: 100 * time.Millisecond, BackoffMax: time.Second})
	s.jitter = func(limit time.Duration) time.Duration { return limit } // upper bound
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		if got := s.backoff(i); got != w*time.Millisecond {
			t.Errorf("backoff(%d) upper bound = %v, want %v", i, got, w*time.Millisecond)
		}
	}
	for _, attempt := range []int{40, 62, 63, 64, 1000} {
		if got := s.backoff(attempt); got != time.Second {
			t.Errorf("backoff(%d) = %v, want the cap", attempt, got)
		}
	}

	jittered := newSender(t, SenderConfig{URL: "http://127.0.0.1/", BackoffBase: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	for attempt := range 20 {
		for range 50 {
			limit := min(10*time.Millisecond<<attempt, 50*time.Millisecond)
			if d := jittered.backoff(attempt); d < 0 || d > limit {
				t.Fatalf("backoff(%d) = %v outside [0, %v]", attempt, d, limit)
			}
		}
	}
}

func TestExcerpt(t *testing.T) {
	s := newSender(t, SenderConfig{URL: "http://127.0.0.1/", Token: "TOPSECRET"})
	tests := []struct {
		name string
		body string
		want string
	}{
		{"plain", "bad request", "bad request"},
		{"control", "a\nb\tc\x00d\x7fe", "a b c d e"},
		{"invalid-utf8", "a\xffb", "a?b"},
		{"token", `{"token":"TOPSECRET"}`, `{"token":"[REDACTED]"}`},
		{"long", strings.Repeat("é", 150), strings.Repeat("é", 100) + "..."},
		{"token-at-cut", strings.Repeat("x", 195) + "TOPSECRET", strings.Repeat("x", 195) + "[REDA..."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := s.excerpt([]byte(tc.body)); got != tc.want {
				t.Errorf("excerpt = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		res  result
		want action
	}{
		{result{status: 200}, actDeliver},
		{result{status: 204}, actDeliver},
		{result{status: 408}, actRetry},
		{result{status: 429}, actRetry},
		{result{status: 500}, actRetry},
		{result{status: 503}, actRetry},
		{result{err: context.DeadlineExceeded}, actRetry},
		{result{err: &net.OpError{Op: "dial", Err: os.ErrDeadlineExceeded}}, actRetry},
		{result{err: &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}}, actHalt},
		{result{status: 400}, actSplit},
		{result{status: 413}, actSplit},
		{result{status: 422}, actSplit},
		{result{status: 418}, actSplit},
		{result{status: 401}, actHalt},
		{result{status: 403}, actHalt},
		{result{status: 404}, actHalt},
		{result{status: 405}, actHalt},
		{result{status: 501}, actHalt},
		{result{status: 505}, actHalt},
		{result{status: 502}, actRetry},
		{result{status: 200, html: true}, actHalt},
		{result{status: 301}, actHalt},
		{result{status: 199}, actHalt},
	}
	for _, tc := range tests {
		if got := classify(tc.res); got != tc.want {
			t.Errorf("classify(%+v) = %v, want %v", tc.res, got, tc.want)
		}
	}
}

// An endpoint that refuses every document and takes none (a web server's
// 400 for a mistyped URL) must not empty the spool: all stay Pending, and
// the failure is described for the run's summary.
func TestSendEverythingRefusedIsKept(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		http.Error(w, "400 Bad Request: plain HTTP request sent to HTTPS port", http.StatusBadRequest)
	}))
	defer srv.Close()
	var logs logBuffer
	for _, batch := range []int{1, 4} {
		s := newSender(t, SenderConfig{URL: srv.URL + "/", Token: testToken, Batch: batch, BackoffBase: time.Millisecond, Logger: logs.logger()})
		items := makeItems(8)
		acks := newAckRecorder(t)
		st := s.Send(t.Context(), items, acks.ack)
		acks.check(items, all(Pending))
		if st.Pending != 8 || st.Rejected != 0 {
			t.Errorf("batch %d: stats %+v, want all 8 pending", batch, st)
		}
		if !strings.HasPrefix(st.LastFailure, "HTTP 400: 400 Bad Request") {
			t.Errorf("batch %d: LastFailure %q", batch, st.LastFailure)
		}
	}
	if !strings.Contains(logs.String(), "refused every document") {
		t.Errorf("not logged:\n%s", logs.String())
	}
	// A person must fix it: the run says so (exit status 5).
	st := newSender(t, SenderConfig{URL: srv.URL + "/", Token: testToken, BackoffBase: time.Millisecond}).Send(t.Context(), makeItems(2), nil)
	if !strings.Contains(st.ConfigError, "refused every document it was sent (2): check --url") {
		t.Errorf("ConfigError %q", st.ConfigError)
	}
	// Eight refused documents a run: five lines, then a count.
	if n := strings.Count(logs.String(), `endpoint rejected document"`); n != 2*refusedLogged {
		t.Errorf("%d lines for single refused documents, want %d", n, 2*refusedLogged)
	}
	if !strings.Contains(logs.String(), "endpoint rejected more documents\" more=3") {
		t.Errorf("no count of the rest:\n%s", logs.String())
	}
}
