package collect

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
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"

	"github.com/atlas-af/afmc/internal/extcmd"
)

// A small Kubernetes client: the pods of one namespace that carry a label,
// and whether a namespace exists. Inside a pod it asks the API directly
// with the pod's service account; on a login node it runs the host's
// kubectl, so every way a site's kubeconfig authenticates works.

// kubeActivePhases is the field selector that leaves out finished pods: the
// API sends only Pending and Running ones (status.phase is one of the few
// fields pods can be selected on).
const kubeActivePhases = "status.phase!=Succeeded,status.phase!=Failed,status.phase!=Unknown"

const (
	// kubePageLimit is how many pods one request asks for.
	kubePageLimit = 500
	// kubeMaxPageBytes bounds one page of the list: 500 pods' metadata is a
	// few MB; whole pods, if the API ignores the metadata-only request,
	// some tens.
	kubeMaxPageBytes = 64 << 20
	// kubeMaxPages bounds the pages of one list (500 a page).
	kubeMaxPages = 1000
	// kubeMaxErrorBytes bounds what is read of an error answer.
	kubeMaxErrorBytes = 64 << 10
	// kubectlMaxBytes bounds kubectl's output, whole pods of every page.
	kubectlMaxBytes = 128 << 20
	// kubeMaxTokenBytes bounds the service-account files read.
	kubeMaxTokenBytes = 1 << 20
)

// kubePod is what the jupyter collector needs of one pod.
type kubePod struct {
	Namespace, Name string
	Phase           string // "" when the API sent metadata only: the field selector chose the phases
	Deleting        bool   // metadata.deletionTimestamp is set
	HasLabel        bool
	Value           string // the label's value; not a string: its raw JSON
}

// podLister lists pods, through the API or kubectl.
type podLister interface {
	// listPods returns the pods of ns that carry label and are not
	// finished (Pending, Running).
	listPods(ctx context.Context, ns, label string) ([]kubePod, error)
	// namespaceExists tells whether ns exists (a list in a namespace that
	// does not exist is empty, not an error); an error when it cannot tell.
	namespaceExists(ctx context.Context, ns string) (bool, error)
	// who is the identity asking, as the RBAC fix names it.
	who() string
}

// kubeError is an answer of the API other than success: its HTTP status
// and the reason and message of its Status object.
type kubeError struct {
	Code    int    // 0 when kubectl did not say
	Reason  string // Unauthorized, Forbidden, NotFound, Expired, ...
	Message string
}

func (e *kubeError) Error() string {
	var b strings.Builder
	if e.Code != 0 {
		fmt.Fprintf(&b, "%d ", e.Code)
	}
	b.WriteString(e.Reason)
	if e.Message != "" && e.Message != e.Reason {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	return b.String()
}

// parsePodList reads a PodList, kubectl's List of pods, or the
// PartialObjectMetadataList the API sends when asked for metadata only:
// each pod's name, phase, deletion and the value of label, and the
// continue token of the next page ("" on the last).
func parsePodList(b []byte, label string) ([]kubePod, string, error) {
	if !gjson.ValidBytes(b) {
		return nil, "", fmt.Errorf("the answer is not JSON: %q", kubeExcerpt(b))
	}
	switch kind := gjson.GetBytes(b, "kind").String(); kind {
	case "PodList", "List", "PartialObjectMetadataList":
	default:
		return nil, "", fmt.Errorf("the answer is not a list of pods (kind %q): %q", kubeExcerpt([]byte(kind)), kubeExcerpt(b))
	}
	items := gjson.GetBytes(b, "items")
	if items.Exists() && !items.IsArray() && items.Type != gjson.Null {
		return nil, "", fmt.Errorf("the list's items are not an array: %q", kubeExcerpt([]byte(items.Raw)))
	}
	labelPath := "labels." + gjson.Escape(label)
	var pods []kubePod
	if !items.IsArray() {
		// Absent or null: no pods (ForEach would call back once for a null).
		return nil, gjson.GetBytes(b, "metadata.continue").String(), nil
	}
	items.ForEach(func(_, it gjson.Result) bool {
		md := it.Get("metadata")
		p := kubePod{
			Namespace: md.Get("namespace").String(),
			Name:      md.Get("name").String(),
			Phase:     it.Get("status.phase").String(),
		}
		if del := md.Get("deletionTimestamp"); del.Exists() && del.Type != gjson.Null {
			p.Deleting = true
		}
		if v := md.Get(labelPath); v.Exists() {
			p.HasLabel = true
			if p.Value = v.Str; v.Type != gjson.String {
				p.Value = v.Raw
			}
		}
		pods = append(pods, p)
		return true
	})
	return pods, gjson.GetBytes(b, "metadata.continue").String(), nil
}

// kubeExcerpt is the start of what a server sent, for an error message.
func kubeExcerpt(b []byte) string {
	const n = 200
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// validKubeLabelValue is a non-empty Kubernetes label value: at most 63
// characters of [A-Za-z0-9._-], beginning and ending with a letter or digit.
func validKubeLabelValue(s string) bool {
	return validKubeName(s, func(c byte) bool {
		return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
	}, "._-")
}

// validKubeName is a name of 1 to 63 characters that are alnum or one of
// inner, beginning and ending with an alnum character.
func validKubeName(s string, alnum func(byte) bool, inner string) bool {
	if len(s) == 0 || len(s) > 63 || !alnum(s[0]) || !alnum(s[len(s)-1]) {
		return false
	}
	for i := range len(s) {
		if !alnum(s[i]) && strings.IndexByte(inner, s[i]) < 0 {
			return false
		}
	}
	return true
}

// validKubeLabelKey is a label key: a name as a value, optionally behind a DNS
// subdomain prefix and a slash (hub.jupyter.org/username).
func validKubeLabelKey(s string) bool {
	prefix, name, ok := strings.Cut(s, "/")
	if !ok {
		return validKubeLabelValue(s)
	}
	if len(prefix) > 253 || !validKubeLabelValue(name) {
		return false
	}
	for _, part := range strings.Split(prefix, ".") {
		if !validKubeNamespace(part) {
			return false
		}
	}
	return true
}

// validKubeNamespace is a namespace name (an RFC 1123 label).
func validKubeNamespace(s string) bool {
	return validKubeName(s, func(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }, "-")
}

// apiClient asks the API server directly, as the pod's service account.
type apiClient struct {
	base    string // https://host:port
	token   string // never logged, never in an error
	client  *http.Client
	maxPage int64 // bound on one page's bytes
}

// newAPIClient reads the service account's token and CA from dir. The
// token is read afresh each run: the kubelet rotates it.
func newAPIClient(host, port, dir string) (*apiClient, error) {
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
	return &apiClient{
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

func (c *apiClient) close() { c.client.CloseIdleConnections() }

func (c *apiClient) who() string { return "the pod's service account" }

// kubeMetadataOnly asks for the pods' metadata alone (their labels, names and
// deletion), without specs and statuses; an API that cannot sends whole
// pods, which parse the same.
const kubeMetadataOnly = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"

func (c *apiClient) listPods(ctx context.Context, ns, label string) ([]kubePod, error) {
	path := "/api/v1/namespaces/" + url.PathEscape(ns) + "/pods"
	q := url.Values{"labelSelector": {label}, "fieldSelector": {kubeActivePhases}, "limit": {fmt.Sprint(kubePageLimit)}}
	var all []kubePod
	restarted := false
	for page := 0; ; page++ {
		if page == kubeMaxPages {
			return nil, fmt.Errorf("more than %d pages of %d pods: giving up", kubeMaxPages, kubePageLimit)
		}
		body, err := c.get(ctx, path, q, kubeMetadataOnly, c.maxPage)
		var ke *kubeError
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

func (c *apiClient) namespaceExists(ctx context.Context, ns string) (bool, error) {
	_, err := c.get(ctx, "/api/v1/namespaces/"+url.PathEscape(ns), nil, "application/json", kubeMaxErrorBytes)
	var ke *kubeError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &ke) && ke.Code == http.StatusNotFound:
		return false, nil
	}
	return false, err
}

// get reads one answer of the API: its body on 200, a *kubeError for an
// error status, or the transport's error.
func (c *apiClient) get(ctx context.Context, path string, q url.Values, accept string, limit int64) ([]byte, error) {
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
func kubeStatusError(code int, body []byte) *kubeError {
	e := &kubeError{Code: code, Reason: http.StatusText(code)}
	if gjson.ValidBytes(body) && gjson.GetBytes(body, "kind").String() == "Status" {
		if r := gjson.GetBytes(body, "reason").String(); r != "" {
			e.Reason = extcmd.Printable(r) // a server's word, bound for a log
		}
		e.Message = extcmd.Printable(gjson.GetBytes(body, "message").String())
	} else if len(body) > 0 {
		e.Message = extcmd.Printable(kubeExcerpt(body))
	}
	return e
}

// kubectlClient runs the host's kubectl.
type kubectlClient struct {
	path       string
	kubeconfig string // "": kubectl's own choice (KUBECONFIG, ~/.kube/config)
}

func (k kubectlClient) who() string { return "the kubeconfig's user" }

func (k kubectlClient) run(ctx context.Context, limit int64, args ...string) ([]byte, error) {
	if k.kubeconfig != "" {
		args = append(args, "--kubeconfig", k.kubeconfig)
	}
	if dl, ok := ctx.Deadline(); ok {
		// kubectl's own deadline for each request, so that a hung API is
		// reported by kubectl rather than only killed.
		if left := time.Until(dl).Truncate(time.Millisecond); left > 0 {
			args = append(args, "--request-timeout", left.String())
		}
	}
	out, err := extcmd.Output(ctx, extcmd.Cmd{Path: k.path, Args: args, MaxStdout: limit})
	if err != nil {
		return nil, kubectlError(err)
	}
	return out, nil
}

func (k kubectlClient) listPods(ctx context.Context, ns, label string) ([]kubePod, error) {
	out, err := k.run(ctx, kubectlMaxBytes, "get", "pods", "-n", ns, "-l", label, "--field-selector", kubeActivePhases, "-o", "json")
	if err != nil {
		return nil, err
	}
	pods, _, err := parsePodList(out, label)
	if err != nil {
		return nil, fmt.Errorf("kubectl get pods: %w", err)
	}
	return pods, nil
}

func (k kubectlClient) namespaceExists(ctx context.Context, ns string) (bool, error) {
	_, err := k.run(ctx, kubeMaxErrorBytes, "get", "namespace", ns, "-o", "name")
	var ke *kubeError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &ke) && ke.Reason == "NotFound":
		return false, nil
	}
	return false, err
}

// kubectlServerError is how kubectl prints an error Status of the API:
// "Error from server (Forbidden): pods is forbidden: ...", or, for 401,
// "error: You must be logged in to the server (Unauthorized)" (or, as
// the Status says, "(the server has asked for the client to provide
// credentials)").
// Compiled when first needed: a run without jupyter pays nothing for it.
var kubectlServerError = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(?:Error from server \(([A-Za-z]+)\): (.*)|error: (You must be logged in to the server) \((.*)\))`)
})

// kubectlFailure is kubectl's failure: the command, how it ended, the line
// of its stderr that says why (not the klog lines before it, which repeat
// it), and the API's answer when kubectl printed one.
type kubectlFailure struct {
	cmd  *extcmd.Error
	line string
	api  *kubeError // nil: kubectl did not print an answer of the API
}

func (f *kubectlFailure) Error() string {
	s := f.cmd.Cmd + ": " + f.cmd.Err.Error()
	if f.line != "" {
		s += ": " + f.line
	}
	return s
}

func (f *kubectlFailure) Unwrap() []error {
	if f.api != nil {
		return []error{f.cmd, f.api}
	}
	return []error{f.cmd}
}

// kubectlError reads kubectl's failure out of extcmd's error.
func kubectlError(err error) error {
	var ee *extcmd.Error
	if !errors.As(err, &ee) {
		return err
	}
	f := &kubectlFailure{cmd: ee}
	lines := strings.Split(ee.Stderr, " | ")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" {
			continue
		}
		if f.line == "" || kubectlServerError().MatchString(l) {
			f.line = l
		}
		if m := kubectlServerError().FindStringSubmatch(l); m != nil {
			f.api = &kubeError{Reason: m[1], Message: m[2]}
			if m[3] != "" {
				f.api = &kubeError{Code: http.StatusUnauthorized, Reason: "Unauthorized", Message: m[4]}
			}
			break
		}
	}
	return f
}

// kubeExplain says what went wrong in words an administrator acts on: whose
// credentials were refused, which RBAC rule is missing, a namespace that
// is not there, an API that cannot be reached or did not answer in time.
// api names where the pods were asked for; who, whose credentials.
func kubeExplain(err error, api, ns, who string, budget time.Duration) error {
	var ke *kubeError
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
	if errors.Is(err, context.DeadlineExceeded) || kubeTimedOut(err) {
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

// kubeTimedOut is a network timeout, or kubectl saying it gave up waiting.
func kubeTimedOut(err error) bool {
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
