package main

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Every file an administrator names is refused before it is read when it
// is a FIFO (which would hang the run) or a device (which would grow
// memory without end): a usage error naming the file.
func TestNamedFilesThatAreNotFiles(t *testing.T) {
	_, env := hostFixture(t)
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"token FIFO", nil, []string{"collect", "cpu", "--post", "--token-file", fifo}},
		{"token device", nil, []string{"collect", "cpu", "--post", "--token-file", "/dev/zero"}},
		{"token directory", nil, []string{"collect", "cpu", "--post", "--token-file", "/"}},
		{"salt FIFO", nil, []string{"collect", "cpu", "--obfuscate-users", "--salt-file", fifo}},
		{"salt device", nil, []string{"collect", "cpu", "--obfuscate-users", "--salt-file", "/dev/zero"}},
		{"config FIFO", map[string]string{"AFMC_CONFIG": fifo}, []string{"collect", "cpu"}},
		{"config device", map[string]string{"AFMC_CONFIG": "/dev/zero"}, []string{"collect", "cpu"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := afmc(t, merged(env, tt.env), tt.args...)
			if r.code != exitUsage {
				t.Errorf("exit %d, want %d: %s", r.code, exitUsage, r.stderr)
			}
			if !strings.Contains(r.stderr, "not a regular file") {
				t.Errorf("stderr %q does not say what the file is", r.stderr)
			}
		})
	}
}
