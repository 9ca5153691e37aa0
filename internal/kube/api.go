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
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/atlas-af/afmc/internal/extcmd"
)

// APIClient asks the API server directly, as the pod's service account.
type APIClient struct {
	base    string // https://host:port
	token   string // never logged, never in an error
	client  *http.Client
	maxPage int64 // bound on one page's bytes
}

// NewAPIClient reads the service account's token and CA from dir. The
// token is read afresh each run: the kubelet rotates it.
func NewAPIClient(host, port, dir string) (*APIClient, error) {
	tokenFile := filepath.Join(dir, "token")
	tok, err := kubeReadSmall(tokenFile)
	if err != nil {
		return nil, fmt.Errorf("service-account token: %w", err)
	}
	token := strings.TrimSpace(string(tok))
	if token == "" {
		return nil, fmt.Errorf("service-account token %s is empty", tokenFile)
	}
	caFile := filepath.Join(dir, "ca.crt")
	ca, err := kubeReadSmall(caFile)
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
		maxPage: kubeMaxPageBytes,
	}, nil
}

func kubeReadSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, kubeMaxTokenBytes+1))
	if err == nil && len(b) > kubeMaxTokenBytes {
		err = fmt.Errorf("%s is larger than %d bytes", path, kubeMaxTokenBytes)
	}
	return b, err
}

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
		body, err := c.get(ctx, path, q, kubeMetadataOnly, c.maxPage)
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
		pods, cont, err := parsePodList(body, label)
		if err != nil {
			return nil, fmt.Errorf("GET %s: %w", path, err)
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
	_, err := c.get(ctx, "/api/v1/namespaces/"+url.PathEscape(ns), nil, "application/json", kubeMaxErrorBytes)
	var ke *Error
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &ke) && ke.Code == http.StatusNotFound:
		return false, nil
	}
	return false, err
}

// get reads one answer of the API: its body on 200, a *Error for an
// error status, or the transport's error.
func (c *APIClient) get(ctx context.Context, path string, q url.Values, accept string, limit int64) ([]byte, error) {
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
		return nil, err // a *url.Error: the URL and the cause, never the header
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, kubeMaxErrorBytes))
		return nil, kubeStatusError(resp.StatusCode, b)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: reading the answer: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("GET %s: the answer is larger than %d bytes", path, limit)
	}
	return b, nil
}

// kubeStatusError reads the Status object the API sends with an error.
func kubeStatusError(code int, body []byte) *Error {
	e := &Error{Code: code, Reason: http.StatusText(code)}
	if gjson.ValidBytes(body) && gjson.GetBytes(body, "kind").String() == "Status" {
		if r := gjson.GetBytes(body, "reason").String(); r != "" {
			e.Reason = r
		}
		e.Message = extcmd.Printable(gjson.GetBytes(body, "message").String())
	} else if len(body) > 0 {
		e.Message = extcmd.Printable(kubeExcerpt(body))
	}
	return e
}
