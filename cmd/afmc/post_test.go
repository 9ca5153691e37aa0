package main

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atlas-af/afmc/internal/logstashfake"
	"github.com/atlas-af/afmc/internal/testrand"
	"github.com/atlas-af/afmc/spool"
)

const testToken = "tok-5tKC%>f&%#hg-secret"

// Sink behaviours.
const (
	sinkOK = iota
	sinkFail500
	sinkTooMany // 429 with a Retry-After beyond the run's deadline
	sinkHang
	sinkReset
	sinkFlaky // 500 for about a third of the requests
)

// sink is the fake Logstash endpoint (internal/logstashfake) with the
// behaviours the binary's tests switch between, and answer: when set, it
// answers a request itself (a web page, a redirect) when it returns true;
// what it answers is not accepted.
type sink struct {
	*logstashfake.Sink
	srv      *httptest.Server
	mode     atomic.Int32
	hungOnce sync.Once
	hung     chan struct{}  // closed when the first request hangs
	rnd      *testrand.Rand // which requests sinkFlaky fails
	answer   atomic.Pointer[func(http.ResponseWriter, *http.Request) bool]
}

func newSink(t *testing.T) *sink { return startSink(t, false) }

// newTLSSink serves HTTPS with a certificate of its own CA.
func newTLSSink(t *testing.T) *sink { return startSink(t, true) }

func startSink(t *testing.T, tls bool) *sink {
	s := &sink{hung: make(chan struct{}), rnd: testrand.New(t)}
	start := logstashfake.New
	if tls {
		start = logstashfake.NewTLS
	}
	s.Sink = start(t, s.fault)
	s.srv = s.Server()
	return s
}

// fault answers a request as the mode says, or lets the sink accept it.
func (s *sink) fault(_ int64, w http.ResponseWriter, r *http.Request, _ []json.RawMessage) bool {
	if f := s.answer.Load(); f != nil && (*f)(w, r) {
		return true
	}
	switch s.mode.Load() {
	case sinkFail500:
		http.Error(w, "pipeline busy", http.StatusInternalServerError)
	case sinkTooMany:
		w.Header().Set("Retry-After", "3600")
		http.Error(w, "slow down", http.StatusTooManyRequests)
	case sinkHang:
		s.hungOnce.Do(func() { close(s.hung) })
		select {
		case <-s.Released():
		case <-r.Context().Done():
		}
	case sinkReset:
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
		}
	case sinkFlaky:
		if s.rnd.IntN(3) != 0 {
			return false
		}
		http.Error(w, "flaky", http.StatusBadGateway)
	default:
		return false
	}
	return true
}

// waitClosed waits until every connection to the sink has ended.
func (s *sink) waitClosed() { s.WaitClosed() }

// received is the accepted documents, raw, in arrival order.
func (s *sink) received() []string { return s.Docs() }

// requests is how many requests arrived, answered or not.
func (s *sink) requests() int { return int(s.Requests()) }

// countDocs counts the accepted documents by their body without what the
// sender adds, to compare with printed ones.
func (s *sink) countDocs(t *testing.T) map[string]int {
	seen := map[string]int{}
	for _, raw := range s.received() {
		doc, _, _ := stripSent(t, raw)
		seen[doc]++
	}
	return seen
}

// postEnv is a fixture environment posting to the sink.
func postEnv(t *testing.T, s *sink) (string, map[string]string) {
	dir, env := hostFixture(t)
	env["AFMC_URL"] = s.srv.URL
	env["AFMC_TOKEN"] = testToken
	return dir, env
}

// stripSent removes what the sender adds, to compare with printed documents.
func stripSent(t *testing.T, raw string) (doc string, token string, ts int64) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatalf("sink got %q: %v", raw, err)
	}
	token, _ = m["token"].(string)
	f, _ := m["timestamp"].(float64)
	i := strings.Index(raw, `,"token":`)
	if i < 0 {
		t.Fatalf("no token in %s", raw)
	}
	return raw[:i] + "}", token, int64(f)
}

func noSecrets(t *testing.T, r result) {
	t.Helper()
	if strings.Contains(r.stdout, testToken) || strings.Contains(r.stderr, testToken) || strings.Contains(r.stderr, "5tKC") {
		t.Errorf("the token leaked:\nstdout %s\nstderr %s", r.stdout, r.stderr)
	}
}

func TestPostDeliversEveryDocumentOnce(t *testing.T) {
	for _, batch := range []string{"1", "3"} {
		t.Run("batch="+batch, func(t *testing.T) {
			s := newSink(t)
			dir, env := postEnv(t, s)
			before := time.Now().UnixMilli()
			// Every filesystem of the fixture: 9 documents.
			r := runBin(t, env, "collect", "host", "--all-mounts", "--json", "--post", "--batch", batch, "--log-level", "debug")
			noSecrets(t, r)
			if r.code != exitOK {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			printed := strings.Split(strings.TrimSpace(r.stdout), "\n")
			got := s.received()
			if len(got) != len(printed) || len(printed) != 9 {
				t.Fatalf("printed %d documents, sink accepted %d", len(printed), len(got))
			}
			seen := map[string]int{}
			for _, raw := range got {
				doc, token, ts := stripSent(t, raw)
				if token != testToken {
					t.Errorf("token %q", token)
				}
				if ts < before || ts > time.Now().UnixMilli() {
					t.Errorf("timestamp %d is not the collection time", ts)
				}
				if !strings.Contains(doc, `"cluster":"TEST-AF"`) || strings.Contains(doc, `"host"`) {
					t.Errorf("document %s", doc)
				}
				seen[doc]++
			}
			for _, p := range printed {
				if seen[p] != 1 {
					t.Errorf("%s arrived %d times", p, seen[p])
				}
			}
			if batch == "3" && s.requests() != 3 {
				t.Errorf("%d requests for 9 documents in batches of 3", s.requests())
			}
			if _, err := os.Stat(filepath.Join(dir, "state", spool.SpoolName)); !os.IsNotExist(err) {
				t.Errorf("spool left after full delivery: %v", err)
			}
		})
	}
}

func TestPostQuietByDefault(t *testing.T) {
	s := newSink(t)
	_, env := postEnv(t, s)
	r := runBin(t, env, "collect", "cpu", "mem", "--post")
	if r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Errorf("a cron run must print nothing: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if len(s.received()) != 2 {
		t.Errorf("sink got %d documents", len(s.received()))
	}
	r = runBin(t, env, "collect", "cpu", "--post", "-v")
	if !strings.Contains(r.stderr, `msg="run finished" collected=1 sent=1 spooled=0 dropped=0`) {
		t.Errorf("-v summary missing: %s", r.stderr)
	}
}

// Whatever goes wrong at the endpoint, the documents wait in the spool and
// the next run delivers them: none lost, none twice.
func TestPostFaultsThenRecovery(t *testing.T) {
	for _, tt := range []struct {
		name string
		mode int32
	}{
		{"500", sinkFail500},
		{"429 Retry-After", sinkTooMany},
		{"hang", sinkHang},
		{"reset", sinkReset},
		{"not listening", -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newSink(t)
			_, env := postEnv(t, s)
			if tt.mode < 0 {
				// A port nothing listens on.
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				env["AFMC_URL"] = "http://" + l.Addr().String() + "/"
				l.Close()
			} else {
				s.mode.Store(tt.mode)
			}
			r1 := runBin(t, env, "collect", "cpu", "mem", "disk", "--json", "--post", "--timeout", "1500ms", "--request-timeout", "300ms")
			noSecrets(t, r1)
			if r1.code != exitUndelivered {
				t.Fatalf("failing endpoint: exit %d, want %d: %s", r1.code, exitUndelivered, r1.stderr)
			}
			if !strings.Contains(r1.stderr, "documents kept in the spool for the next run") {
				t.Errorf("stderr does not say where the documents are: %s", r1.stderr)
			}
			if n := len(s.received()); n != 0 {
				t.Fatalf("sink accepted %d documents while failing", n)
			}

			env["AFMC_URL"] = s.srv.URL
			s.mode.Store(sinkOK)
			// One request at a time, so arrival order is sending order.
			r2 := runBin(t, env, "collect", "cpu", "--json", "--post", "--max-in-flight", "1")
			if r2.code != exitOK {
				t.Fatalf("after recovery: exit %d: %s", r2.code, r2.stderr)
			}
			got := s.received()
			want := strings.Split(strings.TrimSpace(r1.stdout+r2.stdout), "\n")
			if len(got) != len(want) {
				t.Fatalf("sink has %d documents, %d were collected", len(got), len(want))
			}
			// Oldest first: the spooled ones, then this run's.
			for i, raw := range got {
				doc, _, _ := stripSent(t, raw)
				if doc != want[i] {
					t.Errorf("document %d: got %s, want %s", i, doc, want[i])
				}
			}
		})
	}
}

// A run killed while it posts: the next run delivers everything it had.
func TestPostKilledWhilePosting(t *testing.T) {
	s := newSink(t)
	dir, env := postEnv(t, s)
	s.mode.Store(sinkHang)
	cmd := exec.Command(afmcBin, "collect", "cpu", "mem", "disk", "--all-mounts", "--json", "--post")
	cmd.Env = envList(env)
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	<-s.hung // it is posting now
	cmd.Process.Kill()
	cmd.Wait()
	s.waitClosed() // a request of the dead run read after this would be accepted
	printed := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(printed) != 9 {
		t.Fatalf("killed run printed %d documents", len(printed))
	}

	s.mode.Store(sinkOK)
	writeAtomic(t, filepath.Join(dir, "proc", "loadavg"), "2.50 1.00 1.00 1/100 1\n") // tells this run's CPU document apart
	r := runBin(t, env, "collect", "cpu", "--post")
	if r.code != exitOK {
		t.Fatalf("next run: exit %d: %s", r.code, r.stderr)
	}
	seen := s.countDocs(t)
	for _, p := range printed {
		if seen[p] != 1 {
			t.Errorf("%s delivered %d times", p, seen[p])
		}
	}
}

// Runs killed at random moments (collecting, spooling, saving, posting)
// against a flaky endpoint, while the network counters grow: once the spool
// drains, the NETWORK documents the sink accepted add up to the counters'
// growth exactly. Nothing lost, no interval counted twice.
func TestPostKillsLoseNothing(t *testing.T) {
	s := newSink(t)
	dir, env := postEnv(t, s)
	devPath := filepath.Join(dir, "proc", "net", "dev")
	upPath := filepath.Join(dir, "proc", "uptime")
	step := func(i uint64) {
		writeAtomic(t, devPath, netDev(1000+i*1500, 2000+i*700, 3000+i*11, 4000+i*13))
		writeAtomic(t, upPath, strings.TrimSpace(strings.Repeat(" ", 0))+formatUptime(1000+float64(i)*0.5))
	}
	step(0)
	args := []string{"collect", "network", "cpu", "--post", "--timeout", "2s", "--request-timeout", "200ms"}
	if r := runBin(t, env, args...); r.code != exitOK {
		t.Fatalf("baseline: exit %d: %s", r.code, r.stderr)
	}
	stateDir := env["AFMC_STATE_DIR"]
	base := savedNetwork(t, stateDir)

	start := time.Now()
	runBin(t, env, args...)
	whole := time.Since(start)

	s.mode.Store(sinkFlaky)
	for i := uint64(1); i <= 40; i++ {
		step(i)
		cmd := exec.Command(afmcBin, args...)
		cmd.Env = envList(env)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if i%4 != 0 { // every fourth run is left to finish
			time.Sleep(time.Duration(s.rnd.Int64N(int64(whole) * 2))) // where the kill lands, not synchronisation
			cmd.Process.Kill()
		}
		cmd.Wait()
	}
	s.mode.Store(sinkOK)
	step(41)
	var r result
	for i := 0; i < 3; i++ { // a run drains what it can within its deadline
		if r = runBin(t, env, args...); r.code == exitOK {
			break
		}
	}
	if r.code != exitOK {
		t.Fatalf("final run: exit %d: %s", r.code, r.stderr)
	}
	final := savedNetwork(t, stateDir)

	unique := map[string]bool{}
	var sent, recv uint64
	for _, raw := range s.received() {
		if unique[raw] || !strings.Contains(raw, `"kind":"NETWORK"`) {
			unique[raw] = true
			continue // a repeat: the server accepted it, its answer was lost with the killed run
		}
		unique[raw] = true
		var d struct {
			Network struct{ Sent, Received uint64 }
		}
		json.Unmarshal([]byte(raw), &d)
		sent += d.Network.Sent
		recv += d.Network.Received
	}
	bs, br := sums(base)
	fs, fr := sums(final)
	if sent != fs-bs || recv != fr-br {
		t.Errorf("accepted NETWORK documents add up to sent %d, received %d; the counters grew by %d and %d", sent, recv, fs-bs, fr-br)
	}
}

func formatUptime(v float64) string {
	b, _ := json.Marshal(v)
	return string(b) + " 0\n"
}

func TestSpoolBoundsDropOldestAndSayHowMany(t *testing.T) {
	s := newSink(t)
	_, env := postEnv(t, s)
	s.mode.Store(sinkFail500)
	// --timeout leaves a loaded machine time to collect before it gives up sending.
	args := []string{"collect", "cpu", "--post", "--timeout", "2s", "--request-timeout", "200ms", "--spool-max-bytes", "200"}
	var last result
	for i := 0; i < 4; i++ {
		last = runBin(t, env, args...)
		if last.code != exitUndelivered {
			t.Fatalf("run %d: exit %d: %s", i, last.code, last.stderr)
		}
	}
	// A CPU document is about 80 bytes: 200 bytes keep two of them.
	if !strings.Contains(last.stderr, "dropping the oldest documents to stay under --spool-max-bytes") || !strings.Contains(last.stderr, "documents=1") {
		t.Errorf("drops not reported: %s", last.stderr)
	}
	s.mode.Store(sinkOK)
	r := runBin(t, env, "collect", "cpu", "--post", "-v", "--spool-max-bytes", "200")
	if r.code != exitUndelivered { // one document was dropped: not everything was delivered
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	// The bound holds with this run's document too: the newest two go.
	got := s.received()
	if len(got) != 2 || !strings.Contains(r.stderr, "dropped=1") {
		t.Errorf("sink got %d documents, want the newest two; summary: %s", len(got), r.stderr)
	}
}

// A record spooled by a run killed before it saved its state must never be
// sent, even when a run without --post saves the state in between.
func TestUncommittedRecordsNeverSent(t *testing.T) {
	s := newSink(t)
	dir, env := postEnv(t, s)
	if r := runBin(t, env, "collect", "cpu", "--json"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	// As a killed run leaves it: one committed record, a delta of a
	// generation no save has reached, and a torn line.
	spool := filepath.Join(dir, "state", spool.SpoolName)
	at := time.Now().Add(-time.Hour).UnixMilli()
	content := fmt.Sprintf(`{"id":1,"gen":1,"t":%d,"doc":{"kind":"CPU","cluster":"TEST-AF","load":9.99}}`+"\n"+
		`{"id":2,"gen":18446744073709551615,"t":%d,"delta":true,"doc":{"kind":"NETWORK","cluster":"TEST-AF","network":{"interval":300,"sent":1,"received":2}}}`+"\n"+
		`{"id":3,"gen":1,"t":17000`, at, at+1)
	if err := os.WriteFile(spool, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runBin(t, env, "collect", "cpu", "--json", "-v"); r.code != 0 || !strings.Contains(r.stderr, "discarding the delta documents of a run stopped before it saved its state") {
		t.Fatalf("run without --post: exit %d, stderr %s", r.code, r.stderr)
	}
	r := runBin(t, env, "collect", "mem", "--post")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	got := strings.Join(s.received(), "\n")
	if strings.Contains(got, "NETWORK") {
		t.Errorf("an uncommitted record was sent: %s", got)
	}
	if !strings.Contains(got, `"load":9.99`) || !strings.Contains(got, fmt.Sprintf(`"timestamp":%d`, at)) || strings.Count(got, "\n") != 1 {
		t.Errorf("want the committed record, with its collection time, and this run's MEM: %s", got)
	}
}

// TLS verification is always on: an unknown CA keeps the documents in the
// spool; --ca-file trusts a site CA.
func TestPostTLSWithSiteCA(t *testing.T) {
	s := newTLSSink(t)
	dir, env := postEnv(t, s)
	r := runBin(t, env, "collect", "cpu", "--post", "--timeout", "2s")
	// A site CA to give: a person's to fix.
	if r.code != exitNeedsPerson || !strings.Contains(r.stderr, "certificate") || !strings.Contains(r.stderr, "--ca-file") {
		t.Fatalf("unknown CA: exit %d, stderr %s", r.code, r.stderr)
	}
	if len(s.received()) != 0 {
		t.Fatal("delivered over an unverified connection")
	}
	ca := filepath.Join(dir, "site-ca.pem")
	block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
	if err := os.WriteFile(ca, block, 0o644); err != nil {
		t.Fatal(err)
	}
	r = runBin(t, env, "collect", "cpu", "--post", "--ca-file", ca)
	if r.code != exitOK || len(s.received()) != 2 {
		t.Errorf("with --ca-file: exit %d, %d documents delivered, stderr %s", r.code, len(s.received()), r.stderr)
	}

	// A CA file holding no certificate is a usage error, found before
	// anything is collected.
	os.WriteFile(ca, []byte("not a certificate"), 0o644)
	r = runBin(t, env, "collect", "cpu", "--post", "--ca-file", ca)
	if r.code != exitUsage || !strings.Contains(r.stderr, ca) {
		t.Errorf("bad CA file: exit %d, stderr %s", r.code, r.stderr)
	}
}

// A run that cannot get the lock (another is still sending to a slow
// endpoint) leaves its documents in the spool inbox; the next run sends
// them. Nothing is lost, nothing sent twice.
func TestLockedOutRunLeavesDocumentsForTheNext(t *testing.T) {
	s := newSink(t)
	dir, env := postEnv(t, s)
	s.mode.Store(sinkHang)
	holder := exec.Command(afmcBin, "collect", "mem", "--post", "--timeout", "1m")
	holder.Env = envList(env)
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	<-s.hung // the holder is sending, under the lock

	writeAtomic(t, filepath.Join(dir, "proc", "loadavg"), "3.25 1.00 1.00 1/100 1\n")
	r := runBin(t, env, "collect", "cpu", "--json", "--post", "--lock-timeout", "50ms")
	if r.code != exitLocked || !strings.Contains(r.stderr, "documents left in the spool inbox") {
		t.Fatalf("locked out: exit %d, stderr %s", r.code, r.stderr)
	}
	// Cron mails whatever is printed: one warning for what heals by itself.
	if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "level=WARN") {
		t.Errorf("locked out: want one warning line, got %q", r.stderr)
	}
	locked := strings.TrimSpace(r.stdout)

	holder.Process.Kill()
	holder.Wait()
	s.waitClosed()
	s.mode.Store(sinkOK)
	r = runBin(t, env, "collect", "disk", "--mount", "/data", "--post")
	if r.code != exitOK {
		t.Fatalf("next run: exit %d: %s", r.code, r.stderr)
	}
	seen := s.countDocs(t)
	if seen[locked] != 1 {
		t.Errorf("the locked-out run's %s arrived %d times; sink got %v", locked, seen[locked], seen)
	}
	if len(seen) != 3 { // its CPU, the killed holder's MEM, this run's DISK
		t.Errorf("sink got %d distinct documents, want 3: %v", len(seen), seen)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "state", "spool.inbox-*")); len(m) != 0 {
		t.Errorf("inbox files left: %v", m)
	}
}
