package kube

import (
	"path/filepath"
	"testing"

	"github.com/atlas-af/afmc/internal/fixture"
	"github.com/atlas-af/afmc/internal/kubefake"
)

func writeFile(t *testing.T, path, content string) { t.Helper(); fixture.WriteFile(t, path, content) }

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
