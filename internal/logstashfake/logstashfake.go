// Package logstashfake is a Logstash http input on loopback for tests: it
// records every document it accepted (answered 2xx), how requests were
// batched, and what was wrong with any of them. One fake for the sender,
// the spool, the runner and the binary, as kubefake is for Kubernetes.
package logstashfake

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Intercept sees every request after its body was parsed (n counts
// requests from 1) and may answer it itself, a fault: it returns true
// then, and the request's documents are not recorded.
type Intercept func(n int64, w http.ResponseWriter, r *http.Request, docs []json.RawMessage) bool

// Sink is the fake endpoint. URL is where to send.
type Sink struct {
	URL string

	srv       *httptest.Server
	intercept Intercept
	requests  atomic.Int64
	conns     atomic.Int64
	released  chan struct{}

	connMu sync.Mutex
	idle   *sync.Cond // signalled when a connection ends
	open   int        // connections open now

	mu      sync.Mutex
	got     map[string]int // document → times received
	docs    []string       // accepted documents in arrival order
	batches []int          // documents per accepted request
	bare    int            // accepted requests whose body was a bare object
	badMeta []string       // wrong Content-Type / User-Agent / host field
}

// New starts a sink on loopback, over plain HTTP; intercept may be nil.
func New(t testing.TB, intercept Intercept) *Sink { return start(t, intercept, false) }

// NewTLS starts a sink serving HTTPS with a certificate of its own CA
// (CAPEM).
func NewTLS(t testing.TB, intercept Intercept) *Sink { return start(t, intercept, true) }

func start(t testing.TB, intercept Intercept, tls bool) *Sink {
	t.Helper()
	s := &Sink{intercept: intercept, got: make(map[string]int), released: make(chan struct{})}
	s.idle = sync.NewCond(&s.connMu)
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		s.connMu.Lock()
		defer s.connMu.Unlock()
		switch st {
		case http.StateNew:
			s.conns.Add(1)
			s.open++
		case http.StateClosed, http.StateHijacked:
			s.open--
			s.idle.Broadcast()
		}
	}
	if tls {
		s.srv.StartTLS()
	} else {
		s.srv.Start()
	}
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	// Cleanups run last-in first-out: release hanging handlers before
	// Close waits for them.
	t.Cleanup(func() { close(s.released) })
	return s
}

// Released is closed when the test ends: an intercept that hangs waits on
// it (or on the request's context).
func (s *Sink) Released() <-chan struct{} { return s.released }

// Server is the underlying test server (its certificate, its client).
func (s *Sink) Server() *httptest.Server { return s.srv }

func (s *Sink) serve(w http.ResponseWriter, r *http.Request) {
	n := s.requests.Add(1)
	body, err := ReadBody(r)
	if err != nil {
		http.Error(w, "read: "+err.Error(), http.StatusBadRequest)
		return
	}
	var docs []json.RawMessage
	bare := len(body) > 0 && body[0] == '{'
	if bare {
		docs = []json.RawMessage{body}
	} else if err := json.Unmarshal(body, &docs); err != nil {
		http.Error(w, "bad json: "+err.Error(), http.StatusBadRequest)
		return
	}
	if s.intercept != nil && s.intercept(n, w, r, docs) {
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		s.badMeta = append(s.badMeta, "content-type "+ct)
	}
	if ua := r.Header.Get("User-Agent"); ua != "afmc" && !strings.HasPrefix(ua, "afmc/") {
		s.badMeta = append(s.badMeta, "user-agent "+ua)
	}
	for _, d := range docs {
		var top map[string]json.RawMessage
		if err := json.Unmarshal(d, &top); err != nil {
			s.badMeta = append(s.badMeta, "invalid document "+string(d))
		} else if _, ok := top["host"]; ok {
			s.badMeta = append(s.badMeta, "host field in "+string(d))
		}
		s.got[string(d)]++
		s.docs = append(s.docs, string(d))
	}
	s.batches = append(s.batches, len(docs))
	if bare {
		s.bare++
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("ok"))
}

// ReadBody reads a request's body, trimmed of surrounding space; a body
// sent with Content-Encoding: gzip is decoded, as Logstash's http input
// decodes it.
func ReadBody(r *http.Request) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(r.Body)
	if err != nil || r.Header.Get("Content-Encoding") != "gzip" {
		return bytes.TrimSpace(b.Bytes()), err
	}
	zr, err := gzip.NewReader(&b)
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	var out bytes.Buffer
	if _, err := out.ReadFrom(zr); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return bytes.TrimSpace(out.Bytes()), nil
}

// WaitClosed waits until every connection to the sink has ended, so no
// request of a killed client is still on its way in.
func (s *Sink) WaitClosed() {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	for s.open > 0 {
		s.idle.Wait()
	}
}

// Requests is how many requests arrived, intercepted ones included.
func (s *Sink) Requests() int64 { return s.requests.Load() }

// Conns is how many connections were opened.
func (s *Sink) Conns() int64 { return s.conns.Load() }

// Count is how many times doc was accepted.
func (s *Sink) Count(doc string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got[doc]
}

// Got is every accepted document and how many times it came.
func (s *Sink) Got() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.got))
	for d, n := range s.got {
		out[d] = n
	}
	return out
}

// Docs is the accepted documents in arrival order.
func (s *Sink) Docs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.docs...)
}

// Batches is the number of documents of each accepted request.
func (s *Sink) Batches() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.batches...)
}

// Bare is how many accepted requests carried one bare object.
func (s *Sink) Bare() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bare
}

// BadMeta lists what was wrong with accepted requests: their
// Content-Type, User-Agent, or a document that is not a JSON object or
// carries a host field.
func (s *Sink) BadMeta() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.badMeta...)
}
