package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/atlas-af/afmc/collect/host"
	"github.com/atlas-af/afmc/internal/testtool"
)

// These tests read this machine, not a fixture: afmc must agree with the
// system's own tools. Values that move (used space, available memory) are
// compared with readings taken just before and just after afmc's.

// hostEnv runs afmc on the real /proc with a private state dir.
func hostEnv(t *testing.T) map[string]string {
	dir := t.TempDir()
	noConfig := filepath.Join(dir, "no-config.json")
	if err := os.WriteFile(noConfig, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	return map[string]string{"AFMC_STATE_DIR": filepath.Join(dir, "state"), "AFMC_CLUSTER": "TEST-AF", "AFMC_CONFIG": noConfig}
}

func dfBytes(t *testing.T, mount string) (size, used, avail uint64) {
	t.Helper()
	out, err := exec.Command(testtool.Need(t, "df"), "-B1", "--output=size,used,avail", mount).Output()
	if err != nil {
		t.Fatalf("df %s: %v", mount, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	f := strings.Fields(lines[len(lines)-1])
	size, _ = strconv.ParseUint(f[0], 10, 64)
	used, _ = strconv.ParseUint(f[1], 10, 64)
	avail, _ = strconv.ParseUint(f[2], 10, 64)
	return
}

// within tells whether v lies between two readings, widened by slack.
func within(v, a, b, slack uint64) bool {
	lo, hi := min(a, b), max(a, b)
	return v+slack >= lo && v <= hi+slack
}

func num(d map[string]any, key string) uint64 { return uint64(d[key].(float64)) }

func TestDiskMatchesDf(t *testing.T) {
	t.Run("default paths", func(t *testing.T) {
		// /home, /data and /scratch where they exist: maybe none here.
		checkDiskMatchesDf(t, runBin(t, hostEnv(t), "collect", "disk", "--json"), false)
	})
	t.Run("--all-mounts", func(t *testing.T) {
		checkDiskMatchesDf(t, runBin(t, hostEnv(t), "collect", "disk", "--all-mounts", "--json"), true)
	})
}

func checkDiskMatchesDf(t *testing.T, r result, wantSome bool) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	ds := docs(t, r.stdout)
	if len(ds) == 0 && wantSome {
		t.Fatal("no DISK document on this machine")
	}
	const slack = 64 << 20 // other tests write files meanwhile
	for _, d := range ds {
		if d["kind"] != "DISK" {
			continue // DISKIO, from a second run
		}
		mount := d["mount"].(string)
		s1, u1, a1 := dfBytes(t, mount)
		s2, u2, a2 := dfBytes(t, mount)
		if got := num(d, "total"); got != s1 && got != s2 {
			t.Errorf("%s: total %d, df says %d", mount, got, s1)
		}
		if got := num(d, "used"); !within(got, u1, u2, slack) {
			t.Errorf("%s: used %d, df says %d", mount, got, u1)
		}
		if got := num(d, "free"); !within(got, a1, a2, slack) {
			t.Errorf("%s: free %d, df says %d", mount, got, a1)
		}
		if u := d["utilization"].(float64); u < 0 || u > 1 || (num(d, "total") > 0 && abs(u-float64(num(d, "used"))/float64(num(d, "total"))) > 1e-12) {
			t.Errorf("%s: utilization %v", mount, u)
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func readMeminfo(t *testing.T) host.Meminfo {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	mi, err := host.ParseMeminfo(b)
	if err != nil {
		t.Fatal(err)
	}
	return mi
}

func TestMemAndCPUMatchProc(t *testing.T) {
	before := readMeminfo(t)
	load1, _ := os.ReadFile("/proc/loadavg")
	r := runBin(t, hostEnv(t), "collect", "mem", "cpu", "--json")
	after := readMeminfo(t)
	load2, _ := os.ReadFile("/proc/loadavg")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	ds := docs(t, r.stdout)
	mem, cpu := ds[1], ds[0]
	if num(mem, "total") != before.Total {
		t.Errorf("total %d, /proc/meminfo says %d", num(mem, "total"), before.Total)
	}
	if got := num(mem, "available"); !within(got, before.Available, after.Available, 64<<20) {
		t.Errorf("available %d, /proc/meminfo says %d then %d", got, before.Available, after.Available)
	}
	got := strconv.FormatFloat(cpu["load"].(float64), 'f', 2, 64)
	if got != strings.Fields(string(load1))[0] && got != strings.Fields(string(load2))[0] {
		t.Errorf("load %s, /proc/loadavg says %q then %q", got, load1, load2)
	}
}

// physicalTraffic sums /proc/net/dev over the interfaces afmc counts by
// default: those with a device, or all but lo where none has one.
func physicalTraffic(t *testing.T) (sent, recv uint64) {
	t.Helper()
	b, err := os.ReadFile("/proc/net/dev")
	if err != nil {
		t.Fatal(err)
	}
	type c struct{ rx, tx uint64 }
	all := map[string]c{}
	for _, line := range strings.Split(string(b), "\n")[2:] {
		name, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		rx, _ := strconv.ParseUint(f[0], 10, 64)
		tx, _ := strconv.ParseUint(f[8], 10, 64)
		all[strings.TrimSpace(name)] = c{rx, tx}
	}
	var phys []string
	for name := range all {
		if _, err := os.Stat(filepath.Join("/sys/class/net", name, "device")); err == nil && name != "lo" {
			phys = append(phys, name)
		}
	}
	if len(phys) == 0 {
		for name := range all {
			if name != "lo" {
				phys = append(phys, name)
			}
		}
	}
	for _, n := range phys {
		sent += all[n].tx
		recv += all[n].rx
	}
	return
}

func TestNetworkMatchesProcNetDev(t *testing.T) {
	env := hostEnv(t)
	s0, r0 := physicalTraffic(t)
	if r := runBin(t, env, "collect", "network", "--json"); r.code != 0 || r.stdout != "" {
		t.Fatalf("first run: exit %d, stdout %q (want a baseline only)", r.code, r.stdout)
	}
	s1, r1 := physicalTraffic(t)
	s2, r2 := physicalTraffic(t)
	r := runBin(t, env, "collect", "network", "--json")
	s3, r3 := physicalTraffic(t)
	if r.code != 0 {
		t.Fatalf("second run: exit %d: %s", r.code, r.stderr)
	}
	ds := docs(t, r.stdout)
	if len(ds) != 1 {
		t.Fatalf("second run: %d documents, want one NETWORK", len(ds))
	}
	nw := ds[0]["network"].(map[string]any)
	sent, recv := num(nw, "sent"), num(nw, "received")
	// The delta lies between what /proc/net/dev grew by inside the two runs
	// and what it grew by around them.
	if sent < s2-s1 || sent > s3-s0 || recv < r2-r1 || recv > r3-r0 {
		t.Errorf("sent %d received %d; /proc/net/dev grew by %d..%d sent, %d..%d received", sent, recv, s2-s1, s3-s0, r2-r1, r3-r0)
	}
	if iv := nw["interval"].(float64); iv <= 0 {
		t.Errorf("interval %v", iv)
	}
}
