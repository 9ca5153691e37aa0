// Package testtool is for tests that run an optional system tool (zsh,
// rpm, systemd-analyze, kubectl, ...). Where the tool is missing, `make
// test` on a fresh machine skips the test, naming the tool and the package
// that has it; CI (.ci/run) installs every tool and sets RequireEnv, under
// which a missing tool fails the test instead, so no test goes unrun there.
package testtool

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// RequireEnv, set to 1, makes a missing tool a failure rather than a skip.
const RequireEnv = "AFMC_TEST_REQUIRE_TOOLS"

// packages are the Debian packages that hold the tools, for the message.
var packages = map[string]string{
	"bash":                     "bash",
	"cp":                       "coreutils",
	"head":                     "coreutils",
	"mount":                    "mount",
	"setsid":                   "util-linux",
	"sh":                       "dash",
	"sleep":                    "coreutils",
	"unshare":                  "util-linux",
	"df":                       "coreutils",
	"dpkg-deb":                 "dpkg",
	"getent":                   "libc-bin",
	"groff":                    "groff-base",
	"jq":                       "jq",
	"kubectl":                  "kubernetes-client",
	"make":                     "make",
	"prometheus-node-exporter": "prometheus-node-exporter",
	"promtool":                 "prometheus",
	"rpm":                      "rpm",
	"systemd-analyze":          "systemd",
	"utmpdump":                 "util-linux",
	"who":                      "coreutils",
	"zsh":                      "zsh",
}

// Need returns the path of tool in PATH. Where there is none, the test
// is skipped with the tool's name, or fails when RequireEnv is 1.
func Need(t testing.TB, tool string) string {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err == nil {
		return path
	}
	msg := tool + " is not installed (this test runs it)"
	if pkg, ok := packages[tool]; ok {
		msg += ": apt-get install " + pkg
	}
	if Required(os.Getenv) {
		t.Fatalf("%s; %s=1 makes this a failure", msg, RequireEnv)
	}
	t.Skip("skipped: " + msg)
	return ""
}

// Unavailable skips a test that this machine cannot run (no root, no
// mount namespace, no address but loopback), saying why; under RequireEnv
// it fails instead, so that CI, which runs as root on a full machine,
// never passes with such a test left out.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if Required(os.Getenv) {
		t.Fatalf("%s; %s=1 makes this a failure", msg, RequireEnv)
	}
	t.Skip("skipped: " + msg)
}

// Required tells whether a missing tool fails the test (RequireEnv=1).
func Required(getenv func(string) string) bool {
	return getenv(RequireEnv) == "1"
}
