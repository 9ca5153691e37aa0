package jupyter

import (
	"strings"
	"testing"

	"github.com/atlas-af/afmc/internal/kube"
)

// FuzzParseJupyterHub reads --jupyter values (the command line, AFMC_JUPYTER,
// the config file): a hub whose kind, namespace and label Kubernetes would
// take, which reads back from its own String, or an error.
func FuzzParseJupyterHub(f *testing.F) {
	for _, s := range []string{"jupyter-ml=af-jupyter/owner", "jupyter-coffea=coffea-casa/jhub_user", " k=ns/hub.jupyter.org/username ",
		"=ns/l", "k=/l", "k=ns/", "k=NS/l", "k=ns/a/b/c", "k=ns/.x", "k=ns/" + strings.Repeat("l", 64), "k=n.s/l"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		h, err := parseJupyterHub(v)
		if err != nil {
			return
		}
		if !kube.ValidLabelValue(h.Kind) || !kube.ValidNamespace(h.Namespace) || !kube.ValidLabelKey(h.Label) {
			t.Fatalf("%q: accepted %+v", v, h)
		}
		if back, err := parseJupyterHub(h.String()); err != nil || back != h {
			t.Fatalf("%q: %+v reads back from %q as %+v, %v", v, h, h.String(), back, err)
		}
		// The label key has a name of at most 63 characters, behind an
		// optional DNS prefix of at most 253.
		prefix, name, ok := strings.Cut(h.Label, "/")
		if !ok {
			prefix, name = "", h.Label
		}
		if len(name) > 63 || len(prefix) > 253 || strings.Contains(name, "/") {
			t.Fatalf("%q: label %q", v, h.Label)
		}
	})
}
