package collect

import (
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/atlas-af/afmc/internal/extcmd"
)

// fakeAPI is a Kubernetes API server on loopback, over TLS, that answers
// as the real one does for what afmc and kubectl ask of it: discovery, the
// pods of a namespace (label and field selectors, limit and continue
// tokens, full PodLists or metadata only), and the namespace itself.
// Namespaces hold the pods of testdata/jupyter/NS.json; a namespace that
// is not there lists as empty, as on a real cluster, and GETs as 404.
type fakeAPI struct {
	t   *testing.T
	srv *httptest.Server

	token string // the bearer token it accepts

	mu         sync.Mutex
	namespaces map[string][]gjson.Result // namespace: its pods
	pageSize   int                       // at most this many items a page, whatever limit says
	forbidden  map[string]bool           // namespaces where list pods is forbidden
	nsHidden   bool                      // GET namespaces is forbidden
	fullOnly   bool                      // ignores metadata-only Accept and fieldSelector, as a proxy or an old API might
	expire     bool                      // answers the next continue request with 410 Gone
	stall      time.Duration             // every pod list waits this long first
	requests   []string                  // method, path and query of every request
	badAuth    []string                  // Authorization headers it refused
}

// kubeSAIdentity is the service account the fake's errors name.
const kubeSAIdentity = "system:serviceaccount:afmc:afmc"

func newFakeAPI(t *testing.T, token string, namespaces ...string) *fakeAPI {
	t.Helper()
	f := &fakeAPI{t: t, token: token, namespaces: map[string][]gjson.Result{}, pageSize: 3, forbidden: map[string]bool{}}
	for _, ns := range namespaces {
		f.namespaces[ns] = gjson.ParseBytes(readFixture(t, filepath.Join("jupyter", ns+".json"))).Get("items").Array()
	}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	// kubectl and the timeout tests hang up on it: not worth a log line.
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	f.srv.StartTLS() // on 127.0.0.1, with a certificate for it
	t.Cleanup(f.srv.Close)
	return f
}

// caPEM is the server certificate as a CA bundle, as ca.crt holds it.
func (f *fakeAPI) caPEM() []byte {
	return kubePEM(f.srv.Certificate().Raw)
}

// hostPort is the server's address split as KUBERNETES_SERVICE_HOST and _PORT.
func (f *fakeAPI) hostPort() (string, string) {
	a := strings.TrimPrefix(f.srv.URL, "https://")
	i := strings.LastIndex(a, ":")
	return a[:i], a[i+1:]
}

func (f *fakeAPI) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

func (f *fakeAPI) set(change func(f *fakeAPI)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}

// kubeStatus writes a Status object, as the API does for every error.
func kubeStatus(w http.ResponseWriter, code int, reason, message string, details map[string]string) {
	s := map[string]any{"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "message": message, "reason": reason, "code": code}
	if details != nil {
		s["details"] = details
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(s)
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		f.badAuth = append(f.badAuth, r.Header.Get("Authorization"))
		f.mu.Unlock()
		kubeStatus(w, 401, "Unauthorized", "Unauthorized", nil)
		return
	}
	stall := f.stall
	f.mu.Unlock()

	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method != http.MethodGet:
		kubeStatus(w, 405, "MethodNotAllowed", "the server does not allow this method on the requested resource", nil)
	case r.URL.Path == "/api":
		kubeWriteJSON(w, `{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1:6443"}]}`)
	case r.URL.Path == "/apis":
		kubeWriteJSON(w, `{"kind":"APIGroupList","apiVersion":"v1","groups":[]}`)
	case r.URL.Path == "/api/v1":
		kubeWriteJSON(w, `{"kind":"APIResourceList","groupVersion":"v1","resources":[`+
			`{"name":"namespaces","singularName":"namespace","namespaced":false,"kind":"Namespace","verbs":["create","delete","get","list","patch","update","watch"],"shortNames":["ns"]},`+
			`{"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod","verbs":["create","delete","deletecollection","get","list","patch","update","watch"],"shortNames":["po"],"categories":["all"]}]}`)
	case r.URL.Path == "/version":
		kubeWriteJSON(w, `{"major":"1","minor":"32","gitVersion":"v1.32.4","platform":"linux/amd64"}`)
	case len(parts) == 5 && parts[0] == "api" && parts[1] == "v1" && parts[2] == "namespaces" && parts[4] == "pods":
		if stall > 0 {
			select {
			case <-time.After(stall):
			case <-r.Context().Done():
				return
			}
		}
		f.listPods(w, r, parts[3])
	case len(parts) == 4 && parts[0] == "api" && parts[1] == "v1" && parts[2] == "namespaces":
		f.getNamespace(w, parts[3])
	default:
		kubeStatus(w, 404, "NotFound", "the server could not find the requested resource", nil)
	}
}

func kubeWriteJSON(w http.ResponseWriter, s string) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, s)
}

func (f *fakeAPI) getNamespace(w http.ResponseWriter, ns string) {
	f.mu.Lock()
	_, ok := f.namespaces[ns]
	hidden := f.nsHidden
	f.mu.Unlock()
	switch {
	case hidden:
		kubeStatus(w, 403, "Forbidden", fmt.Sprintf(`namespaces %q is forbidden: User %q cannot get resource "namespaces" in API group "" in the namespace %q`, ns, kubeSAIdentity, ns),
			map[string]string{"name": ns, "kind": "namespaces"})
	case !ok:
		kubeStatus(w, 404, "NotFound", fmt.Sprintf("namespaces %q not found", ns), map[string]string{"name": ns, "kind": "namespaces"})
	default:
		kubeWriteJSON(w, fmt.Sprintf(`{"kind":"Namespace","apiVersion":"v1","metadata":{"name":%q,"uid":"d1e2","resourceVersion":"17"},"spec":{"finalizers":["kubernetes"]},"status":{"phase":"Active"}}`, ns))
	}
}

// kubeContinueToken is the fake's opaque continue token.
type kubeContinueToken struct {
	NS     string `json:"ns"`
	Label  string `json:"label"`
	Field  string `json:"field"`
	Offset int    `json:"offset"`
}

func (f *fakeAPI) listPods(w http.ResponseWriter, r *http.Request, ns string) {
	q := r.URL.Query()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.forbidden[ns] {
		kubeStatus(w, 403, "Forbidden", fmt.Sprintf(`pods is forbidden: User %q cannot list resource "pods" in API group "" in the namespace %q`, kubeSAIdentity, ns),
			map[string]string{"kind": "pods"})
		return
	}
	label, field := q.Get("labelSelector"), q.Get("fieldSelector")
	if f.fullOnly {
		field = ""
	}
	offset := 0
	if c := q.Get("continue"); c != "" {
		var tok kubeContinueToken
		b, err := base64.RawURLEncoding.DecodeString(c)
		if err == nil {
			err = json.Unmarshal(b, &tok)
		}
		if err != nil || tok.NS != ns || tok.Label != label || tok.Field != field {
			kubeStatus(w, 400, "BadRequest", "continue key is not valid: the selectors or the namespace changed", nil)
			return
		}
		if f.expire {
			f.expire = false
			kubeStatus(w, 410, "Expired", "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.", nil)
			return
		}
		offset = tok.Offset
	}
	limit := len(f.namespaces[ns])
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			kubeStatus(w, 400, "BadRequest", "invalid limit", nil)
			return
		}
		if n > 0 {
			limit = n
		}
	}
	limit = min(limit, f.pageSize)

	var matched []gjson.Result
	for _, p := range f.namespaces[ns] {
		ok, err := kubeSelects(p, label, field)
		if err != nil {
			kubeStatus(w, 400, "BadRequest", err.Error(), nil)
			return
		}
		if ok {
			matched = append(matched, p)
		}
	}
	page := matched[min(offset, len(matched)):min(offset+limit, len(matched))]
	cont := ""
	if offset+limit < len(matched) {
		b, _ := json.Marshal(kubeContinueToken{ns, label, field, offset + limit})
		cont = base64.RawURLEncoding.EncodeToString(b)
	}
	meta := map[string]any{"resourceVersion": "48213377"}
	if cont != "" {
		meta["continue"] = cont
		meta["remainingItemCount"] = len(matched) - offset - limit
	}
	kubeMetadataOnly := !f.fullOnly && strings.Contains(r.Header.Get("Accept"), "as=PartialObjectMetadataList")
	items := make([]json.RawMessage, 0, len(page))
	for _, p := range page {
		if kubeMetadataOnly {
			items = append(items, json.RawMessage(`{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":`+p.Get("metadata").Raw+`}`))
		} else {
			items = append(items, json.RawMessage(p.Raw))
		}
	}
	list := map[string]any{"kind": "PodList", "apiVersion": "v1", "metadata": meta, "items": items}
	if kubeMetadataOnly {
		list["kind"], list["apiVersion"] = "PartialObjectMetadataList", "meta.k8s.io/v1"
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(list)
}

// kubeSelects applies a label selector (key, key=value, key!=value, !key) and
// a field selector on status.phase (= and !=), as the API does.
func kubeSelects(pod gjson.Result, label, field string) (bool, error) {
	labels := pod.Get("metadata.labels")
	for _, term := range kubeSplitSelector(label) {
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
	for _, term := range kubeSplitSelector(field) {
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

func kubeSplitSelector(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// kubeServiceAccountDir lays out a pod's service-account mount: the fixture
// token and namespace, and the fake's CA as ca.crt.
func kubeServiceAccountDir(t *testing.T, f *fakeAPI) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"token", "namespace"} {
		writeFile(t, filepath.Join(dir, name), string(readFixture(t, filepath.Join("jupyter", "serviceaccount", name))))
	}
	writeFile(t, filepath.Join(dir, "ca.crt"), string(f.caPEM()))
	return dir
}

func kubeFixtureToken(t *testing.T) string {
	t.Helper()
	return strings.TrimSpace(string(readFixture(t, filepath.Join("jupyter", "serviceaccount", "token"))))
}

// writeKubeconfig writes a kubeconfig for the fake server, trusting its CA and
// authenticating with token, as a site's would.
func writeKubeconfig(t *testing.T, f *fakeAPI, token string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config")
	writeFile(t, path, fmt.Sprintf(`apiVersion: v1
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
`, f.srv.URL, base64.StdEncoding.EncodeToString(f.caPEM()), token))
	return path
}

// realKubectl is the machine's kubectl: these tests run the real one, so
// its JSON and its errors are what afmc parses.
func realKubectl(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatalf("these tests need the real kubectl in PATH (on the machine image as /usr/bin/kubectl): %v", err)
	}
	// Its discovery cache goes to a temp dir, not ~/.kube.
	t.Setenv("KUBECACHEDIR", t.TempDir())
	return p
}

func kubePEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestParsePodList(t *testing.T) {
	long := strings.Repeat("a", 64)
	page := `{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"9","continue":"tok2"},"items":[
	 {"metadata":{"name":"a","namespace":"ns","labels":{"owner":"alice","hub.jupyter.org/username":"alice.x"}},"status":{"phase":"Running"}},
	 {"metadata":{"name":"b","namespace":"ns","labels":{"app":"x"}},"status":{"phase":"Pending"}},
	 {"metadata":{"name":"c","namespace":"ns","labels":{"owner":7}},"status":{"phase":"Running"}},
	 {"metadata":{"name":"d","namespace":"ns","deletionTimestamp":"2026-11-25T11:58:40Z","labels":{"owner":"` + long + `"}},"status":{"phase":"Running"}},
	 {"metadata":{"name":"e","namespace":"ns","deletionTimestamp":null,"labels":{"owner":"x y"}}}]}`
	pods, cont, err := parsePodList([]byte(page), "owner")
	if err != nil {
		t.Fatal(err)
	}
	want := []kubePod{
		{Namespace: "ns", Name: "a", Phase: "Running", HasLabel: true, Value: "alice"},
		{Namespace: "ns", Name: "b", Phase: "Pending"},
		{Namespace: "ns", Name: "c", Phase: "Running", HasLabel: true, Value: "7"},
		{Namespace: "ns", Name: "d", Phase: "Running", Deleting: true, HasLabel: true, Value: long},
		{Namespace: "ns", Name: "e", HasLabel: true, Value: "x y"},
	}
	if cont != "tok2" || !slices.Equal(pods, want) {
		t.Errorf("got %+v, continue %q\nwant %+v", pods, cont, want)
	}
	// A prefixed label key, with its dots and slash.
	pods, _, _ = parsePodList([]byte(page), "hub.jupyter.org/username")
	if !pods[0].HasLabel || pods[0].Value != "alice.x" || pods[1].HasLabel {
		t.Errorf("prefixed label: %+v", pods)
	}
	// The metadata-only list the API sends for the Accept afmc asks with.
	meta := `{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"9"},"items":[{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"a","namespace":"ns","labels":{"owner":"alice"}}}]}`
	pods, cont, err = parsePodList([]byte(meta), "owner")
	if err != nil || cont != "" || len(pods) != 1 || pods[0] != (kubePod{Namespace: "ns", Name: "a", HasLabel: true, Value: "alice"}) {
		t.Errorf("metadata only: %+v %q %v", pods, cont, err)
	}
	// kubectl's List, and an empty one.
	if pods, _, err := parsePodList([]byte(`{"apiVersion":"v1","items":[],"kind":"List","metadata":{"resourceVersion":""}}`), "owner"); err != nil || len(pods) != 0 {
		t.Errorf("empty List: %v %v", pods, err)
	}
	for _, bad := range []struct{ body, want string }{
		{`<html>502 Bad Gateway</html>`, "not JSON"},
		{`{"kind":"Status","status":"Failure","message":"x"}`, `not a list of pods (kind "Status")`},
		{`{"kind":"PodList","items":{"a":1}}`, "items are not an array"},
		{`{"kind":"PodList","items":[` + strings.Repeat(" ", 300), "not JSON"},
	} {
		_, _, err := parsePodList([]byte(bad.body), "owner")
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%.40s: error %v, want %q", bad.body, err, bad.want)
		}
	}
}

func TestKubeNames(t *testing.T) {
	for _, tt := range []struct {
		s                  string
		value, key, namesp bool
	}{
		{"alice", true, true, true},
		{"Grace.Hopper_2", true, true, false},
		{"a", true, true, true},
		{strings.Repeat("a", 63), true, true, true},
		{strings.Repeat("a", 64), false, false, false},
		{"", false, false, false},
		{"-alice", false, false, false},
		{"alice-", false, false, false},
		{"x y", false, false, false},
		{"é", false, false, false},
		{"hub.jupyter.org/username", false, true, false},
		{"Hub.jupyter.org/username", false, false, false},
		{"/username", false, false, false},
		{"hub.jupyter.org/", false, false, false},
		{"a/b/c", false, false, false},
		{"owner,app!=x", false, false, false},
		{"af-jupyter", true, true, true},
		{"a.-_b", true, true, false},
		{"A", true, true, false},
		{"a_b", true, true, false},
		{"ab.", false, false, false},
		{"a\x00b", false, false, false},
	} {
		if got := validKubeLabelValue(tt.s); got != tt.value {
			t.Errorf("validKubeLabelValue(%q) = %v", tt.s, got)
		}
		if got := validKubeLabelKey(tt.s); got != tt.key {
			t.Errorf("validKubeLabelKey(%q) = %v", tt.s, got)
		}
		if got := validKubeNamespace(tt.s); got != tt.namesp {
			t.Errorf("validKubeNamespace(%q) = %v", tt.s, got)
		}
	}
}

// newTestAPIClient is the in-cluster client on the fake server.
func newTestAPIClient(t *testing.T, f *fakeAPI) *apiClient {
	t.Helper()
	host, port := f.hostPort()
	c, err := newAPIClient(host, port, kubeServiceAccountDir(t, f))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.close)
	return c
}

func TestAPIClientPages(t *testing.T) {
	f := newFakeAPI(t, kubeFixtureToken(t), "af-jupyter")
	c := newTestAPIClient(t, f)
	pods, err := c.listPods(t.Context(), "af-jupyter", "owner")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pods {
		names = append(names, p.Name)
		if p.Phase != "" || !p.HasLabel {
			t.Errorf("pod %+v: want metadata only, with the label", p)
		}
	}
	// Eight pods are not finished: three pages of three.
	if want := "jupyter-alice jupyter-alice--gpu jupyter-alice--test jupyter-bob jupyter-frank jupyter-grace-2ehopper jupyter-heidi jupyter-ivan"; strings.Join(names, " ") != want {
		t.Errorf("pods %s\nwant %s", strings.Join(names, " "), want)
	}
	log := f.log()
	if len(log) != 3 {
		t.Fatalf("requests %q, want three pages", log)
	}
	for i, r := range log {
		u, _ := url.ParseRequestURI(strings.TrimPrefix(r, "GET "))
		q := u.Query()
		if u.Path != "/api/v1/namespaces/af-jupyter/pods" || q.Get("labelSelector") != "owner" || q.Get("fieldSelector") != kubeActivePhases || q.Get("limit") != "500" {
			t.Errorf("request %d: %s", i, r)
		}
		if (i == 0) == q.Has("continue") {
			t.Errorf("request %d: continue %q", i, q.Get("continue"))
		}
	}

	// An expired continue token: the list starts over, once.
	f.set(func(f *fakeAPI) { f.expire, f.requests = true, nil })
	pods2, err := c.listPods(t.Context(), "af-jupyter", "owner")
	if err != nil || len(pods2) != len(pods) || len(f.log()) != 5 {
		t.Errorf("after a 410: %d pods, %v, requests %q", len(pods2), err, f.log())
	}
}

func TestAPIClientBounds(t *testing.T) {
	f := newFakeAPI(t, kubeFixtureToken(t), "af-jupyter")
	c := newTestAPIClient(t, f)
	c.maxPage = 1000 // a page of three pods' metadata is more
	_, err := c.listPods(t.Context(), "af-jupyter", "owner")
	if err == nil || !strings.Contains(err.Error(), "larger than 1000 bytes") {
		t.Errorf("oversized page: %v", err)
	}

	// A server that sends the same continue token forever.
	loop := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kubeWriteJSON(w, `{"kind":"PodList","apiVersion":"v1","metadata":{"continue":"again"},"items":[]}`)
	}))
	defer loop.Close()
	c.base, c.maxPage = loop.URL, kubeMaxPageBytes
	c.client.Transport.(*http.Transport).TLSClientConfig.RootCAs = loop.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	if _, err := c.listPods(t.Context(), "af-jupyter", "owner"); err == nil || !strings.Contains(err.Error(), "same continue token twice") {
		t.Errorf("looping continue: %v", err)
	}
}

func TestServiceAccountFiles(t *testing.T) {
	f := newFakeAPI(t, "x")
	dir := kubeServiceAccountDir(t, f)
	host, port := f.hostPort()
	for _, tt := range []struct {
		file, content, want string
	}{
		{"token", "  \n", "service-account token " + filepath.Join(dir, "token") + " is empty"},
		{"ca.crt", "not a certificate", "holds no PEM certificate"},
		{"token", strings.Repeat("x", kubeMaxTokenBytes+1), "larger than"},
	} {
		saved, _ := os.ReadFile(filepath.Join(dir, tt.file))
		writeFile(t, filepath.Join(dir, tt.file), tt.content)
		if _, err := newAPIClient(host, port, dir); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s %.20q: %v, want %q", tt.file, tt.content, err, tt.want)
		}
		writeFile(t, filepath.Join(dir, tt.file), string(saved))
	}
	os.Remove(filepath.Join(dir, "ca.crt"))
	if _, err := newAPIClient(host, port, dir); err == nil || !strings.Contains(err.Error(), "service-account CA: open") {
		t.Errorf("no ca.crt: %v", err)
	}
}

func TestKubectlErrorLines(t *testing.T) {
	for _, tt := range []struct {
		stderr       string
		line, reason string
		code         int
	}{
		{`Error from server (Forbidden): pods is forbidden: User "u" cannot list resource "pods" in API group "" in the namespace "ns"`,
			`Error from server (Forbidden): pods is forbidden: User "u" cannot list resource "pods" in API group "" in the namespace "ns"`, "Forbidden", 0},
		{`error: You must be logged in to the server (Unauthorized)`, `error: You must be logged in to the server (Unauthorized)`, "Unauthorized", 401},
		{`error: You must be logged in to the server (the server has asked for the client to provide credentials)`,
			`error: You must be logged in to the server (the server has asked for the client to provide credentials)`, "Unauthorized", 401},
		{`E1129 19:31:43.354316 20692 memcache.go:265] "Unhandled Error" err="couldn't get current server API group list" | The connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?`,
			"The connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?", "", 0},
		{`Error from server (NotFound): namespaces "x" not found | warning: something after`, `Error from server (NotFound): namespaces "x" not found`, "NotFound", 0},
		{"", "", "", 0},
	} {
		err := kubectlError(&extcmd.Error{Cmd: "kubectl get pods", ExitCode: 1, Stderr: tt.stderr, Err: errors.New("exit status 1")})
		var f *kubectlFailure
		if !errors.As(err, &f) || f.line != tt.line {
			t.Errorf("%q: line %q", tt.stderr, f.line)
			continue
		}
		var ke *kubeError
		switch {
		case tt.reason == "" && errors.As(err, &ke):
			t.Errorf("%q: an API answer read where there is none: %v", tt.stderr, ke)
		case tt.reason != "" && (!errors.As(err, &ke) || ke.Reason != tt.reason || ke.Code != tt.code):
			t.Errorf("%q: API answer %+v, want %s %d", tt.stderr, ke, tt.reason, tt.code)
		}
		if want := "kubectl get pods: exit status 1"; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%q: error %q does not start with %q", tt.stderr, err, want)
		}
	}
}
