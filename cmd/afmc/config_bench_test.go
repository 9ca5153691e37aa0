package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// configOfKeys writes a config file of n distinct keys, as an attacker or
// a broken generator might: the loader must not be quadratic in them.
func configOfKeys(tb testing.TB, n int) string {
	tb.Helper()
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "k%s: 1\n", strconv.FormatInt(int64(i), 36))
	}
	p := filepath.Join(tb.TempDir(), "afmc.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

// BenchmarkConfig100kKeys loads a config of 100,000 keys and checks it
// against the flags (refused at its first unknown key, after the whole
// file was read): 26 s when the loader looked each key up in a list.
func BenchmarkConfig100kKeys(b *testing.B) {
	path := configOfKeys(b, 100_000)
	for b.Loop() {
		cf, err := loadConfig(context.Background(), path, true)
		if err != nil {
			b.Fatal(err)
		}
		if len(cf.entries) != 100_000 {
			b.Fatalf("%d entries", len(cf.entries))
		}
	}
}

// A file of 100,000 keys no flag has is refused, naming the first, once
// read whole: it is not a way to hold the run before its timeouts apply.
func TestConfigOfManyKeys(t *testing.T) {
	_, env := hostFixture(t)
	env["AFMC_CONFIG"] = configOfKeys(t, 100_000)
	r := afmc(t, env, "collect", "cpu", "--json")
	if r.code != exitUsage || !strings.Contains(r.stderr, `line 1: unknown setting "k0"`) {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}
