package kube

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/atlas-af/afmc/internal/extcmd"
	"github.com/atlas-af/afmc/internal/jsondepth"
	"github.com/atlas-af/afmc/internal/redact"
	"github.com/atlas-af/afmc/internal/safefile"
)

// APIClient asks the API server directly, as the pod's service account.
type APIClient struct {
	base    string           // https://host:port
	token   string           // never logged, never in an error
	redact  *redact.Redactor // scrubs the token from what the API or a proxy echoes
	client  *http.Client
	maxPage int64 // bound on one page's bytes
}

// NewAPIClient reads the service account's token and CA from dir. The
// token is read afresh each run: the kubelet rotates it.
func NewAPIClient(ctx context.Context, host, port, dir string) (*APIClient, error) {
	tokenFile := filepath.Join(dir, "token")
	tok, err := kubeReadSmall(ctx, tokenFile)
	if err != nil {
		return nil, fmt.Errorf("service-account token: %w", err)
	}
	token := strings.TrimSpace(string(tok))
	if token == "" {
		return nil, fmt.Errorf("service-account token %s is empty", tokenFile)
	}
	caFile := filepath.Join(dir, "ca.crt")
	ca, err := kubeReadSmall(ctx, caFile)
	if err != nil {
		return nil, fmt.Errorf("service-account CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("service-account CA %s holds no PEM certificate", caFile)
	}
	tr := &http.Transport{
		Proxy:               nil, // the API is in the cluster: never through a proxy
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: 10 * time.Second,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
	}
	return &APIClient{
		base: "https://" + net.JoinHostPort(host, port),
		client: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // the API never redirects a list; the token follows no redirect
		}},
		token:   token,
		redact:  redact.New(token),
		maxPage: kubeMaxPageBytes,
	}, nil
}

// kubeReadSmall reads a service-account file as other named files are
// read: a FIFO or a device is refused before any read (a FIFO would block
// until the collector's deadline), and the read is bounded in size and by
// ctx (a hung mount does not hold the run).
func kubeReadSmall(ctx context.Context, path string) ([]byte, error) {
	return safefile.ReadContext(ctx, path, kubeMaxTokenBytes)
}

// redactErr is err with the token scrubbed from its text; errors.As still
// finds what it wraps.
func (c *APIClient) redactErr(err error) error {
	if err == nil {
		return nil
	}
	if msg := c.redact.Text(err.Error()); msg != err.Error() {
		return &redactedError{msg: msg, err: err}
	}
	return err
}

// redactedError is an error whose text held the token.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// Close lets the client's idle connections go.
func (c *APIClient) Close() { c.client.CloseIdleConnections() }

// Base is the API server's URL, https://host:port, for messages.
func (c *APIClient) Base() string { return c.base }

func (c *APIClient) Who() string { return "the pod's service account" }

// kubeMetadataOnly asks for the pods' metadata alone (their labels, names and
// deletion), without specs and statuses; an API that cannot sends whole
// pods, which parse the same.
const kubeMetadataOnly = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"

func (c *APIClient) ListPods(ctx context.Context, ns, label string) ([]Pod, error) {
	path := "/api/v1/namespaces/" + url.PathEscape(ns) + "/pods"
	q := url.Values{"labelSelector": {label}, "fieldSelector": {kubeActivePhases}, "limit": {fmt.Sprint(kubePageLimit)}}
	var all []Pod
	restarted := false
	for page := 0; ; page++ {
		if page == kubeMaxPages {
			return nil, fmt.Errorf("more than %d pages of %d pods: giving up", kubeMaxPages, kubePageLimit)
		}
		resp, err := c.do(ctx, path, q, kubeMetadataOnly)
		var ke *Error
		if errors.As(err, &ke) && ke.Code == http.StatusGone && q.Has("continue") && !restarted {
			// The continue token expired (the list took minutes): start over once.
			q.Del("continue")
			all, restarted, page = nil, true, -1
			continue
		}
		if err != nil {
			return nil, err
		}
		// The page is decoded as it arrives, never held whole.
		pods, cont, err := readPodList(newBoundedReader(resp.Body, c.maxPage, "GET "+path), label)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("GET %s: %w", path, c.redactErr(err))
		}
		all = append(all, pods...)
		if cont == "" {
			return all, nil
		}
		if cont == q.Get("continue") {
			return nil, fmt.Errorf("GET %s: the API sent the same continue token twice", path)
		}
		q.Set("continue", cont)
	}
}

func (c *APIClient) NamespaceExists(ctx context.Context, ns string) (bool, error) {
	resp, err := c.do(ctx, "/api/v1/namespaces/"+url.PathEscape(ns), nil, "application/json")
	var ke *Error
	switch {
	case err == nil:
		resp.Body.Close()
		return true, nil
	case errors.As(err, &ke) && ke.Code == http.StatusNotFound:
		return false, nil
	}
	return false, err
}

// do sends one request to the API: the answer on 200, whose body the
// caller reads (within its bound) and closes; a *Error for an error
// status; or the transport's error. No error holds the token.
func (c *APIClient) do(ctx context.Context, path string, q url.Values, accept string) (*http.Response, error) {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", "afmc")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, c.redactErr(err) // a *url.Error: the URL and the cause, never the header
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, kubeMaxErrorBytes))
		return nil, kubeStatusError(resp.StatusCode, b, c.redact)
	}
	return resp, nil
}

// kubeStatusError reads the Status object the API sends with an error.
// Its message, or the start of a page that is no Status (a proxy's), is
// scrubbed of the token by r before anything else is done with it: a
// proxy that echoes the request shows the Authorization header.
func kubeStatusError(code int, body []byte, r *redact.Redactor) *Error {
	e := &Error{Code: code, Reason: http.StatusText(code)}
	if jsondepth.Check(body, 0) == nil && gjson.ValidBytes(body) && gjson.GetBytes(body, "kind").String() == "Status" {
		if reason := gjson.GetBytes(body, "reason").String(); knownStatusReason(reason) {
			e.Reason = reason
		}
		e.Message = extcmd.Printable(kubeExcerpt([]byte(r.Text(gjson.GetBytes(body, "message").String()))))
	} else if len(body) > 0 {
		e.Message = extcmd.Printable(kubeExcerpt([]byte(r.Text(string(body[:min(len(body), 4<<10)])))))
	}
	return e
}

// knownStatusReason is one of the reasons of Kubernetes's metav1.Status:
// a server's word is not taken for one.
func knownStatusReason(r string) bool {
	switch r {
	case "Unauthorized", "Forbidden", "NotFound", "AlreadyExists", "Conflict", "Gone", "Invalid",
		"ServerTimeout", "StoreReadError", "Timeout", "TooManyRequests", "BadRequest", "MethodNotAllowed",
		"NotAcceptable", "RequestEntityTooLarge", "UnsupportedMediaType", "InternalError", "Expired", "ServiceUnavailable":
		return true
	}
	return false
}
