// Package kubefake is a Kubernetes API server on loopback, over TLS, for
// the tests of the jupyter collector and of the afmc binary: one fake,
// faithful enough for afmc's own client and for the real kubectl.
package kubefake

import (
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

// API answers as the real API server does for what afmc and kubectl ask of
// it: discovery, the pods of a namespace (label and field selectors, limit
// and continue tokens, full PodLists or metadata only), and the namespace
// itself. A namespace that is not there lists as empty, as on a real
// cluster, and GETs as 404.
type API struct {
	srv *httptest.Server

	mu       sync.Mutex
	cfg      Config
	requests []string // method, path and query of every request
	badAuth  []string // Authorization headers it refused
}

// Config is what the server holds and how it behaves; change it with Set.
type Config struct {
	Token      string                    // the bearer token it accepts
	Namespaces map[string][]gjson.Result // namespace: its pods
	PageSize   int                       // at most this many items a page, whatever limit says
	Forbidden  map[string]bool           // namespaces where list pods is forbidden
	NSHidden   bool                      // GET namespaces is forbidden
	FullOnly   bool                      // ignores metadata-only Accept and fieldSelector, as a proxy or an old API might
	Expire     bool                      // answers the next continue request with 410 Gone
	Stall      time.Duration             // every pod list waits this long first
}

// SAIdentity is the service account the server's errors name.
const SAIdentity = "system:serviceaccount:afmc:afmc"

// New starts a server that accepts token and holds, for each namespace,
// the pods of fixtures/NAMESPACE.json (a PodList), in pages of three.
func New(t testing.TB, token, fixtures string, namespaces ...string) *API {
	t.Helper()
	a := &API{cfg: Config{Token: token, Namespaces: map[string][]gjson.Result{}, PageSize: 3, Forbidden: map[string]bool{}}}
	for _, ns := range namespaces {
		b, err := os.ReadFile(filepath.Join(fixtures, ns+".json"))
		if err != nil {
			t.Fatal(err)
		}
		a.cfg.Namespaces[ns] = gjson.ParseBytes(b).Get("items").Array()
	}
	a.srv = httptest.NewUnstartedServer(http.HandlerFunc(a.serve))
	// kubectl and the timeout tests hang up on it: not worth a log line.
	a.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	a.srv.StartTLS() // on 127.0.0.1, with a certificate for it
	t.Cleanup(a.srv.Close)
	return a
}

// URL is the server's https:// URL.
func (a *API) URL() string { return a.srv.URL }

// CAPEM is the server certificate as a CA bundle, as ca.crt holds it.
func (a *API) CAPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.srv.Certificate().Raw})
}

// HostPort is the server's address split as KUBERNETES_SERVICE_HOST and _PORT.
func (a *API) HostPort() (host, port string) {
	addr := strings.TrimPrefix(a.srv.URL, "https://")
	i := strings.LastIndex(addr, ":")
	return addr[:i], addr[i+1:]
}

// Requests are the method, path and query of every request so far.
func (a *API) Requests() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.requests)
}

// ClearRequests forgets the requests so far.
func (a *API) ClearRequests() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.requests = nil
}

// BadAuth are the Authorization headers it refused (401).
func (a *API) BadAuth() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.badAuth)
}

// Set changes the server's config between requests.
func (a *API) Set(change func(*Config)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	change(&a.cfg)
}

// Kubeconfig writes a kubeconfig for the server, trusting its CA and
// authenticating with token, as a site's would, and returns its path.
func (a *API) Kubeconfig(t testing.TB, token string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: af
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: afmc
  user:
    token: %s
contexts:
- name: af
  context:
    cluster: af
    user: afmc
current-context: af
`, a.srv.URL, base64.StdEncoding.EncodeToString(a.CAPEM()), token)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// status writes a Status object, as the API does for every error.
func status(w http.ResponseWriter, code int, reason, message string, details map[string]string) {
	s := map[string]any{"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "message": message, "reason": reason, "code": code}
	if details != nil {
		s["details"] = details
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(s)
}

func (a *API) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.requests = append(a.requests, r.Method+" "+r.URL.RequestURI())
	if r.Header.Get("Authorization") != "Bearer "+a.cfg.Token {
		a.badAuth = append(a.badAuth, r.Header.Get("Authorization"))
		a.mu.Unlock()
		status(w, 401, "Unauthorized", "Unauthorized", nil)
		return
	}
	stall := a.cfg.Stall
	a.mu.Unlock()

	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method != http.MethodGet:
		status(w, 405, "MethodNotAllowed", "the server does not allow this method on the requested resource", nil)
	case r.URL.Path == "/api":
		WriteJSON(w, `{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1:6443"}]}`)
	case r.URL.Path == "/apis":
		WriteJSON(w, `{"kind":"APIGroupList","apiVersion":"v1","groups":[]}`)
	case r.URL.Path == "/api/v1":
		WriteJSON(w, `{"kind":"APIResourceList","groupVersion":"v1","resources":[`+
			`{"name":"namespaces","singularName":"namespace","namespaced":false,"kind":"Namespace","verbs":["create","delete","get","list","patch","update","watch"],"shortNames":["ns"]},`+
			`{"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod","verbs":["create","delete","deletecollection","get","list","patch","update","watch"],"shortNames":["po"],"categories":["all"]}]}`)
	case r.URL.Path == "/version":
		WriteJSON(w, `{"major":"1","minor":"32","gitVersion":"v1.32.4","platform":"linux/amd64"}`)
	case len(parts) == 5 && parts[0] == "api" && parts[1] == "v1" && parts[2] == "namespaces" && parts[4] == "pods":
		if stall > 0 {
			select {
			case <-time.After(stall):
			case <-r.Context().Done():
				return
			}
		}
		a.listPods(w, r, parts[3])
	case len(parts) == 4 && parts[0] == "api" && parts[1] == "v1" && parts[2] == "namespaces":
		a.getNamespace(w, parts[3])
	default:
		status(w, 404, "NotFound", "the server could not find the requested resource", nil)
	}
}

// WriteJSON writes s as a JSON answer.
func WriteJSON(w http.ResponseWriter, s string) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, s)
}

func (a *API) getNamespace(w http.ResponseWriter, ns string) {
	a.mu.Lock()
	_, ok := a.cfg.Namespaces[ns]
	hidden := a.cfg.NSHidden
	a.mu.Unlock()
	switch {
	case hidden:
		status(w, 403, "Forbidden", fmt.Sprintf(`namespaces %q is forbidden: User %q cannot get resource "namespaces" in API group "" in the namespace %q`, ns, SAIdentity, ns),
			map[string]string{"name": ns, "kind": "namespaces"})
	case !ok:
		status(w, 404, "NotFound", fmt.Sprintf("namespaces %q not found", ns), map[string]string{"name": ns, "kind": "namespaces"})
	default:
		WriteJSON(w, fmt.Sprintf(`{"kind":"Namespace","apiVersion":"v1","metadata":{"name":%q,"uid":"d1e2","resourceVersion":"17"},"spec":{"finalizers":["kubernetes"]},"status":{"phase":"Active"}}`, ns))
	}
}

// continueToken is the fake's opaque continue token.
type continueToken struct {
	NS     string `json:"ns"`
	Label  string `json:"label"`
	Field  string `json:"field"`
	Offset int    `json:"offset"`
}

func (a *API) listPods(w http.ResponseWriter, r *http.Request, ns string) {
	q := r.URL.Query()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cfg.Forbidden[ns] {
		status(w, 403, "Forbidden", fmt.Sprintf(`pods is forbidden: User %q cannot list resource "pods" in API group "" in the namespace %q`, SAIdentity, ns),
			map[string]string{"kind": "pods"})
		return
	}
	label, field := q.Get("labelSelector"), q.Get("fieldSelector")
	if a.cfg.FullOnly {
		field = ""
	}
	offset := 0
	if c := q.Get("continue"); c != "" {
		var tok continueToken
		b, err := base64.RawURLEncoding.DecodeString(c)
		if err == nil {
			err = json.Unmarshal(b, &tok)
		}
		if err != nil || tok.NS != ns || tok.Label != label || tok.Field != field {
			status(w, 400, "BadRequest", "continue key is not valid: the selectors or the namespace changed", nil)
			return
		}
		if a.cfg.Expire {
			a.cfg.Expire = false
			status(w, 410, "Expired", "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.", nil)
			return
		}
		offset = tok.Offset
	}
	limit := len(a.cfg.Namespaces[ns])
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			status(w, 400, "BadRequest", "invalid limit", nil)
			return
		}
		if n > 0 {
			limit = n
		}
	}
	limit = min(limit, a.cfg.PageSize)

	var matched []gjson.Result
	for _, p := range a.cfg.Namespaces[ns] {
		ok, err := selects(p, label, field)
		if err != nil {
			status(w, 400, "BadRequest", err.Error(), nil)
			return
		}
		if ok {
			matched = append(matched, p)
		}
	}
	page := matched[min(offset, len(matched)):min(offset+limit, len(matched))]
	cont := ""
	if offset+limit < len(matched) {
		b, _ := json.Marshal(continueToken{ns, label, field, offset + limit})
		cont = base64.RawURLEncoding.EncodeToString(b)
	}
	meta := map[string]any{"resourceVersion": "48213377"}
	if cont != "" {
		meta["continue"] = cont
		meta["remainingItemCount"] = len(matched) - offset - limit
	}
	metadataOnly := !a.cfg.FullOnly && strings.Contains(r.Header.Get("Accept"), "as=PartialObjectMetadataList")
	items := make([]json.RawMessage, 0, len(page))
	for _, p := range page {
		if metadataOnly {
			items = append(items, json.RawMessage(`{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":`+p.Get("metadata").Raw+`}`))
		} else {
			items = append(items, json.RawMessage(p.Raw))
		}
	}
	list := map[string]any{"kind": "PodList", "apiVersion": "v1", "metadata": meta, "items": items}
	if metadataOnly {
		list["kind"], list["apiVersion"] = "PartialObjectMetadataList", "meta.k8s.io/v1"
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(list)
}

// selects applies a label selector (key, key=value, key!=value, !key) and
// a field selector on status.phase (= and !=), as the API does.
func selects(pod gjson.Result, label, field string) (bool, error) {
	labels := pod.Get("metadata.labels")
	for _, term := range splitSelector(label) {
		var key, op, want string
		switch {
		case strings.HasPrefix(term, "!"):
			key, op = term[1:], "!"
		case strings.Contains(term, "!="):
			key, want, _ = strings.Cut(term, "!=")
			op = "!="
		case strings.Contains(term, "="):
			key, want, _ = strings.Cut(term, "=")
			want, op = strings.TrimPrefix(want, "="), "="
		default:
			key, op = term, ""
		}
		v := labels.Get(gjson.Escape(key))
		switch op {
		case "":
			if !v.Exists() {
				return false, nil
			}
		case "!":
			if v.Exists() {
				return false, nil
			}
		case "=":
			if !v.Exists() || v.String() != want {
				return false, nil
			}
		case "!=":
			if v.Exists() && v.String() == want {
				return false, nil
			}
		}
	}
	phase := pod.Get("status.phase").String()
	for _, term := range splitSelector(field) {
		key, want, neg := "", "", false
		if k, v, ok := strings.Cut(term, "!="); ok {
			key, want, neg = k, v, true
		} else if k, v, ok := strings.Cut(term, "="); ok {
			key, want = k, strings.TrimPrefix(v, "=")
		}
		if key != "status.phase" {
			return false, fmt.Errorf("field label not supported: %s", key)
		}
		if (phase == want) == neg {
			return false, nil
		}
	}
	return true, nil
}

func splitSelector(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
