package host

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/atlas-af/afmc/internal/testtool"
	"golang.org/x/sys/unix"

	"github.com/atlas-af/afmc/collect"
	"github.com/atlas-af/afmc/collect/collecttest"
)

// diskDocs is each DISK or DISKIO document as "mount device".
func diskDocs(t *testing.T, res collecttest.Result, kind string) []string {
	t.Helper()
	var out []string
	for _, d := range res.Docs {
		if d.Kind() != kind {
			continue
		}
		m, _ := d.Fields.Get("mount")
		dev, _ := d.Fields.Get("device")
		out = append(out, m.(string)+" "+dev.(string))
	}
	return out
}

// Paths are reported as `df PATH` reports them: the filesystem holding the
// path, under mount = the path, device = the source of the mount holding
// it, as the original sent it. The fixture's mount table
// (testdata/host/proc/1/mountinfo) has / on nvme0n1p2, /data on
// /dev/mapper/vg0-data (bound again at /srv/projects), /scratch on
// /dev/sdb1, /home from NFS, /run a tmpfs.
func TestDiskPaths(t *testing.T) {
	for _, tt := range []struct {
		name    string
		mounts  []string
		setup   func(t *testing.T, root string)
		want    []string // "mount device", in order
		wantErr string   // "": none
		wantLog string
	}{
		{name: "the defaults: the original's three", want: []string{
			"/home nfs01.af.example.org:/export/home", "/data mapper/vg0-data", "/scratch sdb1"}},
		{name: "a default path that does not exist is skipped", setup: func(t *testing.T, root string) {
			os.Remove(filepath.Join(root, "scratch"))
		}, want: []string{"/home nfs01.af.example.org:/export/home", "/data mapper/vg0-data"},
			wantLog: `msg="disk: default path does not exist here, skipped" mount=/scratch`},
		{name: "no default path exists: no document, no error", setup: func(t *testing.T, root string) {
			for _, p := range DefaultMounts {
				os.Remove(filepath.Join(root, p))
			}
		}},
		{name: "a directory below a mount point", mounts: []string{"/data/projects/atlas"}, setup: func(t *testing.T, root string) {
			mkdir(t, root, "data/projects/atlas")
		}, want: []string{"/data/projects/atlas mapper/vg0-data"}},
		{name: "a file", mounts: []string{"/scratch/notes.txt"}, setup: func(t *testing.T, root string) {
			writeFile(t, filepath.Join(root, "scratch", "notes.txt"), "x")
		}, want: []string{"/scratch/notes.txt sdb1"}},
		{name: "the root filesystem", mounts: []string{"/", "/opt"}, setup: func(t *testing.T, root string) {
			mkdir(t, root, "opt")
		}, want: []string{"/ nvme0n1p2", "/opt nvme0n1p2"}},
		{name: "a bind mount is its own mount point", mounts: []string{"/srv/projects"}, want: []string{"/srv/projects mapper/vg0-data"}},
		{name: "tmpfs as it is", mounts: []string{"/run/lock"}, setup: func(t *testing.T, root string) {
			mkdir(t, root, "run/lock")
		}, want: []string{"/run/lock tmpfs"}},
		{name: "a space in the mount point", mounts: []string{"/mnt/usb disk"}, want: []string{"/mnt/usb disk sdc1"}},
		{name: "named twice, once cleaned", mounts: []string{"/data", "/data/", "//data"}, want: []string{"/data mapper/vg0-data"}},
		{name: "an absolute link resolves in the host's root", mounts: []string{"/work"}, setup: func(t *testing.T, root string) {
			mkdir(t, root, "scratch/work")
			symlink(t, "/scratch/work", filepath.Join(root, "work"))
		}, want: []string{"/work sdb1"}},
		{name: "a relative link, and .. within it", mounts: []string{"/d/x"}, setup: func(t *testing.T, root string) {
			mkdir(t, root, "data/x")
			mkdir(t, root, "srv/a")
			symlink(t, "../../data", filepath.Join(root, "srv", "a", "d"))
			symlink(t, "srv/a/d", filepath.Join(root, "d"))
		}, want: []string{"/d/x mapper/vg0-data"}},
		{name: "a default path that is a link", setup: func(t *testing.T, root string) {
			os.Remove(filepath.Join(root, "home"))
			mkdir(t, root, "data/home")
			symlink(t, "/data/home", filepath.Join(root, "home"))
		}, want: []string{"/home mapper/vg0-data", "/data mapper/vg0-data", "/scratch sdb1"}},
		{name: "a path that does not exist is an error for itself alone", mounts: []string{"/data", "/nonexistent", "/scratch"},
			want: []string{"/data mapper/vg0-data", "/scratch sdb1"}, wantErr: "mount /nonexistent: does not exist (lstat "},
		{name: "a link that loops", mounts: []string{"/loop", "/data"}, setup: func(t *testing.T, root string) {
			symlink(t, "/loop", filepath.Join(root, "loop"))
		}, want: []string{"/data mapper/vg0-data"}, wantErr: "mount /loop: resolve /loop: too many levels of symbolic links"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env, _, logs := fixtureHost(t)
			if tt.setup != nil {
				tt.setup(t, env.Roots.Root)
			}
			res, err := collecttest.Gather(context.Background(), Disk{Mounts: tt.mounts}, env, nil)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("error %v", err)
			case tt.wantErr != "":
				checkErr(t, err, tt.wantErr)
			}
			if got := diskDocs(t, res, "DISK"); strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("DISK %q, want %q", got, tt.want)
			}
			if tt.wantLog != "" && !strings.Contains(logs.String(), tt.wantLog) {
				t.Errorf("no log %q:\n%s", tt.wantLog, logs)
			}
		})
	}
}

func mkdir(t *testing.T, root, rel string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(root, rel), 0o755); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// DISKIO follows the paths reported: one per path on a block device (none
// for NFS), with the device named as DISK names it.
func TestDiskIOOfDefaultPaths(t *testing.T) {
	env, dir, _ := fixtureHost(t)
	res, err := collecttest.Gather(context.Background(), Disk{}, env, nil)
	if err != nil || len(diskDocs(t, res, "DISKIO")) != 0 {
		t.Fatalf("first run: %v, DISKIO %v", err, diskDocs(t, res, "DISKIO"))
	}
	writeFile(t, filepath.Join(dir, "proc", "uptime"), "86410.25 170010.00\n")
	b, _ := os.ReadFile(filepath.Join(dir, "proc", "diskstats"))
	writeFile(t, filepath.Join(dir, "proc", "diskstats"), strings.Replace(string(b),
		"253       0 dm-0 50512 0 3910244 29338 160122 0 12810944",
		"253       0 dm-0 50516 0 3910344 29338 160123 0 12810952", 1))
	res, err = collecttest.Gather(context.Background(), Disk{}, env, res.State)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(diskDocs(t, res, "DISKIO"), "|"); got != "/data mapper/vg0-data|/scratch sdb1" {
		t.Errorf("DISKIO %s", got)
	}
	for _, d := range res.Docs {
		if m, _ := d.Fields.Get("mount"); d.Kind() == "DISKIO" && m == "/data" {
			io, _ := d.Fields.Get("io")
			if b, _ := json.Marshal(io); string(b) != `{"interval":10.0,"read_bytes":51200,"write_bytes":4096,"reads":4,"writes":1}` {
				t.Errorf("/data io %s", b)
			}
		}
	}
	var st DiskState
	if err := json.Unmarshal(res.State, &st); err != nil || len(st.Devices) != 2 {
		t.Errorf("state %s: want the counters of 253:0 and 8:17", res.State)
	}
}

func TestDiskValidate(t *testing.T) {
	if err := (Disk{AllMounts: true, Mounts: []string{"/data"}}).Validate(); err == nil || !strings.Contains(err.Error(), "leave out --mount (/data), or --all-mounts") {
		t.Errorf("--all-mounts with --mount: %v", err)
	}
	for _, d := range []Disk{{}, {AllMounts: true}, {Mounts: []string{"/data"}}} {
		if err := d.Validate(); err != nil {
			t.Errorf("%+v: %v", d, err)
		}
	}
}

func TestHoldingMount(t *testing.T) {
	mounts, err := ParseMountinfo(readFixture(t, "host/proc/1/mountinfo"))
	if err != nil {
		t.Fatal(err)
	}
	// Mounted over: the later mount at the same point is the visible one.
	mounts = append(mounts, Mount{Device: "0:99", MountPoint: "/scratch", FSType: "tmpfs", Source: "over"})
	for _, tt := range []struct{ path, want string }{
		{"/", "/"},
		{"/datax", "/"}, // a prefix of the name is not a parent
		{"/data", "/data"},
		{"/data/a/b", "/data"},
		{"/srv", "/"},
		{"/srv/projects/x", "/srv/projects"},
		{"/run/user/1000/x", "/run/user/1000"},
		{"/scratch/x", "/scratch"},
	} {
		m, ok := HoldingMount(mounts, tt.path)
		if !ok || m.MountPoint != tt.want {
			t.Errorf("%s: %v %+v, want %s", tt.path, ok, m, tt.want)
		}
	}
	if m, _ := HoldingMount(mounts, "/scratch"); m.Source != "over" {
		t.Errorf("/scratch: %+v, want the mount over it", m)
	}
	if _, ok := HoldingMount(mounts[8:9], "/x"); ok {
		t.Error("a table without / holds /x")
	}
}

func TestResolveIn(t *testing.T) {
	root := t.TempDir()
	mkdir(t, root, "a/b")
	symlink(t, "/a", filepath.Join(root, "abs"))
	symlink(t, "b", filepath.Join(root, "a", "rel"))
	symlink(t, "../../../../a", filepath.Join(root, "a", "b", "up"))
	symlink(t, "x", filepath.Join(root, "dangling"))
	for _, tt := range []struct{ in, want string }{
		{"/", "/"},
		{"/a/b", "/a/b"},
		{"/abs/b", "/a/b"},
		{"/abs/rel", "/a/b"},
		{"/a/b/up/b", "/a/b"}, // .. stops at the root
		{"/a/../a/./b/", "/a/b"},
	} {
		got, err := ResolveIn(root, tt.in)
		if err != nil || got != tt.want {
			t.Errorf("%s: %q %v, want %s", tt.in, got, err, tt.want)
		}
	}
	for _, p := range []string{"/nope", "/dangling", "/a/nope/b"} {
		if _, err := ResolveIn(root, p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: %v, want not-exist", p, err)
		}
	}
}

// dfLine is what the real df says of a path: df -B1 with its source,
// mount point, size, used and available bytes.
type dfLine struct {
	source, target    string
	size, used, avail uint64
}

func realDF(t *testing.T, path string) (dfLine, bool) {
	t.Helper()
	cmd := exec.Command("df", "-B1", "--output=source,target,size,used,avail", path)
	cmd.Env = []string{"LC_ALL=C"}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("df %s: %v", path, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	f := strings.Fields(lines[len(lines)-1])
	if len(lines) != 2 || len(f) != 5 {
		return dfLine{}, false // a space in a name: not one to compare
	}
	n := func(s string) uint64 {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("df %s: %q", path, out)
		}
		return v
	}
	return dfLine{f[0], f[1], n(f[2]), n(f[3]), n(f[4])}, true
}

// afmc and the real df on this machine's own mount table: the same
// filesystem, device and bytes for each path. df and afmc's statfs come
// at different instants of a filesystem in use, so each comparison is
// taken between two df answers that agree.
func TestDiskAgreesWithDF(t *testing.T) {
	testtool.Need(t, "df")
	// The mount table df reads (its own), as init's for afmc.
	proc := filepath.Join(t.TempDir(), "proc")
	mkdir(t, proc, "1")
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		testtool.Unavailable(t, "no mount table: %v", err)
	}
	writeFile(t, filepath.Join(proc, "1", "mountinfo"), string(b))
	env := discardEnv()
	env.Roots = collect.Roots{Proc: proc, Root: "/"}
	mounts, err := readMounts(env.Roots)
	if err != nil {
		t.Fatal(err)
	}

	tmp := t.TempDir()
	writeFile(t, filepath.Join(tmp, "file"), "some bytes")
	link := filepath.Join(t.TempDir(), "link")
	symlink(t, tmp, link)
	paths := []string{"/", tmp, filepath.Join(tmp, "file"), link, "/proc", "/dev/shm", "/sys/fs/cgroup", "/usr/bin", "/etc/hostname"}
	if wd, err := os.Getwd(); err == nil {
		paths = append(paths, wd)
	}
	compared := 0
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		// df, afmc, df again, until the two df answers agree (a quiet
		// moment) or 20 tries: then afmc's used and free lie between them,
		// give or take what others wrote meanwhile.
		var before, after dfLine
		var doc map[string]any
		agreed, ok := false, true
		for range 20 {
			if before, ok = realDF(t, p); !ok {
				break
			}
			res, err := collecttest.Gather(context.Background(), Disk{Mounts: []string{p}}, env, nil)
			if err != nil || len(res.Docs) != 1 {
				t.Fatalf("%s: %v, %d documents", p, err, len(res.Docs))
			}
			b, _ := json.Marshal(res.Docs[0])
			doc = nil
			json.Unmarshal(b, &doc)
			if after, _ = realDF(t, p); before == after {
				agreed = true
				break
			}
		}
		if !ok {
			t.Logf("%s: a space in df's answer: not compared", p)
			continue
		}
		compared++
		t.Logf("%s: df %+v (the same twice: %v)", p, before, agreed)
		resolved, err := ResolveIn("/", p)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := HoldingMount(mounts, resolved)
		want := map[string]any{"mount": filepath.Clean(p), "device": strings.TrimPrefix(before.source, "/dev/"), "total": float64(before.size)}
		for k, v := range want {
			if doc[k] != v {
				t.Errorf("%s: %s %v, df %v", p, k, doc[k], v)
			}
		}
		if m.MountPoint != before.target {
			t.Errorf("%s: afmc finds it on %s, df on %s", p, m.MountPoint, before.target)
		}
		slack := 0.0
		if !agreed {
			slack = 64 << 20
		}
		between := func(v any, a, b uint64) bool {
			x, _ := v.(float64)
			return x >= float64(min(a, b))-slack && x <= float64(max(a, b))+slack
		}
		if !between(doc["used"], before.used, after.used) || !between(doc["free"], before.avail, after.avail) {
			t.Errorf("%s: used %v, free %v; df said %+v, then %+v", p, doc["used"], doc["free"], before, after)
		}
		if total, _ := doc["total"].(float64); total > 0 && doc["utilization"] != doc["used"].(float64)/total {
			t.Errorf("%s: utilization %v, want used/total", p, doc["utilization"])
		}
	}
	if compared < 2 {
		t.Errorf("compared %d paths with df, want at least / and the temp dir", compared)
	}
}

// statfs of the path itself, as df does, not of the mount point: a path
// that statfs refuses is that path's error.
func TestDiskStatfsOfThePath(t *testing.T) {
	env, _, _ := fixtureHost(t)
	mkdir(t, env.Roots.Root, "data/deep")
	var asked []string
	statfs := func(path string, s *unix.Statfs_t) error {
		asked = append(asked, strings.TrimPrefix(path, env.Roots.Root))
		return unix.Statfs(path, s)
	}
	if _, err := collecttest.Gather(context.Background(), Disk{Mounts: []string{"/data/deep"}, statfs: statfs}, env, nil); err != nil {
		t.Fatal(err)
	}
	if strings.Join(asked, ",") != "/data/deep" {
		t.Errorf("statfs of %v", asked)
	}
}
