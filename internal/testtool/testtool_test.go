package testtool

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// helperEnv makes the test binary run TestNeedMissingTool as a child.
const helperEnv = "AFMC_TESTTOOL_HELPER"

// TestNeedMissingTool is the child: it needs a tool no machine has.
func TestNeedMissingTool(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("run by TestNeed as a child process")
	}
	Need(t, "afmc-no-such-tool")
	t.Log("reached past Need")
}

// A missing tool skips the test, naming the tool; under RequireEnv=1 the
// same test fails.
func TestNeed(t *testing.T) {
	if p := Need(t, "sh"); p == "" || !strings.HasSuffix(p, "/sh") {
		t.Errorf("Need(sh) = %q", p)
	}
	run := func(require string) (string, error) {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestNeedMissingTool$", "-test.v")
		cmd.Env = append(os.Environ(), helperEnv+"=1", RequireEnv+"="+require)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("")
	if err != nil || !strings.Contains(out, "--- SKIP: TestNeedMissingTool") || !strings.Contains(out, "afmc-no-such-tool is not installed") {
		t.Errorf("without %s: %v\n%s", RequireEnv, err, out)
	}
	if strings.Contains(out, "reached past Need") {
		t.Errorf("the test went on after the skip:\n%s", out)
	}
	out, err = run("1")
	if err == nil || !strings.Contains(out, "--- FAIL: TestNeedMissingTool") || !strings.Contains(out, "afmc-no-such-tool is not installed") {
		t.Errorf("with %s=1: %v\n%s", RequireEnv, err, out)
	}
}

// TestUnavailableChild is the child of TestUnavailable: a machine that
// cannot run it.
func TestUnavailableChild(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("run by TestUnavailable as a child process")
	}
	Unavailable(t, "no mount namespace here (%s)", "afmc-test")
	t.Log("reached past Unavailable")
}

// What the machine cannot run is a skip saying why, and under
// RequireEnv=1 (CI) a failure.
func TestUnavailable(t *testing.T) {
	run := func(require string) (string, error) {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestUnavailableChild$", "-test.v")
		cmd.Env = append(os.Environ(), helperEnv+"=1", RequireEnv+"="+require)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("")
	if err != nil || !strings.Contains(out, "--- SKIP: TestUnavailableChild") || !strings.Contains(out, "no mount namespace here (afmc-test)") || strings.Contains(out, "reached past") {
		t.Errorf("without %s: %v\n%s", RequireEnv, err, out)
	}
	out, err = run("1")
	if err == nil || !strings.Contains(out, "--- FAIL: TestUnavailableChild") || strings.Contains(out, "reached past") {
		t.Errorf("with %s=1: %v\n%s", RequireEnv, err, out)
	}
}
