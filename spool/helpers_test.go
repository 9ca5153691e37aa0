package spool

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/atlas-af/afmc/internal/logstashfake"
	"github.com/atlas-af/afmc/internal/safedir"
	"github.com/atlas-af/afmc/internal/sendtest"
	"github.com/atlas-af/afmc/send"
)

// The sender's test kit, under the names these tests have always used.
const testToken = sendtest.Token

func makeItems(n int) []send.Item                                { return sendtest.Items(n) }
func testConfig(u string) send.SenderConfig                      { return sendtest.Config(u) }
func newSender(t *testing.T, cfg send.SenderConfig) *send.Sender { return sendtest.NewSender(t, cfg) }
func newAckRecorder(t *testing.T) *sendtest.Acks                 { return sendtest.NewAcks(t) }
func all(o send.Outcome) func(int) send.Outcome                  { return sendtest.All(o) }
func everyDoc(int) bool                                          { return true }

func newSink(t *testing.T, intercept logstashfake.Intercept) *logstashfake.Sink {
	return logstashfake.New(t, intercept)
}

func checkOnce(t *testing.T, s *logstashfake.Sink, token string, n int, delivered func(int) bool) {
	t.Helper()
	sendtest.CheckOnce(t, s, token, n, delivered)
}

// openDir opens the state dir at path as a run does, closed when the test
// ends.
func openDir(t testing.TB, path string) *safedir.Dir {
	t.Helper()
	d, err := safedir.OpenDir(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// WriteInbox stores items, fsynced, in a new inbox file in dir.
func WriteInbox(dir string, items []send.Item, now time.Time) (string, error) {
	for _, it := range items {
		if err := checkDoc(it.Doc); err != nil {
			return "", fmt.Errorf("inbox: %w", err)
		}
	}
	b, err := NewInbox(dir, now)
	if err != nil {
		return "", err
	}
	for _, it := range items {
		if err := b.Add(it); err != nil {
			b.Abort()
			return "", err
		}
	}
	return b.Commit()
}

// Pending lists what is waiting to be sent, oldest first, as Items does,
// with copies of the documents. It holds them all: for tests and small
// spools.
func (s *Spool) Pending(committed uint64) []send.Item {
	var items []send.Item
	for it := range s.Items(committed) {
		it.Doc = slices.Clone(it.Doc)
		items = append(items, it)
	}
	return items
}
