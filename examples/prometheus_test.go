package examples

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/atlas-af/afmc/internal/promtest"
)

// textfileDir is node_exporter's textfile directory in the examples:
// Debian's default.
const textfileDir = "/var/lib/prometheus/node-exporter"

// The alert rule passes promtool's check, and its unit test: it fires for
// a node whose runs stopped succeeding 15 minutes ago, not before.
func TestPrometheusAlertRule(t *testing.T) {
	promtool := promtest.Tool(t, "promtool")
	for _, args := range [][]string{{"check", "rules", "afmc.rules.yml"}, {"test", "rules", "afmc.rules.test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = "prometheus"
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// Not vacuous: the rule's unit test fails for a threshold of 20 minutes.
	dir := t.TempDir()
	rules := strings.Replace(string(readFile(t, "prometheus/afmc.rules.yml")), "> 15 * 60", "> 20 * 60", 1)
	os.WriteFile(filepath.Join(dir, "afmc.rules.yml"), []byte(rules), 0o644)
	os.WriteFile(filepath.Join(dir, "afmc.rules.test.yml"), readFile(t, "prometheus/afmc.rules.test.yml"), 0o644)
	cmd := exec.Command(promtool, "test", "rules", "afmc.rules.test.yml")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("the rule's test passed a 20-minute threshold:\n%s", out)
	}
}

// The node_exporter setting of the example, as the real node_exporter
// takes it, serves what afmc writes, and the examples name one directory.
func TestNodeExporterExample(t *testing.T) {
	m := regexp.MustCompile(`(?m)^ARGS="([^"]*)"$`).FindStringSubmatch(string(readFile(t, "prometheus/prometheus-node-exporter")))
	if m == nil {
		t.Fatal(`prometheus/prometheus-node-exporter has no ARGS="..." line`)
	}
	args := strings.Fields(m[1])
	if len(args) != 1 || args[0] != "--collector.textfile.directory="+textfileDir {
		t.Fatalf("ARGS %q: want the textfile directory %s", m[1], textfileDir)
	}
	dropIn := string(readFile(t, "prometheus/textfile.conf"))
	for _, want := range []string{"Environment=AFMC_TEXTFILE_DIR=" + textfileDir + "\n", "ReadWritePaths=-" + textfileDir + "\n"} {
		if !strings.Contains(dropIn, want) {
			t.Errorf("prometheus/textfile.conf lacks %q", want)
		}
	}
	if !strings.Contains(string(readFile(t, "afmc.yaml")), "# textfile_dir: "+textfileDir+"\n") {
		t.Errorf("afmc.yaml does not show textfile_dir: %s", textfileDir)
	}

	dir := t.TempDir()
	code, _, stderr := runAFMC(t, nil, "collect", "cpu", "mem", "--json", "--state-dir", t.TempDir(), "--textfile-dir", dir)
	if code != 0 {
		t.Fatalf("afmc: exit %d: %s", code, stderr)
	}
	ne := promtest.StartNodeExporterArgs(t, strings.ReplaceAll(args[0], textfileDir, dir))
	text := ne.Scrape(t)
	served, err := promtest.Samples(text)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := served[`node_textfile_scrape_error{}`]; !ok || v != 0 {
		t.Errorf("node_textfile_scrape_error %v (present %v)", v, ok)
	}
	if served[`afmc_collector_up{collector="cpu"}`] != 1 || served[`afmc_documents{kind="MEM"}`] != 1 {
		t.Errorf("afmc's metrics are not served:\n%s", text)
	}
}

// The drop-in for afmc.service passes systemd-analyze verify together with
// the unit, and verify reads it (a misspelt key in it is reported).
func TestSystemdTextfileDropIn(t *testing.T) {
	analyze := promtest.Tool(t, "systemd-analyze")
	verify := func(dropIn string) string {
		dir := t.TempDir()
		service := strings.ReplaceAll(string(readFile(t, "systemd/afmc.service")), "ExecStart=/usr/bin/afmc ", "ExecStart="+afmcBinary(t)+" ")
		os.WriteFile(filepath.Join(dir, "afmc.service"), []byte(service), 0o644)
		os.WriteFile(filepath.Join(dir, "afmc.timer"), readFile(t, "systemd/afmc.timer"), 0o644)
		os.Mkdir(filepath.Join(dir, "afmc.service.d"), 0o755)
		os.WriteFile(filepath.Join(dir, "afmc.service.d", "textfile.conf"), []byte(dropIn), 0o644)
		out, err := exec.Command(analyze, "verify", "--man=no", filepath.Join(dir, "afmc.service"), filepath.Join(dir, "afmc.timer")).CombinedOutput()
		if err != nil {
			return err.Error() + ": " + string(out)
		}
		return strings.TrimSpace(string(out))
	}
	dropIn := string(readFile(t, "prometheus/textfile.conf"))
	if out := verify(dropIn); out != "" {
		t.Errorf("systemd-analyze verify: %s", out)
	}
	if out := verify(strings.Replace(dropIn, "SupplementaryGroups=", "SuplementaryGroups=", 1)); !strings.Contains(out, "SuplementaryGroups") {
		t.Errorf("verify did not read the drop-in: %q", out)
	}
}
