package kube

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Explain says what went wrong in words an administrator acts on: whose
// credentials were refused, which RBAC rule is missing, a namespace that
// is not there, an API that cannot be reached or did not answer in time.
// api names where the pods were asked for; who, whose credentials.
func Explain(err error, api, ns, who string, budget time.Duration) error {
	var ke *Error
	if errors.As(err, &ke) {
		switch {
		case ke.Code == http.StatusUnauthorized || ke.Reason == "Unauthorized":
			return fmt.Errorf("%s rejected the credentials of %s (401 Unauthorized: a token that expired or was revoked, or an account that was deleted): %w", api, who, err)
		case ke.Code == http.StatusForbidden || ke.Reason == "Forbidden":
			return fmt.Errorf("%s may not list pods in namespace %s (403 Forbidden): the RBAC rule missing is verbs [list] on resources [pods] (apiGroups [\"\"]) in namespace %s, in a Role bound to it: %w", who, ns, ns, err)
		case ke.Code == http.StatusNotFound || ke.Reason == "NotFound":
			// Not a namespace that does not exist (its list is empty): a
			// path the API does not serve, as through a proxy.
			return fmt.Errorf("%s answered 404 Not Found for the pods of namespace %s: %w", api, ns, err)
		case ke.Reason == "Timeout" || ke.Code == http.StatusGatewayTimeout:
			return fmt.Errorf("%s timed out: %w", api, err)
		}
		return fmt.Errorf("%s answered: %w", api, err)
	}
	if errors.Is(err, context.DeadlineExceeded) || TimedOut(err) {
		within := ""
		if budget > 0 {
			within = " within " + budget.Round(time.Millisecond).String()
		}
		return fmt.Errorf("%s did not answer%s (timeout: see --collector-timeout): %w", api, within, err)
	}
	var f *kubectlFailure
	if errors.As(err, &f) {
		switch {
		case strings.Contains(f.line, "localhost:8080 was refused"):
			return fmt.Errorf("kubectl has no kubeconfig (give --kubeconfig, set KUBECONFIG, or write ~/.kube/config): %w", err)
		case kubeUnreachable(f.line):
			return fmt.Errorf("%s cannot be reached: %w", api, err)
		}
		return err
	}
	var ua x509.UnknownAuthorityError
	var hv x509.HostnameError
	var ve *tls.CertificateVerificationError
	if errors.As(err, &ua) || errors.As(err, &hv) || errors.As(err, &ve) {
		return fmt.Errorf("%s cannot be trusted: its certificate is not one the service account's ca.crt vouches for: %w", api, err)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s cannot be reached: %w", api, err)
	}
	return err
}

// TimedOut is a network timeout, or kubectl saying it gave up waiting.
func TimedOut(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var f *kubectlFailure
	if errors.As(err, &f) {
		for _, s := range []string{"Client.Timeout exceeded", "context deadline exceeded", "i/o timeout", "TLS handshake timeout"} {
			if strings.Contains(f.line, s) {
				return true
			}
		}
	}
	return false
}

func kubeUnreachable(line string) bool {
	for _, s := range []string{"Unable to connect to the server", "was refused", "no such host", "connection refused", "no route to host", "network is unreachable"} {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}
