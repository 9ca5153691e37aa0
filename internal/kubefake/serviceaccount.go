package kubefake

import (
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atlas-af/afmc/internal/testtool"
)

// ServiceAccountDir lays out a pod's service-account mount: the token and
// namespace of the fixture dir sa (testdata/jupyter/serviceaccount), and
// the fake's CA as ca.crt.
func (a *API) ServiceAccountDir(t testing.TB, sa string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"token", "namespace"} {
		b, err := os.ReadFile(filepath.Join(sa, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), a.CAPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// FixtureToken is the token of the fixture dir sa.
func FixtureToken(t testing.TB, sa string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sa, "token"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// RealKubectl is the machine's kubectl: tests run the real one, so its
// JSON and its errors are what afmc parses. Its discovery cache goes to a
// temp dir, not ~/.kube.
func RealKubectl(t *testing.T) string {
	t.Helper()
	p := testtool.Need(t, "kubectl")
	t.Setenv("KUBECACHEDIR", t.TempDir())
	return p
}

// PEM encodes a DER certificate.
func PEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
