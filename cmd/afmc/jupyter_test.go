package main

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atlas-af/afmc/internal/fixture"
	"github.com/atlas-af/afmc/internal/kubefake"
	"github.com/atlas-af/afmc/internal/testtool"
)

// The jupyter collector end to end: the CLI, the real kubectl on a login
// node, and the binary as it runs in a pod, against a Kubernetes API on
// loopback that serves the pods of testdata/jupyter.

const (
	e2eML     = fixture.JupyterML
	e2eCoffea = fixture.JupyterCoffea
	// The finished pods' phases, which afmc asks the API to leave out.
	e2ePhases = "status.phase!=Succeeded,status.phase!=Failed,status.phase!=Unknown"
)

// newE2EKubeAPI is the fake API server with the pods of the fixture
// namespaces, in pages of two.
func newE2EKubeAPI(t *testing.T, token string) *kubefake.API {
	t.Helper()
	api := kubefake.New(t, token, filepath.Join("..", "..", "testdata", "jupyter"), "af-jupyter", "coffea-casa")
	api.Set(func(c *kubefake.Config) { c.PageSize = 2 })
	return api
}

// checkPodLists checks that every pod list asked the API for what afmc
// needs only: the unfinished pods, in pages of 500 at most.
func checkPodLists(t *testing.T, api *kubefake.API) {
	t.Helper()
	n := 0
	for _, req := range api.Requests() {
		if !strings.Contains(req, "/pods?") {
			continue
		}
		n++
		u, err := url.ParseRequestURI(strings.TrimPrefix(req, "GET "))
		if err != nil {
			t.Fatal(err)
		}
		if q := u.Query(); q.Get("fieldSelector") != e2ePhases || q.Get("limit") != "500" {
			t.Errorf("pod list %s: want fieldSelector=%s and limit=500", req, e2ePhases)
		}
	}
	if n == 0 {
		t.Error("no pod list reached the API")
	}
}

// jupyterKubectlEnv is hostFixture's environment with the machine's
// kubectl, which must be there (on the machine image as /usr/bin/kubectl);
// neither its cache nor a pod's variables come from the test's own
// environment.
func jupyterKubectlEnv(t *testing.T) map[string]string {
	t.Helper()
	kubectl := testtool.Need(t, "kubectl")
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
	kc := api.Kubeconfig(t, "kubeconfig-token")

	r := afmc(t, env, "collect", "jupyter", "--json", "--kubeconfig", kc,
		"--jupyter", "jupyter-ml=af-jupyter/owner", "--jupyter", "jupyter-coffea=coffea-casa/jhub_user")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if want := e2eML + "\n" + e2eCoffea + "\n"; r.stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
	// af-jupyter's eight unfinished pods in pages of two.
	requests := strings.Join(api.Requests(), "\n")
	if n := strings.Count(requests, "/api/v1/namespaces/af-jupyter/pods?continue="); n != 3 {
		t.Errorf("kubectl followed %d continue tokens in af-jupyter, want 3:\n%s", n, requests)
	}
	checkPodLists(t, api)

	// The default hubs (the original's two), the settings from the
	// environment, and a table.
	env["AFMC_KUBECONFIG"] = kc
	r = afmc(t, env, "collect", "jupyter")
	if r.code != 0 || !strings.Contains(r.stdout, "jupyter-ml      jupyter_user_count=4  users=Grace.Hopper_2,alice,bob,heidi") ||
		!strings.Contains(r.stdout, "jupyter-coffea  jupyter_user_count=2  users=xavier,yolanda") {
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
	if r.code != 0 || r.stdout != e2eML+"\n"+e2eCoffea+"\n" {
		t.Errorf("KUBECONFIG: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// The default hubs where the cluster runs one of them only: the other is
// skipped quietly (info at -v), with no error and no document of 0 users;
// named on the command line, the same hub is an error.
func TestJupyterDefaultHubsEndToEnd(t *testing.T) {
	env := jupyterKubectlEnv(t)
	api := kubefake.New(t, "tok", filepath.Join("..", "..", "testdata", "jupyter"), "af-jupyter")
	env["AFMC_KUBECONFIG"] = api.Kubeconfig(t, "tok")
	r := afmc(t, env, "collect", "jupyter", "--json")
	if r.code != 0 || r.stdout != e2eML+"\n" || r.stderr != "" {
		t.Errorf("defaults, no coffea-casa: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = afmc(t, env, "collect", "--all", "--json", "-v")
	if !strings.Contains(r.stderr, `msg="jupyter: default hub not reported here" collector=jupyter hub="jupyter-coffea=coffea-casa/jhub_user" reason="namespace coffea-casa does not exist"`) ||
		strings.Contains(r.stdout, "jupyter-coffea") || strings.Contains(r.stderr, "level=ERROR") {
		t.Errorf("-v: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = afmc(t, env, "collect", "jupyter", "--json", "--jupyter", "jupyter-ml=af-jupyter/owner", "--jupyter", "jupyter-coffea=coffea-casa/jhub_user")
	if r.code != exitFailed || r.stdout != e2eML+"\n" || !strings.Contains(r.stderr, "hub jupyter-coffea=coffea-casa/jhub_user: namespace coffea-casa does not exist") {
		t.Errorf("named: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// Neither namespace: nothing to send, and nothing wrong.
	api.Set(func(c *kubefake.Config) { delete(c.Namespaces, "af-jupyter") })
	r = afmc(t, env, "collect", "jupyter", "--json")
	if r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Errorf("no hub here: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// A hub whose namespace does not exist, beside one that works: the
// working one is still printed, the run fails and says which.
func TestJupyterEndToEndMissingNamespace(t *testing.T) {
	env := jupyterKubectlEnv(t)
	api := newE2EKubeAPI(t, "tok")
	r := afmc(t, env, "collect", "jupyter", "--json", "--kubeconfig", api.Kubeconfig(t, "tok"),
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
	for name, content := range map[string]string{"token": token + "\n", "namespace": "afmc", "ca.crt": string(api.CAPEM())} {
		if err := os.WriteFile(filepath.Join(sa, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	host, port := api.HostPort()
	env["KUBERNETES_SERVICE_HOST"], env["KUBERNETES_SERVICE_PORT"] = host, port
	env["AFMC_SERVICE_ACCOUNT_DIR"] = sa
	env["AFMC_JUPYTER"] = "jupyter-ml=af-jupyter/owner,jupyter-coffea=coffea-casa/jhub_user"
	env["AFMC_KUBECTL"] = "no-kubectl-in-this-pod"

	r := runBin(t, env, "collect", "jupyter", "--json", "--log-level", "debug")
	if r.code != 0 || r.stdout != e2eML+"\n"+e2eCoffea+"\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// Straight to the API with the token: no discovery, no kubectl.
	for _, req := range api.Requests() {
		if !strings.HasPrefix(req, "GET /api/v1/namespaces/") {
			t.Errorf("request %s", req)
		}
	}
	if bad := api.BadAuth(); len(bad) != 0 {
		t.Errorf("requests without the token: %q", bad)
	}
	checkPodLists(t, api)
	if !strings.Contains(r.stderr, "pod=af-jupyter/jupyter-ivan") || strings.Contains(r.stderr, token) {
		t.Errorf("debug log: %s", r.stderr)
	}

	// 403 on one hub: the other's document, and the RBAC rule to add.
	api.Set(func(c *kubefake.Config) { c.Forbidden["coffea-casa"] = true })
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
	api.Set(func(c *kubefake.Config) { c.Token, c.Forbidden = "another", nil })
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
	for _, want := range []string{"--jupyter=KIND=NAMESPACE/LABEL,...", "--kubeconfig=FILE", `--kubectl="kubectl"`, `--service-account-dir="/var/run/secrets/kubernetes.io/serviceaccount"`, "Default: jupyter-ml=af-jupyter/owner", "jupyter-coffea=coffea-casa/jhub_user,", "each skipped where its namespace does not exist", "($AFMC_JUPYTER)"} {
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
