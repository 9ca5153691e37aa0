package main

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// snapshotDir is every file below dir with its content hash, mode and
// modification time.
func snapshotDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		sum := ""
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum = fmt.Sprintf("%x", sha256.Sum256(b))
		}
		out[p] = fmt.Sprintf("%s %v %d", sum, fi.Mode(), fi.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameSnapshot(t *testing.T, before, after map[string]string) {
	t.Helper()
	for p, v := range before {
		if after[p] != v {
			t.Errorf("%s changed: %q -> %q", p, v, after[p])
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s appeared", p)
		}
	}
}

// A dry run shows the intervals since the last real run, changes no byte
// of the state dir, and leaves the next real run its whole interval.
func TestDryRunChangesNothing(t *testing.T) {
	dir, env := hostFixture(t)
	if r := afmc(t, env, "collect", "network", "disk", "--json"); r.code != 0 {
		t.Fatalf("baseline: %d %s", r.code, r.stderr)
	}
	// Five minutes and some traffic later.
	writeHostFile(t, dir, "proc/uptime", "86700.25 0\n")
	grow(t, dir)

	state := env["AFMC_STATE_DIR"]
	before := snapshotDir(t, state)
	var shown string
	for i := range 2 {
		r := afmc(t, env, "collect", "network", "--json", "--dry-run")
		if r.code != 0 || kinds(docs(t, r.stdout)) != "NETWORK" {
			t.Fatalf("dry run %d: exit %d, stdout %q, stderr %q", i, r.code, r.stdout, r.stderr)
		}
		if i == 1 && r.stdout != shown {
			t.Errorf("a second dry run shows another interval:\n%s\n%s", shown, r.stdout)
		}
		shown = r.stdout
	}
	sameSnapshot(t, before, snapshotDir(t, state))

	r := afmc(t, env, "collect", "network", "--json")
	if r.stdout != shown {
		t.Errorf("the real run after dry runs reports\n%s\nthe dry run showed\n%s", r.stdout, shown)
	}
}

// A dry run of the cron line prints what it would send, and sends and
// spools nothing, even with documents waiting in the spool.
func TestDryRunPostsNothing(t *testing.T) {
	s := newSink(t)
	s.mode.Store(sinkFail500)
	_, env := postEnv(t, s)
	if r := afmc(t, env, "collect", "cpu", "--post", "--timeout", "300ms"); r.code != exitUndelivered {
		t.Fatalf("setup: a spooled document: exit %d %s", r.code, r.stderr)
	}
	s.mode.Store(sinkOK)
	requests := s.requests
	sent := requests()
	state := env["AFMC_STATE_DIR"]
	before := snapshotDir(t, state)
	r := afmc(t, env, "collect", "cpu", "mem", "--post", "--dry-run")
	if r.code != 0 || kinds(docs(t, r.stdout)) != "CPU MEM" {
		t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if requests() != sent {
		t.Errorf("a dry run sent %d requests", requests()-sent)
	}
	sameSnapshot(t, before, snapshotDir(t, state))
	noSecrets(t, r)
	// A state dir that does not exist stays so.
	env["AFMC_STATE_DIR"] = filepath.Join(t.TempDir(), "none")
	if r := afmc(t, env, "collect", "cpu", "--dry-run", "--json"); r.code != 0 {
		t.Errorf("no state dir: exit %d %s", r.code, r.stderr)
	}
	if _, err := os.Stat(env["AFMC_STATE_DIR"]); !os.IsNotExist(err) {
		t.Errorf("a dry run created the state dir: %v", err)
	}
}

func writeHostFile(t *testing.T, dir, rel, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, rel), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// grow adds traffic to every interface of the fixture's /proc/net/dev.
func grow(t *testing.T, dir string) {
	t.Helper()
	p := filepath.Join(dir, "proc", "net", "dev")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		name, rest, ok := strings.Cut(l, ":")
		if !ok || i < 2 {
			continue
		}
		f := strings.Fields(rest)
		var rx, tx uint64
		fmt.Sscan(f[0], &rx)
		fmt.Sscan(f[8], &tx)
		f[0], f[8] = fmt.Sprint(rx+1000), fmt.Sprint(tx+500)
		lines[i] = name + ": " + strings.Join(f, " ")
	}
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
}
