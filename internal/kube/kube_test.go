package kube

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/atlas-af/afmc/internal/extcmd"
	"github.com/atlas-af/afmc/internal/kubefake"
)

func TestParsePodList(t *testing.T) {
	t.Parallel()
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
	want := []Pod{
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
	if err != nil || cont != "" || len(pods) != 1 || pods[0] != (Pod{Namespace: "ns", Name: "a", HasLabel: true, Value: "alice"}) {
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
	t.Parallel()
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
		if got := ValidLabelValue(tt.s); got != tt.value {
			t.Errorf("ValidLabelValue(%q) = %v", tt.s, got)
		}
		if got := ValidLabelKey(tt.s); got != tt.key {
			t.Errorf("ValidLabelKey(%q) = %v", tt.s, got)
		}
		if got := ValidNamespace(tt.s); got != tt.namesp {
			t.Errorf("ValidNamespace(%q) = %v", tt.s, got)
		}
	}
}

// newTestAPIClient is the in-cluster client on the fake server.
func newTestAPIClient(t *testing.T, f *kubefake.API) *APIClient {
	t.Helper()
	host, port := f.HostPort()
	c, err := NewAPIClient(t.Context(), host, port, kubeServiceAccountDir(t, f))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestAPIClientPages(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, kubeFixtureToken(t), "af-jupyter")
	c := newTestAPIClient(t, f)
	pods, err := c.ListPods(t.Context(), "af-jupyter", "owner")
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
	log := f.Requests()
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
	f.Set(func(c *kubefake.Config) { c.Expire = true })
	f.ClearRequests()
	pods2, err := c.ListPods(t.Context(), "af-jupyter", "owner")
	if err != nil || len(pods2) != len(pods) || len(f.Requests()) != 5 {
		t.Errorf("after a 410: %d pods, %v, requests %q", len(pods2), err, f.Requests())
	}
}

func TestAPIClientBounds(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, kubeFixtureToken(t), "af-jupyter")
	c := newTestAPIClient(t, f)
	c.maxPage = 1000 // a page of three pods' metadata is more
	_, err := c.ListPods(t.Context(), "af-jupyter", "owner")
	if err == nil || !strings.Contains(err.Error(), "larger than 1000 bytes") {
		t.Errorf("oversized page: %v", err)
	}

	// A server that sends the same continue token forever.
	loop := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kubefake.WriteJSON(w, `{"kind":"PodList","apiVersion":"v1","metadata":{"continue":"again"},"items":[]}`)
	}))
	defer loop.Close()
	c.base, c.maxPage = loop.URL, kubeMaxPageBytes
	c.client.Transport.(*http.Transport).TLSClientConfig.RootCAs = loop.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	if _, err := c.ListPods(t.Context(), "af-jupyter", "owner"); err == nil || !strings.Contains(err.Error(), "same continue token twice") {
		t.Errorf("looping continue: %v", err)
	}
}

func TestServiceAccountFiles(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, "x")
	dir := kubeServiceAccountDir(t, f)
	host, port := f.HostPort()
	for _, tt := range []struct {
		file, content, want string
	}{
		{"token", "  \n", "service-account token " + filepath.Join(dir, "token") + " is empty"},
		{"ca.crt", "not a certificate", "holds no PEM certificate"},
		{"token", strings.Repeat("x", kubeMaxTokenBytes+1), "over the 1048576 bytes"},
	} {
		saved, _ := os.ReadFile(filepath.Join(dir, tt.file))
		writeFile(t, filepath.Join(dir, tt.file), tt.content)
		if _, err := NewAPIClient(t.Context(), host, port, dir); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s %.20q: %v, want %q", tt.file, tt.content, err, tt.want)
		}
		writeFile(t, filepath.Join(dir, tt.file), string(saved))
	}
	os.Remove(filepath.Join(dir, "ca.crt"))
	if _, err := NewAPIClient(t.Context(), host, port, dir); err == nil || !strings.Contains(err.Error(), "service-account CA: open") {
		t.Errorf("no ca.crt: %v", err)
	}
}

func TestKubectlErrorLines(t *testing.T) {
	t.Parallel()
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
		var ke *Error
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
