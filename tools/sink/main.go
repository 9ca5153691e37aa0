// Command sink is a loopback endpoint for afmc's delivery benchmarks: it
// answers every POST with 200 after -delay (the round trip to a far
// endpoint), decodes gzip bodies as Logstash's http input does, and when
// it is stopped (SIGTERM or SIGINT) prints what it got:
//
//	DOCUMENTS REQUESTS BYTES SECONDS
//
// BYTES as received (compressed or not), SECONDS from the first request's
// arrival to the last answer. It listens on loopback only.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	delay := flag.Duration("delay", 0, "how long each answer takes")
	urlFile := flag.String("url-file", "", "write the sink's URL to this file once it listens")
	flag.Parse()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "sink:", err)
		os.Exit(1)
	}
	var docs, requests, size atomic.Int64
	var mu sync.Mutex
	var first, last time.Time
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		mu.Lock()
		if first.IsZero() {
			first = start
		}
		mu.Unlock()
		b, _ := io.ReadAll(r.Body)
		size.Add(int64(len(b)))
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err == nil {
				b, err = io.ReadAll(zr)
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		}
		n := int64(1)
		if bytes.HasPrefix(b, []byte("[")) {
			n = int64(bytes.Count(b, []byte(`"token":`)))
		}
		time.Sleep(*delay)
		docs.Add(n)
		requests.Add(1)
		w.WriteHeader(http.StatusOK)
		mu.Lock()
		last = time.Now()
		mu.Unlock()
	})}
	url := "http://" + ln.Addr().String() + "/"
	if *urlFile != "" {
		if err := os.WriteFile(*urlFile, []byte(url), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, "sink:", err)
			os.Exit(1)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go srv.Serve(ln)
	<-ctx.Done()
	srv.Close()
	mu.Lock()
	span := last.Sub(first)
	mu.Unlock()
	w := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(w, "%d %d %d %.3f\n", docs.Load(), requests.Load(), size.Load(), span.Seconds())
	w.Flush()
}
