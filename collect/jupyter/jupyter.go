package jupyter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/atlas-af/afmc/collect"
	"github.com/atlas-af/afmc/document"
	"github.com/atlas-af/afmc/internal/extcmd"
	"github.com/atlas-af/afmc/internal/kube"
	"github.com/atlas-af/afmc/internal/safefile"
)

// Jupyter reports the users of JupyterHubs running on Kubernetes: one
// document per hub, whose users are the values of a label on the hub's
// Pending and Running pods that are not being deleted.
//
// Inside a pod (KUBERNETES_SERVICE_HOST and _PORT set, a service-account
// token mounted) it asks the API directly; the service account needs
// "list" on "pods" in each hub's namespace, and may have "get" on
// "namespaces" there, so that a namespace that does not exist is told from
// a hub with no users. Elsewhere it runs the host's kubectl with the
// site's kubeconfig.
//
// With no hub named, it reports the original's two, jupyter-ml and
// jupyter-coffea, each only where its namespace is known to exist: a
// login node or cluster without one sends neither an error nor a false
// zero for it.
type Jupyter struct {
	Hubs           []string `name:"jupyter" placeholder:"KIND=NAMESPACE/LABEL" help:"A JupyterHub to report, as KIND=NAMESPACE/LABEL: a document of kind KIND whose users are the values of LABEL on the Pending and Running pods of NAMESPACE (repeatable). Default: jupyter-ml=af-jupyter/owner and jupyter-coffea=coffea-casa/jhub_user, each skipped where its namespace does not exist; a hub named here whose namespace does not exist is an error."`
	Kubeconfig     string   `name:"kubeconfig" type:"path" placeholder:"FILE" help:"kubeconfig for kubectl (default: as kubectl chooses, KUBECONFIG or ~/.kube/config). Given, or KUBECONFIG set, kubectl is used even inside a pod."`
	Kubectl        string   `name:"kubectl" default:"kubectl" help:"The kubectl to run where afmc is not in a pod."`
	ServiceAccount string   `name:"service-account-dir" default:"/var/run/secrets/kubernetes.io/serviceaccount" type:"path" help:"Inside a pod, where the service account's token and ca.crt are mounted."`

	getenv func(string) string // os.Getenv; tests replace it
}

// defaultServiceAccountDir is where Kubernetes mounts a pod's service
// account.
const defaultServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

func (Jupyter) Name() string { return "jupyter" }

// DefaultJupyterHubs are the hubs reported when none is named: the
// original's -j always sent these two.
var DefaultJupyterHubs = []string{"jupyter-ml=af-jupyter/owner", "jupyter-coffea=coffea-casa/jhub_user"}

// hubs are the hubs to report, and whether they are the defaults.
func (j Jupyter) hubs() ([]jupyterHub, bool, error) {
	if len(j.Hubs) == 0 {
		hubs, err := parseJupyterHubs(DefaultJupyterHubs)
		return hubs, true, err
	}
	hubs, err := parseJupyterHubs(j.Hubs)
	return hubs, false, err
}

// hubSkipped is why a default hub is not reported: its namespace is not
// known to exist here.
type hubSkipped struct{ reason string }

func (e *hubSkipped) Error() string { return e.reason }

// jupyterHub is one --jupyter value.
type jupyterHub struct {
	Kind, Namespace, Label string
}

func (h jupyterHub) String() string { return h.Kind + "=" + h.Namespace + "/" + h.Label }

// parseJupyterHubs reads the --jupyter values.
func parseJupyterHubs(values []string) ([]jupyterHub, error) {
	var hubs []jupyterHub
	kinds := map[string]bool{}
	for _, v := range values {
		h, err := parseJupyterHub(v)
		if err != nil {
			return nil, fmt.Errorf("--jupyter %q: %v: want KIND=NAMESPACE/LABEL, e.g. jupyter-ml=af-jupyter/owner", v, err)
		}
		if kinds[h.Kind] {
			return nil, fmt.Errorf("--jupyter %q: kind %s is given twice: each hub is a document of its own kind", v, h.Kind)
		}
		kinds[h.Kind] = true
		hubs = append(hubs, h)
	}
	if len(hubs) == 0 {
		return nil, errors.New("--jupyter: no hub given: want KIND=NAMESPACE/LABEL, e.g. jupyter-ml=af-jupyter/owner")
	}
	return hubs, nil
}

func parseJupyterHub(v string) (jupyterHub, error) {
	kind, rest, ok := strings.Cut(strings.TrimSpace(v), "=")
	if !ok {
		return jupyterHub{}, errors.New("no '='")
	}
	ns, label, ok := strings.Cut(rest, "/")
	if !ok {
		return jupyterHub{}, errors.New("no '/' between namespace and label")
	}
	switch {
	case !kube.ValidLabelValue(kind):
		return jupyterHub{}, fmt.Errorf("kind %q is not a name (letters, digits, '.', '_', '-')", kind)
	case !kube.ValidNamespace(ns):
		return jupyterHub{}, fmt.Errorf("namespace %q is not a Kubernetes namespace name (lowercase letters, digits and '-', at most 63)", ns)
	case !kube.ValidLabelKey(label):
		return jupyterHub{}, fmt.Errorf("label %q is not a Kubernetes label key ([prefix/]name, the name at most 63 letters, digits, '.', '_', '-')", label)
	}
	return jupyterHub{Kind: kind, Namespace: ns, Label: label}, nil
}

// Validate checks the hubs when the command line is read: a bad --jupyter
// is a usage error.
func (j *Jupyter) Validate() error {
	_, _, err := j.hubs()
	return err
}

func (j Jupyter) env(key string) string {
	if j.getenv != nil {
		return j.getenv(key)
	}
	return os.Getenv(key)
}

func (j Jupyter) saDir() string {
	if j.ServiceAccount != "" {
		return j.ServiceAccount
	}
	return defaultServiceAccountDir
}

func (j Jupyter) kubectlName() string {
	if j.Kubectl != "" {
		return j.Kubectl
	}
	return "kubectl"
}

// jupyterSource is where the pods come from: the API (host and port set)
// or kubectl (its path set).
type jupyterSource struct {
	host, port string
	kubectl    string
	kubeconfig string
}

// source picks the API or kubectl: kubectl when a kubeconfig is named, the
// API inside a pod that has a service-account token, kubectl otherwise,
// when it has a kubeconfig to read. A login node where kubectl is
// installed but nobody configured it has no source: --all skips it.
func (j Jupyter) source() (jupyterSource, error) {
	kubeconfig, envConfig := j.Kubeconfig, j.env("KUBECONFIG")
	host, port := j.env("KUBERNETES_SERVICE_HOST"), j.env("KUBERNETES_SERVICE_PORT")
	var noToken error
	if host != "" && port != "" && kubeconfig == "" && envConfig == "" {
		token := filepath.Join(j.saDir(), "token")
		_, err := os.Stat(token)
		if err == nil {
			return jupyterSource{host: host, port: port}, nil
		}
		noToken = fmt.Errorf("in a pod, but no service-account token at %s (automountServiceAccountToken off? --service-account-dir names another place)", token)
	}
	path, err := extcmd.Find(j.kubectlName())
	switch {
	case err != nil && noToken != nil:
		return jupyterSource{}, fmt.Errorf("%v, and %v", noToken, err)
	case err != nil && (kubeconfig != "" || envConfig != ""):
		return jupyterSource{}, fmt.Errorf("a kubeconfig is named, but %v (--kubectl names another)", err)
	case err != nil:
		return jupyterSource{}, fmt.Errorf("neither in a pod (KUBERNETES_SERVICE_HOST unset) nor is there a kubectl: %v (--kubectl names another)", err)
	}
	if kubeconfig == "" && envConfig == "" {
		// kubectl's default, ~/.kube/config (in a pod it would fall back
		// on the service account, which is not there).
		home := j.env("HOME")
		def := filepath.Join(home, ".kube", "config")
		if _, err := os.Stat(def); home == "" || err != nil {
			err := fmt.Errorf("%s is there, but it has no kubeconfig: no --kubeconfig, KUBECONFIG unset, and no %s", path, def)
			if noToken != nil {
				err = fmt.Errorf("%v, and %v", noToken, err)
			}
			return jupyterSource{}, err
		}
	}
	return jupyterSource{kubectl: path, kubeconfig: kubeconfig}, nil
}

func (j Jupyter) Available(*collect.Env) error {
	_, err := j.source()
	return err
}

func (j Jupyter) Collect(ctx context.Context, env *collect.Env, _ json.RawMessage, emit collect.Emit) (json.RawMessage, error) {
	hubs, defaults, err := j.hubs()
	if err != nil {
		return nil, err
	}
	src, err := j.source()
	if err != nil {
		return nil, err
	}
	var lister kube.Lister
	var api string // where the pods come from, for errors
	if src.kubectl != "" {
		// A kubeconfig names the credential plugin kubectl runs: one
		// another user could change runs their program as root.
		if err := j.checkKubeconfigs(ctx, src.kubeconfig); err != nil {
			return nil, err
		}
		lister = kube.Kubectl{Path: src.kubectl, Kubeconfig: src.kubeconfig}
		api = "the Kubernetes API (through " + src.kubectl
		if src.kubeconfig != "" {
			api += " --kubeconfig " + src.kubeconfig
		}
		api += ")"
	} else {
		c, err := kube.NewAPIClient(ctx, src.host, src.port, j.saDir())
		if err != nil {
			return nil, err
		}
		defer c.Close()
		lister = c
		api = "the Kubernetes API at " + c.Base()
	}
	env.Log.Debug("jupyter: listing pods", "from", api, "hubs", len(hubs))

	// Each hub on its own, at once: one that fails or hangs costs the
	// others nothing. Each stops a little before the collector's deadline,
	// so that a hung API is reported hub by hub before the run gives up on
	// the whole collector.
	hubCtx, cancel := jupyterDeadline(ctx)
	defer cancel()
	budget := time.Duration(0)
	if dl, ok := hubCtx.Deadline(); ok {
		budget = time.Until(dl)
	}
	users := make([][]string, len(hubs))
	errs := make([]error, len(hubs))
	skipped := make([]bool, len(hubs))
	var wg sync.WaitGroup
	for i, h := range hubs {
		wg.Go(func() {
			users[i], errs[i] = jupyterUsers(hubCtx, env, lister, h, api, budget, defaults)
			var skip *hubSkipped
			switch {
			case errors.As(errs[i], &skip):
				env.Log.Info("jupyter: default hub not reported here", "hub", h.String(), "reason", skip.reason)
				errs[i], skipped[i] = nil, true
			case errs[i] != nil:
				errs[i] = fmt.Errorf("hub %s: %w", h, errs[i])
			}
		})
	}
	wg.Wait()

	for i, h := range hubs {
		if errs[i] != nil || skipped[i] {
			continue
		}
		d := document.New(h.Kind, env.Cluster, env.Now()).
			Add("jupyter_user_count", document.UserCount(len(users[i]))).
			Add("users", document.UserList(users[i]))
		if err := emit(d); err != nil {
			return nil, err
		}
	}
	return nil, errors.Join(errs...)
}

// checkKubeconfigs refuses the kubeconfigs kubectl will read (named, in
// KUBECONFIG, or ~/.kube/config) when another user could change one.
func (j Jupyter) checkKubeconfigs(ctx context.Context, named string) error {
	var paths []string
	switch {
	case named != "":
		paths = []string{named}
	case j.env("KUBECONFIG") != "":
		paths = filepath.SplitList(j.env("KUBECONFIG"))
	case j.env("HOME") != "":
		paths = []string{filepath.Join(j.env("HOME"), ".kube", "config")}
	}
	for _, p := range paths {
		if p == "" {
			continue
		}
		_, err := safefile.WithContext(ctx, p, func() (struct{}, error) { return struct{}{}, safefile.CheckTrusted(p) })
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("kubeconfig: %w", err)
		}
	}
	return nil
}

// jupyterDeadline ends a little before ctx does: a tenth of the time
// left, at most a second.
func jupyterDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	left := time.Until(dl)
	return context.WithDeadline(ctx, dl.Add(-min(time.Second, left/10)))
}

// jupyterUsers lists one hub's users: each label value once, sorted. api
// names where the pods come from, budget the time the hub had, for errors.
// A default hub (dflt) is reported only where its namespace is known to
// exist (it has pods, or the namespace can be read): otherwise a
// *hubSkipped says why not.
func jupyterUsers(ctx context.Context, env *collect.Env, lister kube.Lister, h jupyterHub, api string, budget time.Duration, dflt bool) ([]string, error) {
	pods, err := lister.ListPods(ctx, h.Namespace, h.Label)
	var ke *kube.Error
	if err != nil && dflt && errors.As(err, &ke) && (ke.Code == 403 || ke.Reason == "Forbidden") {
		// No Role in a namespace that is not there: forbidden is what a
		// namespace-bound account hears of a hub this cluster does not run.
		if exists, nsErr := lister.NamespaceExists(ctx, h.Namespace); nsErr != nil || !exists {
			return nil, &hubSkipped{fmt.Sprintf("%s may not list pods in namespace %s, and that namespace is not known to exist (name the hubs with --jupyter to make this an error)", lister.Who(), h.Namespace)}
		}
	}
	if err != nil {
		return nil, kube.Explain(err, api, h.Namespace, lister.Who(), budget)
	}
	if len(pods) == 0 {
		// A list in a namespace that does not exist is empty, not an
		// error: tell a mistyped namespace from a hub nobody uses.
		exists, err := lister.NamespaceExists(ctx, h.Namespace)
		switch {
		case err != nil && dflt:
			return nil, &hubSkipped{fmt.Sprintf("no pods in namespace %s, and cannot tell whether it exists (allow get on namespaces to report an idle hub)", h.Namespace)}
		case err != nil:
			env.Log.Debug("jupyter: no pods, and cannot tell whether the namespace exists (allow get on namespaces to tell)",
				"hub", h.Kind, "namespace", h.Namespace, "error", err)
		case !exists && dflt:
			return nil, &hubSkipped{fmt.Sprintf("namespace %s does not exist", h.Namespace)}
		case !exists:
			return nil, fmt.Errorf("namespace %s does not exist: %s lists no pods in it and answers 404 NotFound for the namespace", h.Namespace, api)
		}
	}
	seen := map[string]bool{}
	for _, p := range pods {
		switch {
		case !p.HasLabel:
			// The label selector sends none; kept for an API that ignored it.
		case p.Phase != "" && p.Phase != "Pending" && p.Phase != "Running":
		case p.Deleting:
		case !kube.ValidLabelValue(p.Value):
			v := p.Value
			if len(v) > 80 {
				v = v[:80] + "..."
			}
			env.Log.Debug("jupyter: skipping a pod whose label is not a valid label value",
				"hub", h.Kind, "pod", h.Namespace+"/"+p.Name, "label", h.Label, "value", extcmd.Printable(v))
		default:
			seen[p.Value] = true
		}
	}
	users := make([]string, 0, len(seen))
	for u := range seen {
		users = append(users, u)
	}
	sort.Strings(users)
	return users, nil
}
