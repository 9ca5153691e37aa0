package host

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/atlas-af/afmc/collect/collecttest"
	"github.com/atlas-af/afmc/document"
)

func docJSON(t *testing.T, d document.Document) string {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCPUAndMemOnFixture(t *testing.T) {
	env, _, _ := fixtureHost(t)
	ctx := context.Background()
	res, err := collecttest.Gather(ctx, CPU{}, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := docJSON(t, res.Docs[0]), `{"kind":"CPU","cluster":"TEST-AF","login_node":"login01.af.example.org","load":1.25}`; got != want {
		t.Errorf("CPU:\n got %s\nwant %s", got, want)
	}
	// An idle host: the load is still a float, as the dashboards' index
	// mapping expects.
	writeFile(t, filepath.Join(env.Roots.Proc, "loadavg"), "0.00 0.00 0.00 1/80 100\n")
	res, err = collecttest.Gather(ctx, CPU{}, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := docJSON(t, res.Docs[0]); !strings.HasSuffix(got, `"load":0.0}`) {
		t.Errorf("idle CPU: %s", got)
	}

	res, err = collecttest.Gather(ctx, Mem{}, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := docJSON(t, res.Docs[0]), `{"kind":"MEM","cluster":"TEST-AF","login_node":"login01.af.example.org","available":24915492864,"total":25276026880}`; got != want {
		t.Errorf("MEM:\n got %s\nwant %s", got, want)
	}
}

func TestMemErrorsInsteadOfZeros(t *testing.T) {
	env, dir, _ := fixtureHost(t)
	ctx := context.Background()
	os.Remove(filepath.Join(dir, "proc", "meminfo"))
	_, err := collecttest.Gather(ctx, Mem{}, env, nil)
	checkErr(t, err, "reading memory info: open "+filepath.Join(dir, "proc", "meminfo"))

	writeFile(t, filepath.Join(dir, "proc", "meminfo"), "MemTotal: 0 kB\nMemAvailable: 0 kB\n")
	_, err = collecttest.Gather(ctx, Mem{}, env, nil)
	checkErr(t, err, "MemTotal is 0")
}

// --all-mounts: every real filesystem of the fixture's mount table.
func TestDiskAllMountsOnFixture(t *testing.T) {
	env, dir, logs := fixtureHost(t)
	ctx := context.Background()
	d := Disk{AllMounts: true}
	res, err := collecttest.Gather(ctx, d, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mounts []string
	for _, doc := range res.Docs {
		m, _ := doc.Fields.Get("mount")
		mounts = append(mounts, m.(string))
		if doc.Kind() != "DISK" {
			t.Errorf("first run: a %s document for %s without a baseline", doc.Kind(), m)
		}
		for _, key := range []string{"kind", "cluster", "login_node", "mount", "device", "total", "used", "free", "utilization"} {
			if _, ok := doc.Fields.Get(key); !ok {
				t.Errorf("%s: no %s field", m, key)
			}
		}
	}
	if got := strings.Join(mounts, ","); got != "/,/boot,/data,/eos,/home,/mnt/usb disk,/scratch" {
		t.Errorf("mounts %s", got)
	}
	var devices []string
	for _, doc := range res.Docs {
		dev, _ := doc.Fields.Get("device")
		devices = append(devices, dev.(string))
	}
	// As the original sent them: no /dev/ before a block device.
	if got := strings.Join(devices, ","); got != "nvme0n1p2,nvme0n1p1,mapper/vg0-data,eosxd,nfs01.af.example.org:/export/home,sdc1,sdb1" {
		t.Errorf("devices %s", got)
	}

	// Second run: 10 s later, /data's dm-0 read 100 sectors in 4 reads and
	// wrote 8 sectors in 1 write.
	writeFile(t, filepath.Join(dir, "proc", "uptime"), "86410.25 170010.00\n")
	b, _ := os.ReadFile(filepath.Join(dir, "proc", "diskstats"))
	stats := strings.Replace(string(b),
		"253       0 dm-0 50512 0 3910244 29338 160122 0 12810944",
		"253       0 dm-0 50516 0 3910344 29338 160123 0 12810952", 1)
	writeFile(t, filepath.Join(dir, "proc", "diskstats"), stats)
	res2, err := collecttest.Gather(ctx, d, env, res.State)
	if err != nil {
		t.Fatal(err)
	}
	var sawData bool
	ios := map[string]string{}
	for _, doc := range res2.Docs {
		m, _ := doc.Fields.Get("mount")
		io, hasIO := doc.Fields.Get("io")
		switch doc.Kind() {
		case "DISK":
			if hasIO || doc.Delta {
				t.Errorf("DISK %s carries I/O figures; they are DISKIO's", m)
			}
		case "DISKIO":
			b, _ := json.Marshal(io)
			ios[m.(string)] = string(b)
			if !doc.Delta {
				t.Errorf("DISKIO %s is not marked as a delta", m)
			}
		}
	}
	for m, got := range ios {
		switch m {
		case "/home", "/eos":
			t.Errorf("a network filesystem has I/O figures: %s", got)
		case "/data":
			sawData = true
			if want := `{"interval":10.0,"read_bytes":51200,"write_bytes":4096,"reads":4,"writes":1}`; got != want {
				t.Errorf("/data io: got %s want %s", got, want)
			}
		default:
			if !strings.Contains(got, `"read_bytes":0,"write_bytes":0,"reads":0,"writes":0`) {
				t.Errorf("%s io: got %s, want zero deltas", m, got)
			}
		}
	}
	if len(ios) != 5 {
		t.Errorf("DISKIO for %d mounts, want the 5 on block devices: %v", len(ios), ios)
	}
	if !sawData {
		t.Error("no /data document")
	}

	// A counter going backwards (device re-created): no io, no negative delta.
	writeFile(t, filepath.Join(dir, "proc", "uptime"), "86420.25 170020.00\n")
	writeFile(t, filepath.Join(dir, "proc", "diskstats"), strings.Replace(stats, "dm-0 50516", "dm-0 16", 1))
	res3, err := collecttest.Gather(ctx, d, env, res2.State)
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range res3.Docs {
		if m, _ := doc.Fields.Get("mount"); m == "/data" && doc.Kind() == "DISKIO" {
			t.Errorf("/data after reset: %v", doc.Fields)
		}
	}
	if !strings.Contains(logs.String(), "I/O counters went backwards") {
		t.Errorf("reset not logged: %s", logs)
	}
}

func TestDiskStatfsFailureIsPerMount(t *testing.T) {
	env, dir, _ := fixtureHost(t)
	if err := os.RemoveAll(filepath.Join(dir, "root", "scratch")); err != nil {
		t.Fatal(err)
	}
	res, err := collecttest.Gather(context.Background(), Disk{AllMounts: true}, env, nil)
	checkErr(t, err, "mount /scratch: statfs "+filepath.Join(dir, "root", "scratch"))
	if len(res.Docs) != 6 {
		t.Errorf("got %d documents, want the 6 other mounts", len(res.Docs))
	}
}

func TestNetworkDelta(t *testing.T) {
	base := NetworkState{
		HostClock:  HostClock{BootID: "b1", Uptime: 1000},
		Interfaces: map[string]IfCounters{"eth0": {Sent: 100, Received: 1000}, "eth1": {Sent: 5, Received: 5}},
	}
	tests := []struct {
		name       string
		prev, cur  NetworkState
		want       NetDelta
		wantReason string
	}{
		{"first run", NetworkState{}, base, NetDelta{}, "no previous reading"},
		{"growth", base, NetworkState{
			HostClock:  HostClock{BootID: "b1", Uptime: 1300.0644},
			Interfaces: map[string]IfCounters{"eth0": {Sent: 150, Received: 1900}, "eth1": {Sent: 10, Received: 5}},
		}, NetDelta{Interval: 300.064, Sent: 55, Received: 900}, ""},
		{"new interface waits for its baseline", base, NetworkState{
			HostClock:  HostClock{BootID: "b1", Uptime: 1010},
			Interfaces: map[string]IfCounters{"eth0": {Sent: 100, Received: 1000}, "eth1": {Sent: 5, Received: 5}, "eth2": {Sent: 7, Received: 7}},
		}, NetDelta{Interval: 10}, ""},
		{"reboot", base, NetworkState{
			HostClock:  HostClock{BootID: "b2", Uptime: 2000},
			Interfaces: base.Interfaces,
		}, NetDelta{}, "rebooted"},
		{"counter reset", base, NetworkState{
			HostClock:  HostClock{BootID: "b1", Uptime: 1010},
			Interfaces: map[string]IfCounters{"eth0": {Sent: 10, Received: 2000}, "eth1": {Sent: 5, Received: 5}},
		}, NetDelta{}, "counters of eth0 went backwards"},
		{"no time passed", base, base, NetDelta{}, "no time passed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := NetworkDelta(tt.prev, tt.cur)
			checkNetDelta(t, got, reason, tt.want, tt.wantReason)
		})
	}
}

func TestNetworkOnFixture(t *testing.T) {
	env, dir, logs := fixtureHost(t)
	ctx := context.Background()
	n := Network{}
	res, err := collecttest.Gather(ctx, n, env, nil)
	if err != nil || len(res.Docs) != 0 {
		t.Fatalf("first run: %d docs, err %v; want a baseline only", len(res.Docs), err)
	}
	if !strings.Contains(logs.String(), "recording a baseline") {
		t.Errorf("baseline not logged: %s", logs)
	}
	var st NetworkState
	if err := json.Unmarshal(res.State, &st); err != nil {
		t.Fatal(err)
	}
	// Physical interfaces only: eth0 and eno2 have a device; lo and the
	// docker0 bridge do not.
	if len(st.Interfaces) != 2 || st.Interfaces["eth0"].Received != 73810291827 || st.Interfaces["eno2"].Sent != 524288000 {
		t.Errorf("baseline %+v", st)
	}

	writeFile(t, filepath.Join(dir, "proc", "uptime"), "86700.314 170000.50\n")
	b, _ := os.ReadFile(filepath.Join(dir, "proc", "net", "dev"))
	grown := strings.Replace(string(b), "eth0: 73810291827", "eth0: 73810292827", 1)
	grown = strings.Replace(grown, "524288000  400000", "524288500  400000", 1)
	grown = strings.Replace(grown, "lo: 918273645", "lo: 999999999", 1)
	writeFile(t, filepath.Join(dir, "proc", "net", "dev"), grown)
	res, err = collecttest.Gather(ctx, n, env, res.State)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Docs) != 1 {
		t.Fatalf("second run: %d docs", len(res.Docs))
	}
	want := `{"kind":"NETWORK","cluster":"TEST-AF","login_node":"login01.af.example.org","network":{"interval":300.064,"sent":500,"received":1000}}`
	if got := docJSON(t, res.Docs[0]); got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}

	// --interface chooses, with patterns; one that matches nothing is an error.
	res, err = collecttest.Gather(ctx, Network{Interfaces: []string{"lo", "docker*"}}, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	st = NetworkState{}
	json.Unmarshal(res.State, &st)
	if len(st.Interfaces) != 2 || st.Interfaces["docker0"].Sent != 7000000 {
		t.Errorf("chosen interfaces %+v", st.Interfaces)
	}
	_, err = collecttest.Gather(ctx, Network{Interfaces: []string{"eth9"}}, env, nil)
	checkErr(t, err, `--interface "eth9" matches no interface`)

	// No physical interface (a container's veth): every one but lo.
	os.RemoveAll(filepath.Join(dir, "sys", "class", "net", "eth0", "device"))
	os.RemoveAll(filepath.Join(dir, "sys", "class", "net", "eno2", "device"))
	res, err = collecttest.Gather(ctx, n, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	st = NetworkState{}
	json.Unmarshal(res.State, &st)
	if len(st.Interfaces) != 3 {
		t.Errorf("fallback interfaces %v, want eth0, eno2, docker0", st.Interfaces)
	}
}

func TestNetworkBadInput(t *testing.T) {
	env, dir, _ := fixtureHost(t)
	ctx := context.Background()
	writeFile(t, filepath.Join(dir, "proc", "net", "dev"), string(readFixture(t, "malformed/netdev-garbage")))
	if _, err := collecttest.Gather(ctx, (Network{}), env, nil); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "proc", "net", "dev")) {
		t.Errorf("garbage net/dev: error %v, want one naming the file", err)
	}
	os.Remove(filepath.Join(dir, "proc", "uptime"))
	_, err := collecttest.Gather(ctx, Network{}, env, nil)
	checkErr(t, err, "reading uptime")
}

// A statfs that never returns (a dead NFS server) costs that mount its
// document, not the run: the others still come, within the timeout.
func TestDiskHungStatfs(t *testing.T) {
	env, dir, _ := fixtureHost(t)
	release := make(chan struct{})
	defer close(release)
	hung := filepath.Join(dir, "root", "home")
	d := Disk{AllMounts: true, StatTimeout: 20 * time.Millisecond, statfs: func(path string, s *unix.Statfs_t) error {
		if path == hung {
			<-release
		}
		return unix.Statfs(path, s)
	}}
	res, err := collecttest.Gather(context.Background(), d, env, nil)
	checkErr(t, err, "mount /home: statfs "+hung+": no answer in 20ms (hung network filesystem?)")
	if len(res.Docs) != 6 {
		t.Errorf("got %d documents, want the 6 other mounts", len(res.Docs))
	}
}

// A default mount root may not stat (root squash) is skipped quietly; named
// with --mount, it is an error.
func TestDiskPermissionDenied(t *testing.T) {
	env, dir, logs := fixtureHost(t)
	denied := filepath.Join(dir, "root", "home")
	statfs := func(path string, s *unix.Statfs_t) error {
		if path == denied {
			return unix.EACCES
		}
		return unix.Statfs(path, s)
	}
	res, err := collecttest.Gather(context.Background(), Disk{statfs: statfs}, env, nil)
	if err != nil || len(res.Docs) != 2 || !strings.Contains(logs.String(), "skipping a mount root cannot stat") {
		t.Errorf("default paths: %d documents, error %v, logs %s", len(res.Docs), err, logs)
	}
	res, err = collecttest.Gather(context.Background(), Disk{AllMounts: true, statfs: statfs}, env, nil)
	if err != nil || len(res.Docs) != 6 {
		t.Errorf("--all-mounts: %d documents, error %v", len(res.Docs), err)
	}
	_, err = collecttest.Gather(context.Background(), Disk{Mounts: []string{"/home"}, statfs: statfs}, env, nil)
	checkErr(t, err, "mount /home: statfs "+denied+": permission denied")
}

// checkNetDelta checks NetworkDelta's answer: the delta, and the reason it
// gives for sending none (wantReason "": no reason).
func checkNetDelta(t *testing.T, got NetDelta, reason string, want NetDelta, wantReason string) {
	t.Helper()
	if wantReason == "" && reason != "" || wantReason != "" && !strings.Contains(reason, wantReason) {
		t.Errorf("reason %q, want %q", reason, wantReason)
	}
	if got != want {
		t.Errorf("delta %+v, want %+v", got, want)
	}
}
