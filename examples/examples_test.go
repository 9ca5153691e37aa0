// Package examples holds no code: its tests check the deployment examples
// (the config file, the cron file, the systemd units, the Kubernetes
// manifests, the Dockerfile) against afmc itself, so that a typo in one of
// them fails CI instead of a site's first run.
package examples

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
	buildOut  []byte
)

// afmcBinary builds cmd/afmc once for the whole package, as the packages
// and images build it (static). AFMC_TEST_BINARY names a binary built
// already, to test that one instead.
func afmcBinary(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("AFMC_TEST_BINARY"); b != "" {
		return b
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "afmc-examples-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "afmc")
		cmd := exec.Command("go", "build", "-trimpath", "-o", builtBin, "github.com/atlas-af/afmc/cmd/afmc")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build ./cmd/afmc: %v\n%s", buildErr, buildOut)
	}
	return builtBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtBin != "" {
		os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}

// runAFMC runs the built binary with exactly env (no AFMC_* of the
// caller's) and returns its exit status and output.
func runAFMC(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(afmcBinary(t), args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running afmc %v: %v", args, err)
	}
	return code, stdout.String(), stderr.String()
}

var helpFlag = regexp.MustCompile(`^\s+(?:-[a-zA-Z], )?--([a-z][a-z0-9-]*)`)

// settingKeys are the config keys afmc has: the flags of `afmc collect
// --help` with _ for -, but --help itself and --config (which names the
// file; it cannot be in it). The kinds argument is no flag.
func settingKeys(t *testing.T) []string {
	t.Helper()
	code, out, errOut := runAFMC(t, nil, "collect", "--help")
	if code != 0 {
		t.Fatalf("afmc collect --help: exit %d\n%s", code, errOut)
	}
	var keys []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		m := helpFlag.FindStringSubmatch(sc.Text())
		// Not settings: --config and --env-file are read before the
		// file, --help and --version print and exit.
		if m == nil || m[1] == "help" || m[1] == "config" || m[1] == "env-file" || m[1] == "version" {
			continue
		}
		k := strings.ReplaceAll(m[1], "-", "_")
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	if len(keys) < 20 {
		t.Fatalf("only %d flags found in `afmc collect --help`: did its layout change?\n%s", len(keys), out)
	}
	sort.Strings(keys)
	return keys
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The exit statuses in examples/README.md are the main README's, row for
// row: a site reads them there when a run fails.
func TestReadmeExitStatuses(t *testing.T) {
	main := string(readFile(t, "../README.md"))
	ours := string(readFile(t, "README.md"))
	var rows []string
	for _, line := range strings.Split(main, "\n") {
		if regexp.MustCompile(`^\| [0-9] \|`).MatchString(line) {
			rows = append(rows, line)
		}
	}
	if len(rows) < 6 {
		t.Fatalf("found %d exit status rows in README.md, want 0 to 5", len(rows))
	}
	for _, r := range rows {
		if !strings.Contains(ours, r+"\n") {
			t.Errorf("examples/README.md lacks the exit status row of README.md:\n%s", r)
		}
	}
	if !strings.Contains(main, "in the order 1, 5, 4, 3") {
		t.Error("README.md does not give the order of the exit statuses, 1, 5, 4, 3")
	}
	for _, want := range []string{"systemctl status afmc.service", "journalctl -u afmc", "kubectl -n afmc logs", "systemctl start afmc-check", "journalctl -u afmc-check"} {
		if !strings.Contains(ours, want) {
			t.Errorf("examples/README.md does not say %q", want)
		}
	}
	// The install steps say to check as the service runs.
	for _, want := range []string{"systemctl start afmc-check", "journalctl -u afmc-check"} {
		if !strings.Contains(main, want) {
			t.Errorf("README.md does not say %q", want)
		}
	}
}
