package send

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"

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
