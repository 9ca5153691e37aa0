package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/atlas-af/afmc/internal/testtool"
)

// afmc collect disk --mount PATH against the real df PATH, on real mounts
// of every kind a path can be on: a tmpfs mount point, a directory and a
// file in it, a symbolic link into it, a bind mount of it, and a tmpfs
// mounted over another. They are made in a mount namespace of the test's
// own (unshare), where both df and the afmc binary run, so that nothing
// of the machine is touched; tmpfs sizes do not move while they are read.
func TestDiskAgreesWithDFOnRealMounts(t *testing.T) {
	for _, tool := range []string{"unshare", "mount", "df", "sh", "head"} {
		testtool.Need(t, tool)
	}
	d := t.TempDir()
	for _, dir := range []string{"home", "bind", "over", "state"} {
		if err := os.Mkdir(filepath.Join(d, dir), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(d, "home", "sub"), filepath.Join(d, "link")); err != nil {
		t.Fatal(err)
	}
	noConfig := filepath.Join(d, "no-config.json")
	if err := os.WriteFile(noConfig, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	paths := []string{
		filepath.Join(d, "home"),
		filepath.Join(d, "home", "sub"),
		filepath.Join(d, "home", "sub", "f"),
		filepath.Join(d, "link"),
		filepath.Join(d, "bind"),
		filepath.Join(d, "bind", "sub"),
		filepath.Join(d, "over"),
		"/proc",
	}
	var mountArgs []string
	for _, p := range paths {
		mountArgs = append(mountArgs, "--mount", p)
	}
	// PID 1 of a new PID namespace, with its own /proc: afmc reads init's
	// mount table, which is then this namespace's.
	script := `set -e
d=$1; afmc=$2; shift 2
mount -t tmpfs -o size=64m afmc-home "$d/home"
mkdir "$d/home/sub"
head -c 1048576 /dev/zero > "$d/home/sub/f"
mount --bind "$d/home" "$d/bind"
mount -t tmpfs -o size=16m afmc-under "$d/over"
mount -t tmpfs -o size=32m afmc-over "$d/over"
df -B1 --output=source,target,size,used,avail ` + quoteAll(paths) + `> "$d/df.out"
exec "$afmc" collect disk --json "$@"`
	cmd := exec.Command("unshare", append([]string{"-rm", "--pid", "--fork", "--mount-proc", "sh", "-c", script, "sh", d, afmcBin}, mountArgs...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C", "AFMC_CONFIG=" + noConfig,
		"AFMC_STATE_DIR=" + filepath.Join(d, "state"), "AFMC_CLUSTER=TEST-AF", "AFMC_LOGIN_NODE=login01"}
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		if _, statErr := os.Stat(filepath.Join(d, "df.out")); statErr != nil {
			testtool.Unavailable(t, "no mount namespace here (unshare -rm --pid: %v): %s", err, stderr)
		}
		t.Fatalf("afmc in the namespace: %v\n%s", err, stderr)
	}
	dfOut, err := os.ReadFile(filepath.Join(d, "df.out"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("df:\n%s", dfOut)
	dfLines := strings.Split(strings.TrimSpace(string(dfOut)), "\n")[1:]
	got := docs(t, string(out))
	if len(dfLines) != len(paths) || len(got) != len(paths) {
		t.Fatalf("df said %d lines, afmc %d documents, for %d paths:\n%s\n%s", len(dfLines), len(got), len(paths), dfOut, out)
	}
	for i, p := range paths {
		f := strings.Fields(dfLines[i])
		if len(f) != 5 {
			t.Fatalf("df line %q", dfLines[i])
		}
		n := func(s string) float64 {
			v, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				t.Fatalf("df line %q", dfLines[i])
			}
			return float64(v)
		}
		want := map[string]any{"kind": "DISK", "mount": p, "device": strings.TrimPrefix(f[0], "/dev/"),
			"total": n(f[2]), "used": n(f[3]), "free": n(f[4])}
		for k, v := range want {
			if got[i][k] != v {
				t.Errorf("%s: %s %v, df says %v (df: %s)", p, k, got[i][k], v, dfLines[i])
			}
		}
		if size := n(f[2]); size > 0 && got[i]["utilization"] != n(f[3])/size {
			t.Errorf("%s: utilization %v, want used/total", p, got[i]["utilization"])
		}
	}
	// What the layout is, so the comparison above is not of one filesystem.
	for i, want := range []string{"afmc-home", "afmc-home", "afmc-home", "afmc-home", "afmc-home", "afmc-home", "afmc-over", "proc"} {
		if got[i]["device"] != want {
			t.Errorf("%s: device %v, want %s", paths[i], got[i]["device"], want)
		}
	}
	if got[0]["used"] != float64(1<<20) || got[6]["total"] != float64(32<<20) {
		t.Errorf("the tmpfs sizes: %v used of afmc-home (want 1 MiB), %v total of afmc-over (want 32 MiB)", got[0]["used"], got[6]["total"])
	}
}

// quoteAll quotes paths for sh.
func quoteAll(paths []string) string {
	var b strings.Builder
	for _, p := range paths {
		fmt.Fprintf(&b, "'%s' ", strings.ReplaceAll(p, "'", `'\''`))
	}
	return b.String()
}

// The disk settings from the command line, the environment and the config
// file, on the fixture host.
func TestDiskCommand(t *testing.T) {
	dir, env := hostFixture(t)
	mountsOf := func(r result) string {
		var out []string
		for _, d := range docs(t, r.stdout) {
			out = append(out, d["mount"].(string)+" "+d["device"].(string))
		}
		return strings.Join(out, ", ")
	}
	// The default paths; one missing is skipped without a word, and -v
	// says so.
	if err := os.Remove(filepath.Join(dir, "root", "scratch")); err != nil {
		t.Fatal(err)
	}
	r := afmc(t, env, "collect", "disk", "--json")
	if r.code != 0 || r.stderr != "" || mountsOf(r) != "/home nfs01.af.example.org:/export/home, /data mapper/vg0-data" {
		t.Errorf("defaults: exit %d, stderr %q, documents %s", r.code, r.stderr, mountsOf(r))
	}
	r = afmc(t, env, "collect", "disk", "--json", "-v")
	if !strings.Contains(r.stderr, `msg="disk: default path does not exist here, skipped" collector=disk mount=/scratch`) {
		t.Errorf("-v: %s", r.stderr)
	}
	// Named, it is an error, for it alone.
	r = afmc(t, env, "collect", "disk", "--json", "--mount", "/scratch", "--mount", "/srv/projects")
	if r.code != exitFailed || !strings.Contains(r.stderr, "mount /scratch: does not exist") || mountsOf(r) != "/srv/projects mapper/vg0-data" {
		t.Errorf("--mount /scratch: exit %d, stderr %q, documents %s", r.code, r.stderr, mountsOf(r))
	}

	// --all-mounts, AFMC_ALL_MOUNTS, all_mounts: every real filesystem.
	all := "/ nvme0n1p2, /boot nvme0n1p1, /data mapper/vg0-data, /eos eosxd, /home nfs01.af.example.org:/export/home, /mnt/usb disk sdc1"
	config := filepath.Join(dir, "afmc.yaml")
	if err := os.WriteFile(config, []byte("all_mounts: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, e := range map[string]map[string]string{
		"flag":        nil,
		"environment": {"AFMC_ALL_MOUNTS": "true"},
		"config file": {"AFMC_CONFIG": config},
	} {
		args := []string{"collect", "disk", "--json"}
		if e == nil {
			args = append(args, "--all-mounts")
		}
		// /scratch, removed above, is a mount of the table that cannot be
		// statted: its error, the others' documents.
		r := afmc(t, merged(env, e), args...)
		if r.code != exitFailed || !strings.Contains(r.stderr, "mount /scratch: statfs") || mountsOf(r) != all {
			t.Errorf("%s: exit %d, stderr %q, documents %s", name, r.code, r.stderr, mountsOf(r))
		}
	}
	r = afmc(t, env, "collect", "disk", "--all-mounts", "--mount", "/data")
	if r.code != exitUsage || !strings.Contains(r.stderr, "--all-mounts reports every real filesystem: leave out --mount (/data), or --all-mounts") {
		t.Errorf("--all-mounts with --mount: exit %d, stderr %q", r.code, r.stderr)
	}
}
