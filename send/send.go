// Package send delivers collected JSON documents to a Logstash http input:
// retries with backoff, batches, and the outcome of every document.
//
// Delivery is at-least-once: a document is reported Delivered only after a
// 2xx answer, and everything that could not be settled is reported Pending so
// the caller keeps it in its spool for the next run.
package send

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Item is one document waiting for delivery.
type Item struct {
	ID          uint64    // spool id, opaque to the sender
	Doc         []byte    // the document: a compact JSON object, WITHOUT token/timestamp
	CollectedAt time.Time // when it was collected; sent as "timestamp" (epoch milliseconds)
	Delta       bool      // reports a change since the previous run (see document.Document)
}

// Outcome is the final state of one item after Send.
type Outcome int

const (
	Delivered Outcome = iota + 1 // a 2xx confirmed it: remove from the spool
	Rejected                     // permanently refused by the endpoint: drop it, it was logged
	Pending                      // not delivered this run: keep it
)

func (o Outcome) String() string {
	switch o {
	case Delivered:
		return "delivered"
	case Rejected:
		return "rejected"
	case Pending:
		return "pending"
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// SenderConfig configures a Sender. Zero values select the defaults.
type SenderConfig struct {
	URL            string        // e.g. https://af.atlas-ml.org/
	Token          string        // added to every document as "token"; never logged
	CAFile         string        // optional PEM bundle appended to the system roots
	Batch          int           // <=1: one document per POST; N>1: JSON arrays of up to N documents
	Concurrency    int           // requests in flight at most; default 4
	RequestTimeout time.Duration // per request; default 10s
	Compress       string        // "" (none) or "gzip": request bodies gzipped, with Content-Encoding
	BackoffBase    time.Duration // default 500ms
	BackoffMax     time.Duration // default 30s
	UserAgent      string        // default "afmc"
	Logger         *slog.Logger  // nil → discard
	// StallNotice, when positive, is how long a Send goes without
	// delivering a document before it logs, once, that it keeps retrying
	// until its deadline (for a person at a terminal).
	StallNotice time.Duration
}

// SendStats summarises one Send call. Requests counts every HTTP attempt,
// Retries the attempts that repeated a failed request.
type SendStats struct {
	Delivered, Rejected, Pending, Requests, Retries int
	// LastFailure describes the last failed request (status and answer, or
	// the transport error), with secrets removed; empty when none failed.
	LastFailure string
	// ConfigError says why sending stopped for something a person must
	// fix (a wrong URL or token, a redirect, a web page answering, an
	// untrusted certificate, every document refused), naming what to
	// change; empty when nothing did. The documents stay Pending, but the
	// next run will meet the same answer.
	ConfigError string
}

const (
	defaultConcurrency    = 4
	defaultRequestTimeout = 10 * time.Second
	defaultBackoffBase    = 500 * time.Millisecond
	defaultBackoffMax     = 30 * time.Second
	defaultUserAgent      = "afmc"

	// drainLimit bounds how much of a response body is read so the
	// connection can be reused without trusting the server's body size.
	drainLimit = 64 << 10
	// refusedLogged is how many refused documents a run logs one by one.
	refusedLogged = 5
	// excerptLimit bounds the response body excerpt put in log lines.
	excerptLimit = 200
)

// Sender posts documents to one endpoint. It is safe for concurrent use,
// but a one-shot CLI normally calls Send once.
type Sender struct {
	cfg    SenderConfig
	logURL string // userinfo removed, safe to log
	// template is copied for every request: building one from scratch
	// re-parses the URL and allocates a header map each time. Its URL and
	// Header are shared read-only, as the RoundTripper contract allows.
	template  *http.Request
	client    *http.Client
	transport *http.Transport
	pace      *paceTransport // times the requests, for the pace a run met
	log       *slog.Logger

	// tokenField is `"token":"<escaped>","timestamp":`, spliced into every document.
	tokenField []byte
	// redactor scrubs the token from anything logged.
	redactor *redactor

	now    func() time.Time                        // replaceable in tests
	jitter func(limit time.Duration) time.Duration // uniform in [0, limit]
}

// NewSender validates cfg and builds the HTTP client.
func NewSender(cfg SenderConfig) (*Sender, error) {
	u, err := ParseEndpoint(cfg.URL)
	if err != nil {
		return nil, err
	}

	if cfg.Concurrency <= 0 {
		cfg.Concurrency = defaultConcurrency
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = defaultRequestTimeout
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = defaultBackoffBase
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = defaultBackoffMax
	}
	if cfg.BackoffMax < cfg.BackoffBase {
		cfg.BackoffMax = cfg.BackoffBase
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = defaultUserAgent
	}
	if cfg.Batch < 1 {
		cfg.Batch = 1
	}

	tlsConf, err := TLSConfig(cfg.CAFile)
	if err != nil {
		return nil, err
	}

	transport := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   cfg.RequestTimeout,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		TLSClientConfig:     tlsConf,
		TLSHandshakeTimeout: cfg.RequestTimeout,
		ForceAttemptHTTP2:   true,
		MaxIdleConns:        cfg.Concurrency,
		MaxIdleConnsPerHost: cfg.Concurrency,
		// Capping connections at the concurrency keeps a busy run on a fixed
		// set of keep-alive connections instead of dialing extras while a
		// finished connection is on its way back to the idle pool.
		MaxConnsPerHost: cfg.Concurrency,
		IdleConnTimeout: 90 * time.Second,
		WriteBufferSize: 64 << 10,
		ReadBufferSize:  16 << 10,
	}
	if err := checkCompress(cfg.Compress); err != nil {
		return nil, err
	}
	pace := &paceTransport{next: transport}
	var rt http.RoundTripper = pace
	if cfg.Compress == CompressGzip {
		rt = newGzipTransport(pace)
	}
	client := &http.Client{
		Transport: rt,
		// A redirect would turn the POST into a GET and could "succeed"
		// without delivering anything; report the 3xx instead.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	tok, err := json.Marshal(cfg.Token)
	if err != nil {
		return nil, fmt.Errorf("output: encoding token: %w", err)
	}
	field := make([]byte, 0, len(tok)+24)
	field = append(field, `"token":`...)
	field = append(field, tok...)
	field = append(field, `,"timestamp":`...)

	template := &http.Request{
		Method:     http.MethodPost,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header: http.Header{
			"Content-Type": {"application/json"},
			"User-Agent":   {cfg.UserAgent},
		},
		Host: u.Host,
	}

	return &Sender{
		cfg:        cfg,
		logURL:     redactURL(u),
		template:   template,
		client:     client,
		transport:  transport,
		pace:       pace,
		log:        logger,
		tokenField: field,
		redactor:   newRedactor(cfg.Token),
		now:        time.Now,
		jitter: func(limit time.Duration) time.Duration {
			return time.Duration(rand.Int64N(int64(limit) + 1))
		},
	}, nil
}

// Close closes idle keep-alive connections.
func (s *Sender) Close() {
	s.transport.CloseIdleConnections()
}

// redactURL renders u without userinfo, which may hold credentials.
func redactURL(u *url.URL) string {
	c := *u
	if c.User != nil {
		c.User = url.User("redacted")
	}
	return c.String()
}

// Send delivers items until all are settled or ctx ends; see SendSeq.
func (s *Sender) Send(ctx context.Context, items []Item, ack func(ids []uint64, o Outcome)) SendStats {
	return s.SendSeq(ctx, slices.Values(items), ack)
}

// SendSeq delivers the items of a sequence (a spool read as it goes, say)
// until all are settled or ctx ends. Items are dispatched in order and
// rendered into request-sized batches as they come: only the batches in
// flight are held, however many items there are, and an item's Doc need
// stay valid only until the next item is pulled.
//
// ack is called with the ids of each group of items settled together (a
// request's documents, say): every id exactly once in all. Calls are
// serialized, and ids is valid only during the call, so a spool can record
// a whole request's documents with one write. Items left when the run stops
// are still pulled, to be acked Pending and counted.
func (s *Sender) SendSeq(ctx context.Context, items iter.Seq[Item], ack func(ids []uint64, o Outcome)) SendStats {
	if ack == nil {
		ack = func([]uint64, Outcome) {}
	}
	start := time.Now()
	r := &run{
		s:      s,
		ack:    ack,
		stopCh: make(chan struct{}),
		free:   make(chan *batch, s.cfg.Concurrency+1),
	}
	defer r.watchStall(ctx)()
	work := make(chan *batch)
	var wg sync.WaitGroup
	for range s.cfg.Concurrency {
		wg.Go(func() {
			for b := range work {
				r.deliver(ctx, span{b: b, lo: 0, hi: len(b.docs)})
				b.release()
			}
		})
	}

	var cur *batch
	left := make([]uint64, 0, 512) // ids not dispatched: acked Pending in groups
	stopping := false
	// keep moves the current batch's ids to left; it is not sent.
	keep := func() {
		for _, d := range cur.docs {
			left = append(left, d.id)
		}
		cur.release()
		cur = nil
	}
	dispatch := func() {
		select {
		case work <- cur:
			cur = nil
		case <-ctx.Done():
			stopping = true
			keep()
		case <-r.stopCh:
			stopping = true
			keep()
		}
	}
	for it := range items {
		if !stopping && (ctx.Err() != nil || r.stopped.Load()) {
			stopping = true
			if cur != nil {
				keep()
			}
		}
		if stopping {
			if left = append(left, it.ID); len(left) >= cap(left) {
				r.settleIDs(left, Pending)
				left = left[:0]
			}
			continue
		}
		doc := bytes.TrimSpace(it.Doc)
		if len(doc) < 2 || doc[0] != '{' || doc[len(doc)-1] != '}' {
			s.log.Error("output: document is not a JSON object, dropping it", "id", it.ID)
			r.settleIDs([]uint64{it.ID}, Rejected)
			continue
		}
		if cur == nil {
			cur = newBatch(r.free)
		}
		cur.add(it.ID, doc, s.tokenField, it.CollectedAt)
		if len(cur.docs) == s.cfg.Batch {
			dispatch()
		}
	}
	if cur != nil {
		dispatch()
	}
	close(work)
	wg.Wait()
	r.settleIDs(left, Pending)

	r.mu.Lock()
	defer r.mu.Unlock()
	if n := r.nRefused; n > refusedLogged {
		s.log.Error("output: endpoint rejected more documents", "more", n-refusedLogged)
	}
	// An endpoint that refused every document and took none is most likely
	// the wrong one (a web server's 400 for a mistyped --url): keep them.
	if !r.refused.Empty() {
		s.log.Error("output: the endpoint refused every document it was sent; keeping them for the next run: check --url", "url", s.logURL, "refused", r.nRefused)
		if r.stats.ConfigError == "" {
			r.stats.ConfigError = fmt.Sprintf("%s refused every document it was sent (%d): check --url", s.logURL, r.nRefused)
		}
		r.settleSet(&r.refused, Pending)
	}
	stats := r.stats
	// Documents left because time ran out, not because a request failed,
	// say so: an empty reason would read as "nothing went wrong".
	if stats.Pending > 0 && (ctx.Err() != nil || r.gaveUp.Load()) {
		why := fmt.Sprintf("deadline reached with %d documents left to send", stats.Pending)
		if advice := s.paceAdvice(stats, time.Since(start)); advice != "" {
			why = "deadline reached: " + advice // the endpoint's pace, and the remedy
		}
		if errors.Is(ctx.Err(), context.Canceled) {
			why = fmt.Sprintf("stopped with %d documents left to send", stats.Pending)
		}
		if stats.LastFailure == "" {
			stats.LastFailure = why
		} else {
			stats.LastFailure += "; " + why
		}
	}
	return stats
}
