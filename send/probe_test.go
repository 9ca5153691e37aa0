package send

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// connectProxy is an http proxy on loopback that answers CONNECT with
// status (200: a real tunnel to the target) and records what it was
// asked.
type connectProxy struct {
	addr   string
	status int

	mu      sync.Mutex
	targets []string
	auth    []string
}

func newConnectProxy(t *testing.T, status int) *connectProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &connectProxy{addr: ln.Addr().String(), status: status}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { p.serve(c) })
		}
	})
	return p
}

func (p *connectProxy) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil || req.Method != http.MethodConnect {
		io.WriteString(c, "HTTP/1.1 400 Bad Request\r\n\r\n")
		return
	}
	p.mu.Lock()
	p.targets = append(p.targets, req.Host)
	p.auth = append(p.auth, req.Header.Get("Proxy-Authorization"))
	p.mu.Unlock()
	if p.status != http.StatusOK {
		fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nContent-Length: 0\r\n\r\n", p.status, http.StatusText(p.status))
		return
	}
	up, err := net.Dial("tcp", req.Host)
	if err != nil {
		io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\n\r\n")
		return
	}
	defer up.Close()
	io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
	// Either side ending ends the tunnel (the endpoint keeps its side
	// open for a next request).
	done := make(chan struct{})
	go func() { io.Copy(up, c); up.Close(); c.Close(); close(done) }()
	io.Copy(c, up)
	up.Close()
	c.Close()
	<-done
}

func fixedProxy(raw string) ProxyFunc {
	return func(*http.Request) (*url.URL, error) { return url.Parse(raw) }
}

func stepNames(steps []ProbeStep) string {
	var s []string
	for _, st := range steps {
		n := st.Name
		if st.Err != nil {
			n += "!"
		}
		s = append(s, n)
	}
	return strings.Join(s, " ")
}

func tlsEndpoint(t *testing.T) (*url.URL, *tls.Config) {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	// A probe hangs up right after the handshake: not worth a log line.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return u, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// Through a proxy, check probes what the sender will use: the proxy's
// name and port, a CONNECT tunnel to the endpoint (with the proxy's
// credentials), then TLS with the endpoint through it.
func TestProbeThroughProxy(t *testing.T) {
	u, conf := tlsEndpoint(t)
	p := newConnectProxy(t, http.StatusOK)
	steps := Probe(t.Context(), u, conf, 5*time.Second, fixedProxy("http://afuser:s3cr3t-pw@"+p.addr))
	if got, want := stepNames(steps), "proxy name tcp tunnel tls"; got != want {
		t.Fatalf("steps %q, want %q: %+v", got, want, steps)
	}
	if !strings.Contains(steps[0].Detail, p.addr) || strings.Contains(steps[0].Detail, "s3cr3t-pw") {
		t.Errorf("proxy step %q: want the proxy named, its password not", steps[0].Detail)
	}
	if !strings.Contains(steps[2].Detail, "proxy "+p.addr) {
		t.Errorf("tcp step %q does not name the proxy", steps[2].Detail)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.targets) != 1 || p.targets[0] != u.Host {
		t.Errorf("proxy asked for %q, want one tunnel to %s", p.targets, u.Host)
	}
	if want := "Basic " + base64.StdEncoding.EncodeToString([]byte("afuser:s3cr3t-pw")); len(p.auth) != 1 || p.auth[0] != want {
		t.Errorf("Proxy-Authorization %q, want %q", p.auth, want)
	}
}

func TestProbeProxyFailures(t *testing.T) {
	u, conf := tlsEndpoint(t)
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()
	for _, tt := range []struct {
		name, steps, errHas string
		proxy               func(t *testing.T) ProxyFunc
	}{
		{"needs credentials", "proxy name tcp tunnel!", "407", func(t *testing.T) ProxyFunc {
			return fixedProxy("http://" + newConnectProxy(t, http.StatusProxyAuthRequired).addr)
		}},
		{"forbids the host", "proxy name tcp tunnel!", "does not allow this host", func(t *testing.T) ProxyFunc {
			return fixedProxy("http://" + newConnectProxy(t, http.StatusForbidden).addr)
		}},
		{"no proxy there", "proxy name tcp!", "cannot connect to proxy 127.0.0.1", func(*testing.T) ProxyFunc {
			return fixedProxy("http://" + deadAddr)
		}},
		{"a bad setting", "proxy!", "not a valid URL", func(*testing.T) ProxyFunc {
			return func(*http.Request) (*url.URL, error) {
				return nil, &url.Error{Op: "parse", URL: "http://u:s3cr3t-pw@bad host", Err: io.EOF}
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			steps := Probe(t.Context(), u, conf, 5*time.Second, tt.proxy(t))
			if got := stepNames(steps); got != tt.steps {
				t.Fatalf("steps %q, want %q: %+v", got, tt.steps, steps)
			}
			last := steps[len(steps)-1].Err.Error()
			if !strings.Contains(last, tt.errHas) || strings.Contains(last, "s3cr3t-pw") {
				t.Errorf("error %q: want %q in it, and no password", last, tt.errHas)
			}
		})
	}
}

// Without a proxy (or where NO_PROXY says so: a nil answer) the endpoint
// is reached directly, as before.
func TestProbeDirect(t *testing.T) {
	u, conf := tlsEndpoint(t)
	for _, proxy := range []ProxyFunc{nil, func(*http.Request) (*url.URL, error) { return nil, nil }} {
		steps := Probe(context.Background(), u, conf, 5*time.Second, proxy)
		if got, want := stepNames(steps), "name tcp tls"; got != want {
			t.Errorf("steps %q, want %q: %+v", got, want, steps)
		}
	}
}
