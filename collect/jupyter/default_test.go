package jupyter

import (
	"strings"
	"testing"

	"github.com/atlas-af/afmc/internal/kubefake"
)

// With no --jupyter, the original's two hubs, each reported only where its
// namespace is known to exist: a cluster without coffea-casa gets neither
// an error nor a jupyter-coffea of 0 users. In a pod and through the real
// kubectl alike.
func TestJupyterDefaultHubs(t *testing.T) {
	const idleCoffea = `{"kind":"jupyter-coffea","cluster":"TEST-AF","jupyter_user_count":0,"users":[]}`
	for _, tt := range []struct {
		name       string
		namespaces []string
		change     func(*kubefake.Config)
		want       []string
		wantErr    string // "": none
		wantSkip   string // the info log's reason for the skipped hub
	}{
		{name: "both hubs", namespaces: []string{"af-jupyter", "coffea-casa"}, want: []string{wantML, wantCoffea}},
		{name: "no coffea-casa", namespaces: []string{"af-jupyter"}, want: []string{wantML},
			wantSkip: `reason="namespace coffea-casa does not exist"`},
		{name: "neither", wantSkip: `reason="namespace af-jupyter does not exist"`},
		{name: "coffea-casa with no user: a true zero", namespaces: []string{"af-jupyter"},
			change: func(c *kubefake.Config) { c.Namespaces["coffea-casa"] = nil }, want: []string{wantML, idleCoffea}},
		{name: "no pods, and the namespace cannot be read: not a zero", namespaces: []string{"af-jupyter"},
			change: func(c *kubefake.Config) { c.NSHidden = true }, want: []string{wantML},
			wantSkip: "no pods in namespace coffea-casa, and cannot tell whether it exists"},
		{name: "pods listed: the namespace exists, readable or not", namespaces: []string{"af-jupyter", "coffea-casa"},
			change: func(c *kubefake.Config) { c.NSHidden = true }, want: []string{wantML, wantCoffea}},
		{name: "forbidden where there is no namespace (no Role can be there)", namespaces: []string{"af-jupyter"},
			change: func(c *kubefake.Config) { c.Forbidden["coffea-casa"] = true }, want: []string{wantML},
			wantSkip: "may not list pods in namespace coffea-casa, and that namespace is not known to exist"},
		{name: "forbidden, the namespace unreadable", namespaces: []string{"af-jupyter"},
			change: func(c *kubefake.Config) { c.Forbidden["coffea-casa"] = true; c.NSHidden = true }, want: []string{wantML},
			wantSkip: "may not list pods in namespace coffea-casa"},
		{name: "forbidden in a namespace that exists: the RBAC rule to add", namespaces: []string{"af-jupyter", "coffea-casa"},
			change: func(c *kubefake.Config) { c.Forbidden["coffea-casa"] = true }, want: []string{wantML},
			wantErr: "hub jupyter-coffea=coffea-casa/jhub_user: "},
	} {
		for _, where := range []string{"in a pod", "kubectl"} {
			t.Run(tt.name+"/"+where, func(t *testing.T) {
				token := kubeFixtureToken(t)
				f := newFakeAPI(t, token, tt.namespaces...)
				if tt.change != nil {
					f.Set(tt.change)
				}
				j := inCluster(t, f)
				if where == "kubectl" {
					j = onLoginNode(t, f, token)
				}
				env, logs := jupyterTestEnv()
				got, err := gatherJSON(t, j, env)
				checkDocs(t, got, tt.want...)
				switch {
				case tt.wantErr == "" && err != nil:
					t.Errorf("error %v", err)
				case tt.wantErr != "":
					checkErr(t, err, tt.wantErr)
					checkErr(t, err, "may not list pods in namespace coffea-casa (403 Forbidden)")
				}
				skips := strings.Count(logs.String(), `msg="jupyter: default hub not reported here"`)
				if tt.wantSkip != "" && (skips == 0 || !strings.Contains(logs.String(), tt.wantSkip)) || tt.wantSkip == "" && skips != 0 {
					t.Errorf("want a skip log %q:\n%s", tt.wantSkip, logs)
				}
				noSecret(t, token, logs.String(), errText(err))
			})
		}
	}
}

// Named hubs keep their rule: a namespace that does not exist is an error
// for that hub, whatever its name.
func TestJupyterNamedDefaultHubIsAnError(t *testing.T) {
	f := newFakeAPI(t, kubeFixtureToken(t), "af-jupyter")
	env, _ := jupyterTestEnv()
	got, err := gatherJSON(t, inCluster(t, f, DefaultJupyterHubs...), env)
	checkDocs(t, got, wantML)
	checkErr(t, err, "hub jupyter-coffea=coffea-casa/jhub_user: namespace coffea-casa does not exist")
}
