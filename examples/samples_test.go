package examples

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Each collector family keeps the part of the config file it owns beside
// its code (as a Telegraf plugin keeps its sample.conf): afmc.yaml holds
// every one of them as it is.
func TestSampleConfigsInAfmcYAML(t *testing.T) {
	whole := string(readFile(t, "afmc.yaml"))
	for _, dir := range []string{"collect/host", "collect/login", "collect/jupyter", "collect/condor", "users"} {
		b, err := os.ReadFile(filepath.Join("..", dir, "sample.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(whole, string(b)) {
			t.Errorf("examples/afmc.yaml does not hold %s/sample.yaml as it is: copy it in", dir)
		}
	}
}
