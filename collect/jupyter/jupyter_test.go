package jupyter

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atlas-af/afmc/collect"
	"github.com/atlas-af/afmc/collect/collecttest"
	"github.com/atlas-af/afmc/document"
	"github.com/atlas-af/afmc/internal/fixture"
	"github.com/atlas-af/afmc/internal/kubefake"
)

const (
	wantML     = fixture.JupyterML
	wantCoffea = fixture.JupyterCoffea
)

var bothHubs = []string{"jupyter-ml=af-jupyter/owner", "jupyter-coffea=coffea-casa/jhub_user"}

func jupyterTestEnv() (*collect.Env, *bytes.Buffer) {
	var logs bytes.Buffer
	return &collect.Env{
		Cluster: "TEST-AF",
		Now:     func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) },
		Log:     slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}, &logs
}

// inCluster is the collector as it runs in a pod, against f.
func inCluster(t *testing.T, f *kubefake.API, hubs ...string) Jupyter {
	t.Helper()
	host, port := f.HostPort()
	vars := map[string]string{"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port}
	return Jupyter{Hubs: hubs, ServiceAccount: kubeServiceAccountDir(t, f), Kubectl: "no-kubectl-here",
		getenv: func(k string) string { return vars[k] }}
}

// onLoginNode is the collector as it runs on a login node: the real
// kubectl with a kubeconfig for f.
func onLoginNode(t *testing.T, f *kubefake.API, token string, hubs ...string) Jupyter {
	t.Helper()
	return Jupyter{Hubs: hubs, Kubectl: realKubectl(t), Kubeconfig: f.Kubeconfig(t, token),
		getenv: func(string) string { return "" }}
}

func gatherJSON(t *testing.T, j Jupyter, env *collect.Env) ([]string, error) {
	t.Helper()
	res, err := collecttest.Gather(t.Context(), j, env, nil)
	if res.State != nil {
		t.Errorf("state %s: the jupyter collector keeps none", res.State)
	}
	var out []string
	for _, d := range res.Docs {
		if d.Delta {
			t.Errorf("%s is a Delta document: a snapshot is not", d.Kind())
		}
		out = append(out, docJSON(t, d))
	}
	return out, err
}

func checkDocs(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("documents:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// noSecret fails when the bearer token shows anywhere a person could read.
func noSecret(t *testing.T, token string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if strings.Contains(s, token) || strings.Contains(s, token[:20]) {
			t.Errorf("the token appears in %q", s)
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestJupyterInCluster(t *testing.T) {
	token := kubeFixtureToken(t)
	f := newFakeAPI(t, token, "af-jupyter", "coffea-casa")
	env, logs := jupyterTestEnv()
	j := inCluster(t, f, bothHubs...)
	if err := j.Available(env); err != nil {
		t.Fatalf("in a pod with a service account: %v", err)
	}
	got, err := gatherJSON(t, j, env)
	if err != nil {
		t.Fatal(err)
	}
	checkDocs(t, got, wantML, wantCoffea)
	// The pod with an empty label is named in a debug log.
	if !strings.Contains(logs.String(), "pod=af-jupyter/jupyter-ivan") {
		t.Errorf("no debug log names the skipped pod:\n%s", logs)
	}
	// Only what is needed: one label selector, the finished pods left out,
	// pages of 500 at most, and each later page by its continue token.
	for _, r := range f.Requests() {
		if !strings.Contains(r, "fieldSelector=status.phase%21%3DSucceeded%2Cstatus.phase%21%3DFailed%2Cstatus.phase%21%3DUnknown") ||
			!strings.Contains(r, "limit=500") || !(strings.Contains(r, "labelSelector=owner&") || strings.Contains(r, "labelSelector=jhub_user&")) {
			t.Errorf("request %s", r)
		}
	}
	if n := len(f.Requests()); n != 4 { // af-jupyter: 8 pods in 3 pages; coffea-casa: 3 pods in 1
		t.Errorf("%d requests, want 4: %q", n, f.Requests())
	}
	noSecret(t, token, logs.String())
}

// An API that ignores the field selector and the metadata-only Accept (a
// proxy, an old server) sends whole pods of every phase: the same users.
func TestJupyterWholePods(t *testing.T) {
	f := newFakeAPI(t, kubeFixtureToken(t), "af-jupyter", "coffea-casa")
	f.Set(func(c *kubefake.Config) { c.FullOnly = true })
	env, _ := jupyterTestEnv()
	got, err := gatherJSON(t, inCluster(t, f, bothHubs...), env)
	if err != nil {
		t.Fatal(err)
	}
	checkDocs(t, got, wantML, wantCoffea)
}

func TestJupyterKubectl(t *testing.T) {
	f := newFakeAPI(t, "kubeconfig-token", "af-jupyter", "coffea-casa")
	env, logs := jupyterTestEnv()
	j := onLoginNode(t, f, "kubeconfig-token", bothHubs...)
	if err := j.Available(env); err != nil {
		t.Fatalf("with kubectl: %v", err)
	}
	got, err := gatherJSON(t, j, env)
	if err != nil {
		t.Fatal(err)
	}
	checkDocs(t, got, wantML, wantCoffea)
	if !strings.Contains(logs.String(), "pod=af-jupyter/jupyter-ivan") {
		t.Errorf("no debug log names the skipped pod:\n%s", logs)
	}
	// kubectl asked as afmc told it, and followed the continue tokens.
	var lists, pages int
	for _, r := range f.Requests() {
		if strings.Contains(r, "/pods?") {
			lists++
			if !strings.Contains(r, "fieldSelector=status.phase%21%3DSucceeded") {
				t.Errorf("kubectl request without the field selector: %s", r)
			}
			if strings.Contains(r, "continue=") {
				pages++
			}
		}
	}
	if lists != 4 || pages != 2 {
		t.Errorf("%d pod lists, %d of them continued, want 4 and 2: %q", lists, pages, f.Requests())
	}
}

// KUBECONFIG is honoured as kubectl honours it, and chooses kubectl even
// in a pod.
func TestJupyterKUBECONFIG(t *testing.T) {
	f := newFakeAPI(t, "kubeconfig-token", "af-jupyter")
	j := onLoginNode(t, f, "kubeconfig-token", "jupyter-ml=af-jupyter/owner")
	t.Setenv("KUBECONFIG", j.Kubeconfig)
	host, port := f.HostPort()
	j.Kubeconfig, j.getenv = "", nil // os.Getenv
	t.Setenv("KUBERNETES_SERVICE_HOST", host)
	t.Setenv("KUBERNETES_SERVICE_PORT", port)
	j.ServiceAccount = kubeServiceAccountDir(t, f) // its token is not the one the server takes
	env, _ := jupyterTestEnv()
	got, err := gatherJSON(t, j, env)
	if err != nil {
		t.Fatal(err)
	}
	checkDocs(t, got, wantML)
}

// One hub whose namespace does not exist, beside one that works: the
// working hub's document, and an error naming the other.
func TestJupyterMissingNamespace(t *testing.T) {
	hubs := []string{"jupyter-ml=af-jupyter/owner", "jupyter-gone=coffea-csaa/jhub_user"}
	check := func(t *testing.T, j Jupyter, f *kubefake.API) {
		env, _ := jupyterTestEnv()
		got, err := gatherJSON(t, j, env)
		checkDocs(t, got, wantML)
		if err == nil || !strings.Contains(err.Error(), "hub jupyter-gone=coffea-csaa/jhub_user: namespace coffea-csaa does not exist") {
			t.Errorf("error %v", err)
		}
		if strings.Contains(errText(err), "jupyter-ml") {
			t.Errorf("the working hub is named in the error: %v", err)
		}

		// An existing namespace with no user pods is a hub nobody uses.
		f.Set(func(c *kubefake.Config) { c.Namespaces["coffea-csaa"] = nil })
		got, err = gatherJSON(t, j, env)
		checkDocs(t, got, wantML, `{"kind":"jupyter-gone","cluster":"TEST-AF","jupyter_user_count":0,"users":[]}`)
		if err != nil {
			t.Error(err)
		}

		// A service account that may not get namespaces cannot tell: the
		// hub counts as idle, with a debug log that says so.
		f.Set(func(c *kubefake.Config) { delete(c.Namespaces, "coffea-csaa"); c.NSHidden = true })
		env, logs := jupyterTestEnv()
		got, err = gatherJSON(t, j, env)
		checkDocs(t, got, wantML, `{"kind":"jupyter-gone","cluster":"TEST-AF","jupyter_user_count":0,"users":[]}`)
		if err != nil || !strings.Contains(logs.String(), "cannot tell whether the namespace exists") {
			t.Errorf("namespaces hidden: %v\n%s", err, logs)
		}
	}
	t.Run("in a pod", func(t *testing.T) {
		f := newFakeAPI(t, kubeFixtureToken(t), "af-jupyter")
		check(t, inCluster(t, f, hubs...), f)
	})
	t.Run("kubectl", func(t *testing.T) {
		f := newFakeAPI(t, "tok", "af-jupyter")
		check(t, onLoginNode(t, f, "tok", hubs...), f)
	})
}

func TestJupyterForbidden(t *testing.T) {
	check := func(t *testing.T, j Jupyter, f *kubefake.API, who string) {
		f.Set(func(c *kubefake.Config) { c.Forbidden["coffea-casa"] = true })
		env, logs := jupyterTestEnv()
		got, err := gatherJSON(t, j, env)
		checkDocs(t, got, wantML)
		for _, want := range []string{
			"hub jupyter-coffea=coffea-casa/jhub_user: " + who + " may not list pods in namespace coffea-casa (403 Forbidden)",
			"the RBAC rule missing is verbs [list] on resources [pods] (apiGroups [\"\"]) in namespace coffea-casa",
			`pods is forbidden: User "system:serviceaccount:afmc:afmc" cannot list resource "pods" in API group "" in the namespace "coffea-casa"`,
		} {
			if !strings.Contains(errText(err), want) {
				t.Errorf("error %v\nlacks %q", err, want)
			}
		}
		noSecret(t, kubeFixtureToken(t), errText(err), logs.String())
	}
	t.Run("in a pod", func(t *testing.T) {
		f := newFakeAPI(t, kubeFixtureToken(t), "af-jupyter", "coffea-casa")
		check(t, inCluster(t, f, bothHubs...), f, "the pod's service account")
	})
	t.Run("kubectl", func(t *testing.T) {
		f := newFakeAPI(t, kubeFixtureToken(t), "af-jupyter", "coffea-casa")
		check(t, onLoginNode(t, f, kubeFixtureToken(t), bothHubs...), f, "the kubeconfig's user")
	})
}

func TestJupyterUnauthorized(t *testing.T) {
	token := kubeFixtureToken(t)
	t.Run("in a pod", func(t *testing.T) {
		f := newFakeAPI(t, "the-token-the-server-wants", "af-jupyter")
		env, logs := jupyterTestEnv()
		got, err := gatherJSON(t, inCluster(t, f, "jupyter-ml=af-jupyter/owner"), env)
		checkDocs(t, got)
		if !strings.Contains(errText(err), "rejected the credentials of the pod's service account (401 Unauthorized") {
			t.Errorf("error %v", err)
		}
		// The server saw the token; no error or log shows it.
		if b := f.BadAuth(); len(b) == 0 || b[0] != "Bearer "+token {
			t.Errorf("the server got %q", b)
		}
		noSecret(t, token, errText(err), logs.String())
	})
	t.Run("kubectl", func(t *testing.T) {
		f := newFakeAPI(t, "the-token-the-server-wants", "af-jupyter")
		env, logs := jupyterTestEnv()
		got, err := gatherJSON(t, onLoginNode(t, f, token, "jupyter-ml=af-jupyter/owner"), env)
		checkDocs(t, got)
		if !strings.Contains(errText(err), "rejected the credentials of the kubeconfig's user (401 Unauthorized") ||
			!strings.Contains(errText(err), "error: You must be logged in to the server") {
			t.Errorf("error %v", err)
		}
		noSecret(t, token, errText(err), logs.String())
	})
}

// The token is read afresh each run: the kubelet rotates it.
func TestJupyterTokenRotates(t *testing.T) {
	f := newFakeAPI(t, kubeFixtureToken(t), "af-jupyter")
	j := inCluster(t, f, "jupyter-ml=af-jupyter/owner")
	env, _ := jupyterTestEnv()
	if _, err := gatherJSON(t, j, env); err != nil {
		t.Fatal(err)
	}
	f.Set(func(c *kubefake.Config) { c.Token = "rotated-token" })
	writeFile(t, filepath.Join(j.ServiceAccount, "token"), "rotated-token\n")
	got, err := gatherJSON(t, j, env)
	if err != nil {
		t.Fatal(err)
	}
	checkDocs(t, got, wantML)
}

func TestJupyterUnreachable(t *testing.T) {
	// A port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	t.Run("in a pod", func(t *testing.T) {
		f := newFakeAPI(t, kubeFixtureToken(t))
		j := inCluster(t, f, "jupyter-ml=af-jupyter/owner")
		host, port, _ := net.SplitHostPort(dead)
		j.getenv = func(k string) string {
			return map[string]string{"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port}[k]
		}
		env, _ := jupyterTestEnv()
		_, err := gatherJSON(t, j, env)
		if !strings.Contains(errText(err), "the Kubernetes API at https://"+dead+" cannot be reached") || !strings.Contains(errText(err), "connection refused") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("kubectl", func(t *testing.T) {
		f := newFakeAPI(t, "tok")
		j := onLoginNode(t, f, "tok", "jupyter-ml=af-jupyter/owner")
		b, _ := os.ReadFile(j.Kubeconfig)
		writeFile(t, j.Kubeconfig, strings.Replace(string(b), f.URL(), "https://"+dead, 1))
		env, _ := jupyterTestEnv()
		_, err := gatherJSON(t, j, env)
		if !strings.Contains(errText(err), "cannot be reached") || !strings.Contains(errText(err), "The connection to the server "+dead+" was refused") {
			t.Errorf("error %v", err)
		}
		if strings.Contains(errText(err), "memcache.go") {
			t.Errorf("kubectl's klog lines kept in the error: %v", err)
		}
	})
	t.Run("kubectl with an empty kubeconfig", func(t *testing.T) {
		home := t.TempDir()
		os.Mkdir(filepath.Join(home, ".kube"), 0o755)
		writeFile(t, filepath.Join(home, ".kube", "config"), "")
		vars := map[string]string{"HOME": home}
		j := Jupyter{Hubs: []string{"jupyter-ml=af-jupyter/owner"}, Kubectl: realKubectl(t), getenv: func(k string) string { return vars[k] }}
		t.Setenv("HOME", home)
		t.Setenv("KUBECONFIG", "")
		env, _ := jupyterTestEnv()
		_, err := gatherJSON(t, j, env)
		if !strings.Contains(errText(err), "kubectl has no kubeconfig (give --kubeconfig, set KUBECONFIG, or write ~/.kube/config)") ||
			!strings.Contains(errText(err), "localhost:8080 was refused") {
			t.Errorf("error %v", err)
		}
	})
}

func TestJupyterUntrustedCertificate(t *testing.T) {
	f := newFakeAPI(t, kubeFixtureToken(t), "af-jupyter")
	j := inCluster(t, f, "jupyter-ml=af-jupyter/owner")
	// A ca.crt of another cluster.
	writeFile(t, filepath.Join(j.ServiceAccount, "ca.crt"), string(otherCA(t)))
	env, logs := jupyterTestEnv()
	_, err := gatherJSON(t, j, env)
	if !strings.Contains(errText(err), "cannot be trusted") {
		t.Errorf("error %v", err)
	}
	if len(f.BadAuth()) != 0 || len(f.Requests()) != 0 {
		t.Errorf("a request reached the server past a failed TLS check: %q", f.Requests())
	}
	noSecret(t, kubeFixtureToken(t), errText(err), logs.String())
}

// A hung API is reported hub by hub, before the run gives up on the
// collector.
func TestJupyterTimeout(t *testing.T) {
	for _, tt := range []struct {
		name string
		j    func(f *kubefake.API) Jupyter
	}{
		{"in a pod", func(f *kubefake.API) Jupyter { return inCluster(t, f, bothHubs...) }},
		{"kubectl", func(f *kubefake.API) Jupyter { return onLoginNode(t, f, kubeFixtureToken(t), bothHubs...) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, kubeFixtureToken(t), "af-jupyter", "coffea-casa")
			f.Set(func(c *kubefake.Config) { c.Stall = time.Minute })
			env, _ := jupyterTestEnv()
			start := time.Now()
			outs := collect.Run(t.Context(), env, []collect.Collector{tt.j(f)}, nil, 3*time.Second, false, func(document.Document) error { return nil })
			took := time.Since(start)
			err := outs[0].Err
			// The error says who gave up; the clock on a loaded machine
			// does not.
			if errors.Is(err, collect.ErrTimeout) {
				t.Fatalf("the run gave up on the collector (%s): %v", took, err)
			}
			for _, hub := range bothHubs {
				if !strings.Contains(errText(err), "hub "+hub+": the Kubernetes API") {
					t.Errorf("no timeout reported for %s: %v", hub, err)
				}
			}
			if !strings.Contains(errText(err), "did not answer within 2.") || !strings.Contains(errText(err), "(timeout: see --collector-timeout)") {
				t.Errorf("error %v", err)
			}
		})
	}
}

func TestJupyterAvailable(t *testing.T) {
	env, _ := jupyterTestEnv()
	vars := map[string]string{}
	j := Jupyter{Kubectl: "no-such-kubectl", ServiceAccount: t.TempDir(), getenv: func(k string) string { return vars[k] }}
	err := j.Available(env)
	if err == nil || !strings.Contains(err.Error(), "neither in a pod (KUBERNETES_SERVICE_HOST unset) nor is there a kubectl: no-such-kubectl not found") {
		t.Errorf("neither: %v", err)
	}
	// In a pod without a service-account token, and no kubectl.
	vars["KUBERNETES_SERVICE_HOST"], vars["KUBERNETES_SERVICE_PORT"] = "10.96.0.1", "443"
	err = j.Available(env)
	if err == nil || !strings.Contains(err.Error(), "in a pod, but no service-account token at "+filepath.Join(j.ServiceAccount, "token")) {
		t.Errorf("no token: %v", err)
	}
	writeFile(t, filepath.Join(j.ServiceAccount, "token"), "t")
	if err := j.Available(env); err != nil {
		t.Errorf("in a pod: %v", err)
	}
	// A kubeconfig named needs kubectl.
	j.Kubeconfig = "/etc/afmc/kubeconfig"
	if err := j.Available(env); err == nil || !strings.Contains(err.Error(), "a kubeconfig is named, but no-such-kubectl not found") {
		t.Errorf("kubeconfig without kubectl: %v", err)
	}
	j.Kubectl = realKubectl(t)
	if err := j.Available(env); err != nil {
		t.Errorf("kubectl: %v", err)
	}
	// kubectl on a login node where nobody configured it: no source,
	// and no service-account token either.
	j.Kubeconfig = ""
	vars = map[string]string{"HOME": t.TempDir()}
	err = j.Available(env)
	if want := " is there, but it has no kubeconfig: no --kubeconfig, KUBECONFIG unset, and no " + filepath.Join(vars["HOME"], ".kube", "config"); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("kubectl without a kubeconfig: %v, want %q", err, want)
	}
	vars["KUBERNETES_SERVICE_HOST"], vars["KUBERNETES_SERVICE_PORT"] = "10.96.0.1", "443"
	os.Remove(filepath.Join(j.ServiceAccount, "token"))
	if err = j.Available(env); err == nil || !strings.Contains(err.Error(), "in a pod, but no service-account token") || !strings.Contains(err.Error(), "no kubeconfig") {
		t.Errorf("no token, no kubeconfig: %v", err)
	}
	os.Mkdir(filepath.Join(vars["HOME"], ".kube"), 0o755)
	writeFile(t, filepath.Join(vars["HOME"], ".kube", "config"), "apiVersion: v1\n")
	if err := j.Available(env); err != nil {
		t.Errorf("~/.kube/config: %v", err)
	}
	vars = map[string]string{"KUBECONFIG": "/etc/afmc/kubeconfig"}
	if err := j.Available(env); err != nil {
		t.Errorf("KUBECONFIG: %v", err)
	}
	// Collect says the same as Available.
	j = Jupyter{Hubs: []string{"jupyter-ml=af-jupyter/owner"}, Kubectl: "no-such-kubectl", getenv: func(string) string { return "" }}
	if _, err := collecttest.Gather(t.Context(), j, env, nil); err == nil || !strings.Contains(err.Error(), "neither in a pod") {
		t.Errorf("Collect without a source: %v", err)
	}
}

func TestParseJupyterHubs(t *testing.T) {
	hubs, err := parseJupyterHubs([]string{"jupyter-ml=af-jupyter/owner", " jupyter-coffea=coffea-casa/hub.jupyter.org/username "})
	if err != nil || len(hubs) != 2 || hubs[1] != (jupyterHub{"jupyter-coffea", "coffea-casa", "hub.jupyter.org/username"}) {
		t.Errorf("%+v %v", hubs, err)
	}
	for _, tt := range []struct {
		values []string
		want   string
	}{
		{[]string{"jupyter-ml"}, `--jupyter "jupyter-ml": no '=': want KIND=NAMESPACE/LABEL, e.g. jupyter-ml=af-jupyter/owner`},
		{[]string{"jupyter-ml=af-jupyter"}, `--jupyter "jupyter-ml=af-jupyter": no '/' between namespace and label: want KIND=NAMESPACE/LABEL`},
		{[]string{"=af-jupyter/owner"}, `kind "" is not a name`},
		{[]string{"jupyter-ml=Af_Jupyter/owner"}, `namespace "Af_Jupyter" is not a Kubernetes namespace name`},
		{[]string{"jupyter-ml=af-jupyter/"}, `label "" is not a Kubernetes label key`},
		{[]string{"jupyter-ml=af-jupyter/owner,app=x"}, `label "owner,app=x" is not a Kubernetes label key`},
		{[]string{"jupyter-ml=af-jupyter/owner!=x"}, `label "owner!=x" is not`},
		{[]string{"a=b/c", "a=d/e"}, `--jupyter "a=d/e": kind a is given twice`},
		{nil, "--jupyter: no hub given"},
	} {
		_, err := parseJupyterHubs(tt.values)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want %q", tt.values, err, tt.want)
		}
	}
	j := &Jupyter{Hubs: []string{"bad"}}
	if err := j.Validate(); err == nil || !strings.Contains(err.Error(), `--jupyter "bad"`) {
		t.Errorf("Validate: %v", err)
	}
}

// The documents JSON-encode users as a list, never null, and the count as
// an integer.
func TestJupyterDocumentShape(t *testing.T) {
	f := newFakeAPI(t, kubeFixtureToken(t), "af-jupyter")
	f.Set(func(c *kubefake.Config) { c.Namespaces["idle"] = nil })
	env, _ := jupyterTestEnv()
	res, err := collecttest.Gather(context.Background(), inCluster(t, f, "jupyter-idle=idle/owner"), env, nil)
	if err != nil || len(res.Docs) != 1 {
		t.Fatal(res, err)
	}
	var d map[string]any
	b, _ := json.Marshal(res.Docs[0])
	json.Unmarshal(b, &d)
	if u, ok := d["users"].([]any); !ok || len(u) != 0 || d["jupyter_user_count"] != float64(0) {
		t.Errorf("idle hub: %s", b)
	}
	if !res.Docs[0].Time.Equal(env.Now()) {
		t.Errorf("time %s", res.Docs[0].Time)
	}
}

// otherCA is a CA certificate that signed nothing the fake server has.
func otherCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "other-cluster-ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return kubePEM(der)
}
