package send

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ProbeStep is one step of reaching the endpoint.
type ProbeStep struct {
	Name   string // "proxy", "name", "tcp", "tunnel", "tls"
	Err    error
	Detail string
}

// ProxyFunc picks the proxy for a request as http.Transport.Proxy does
// (http.ProxyFromEnvironment is the sender's); a nil URL means direct.
type ProxyFunc func(*http.Request) (*url.URL, error)

// maxProxyAnswer bounds what a proxy may say to a CONNECT.
const maxProxyAnswer = 64 << 10

// Probe reaches the endpoint as the sender would, a step at a time, and
// sends nothing: Logstash makes an event of any request, even a HEAD. It
// stops at the first step that fails. Through a proxy (proxy's answer for
// u), the name and the connection are the proxy's, and an https endpoint
// is reached through a CONNECT tunnel, as the sender's transport does: a
// login node that reaches the world only through a proxy is not told
// that the endpoint does not resolve.
func Probe(ctx context.Context, u *url.URL, conf *tls.Config, timeout time.Duration, proxy ProxyFunc) []ProbeStep {
	host, port := u.Hostname(), portOf(u)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var steps []ProbeStep
	var via *url.URL
	if proxy != nil {
		p, err := proxy(&http.Request{Method: http.MethodPost, URL: u, Header: http.Header{}})
		if err != nil {
			// The error quotes the setting, which may hold a password.
			return append(steps, ProbeStep{Name: "proxy", Err: fmt.Errorf("the proxy setting for %s (HTTPS_PROXY, HTTP_PROXY or ALL_PROXY) is not a valid URL", u.Scheme)})
		}
		if p != nil {
			via = p
			steps = append(steps, ProbeStep{Name: "proxy", Detail: "through " + redactURL(p) + " (the proxy environment: HTTPS_PROXY, HTTP_PROXY, NO_PROXY)"})
		}
	}
	dialHost, dialPort, what := host, port, ""
	if via != nil {
		dialHost, dialPort, what = via.Hostname(), portOf(via), "proxy "
	}

	if net.ParseIP(dialHost) != nil {
		steps = append(steps, ProbeStep{Name: "name", Detail: what + dialHost + " is an address: nothing to resolve"})
	} else {
		addrs, err := net.DefaultResolver.LookupHost(ctx, dialHost)
		if err != nil {
			return append(steps, ProbeStep{Name: "name", Err: fmt.Errorf("%s%s does not resolve: %w", what, dialHost, err)})
		}
		steps = append(steps, ProbeStep{Name: "name", Detail: what + dialHost + " is " + strings.Join(addrs, ", ")})
	}
	start := time.Now()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(dialHost, dialPort))
	if err != nil {
		return append(steps, ProbeStep{Name: "tcp", Err: fmt.Errorf("cannot connect to %s%s port %s (a firewall, or no server there?): %w", what, dialHost, dialPort, err)})
	}
	defer conn.Close()
	steps = append(steps, ProbeStep{Name: "tcp", Detail: fmt.Sprintf("connected to %s%s in %s", what, conn.RemoteAddr(), time.Since(start).Round(time.Millisecond))})
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if u.Scheme != "https" {
		// No TLS to try (a plain request goes to a proxy as it is).
		// Whether plain http is allowed is the caller's rule (afmc's
		// --insecure-http), not the probe's.
		return steps
	}
	if via != nil {
		if via.Scheme != "http" {
			return append(steps, ProbeStep{Name: "tunnel", Detail: "a " + via.Scheme + " proxy: the tunnel and TLS are not probed"})
		}
		st := tunnel(conn, via, net.JoinHostPort(host, port))
		if steps = append(steps, st); st.Err != nil {
			return steps
		}
	}
	c := conf.Clone()
	c.ServerName = host
	tc := tls.Client(conn, c)
	if err := tc.HandshakeContext(ctx); err != nil {
		return append(steps, ProbeStep{Name: "tls", Err: fmt.Errorf("TLS with %s: %w (a site CA? give it with --ca-file)", host, err)})
	}
	st := tc.ConnectionState()
	detail := tls.VersionName(st.Version)
	if len(st.PeerCertificates) > 0 {
		leaf := st.PeerCertificates[0]
		detail += fmt.Sprintf(", certificate for %s valid until %s", host, leaf.NotAfter.UTC().Format(time.DateOnly))
	}
	return append(steps, ProbeStep{Name: "tls", Detail: detail})
}

// tunnel asks an http proxy on conn for a tunnel to target, with the
// proxy URL's credentials as the transport sends them.
func tunnel(conn net.Conn, proxy *url.URL, target string) ProbeStep {
	req := "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n"
	if proxy.User != nil {
		pass, _ := proxy.User.Password()
		req += "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(proxy.User.Username()+":"+pass)) + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		return ProbeStep{Name: "tunnel", Err: fmt.Errorf("asking the proxy for a tunnel to %s: %w", target, err)}
	}
	// The endpoint says nothing before afmc's TLS hello, so the buffer
	// holds only the proxy's answer, which is bounded.
	br := bufio.NewReader(io.LimitReader(conn, maxProxyAnswer))
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		return ProbeStep{Name: "tunnel", Err: fmt.Errorf("the proxy's answer to CONNECT %s: %w", target, err)}
	}
	if resp.StatusCode != http.StatusOK {
		hint := ""
		switch resp.StatusCode {
		case http.StatusProxyAuthRequired:
			hint = " (the proxy wants credentials: user:password@ in the proxy URL)"
		case http.StatusForbidden:
			hint = " (the proxy does not allow this host or port)"
		}
		return ProbeStep{Name: "tunnel", Err: fmt.Errorf("the proxy refused a tunnel to %s: %s%s", target, resp.Status, hint)}
	}
	return ProbeStep{Name: "tunnel", Detail: "the proxy opened a tunnel to " + target}
}

// portOf is u's port, or its scheme's.
func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch u.Scheme {
	case "http":
		return "80"
	case "socks5", "socks5h":
		return "1080"
	}
	return "443"
}
