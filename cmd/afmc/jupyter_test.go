package main

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
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tidwall/gjson"
)

// The jupyter collector end to end: the CLI, the real kubectl on a login
// node, and the binary as it runs in a pod, against a Kubernetes API on
// loopback that serves the pods of testdata/jupyter.

const (
	e2eML     = `{"kind":"jupyter-ml","cluster":"TEST-AF","jupyter_user_count":4,"users":["Grace.Hopper_2","alice","bob","heidi"]}`
	e2eCoffea = `{"kind":"jupyter-coffea","cluster":"TEST-AF","jupyter_user_count":2,"users":["xavier","yolanda"]}`
	// The finished pods' phases, which afmc asks the API to leave out.
	e2ePhases = "status.phase!=Succeeded,status.phase!=Failed,status.phase!=Unknown"
)

// e2eKubeAPI is a small Kubernetes API: discovery for kubectl, and the pods
// of the fixture namespaces in pages of two, for the label and field
// selectors afmc sends; a namespace that is not there lists as empty and
// GETs as 404, as on a real cluster.
type e2eKubeAPI struct {
	srv  *httptest.Server
	pods map[string][]gjson.Result

	mu        sync.Mutex
	token     string
	forbidden string // a namespace where listing pods is forbidden
	seen      []string
}

func (k *e2eKubeAPI) set(token, forbidden string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.token, k.forbidden = token, forbidden
}

func newE2EKubeAPI(t *testing.T, token string) *e2eKubeAPI {
	t.Helper()
	k := &e2eKubeAPI{token: token, pods: map[string][]gjson.Result{}}
	for _, ns := range []string{"af-jupyter", "coffea-casa"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "jupyter", ns+".json"))
		if err != nil {
			t.Fatal(err)
		}
		k.pods[ns] = gjson.GetBytes(b, "items").Array()
	}
	k.srv = httptest.NewUnstartedServer(http.HandlerFunc(k.serve))
	k.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	k.srv.StartTLS()
	t.Cleanup(k.srv.Close)
	return k
}

func (k *e2eKubeAPI) caPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.srv.Certificate().Raw})
}

func (k *e2eKubeAPI) requests() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return strings.Join(k.seen, "\n")
}

func e2eKubeStatus(w http.ResponseWriter, code int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "message": msg, "reason": reason, "code": code})
}

func (k *e2eKubeAPI) serve(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	k.seen = append(k.seen, r.URL.RequestURI()+" Authorization="+r.Header.Get("Authorization"))
	token := k.token
	k.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+token {
		e2eKubeStatus(w, 401, "Unauthorized", "Unauthorized")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.URL.Path == "/version":
		fmt.Fprint(w, `{"major":"1","minor":"32","gitVersion":"v1.32.4"}`)
	case r.URL.Path == "/api":
		fmt.Fprint(w, `{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1:6443"}]}`)
	case r.URL.Path == "/apis":
		fmt.Fprint(w, `{"kind":"APIGroupList","apiVersion":"v1","groups":[]}`)
	case r.URL.Path == "/api/v1":
		fmt.Fprint(w, `{"kind":"APIResourceList","groupVersion":"v1","resources":[{"name":"namespaces","singularName":"namespace","namespaced":false,"kind":"Namespace","verbs":["get","list"],"shortNames":["ns"]},{"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod","verbs":["get","list"],"shortNames":["po"]}]}`)
	case len(parts) == 5 && parts[2] == "namespaces" && parts[4] == "pods":
		k.list(w, r, parts[3])
	case len(parts) == 4 && parts[2] == "namespaces":
		if _, ok := k.pods[parts[3]]; !ok {
			e2eKubeStatus(w, 404, "NotFound", fmt.Sprintf("namespaces %q not found", parts[3]))
			return
		}
		fmt.Fprintf(w, `{"kind":"Namespace","apiVersion":"v1","metadata":{"name":%q},"status":{"phase":"Active"}}`, parts[3])
	default:
		e2eKubeStatus(w, 404, "NotFound", "the server could not find the requested resource")
	}
}

func (k *e2eKubeAPI) list(w http.ResponseWriter, r *http.Request, ns string) {
	q := r.URL.Query()
	label := q.Get("labelSelector")
	k.mu.Lock()
	forbidden := k.forbidden
	k.mu.Unlock()
	if ns == forbidden {
		e2eKubeStatus(w, 403, "Forbidden", fmt.Sprintf(`pods is forbidden: User "system:serviceaccount:afmc:afmc" cannot list resource "pods" in API group "" in the namespace %q`, ns))
		return
	}
	if q.Get("fieldSelector") != e2ePhases || q.Get("limit") != "500" || !strings.HasPrefix(label, "owner") && !strings.HasPrefix(label, "jhub_user") {
		e2eKubeStatus(w, 400, "BadRequest", "unexpected query "+r.URL.RawQuery)
		return
	}
	var items []string
	for _, p := range k.pods[ns] {
		switch p.Get("status.phase").String() {
		case "Succeeded", "Failed", "Unknown":
			continue
		}
		if p.Get("metadata.labels." + gjson.Escape(label)).Exists() {
			items = append(items, p.Raw)
		}
	}
	from, _ := strconv.Atoi(q.Get("continue"))
	to := min(from+2, len(items))
	cont := ""
	if to < len(items) {
		cont = strconv.Itoa(to)
	}
	fmt.Fprintf(w, `{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7","continue":%q},"items":[%s]}`,
		cont, strings.Join(items[min(from, to):to], ","))
}

// kubeconfig writes a kubeconfig for the server: its CA, token auth.
func (k *e2eKubeAPI) kubeconfig(t *testing.T, token string) string {
	path := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters:\n- name: af\n  cluster:\n    server: %s\n    certificate-authority-data: %s\n"+
		"users:\n- name: afmc\n  user:\n    token: %s\ncontexts:\n- name: af\n  context: {cluster: af, user: afmc}\ncurrent-context: af\n",
		k.srv.URL, base64.StdEncoding.EncodeToString(k.caPEM()), token)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// jupyterKubectlEnv is hostFixture's environment with the machine's
// kubectl, which must be there (on the machine image as /usr/bin/kubectl);
// neither its cache nor a pod's variables come from the test's own
// environment.
func jupyterKubectlEnv(t *testing.T) map[string]string {
	t.Helper()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatalf("these tests need the real kubectl in PATH (on the machine image as /usr/bin/kubectl): %v", err)
	}
	t.Setenv("KUBECACHEDIR", t.TempDir())
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	t.Setenv("KUBECONFIG", "")
	_, env := hostFixture(t)
	env["AFMC_KUBECTL"] = kubectl
	return env
}

func TestJupyterKubectlEndToEnd(t *testing.T) {
	env := jupyterKubectlEnv(t)
	api := newE2EKubeAPI(t, "kubeconfig-token")
	kc := api.kubeconfig(t, "kubeconfig-token")

	r := afmc(t, env, "collect", "jupyter", "--json", "--kubeconfig", kc,
		"--jupyter", "jupyter-ml=af-jupyter/owner", "--jupyter", "jupyter-coffea=coffea-casa/jhub_user")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if want := e2eML + "\n" + e2eCoffea + "\n"; r.stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
	// af-jupyter's eight unfinished pods in pages of two.
	if n := strings.Count(api.requests(), "/api/v1/namespaces/af-jupyter/pods?continue="); n != 3 {
		t.Errorf("kubectl followed %d continue tokens in af-jupyter, want 3:\n%s", n, api.requests())
	}

	// The default hub, the settings from the environment, and a table.
	env["AFMC_KUBECONFIG"] = kc
	r = afmc(t, env, "collect", "jupyter")
	if r.code != 0 || !strings.Contains(r.stdout, "jupyter-ml  jupyter_user_count=4  users=Grace.Hopper_2,alice,bob,heidi") {
		t.Errorf("table: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	env["AFMC_JUPYTER"] = "jupyter-coffea=coffea-casa/jhub_user,jupyter-ml=af-jupyter/owner"
	r = afmc(t, env, "collect", "jupyter", "--json")
	if r.code != 0 || r.stdout != e2eCoffea+"\n"+e2eML+"\n" {
		t.Errorf("AFMC_JUPYTER: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	// KUBECONFIG, as kubectl reads it: the real binary in its environment.
	delete(env, "AFMC_KUBECONFIG")
	delete(env, "AFMC_JUPYTER")
	env["KUBECONFIG"] = kc
	env["KUBECACHEDIR"] = t.TempDir()
	env["HOME"] = t.TempDir()
	r = runBin(t, env, "collect", "jupyter", "--json")
	if r.code != 0 || r.stdout != e2eML+"\n" {
		t.Errorf("KUBECONFIG: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// A hub whose namespace does not exist, beside one that works: the
// working one is still printed, the run fails and says which.
func TestJupyterEndToEndMissingNamespace(t *testing.T) {
	env := jupyterKubectlEnv(t)
	api := newE2EKubeAPI(t, "tok")
	r := afmc(t, env, "collect", "jupyter", "--json", "--kubeconfig", api.kubeconfig(t, "tok"),
		"--jupyter", "jupyter-ml=af-jupyter/owner", "--jupyter", "jupyter-coffea=cofea-casa/jhub_user")
	if r.code != exitFailed || r.stdout != e2eML+"\n" {
		t.Errorf("exit %d, stdout %q", r.code, r.stdout)
	}
	if !strings.Contains(r.stderr, "collector jupyter: hub jupyter-coffea=cofea-casa/jhub_user: namespace cofea-casa does not exist") {
		t.Errorf("stderr %q", r.stderr)
	}
}

// The binary as it runs in a pod: the API directly, with the service
// account's token and CA.
func TestJupyterInClusterEndToEnd(t *testing.T) {
	token := strings.TrimSpace(jupyterTestdata(t, "jupyter/serviceaccount/token"))
	api := newE2EKubeAPI(t, token)
	_, env := hostFixture(t)
	sa := t.TempDir()
	for name, content := range map[string]string{"token": token + "\n", "namespace": "afmc", "ca.crt": string(api.caPEM())} {
		if err := os.WriteFile(filepath.Join(sa, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	host, port, _ := strings.Cut(strings.TrimPrefix(api.srv.URL, "https://"), ":")
	env["KUBERNETES_SERVICE_HOST"], env["KUBERNETES_SERVICE_PORT"] = host, port
	env["AFMC_SERVICE_ACCOUNT_DIR"] = sa
	env["AFMC_JUPYTER"] = "jupyter-ml=af-jupyter/owner,jupyter-coffea=coffea-casa/jhub_user"
	env["AFMC_KUBECTL"] = "no-kubectl-in-this-pod"

	r := runBin(t, env, "collect", "jupyter", "--json", "--log-level", "debug")
	if r.code != 0 || r.stdout != e2eML+"\n"+e2eCoffea+"\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// Straight to the API with the token: no discovery, no kubectl.
	for _, req := range strings.Split(api.requests(), "\n") {
		if !strings.HasPrefix(req, "/api/v1/namespaces/") || !strings.HasSuffix(req, "Authorization=Bearer "+token) {
			t.Errorf("request %s", req)
		}
	}
	if !strings.Contains(r.stderr, "pod=af-jupyter/jupyter-ivan") || strings.Contains(r.stderr, token) {
		t.Errorf("debug log: %s", r.stderr)
	}

	// 403 on one hub: the other's document, and the RBAC rule to add.
	api.set(token, "coffea-casa")
	r = runBin(t, env, "collect", "jupyter", "--json", "--log-level", "debug")
	if r.code != exitFailed || r.stdout != e2eML+"\n" {
		t.Errorf("forbidden: exit %d, stdout %q", r.code, r.stdout)
	}
	for _, want := range []string{"the pod's service account may not list pods in namespace coffea-casa (403 Forbidden)",
		"verbs [list] on resources [pods]", `User \"system:serviceaccount:afmc:afmc\" cannot list resource \"pods\"`} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q: %s", want, r.stderr)
		}
	}

	// A token the API does not take: 401, and the token in no log.
	api.set("another", "")
	r = runBin(t, env, "collect", "jupyter", "--json", "--log-level", "debug")
	if r.code != exitFailed || r.stdout != "" || !strings.Contains(r.stderr, "rejected the credentials of the pod's service account (401 Unauthorized") {
		t.Errorf("401: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stderr, token) {
		t.Errorf("the token is in the log: %s", r.stderr)
	}
}

func TestJupyterNowhere(t *testing.T) {
	env := jupyterKubectlEnv(t)
	kubectl := env["AFMC_KUBECTL"]
	env["AFMC_KUBECTL"] = "no-such-kubectl"
	r := afmc(t, env, "collect", "jupyter", "--json")
	if r.code != exitFailed || r.stdout != "" ||
		!strings.Contains(r.stderr, "collector jupyter: neither in a pod (KUBERNETES_SERVICE_HOST unset) nor is there a kubectl: no-such-kubectl not found") {
		t.Errorf("named: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// kubectl, but no kubeconfig for it.
	env["AFMC_KUBECTL"] = kubectl
	env["HOME"] = t.TempDir()
	r = runBin(t, env, "collect", "jupyter", "--json")
	if r.code != exitFailed || !strings.Contains(r.stderr, "is there, but it has no kubeconfig: no --kubeconfig, KUBECONFIG unset, and no "+env["HOME"]+"/.kube/config") {
		t.Errorf("kubectl without a kubeconfig: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = runBin(t, env, "collect", "--all", "--json", "-v")
	if strings.Contains(r.stdout, `"kind":"jupyter`) || !strings.Contains(r.stderr, "skipping collector: its source is not on this host") ||
		!strings.Contains(r.stderr, "collector=jupyter reason=") {
		t.Errorf("--all: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stderr, "collector jupyter:") {
		t.Errorf("--all reports jupyter as failed: %s", r.stderr)
	}
}

func TestJupyterUsage(t *testing.T) {
	_, env := hostFixture(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--jupyter", "af-jupyter/owner"}, `--jupyter "af-jupyter/owner": no '=': want KIND=NAMESPACE/LABEL, e.g. jupyter-ml=af-jupyter/owner`},
		{[]string{"--jupyter", "jupyter-ml=af-jupyter"}, `--jupyter "jupyter-ml=af-jupyter": no '/' between namespace and label`},
		{[]string{"--jupyter", "a=ns/owner", "--jupyter", "a=ns2/owner"}, "kind a is given twice"},
	} {
		r := afmc(t, env, append([]string{"collect", "jupyter"}, tt.args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) || r.stdout != "" {
			t.Errorf("%q: exit %d, stderr %q, want %q", tt.args, r.code, r.stderr, tt.want)
		}
	}
	r := afmc(t, env, "collect", "--help")
	for _, want := range []string{"--jupyter=KIND=NAMESPACE/LABEL,...", "--kubeconfig=FILE", `--kubectl="kubectl"`, `--service-account-dir="/var/run/secrets/kubernetes.io/serviceaccount"`, "default jupyter-ml=af-jupyter/owner", "($AFMC_JUPYTER)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

func jupyterTestdata(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
