package send

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/atlas-af/afmc/internal/safefile"
)

// ParseEndpoint checks --url: http or https, with a host. Errors never
// show the URL's credentials.
func ParseEndpoint(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// The raw URL may hold credentials: report only the parser's reason.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("output: invalid URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("output: invalid URL %s: scheme must be http or https", refusedURL(u))
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("output: invalid URL %s: no host", refusedURL(u))
	}
	return u, nil
}

// refusedURL is a refused --url for its error, without its password also
// where a typo kept the user information from being read as such
// ("https//user:pass@host", "https:/user:pass@host"): up to the last '@',
// the text is left out.
func refusedURL(u *url.URL) string {
	s := redactURL(u)
	if i := strings.LastIndexByte(s, '@'); i >= 0 && u.User == nil {
		s = "..." + s[i:]
	}
	return s
}

// TLSConfig trusts the system roots and the certificates of caFile, a
// site CA (read within a bound: a FIFO or a device is refused).
func TLSConfig(caFile string) (*tls.Config, error) {
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if caFile != "" {
		// Refused if another user could change it: their CA would see the
		// token. (afmc reads it first within the run's time.)
		pem, err := safefile.ReadTrusted(context.Background(), caFile, safefile.MaxCABundle)
		if err != nil {
			return nil, fmt.Errorf("output: reading CA file: %w", err)
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("output: CA file %q holds no PEM certificate", caFile)
		}
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}, nil
}

// ProbeStep is one step of reaching the endpoint.
type ProbeStep struct {
	Name   string // "name", "tcp", "tls"
	Err    error
	Detail string
}

// Probe reaches the endpoint as the sender would, a step at a time, and
// sends nothing: Logstash makes an event of any request, even a HEAD. It
// stops at the first step that fails.
func Probe(ctx context.Context, u *url.URL, conf *tls.Config, timeout time.Duration) []ProbeStep {
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var steps []ProbeStep
	if net.ParseIP(host) != nil {
		steps = append(steps, ProbeStep{Name: "name", Detail: host + " is an address: nothing to resolve"})
	} else {
		addrs, err := net.DefaultResolver.LookupHost(ctx, host)
		if err != nil {
			return append(steps, ProbeStep{Name: "name", Err: fmt.Errorf("%s does not resolve: %w", host, err)})
		}
		steps = append(steps, ProbeStep{Name: "name", Detail: host + " is " + strings.Join(addrs, ", ")})
	}
	start := time.Now()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		return append(steps, ProbeStep{Name: "tcp", Err: fmt.Errorf("cannot connect to %s port %s (a firewall, or no server there?): %w", host, port, err)})
	}
	defer conn.Close()
	steps = append(steps, ProbeStep{Name: "tcp", Detail: fmt.Sprintf("connected to %s in %s", conn.RemoteAddr(), time.Since(start).Round(time.Millisecond))})
	if u.Scheme != "https" {
		// No TLS to try. Whether plain http is allowed is the caller's
		// rule (afmc's --insecure-http), not the probe's.
		return steps
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
