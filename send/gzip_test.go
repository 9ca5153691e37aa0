package send

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// gunzipSink is the recording sink answering only gzip bodies
// (Content-Encoding: gzip), which it decodes as Logstash's http input
// does. fail500 answers the first n requests with a 500, to make the
// sender retry. It counts the compressed bytes of the requests accepted.
func gunzipSink(t *testing.T, fail500 int64) (*sink, *atomic.Int64) {
	t.Helper()
	var compressed atomic.Int64
	s := newSink(t, func(n int64, w http.ResponseWriter, r *http.Request, _ []json.RawMessage) bool {
		switch {
		case r.Header.Get("Content-Encoding") != "gzip":
			http.Error(w, "want gzip", http.StatusUnsupportedMediaType)
			return true
		case n <= fail500:
			http.Error(w, "busy", http.StatusInternalServerError)
			return true
		}
		compressed.Add(r.ContentLength)
		return false
	})
	return s, &compressed
}

// With --compress gzip every body is gzipped and says so; a retried
// request sends the same documents, compressed, once delivered.
func TestSendGzip(t *testing.T) {
	for _, batch := range []int{1, 50} {
		t.Run(fmt.Sprintf("batch %d", batch), func(t *testing.T) {
			s, compressed := gunzipSink(t, 3)
			cfg := testConfig(s.URL)
			cfg.Batch, cfg.Compress = batch, CompressGzip
			items := makeItems(200)
			stats := newSender(t, cfg).Send(context.Background(), items, nil)
			if stats.Delivered != len(items) || stats.Retries == 0 {
				t.Fatalf("stats %+v", stats)
			}
			checkOnce(t, s, testToken, len(items), everyDoc)
			raw := 0
			for i := range items {
				raw += len(wantDoc(testToken, i))
			}
			if batch > 1 && compressed.Load()*4 > int64(raw) {
				t.Errorf("%d bytes sent for %d of documents: not compressed", compressed.Load(), raw)
			}
		})
	}
}

func TestSendCompressSetting(t *testing.T) {
	for _, c := range []string{"", "none", "gzip"} {
		cfg := testConfig("http://127.0.0.1:1/")
		cfg.Compress = c
		if _, err := NewSender(cfg); err != nil {
			t.Errorf("--compress %q: %v", c, err)
		}
	}
	cfg := testConfig("http://127.0.0.1:1/")
	cfg.Compress = "zstd"
	if _, err := NewSender(cfg); err == nil || !strings.Contains(err.Error(), `--compress "zstd": want gzip or none`) {
		t.Errorf("--compress zstd: %v", err)
	}
}

// A run whose deadline comes before the endpoint, answering every request
// but slowly, has taken its documents says so, with the pace measured and
// what would carry them.
func TestSendPaceAdvice(t *testing.T) {
	for _, tt := range []struct {
		batch  int
		remedy string
	}{{1, "--batch 500"}, {500, "--max-in-flight 4"}} {
		t.Run(tt.remedy, func(t *testing.T) {
			s := newSink(t, func(_ int64, _ http.ResponseWriter, _ *http.Request, _ []json.RawMessage) bool {
				time.Sleep(20 * time.Millisecond) // a distant endpoint
				return false
			})
			cfg := testConfig(s.URL)
			cfg.Batch, cfg.Concurrency = tt.batch, 2
			snd := newSender(t, cfg)
			items := makeItems(20 * tt.batch * 10)
			ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
			defer cancel()
			stats := snd.Send(ctx, items, nil)
			if stats.Pending == 0 || stats.Delivered == 0 {
				t.Fatalf("stats %+v: want a run cut short by its deadline", stats)
			}
			m := regexp.MustCompile("^deadline reached: ([0-9,]+) documents left; at this endpoint's pace \\(([0-9,]+) a second\\) a run delivers about ([0-9,]+); `" +
				regexp.QuoteMeta(tt.remedy) + "` sends them in about (\\S+)$").FindStringSubmatch(stats.LastFailure)
			if m == nil {
				t.Fatalf("last failure %q", stats.LastFailure)
			}
			if left := atoi(t, m[1]); left != stats.Pending {
				t.Errorf("says %d left, stats %d", left, stats.Pending)
			}
			// The estimate is the requests the remedy needs, each the
			// round trip measured, in flight side by side.
			batch, inFlight := 500, 2
			if tt.batch >= 500 {
				batch, inFlight = tt.batch, 4
			}
			want := time.Duration((stats.Pending+batch-1)/batch) * snd.pace.roundTrip() / time.Duration(inFlight)
			if got, err := time.ParseDuration(m[4]); err != nil || got < want/2 || got > want*2 {
				t.Errorf("about %s, want about %s (%v)", m[4], want, err)
			}
			if pace, delivers := atoi(t, m[2]), atoi(t, m[3]); pace <= 0 || delivers < stats.Delivered/2 || delivers > stats.Delivered*2 {
				t.Errorf("pace %d, delivers %d for %d delivered", pace, delivers, stats.Delivered)
			}
		})
	}
}

// An endpoint that fails is the reason documents are left: no pace
// advice then.
func TestSendNoPaceAdviceForFailures(t *testing.T) {
	s := newSink(t, func(n int64, w http.ResponseWriter, _ *http.Request, _ []json.RawMessage) bool {
		if n%2 == 0 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	cfg := testConfig(s.URL)
	snd, items := newSender(t, cfg), makeItems(20000)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	stats := snd.Send(ctx, items, nil)
	if stats.Pending == 0 || strings.Contains(stats.LastFailure, "pace") || !strings.Contains(stats.LastFailure, "HTTP 503") {
		t.Errorf("stats %+v", stats)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.ReplaceAll(s, ",", ""))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestGroupDigits(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 190676: "190,676", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := groupDigits(n); got != want {
			t.Errorf("%d: %q, want %q", n, got, want)
		}
	}
}
