package jupyter

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/atlas-af/afmc/document"
	"github.com/atlas-af/afmc/internal/fixture"
	"github.com/atlas-af/afmc/internal/kubefake"
)

func writeFile(t *testing.T, path, content string) { t.Helper(); fixture.WriteFile(t, path, content) }

func docJSON(t *testing.T, d document.Document) string {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// newFakeAPI is a fake API server holding the pods of
// testdata/jupyter/NS.json for each namespace.
func newFakeAPI(t *testing.T, token string, namespaces ...string) *kubefake.API {
	t.Helper()
	return kubefake.New(t, token, filepath.Join("..", "..", "testdata", "jupyter"), namespaces...)
}

var serviceAccountFixture = filepath.Join("..", "..", "testdata", "jupyter", "serviceaccount")

func kubeServiceAccountDir(t *testing.T, f *kubefake.API) string {
	t.Helper()
	return f.ServiceAccountDir(t, serviceAccountFixture)
}

func kubeFixtureToken(t *testing.T) string {
	t.Helper()
	return kubefake.FixtureToken(t, serviceAccountFixture)
}

func realKubectl(t *testing.T) string { t.Helper(); return kubefake.RealKubectl(t) }

func kubePEM(der []byte) []byte { return kubefake.PEM(der) }

func checkErr(t *testing.T, err error, want string) { t.Helper(); fixture.CheckErr(t, err, want) }
