// Command sink is a loopback endpoint for afmc's delivery benchmarks: it
// answers every POST with 200 after -delay (the round trip to a far
// endpoint), counts the documents it got, and prints the count when it is
// stopped (SIGTERM or SIGINT). It listens on loopback only.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
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
	var docs atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		n := int64(1)
		if bytes.HasPrefix(b, []byte("[")) {
			n = int64(bytes.Count(b, []byte(`"token":`)))
		}
		time.Sleep(*delay)
		docs.Add(n)
		w.WriteHeader(http.StatusOK)
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
	w := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(w, "%d\n", docs.Load())
	w.Flush()
}
