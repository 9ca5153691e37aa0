// Package sendtest is what the tests of the sender's callers (the spool,
// the runner) share: numbered items whose delivery can be checked, a
// sender configured for loopback, and a recorder of acks.
package sendtest

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atlas-af/afmc/internal/logstashfake"
	"github.com/atlas-af/afmc/send"
)

// Token is the token the tests send with: quotes, angle brackets and a
// backslash, so an escaping mistake shows.
const Token = `s3cr3t"tok<&>\en`

var baseTime = time.Date(2024, 5, 17, 12, 30, 0, 0, time.UTC)

// Items returns n documents whose fields are deliberately not in sorted
// order, so a re-encoding sender would be caught.
func Items(n int) []send.Item {
	items := make([]send.Item, n)
	for i := range items {
		items[i] = send.Item{
			ID:          uint64(1000 + i),
			Doc:         fmt.Appendf(nil, `{"seq":%d,"name":"node-%d","z":1,"a":{"y":2,"b":[1,2]}}`, i, i),
			CollectedAt: baseTime.Add(time.Duration(i)*time.Millisecond + 987654*time.Nanosecond),
		}
	}
	return items
}

// WantDoc is what the sink must receive for Items(...)[i].
func WantDoc(token string, i int) string {
	tok, _ := json.Marshal(token)
	ms := baseTime.Add(time.Duration(i) * time.Millisecond).UnixMilli()
	return fmt.Sprintf(`{"seq":%d,"name":"node-%d","z":1,"a":{"y":2,"b":[1,2]},"token":%s,"timestamp":%d}`, i, i, tok, ms)
}

// Config is a sender to u with short backoffs.
func Config(u string) send.SenderConfig {
	return send.SenderConfig{
		URL:            u,
		Token:          Token,
		Concurrency:    4,
		RequestTimeout: 5 * time.Second,
		BackoffBase:    time.Millisecond,
		BackoffMax:     5 * time.Millisecond,
	}
}

// NewSender builds a sender closed at the test's end.
func NewSender(t testing.TB, cfg send.SenderConfig) *send.Sender {
	t.Helper()
	s, err := send.NewSender(cfg)
	if err != nil {
		t.Fatalf("NewSender: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Acks checks that ack is called once per item and never concurrently.
// It deliberately uses a plain map: concurrent calls would trip -race.
type Acks struct {
	t   testing.TB
	in  atomic.Bool
	Got map[uint64]send.Outcome
}

// NewAcks is an empty recorder.
func NewAcks(t testing.TB) *Acks {
	return &Acks{t: t, Got: make(map[uint64]send.Outcome)}
}

// Ack is the sender's ack function.
func (a *Acks) Ack(ids []uint64, o send.Outcome) {
	if !a.in.CompareAndSwap(false, true) {
		a.t.Error("ack called concurrently")
	}
	defer a.in.Store(false)
	if len(ids) == 0 {
		a.t.Error("ack called with no ids")
	}
	for _, id := range ids {
		if prev, ok := a.Got[id]; ok {
			a.t.Errorf("ack called twice for id %d: %v then %v", id, prev, o)
		}
		a.Got[id] = o
	}
}

// Check asserts every item got exactly the outcome want returns for it.
func (a *Acks) Check(items []send.Item, want func(i int) send.Outcome) {
	a.t.Helper()
	if len(a.Got) != len(items) {
		a.t.Errorf("acked %d ids, want %d", len(a.Got), len(items))
	}
	for i, it := range items {
		got, ok := a.Got[it.ID]
		if !ok {
			a.t.Errorf("item %d (id %d) never acked", i, it.ID)
			continue
		}
		if w := want(i); got != w {
			a.t.Errorf("item %d (id %d): outcome %v, want %v", i, it.ID, got, w)
		}
	}
}

// All is the same outcome for every item.
func All(o send.Outcome) func(int) send.Outcome { return func(int) send.Outcome { return o } }

// CheckOnce asserts the sink received exactly the documents of Items(n)
// for which delivered(i) holds, each exactly once, and nothing wrong.
func CheckOnce(t testing.TB, s *logstashfake.Sink, token string, n int, delivered func(i int) bool) {
	t.Helper()
	got := s.Got()
	want := 0
	for i := range n {
		c := got[WantDoc(token, i)]
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
	}
	for _, m := range s.BadMeta() {
		t.Errorf("bad request: %s", m)
	}
}
