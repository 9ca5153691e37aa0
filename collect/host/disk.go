package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/atlas-af/afmc/collect"
	"github.com/atlas-af/afmc/document"
)

// Disk reports one DISK document per path (size and use) and, once a
// baseline exists, one DISKIO with the I/O of its block device since the
// previous run (from /proc/diskstats, which the original tool meant to
// read and never did).
//
// A path is reported as `df PATH` reports it, as the original did
// (shutil.disk_usage): the filesystem that holds the path, under mount =
// the path. By default the original's /home, /data and /scratch, each
// skipped where it does not exist; AllMounts reports every real
// filesystem under its mount point instead.
type Disk struct {
	Mounts      []string      `name:"mount" placeholder:"PATH" help:"A path to report, as df PATH does: the filesystem holding it, under mount = PATH (repeatable; default: /home, /data and /scratch, each skipped where it does not exist)."`
	AllMounts   bool          `name:"all-mounts" help:"Report every mounted real filesystem under its mount point instead of --mount's paths: no pseudo, container or CVMFS filesystems, no user's FUSE mounts, and a device mounted twice once."`
	StatTimeout time.Duration `kong:"-"` // one statfs; a dead NFS server hangs it forever

	statfs func(path string, s *unix.Statfs_t) error // unix.Statfs; tests hang it
}

// DefaultMounts are the paths reported when none is named: the original
// tool's.
var DefaultMounts = []string{"/home", "/data", "/scratch"}

func (Disk) Name() string                 { return "disk" }
func (Disk) Available(*collect.Env) error { return nil }

// Validate checks the settings before anything is collected.
func (d Disk) Validate() error {
	if d.AllMounts && len(d.Mounts) > 0 {
		return fmt.Errorf("--all-mounts reports every real filesystem: leave out --mount (%s), or --all-mounts", strings.Join(d.Mounts, ", "))
	}
	return nil
}

// DiskState is the disk collector's state section: the I/O counters of the
// block devices it reported, by "major:minor".
type DiskState struct {
	HostClock
	Devices map[string]DiskCounters `json:"devices"`
}

func (d Disk) Collect(ctx context.Context, env *collect.Env, prevRaw json.RawMessage, emit collect.Emit) (json.RawMessage, error) {
	mounts, err := readMounts(env.Roots)
	if err != nil {
		return nil, err
	}
	targets := d.targets(mounts)
	var errs []error

	// I/O counters are optional: a host without diskstats still reports sizes.
	var prev DiskState
	if len(prevRaw) > 0 {
		if err := json.Unmarshal(prevRaw, &prev); err != nil {
			env.Log.Warn("disk: unreadable previous I/O counters, recording a new baseline", "error", err)
			prev = DiskState{}
		}
	}
	var nextRaw json.RawMessage
	next := DiskState{Devices: map[string]DiskCounters{}}
	interval, ioReason := 0.0, ""
	stats, ioErr := readDiskstats(env.Roots)
	clock, clockErr := ReadHostClock(env.Roots)
	switch {
	case ioErr != nil:
		env.Log.Debug("disk: no I/O counters", "error", ioErr)
	case clockErr != nil:
		env.Log.Debug("disk: no I/O counters", "error", clockErr)
		ioErr = clockErr
	default:
		next.HostClock = clock
		interval, ioReason = clock.IntervalSince(prev.HostClock)
		if ioReason != "" {
			env.Log.Info("disk: no I/O figures this run", "reason", ioReason)
		}
	}

	// statfs every path at once: a few dead NFS servers must not, one
	// timeout after another, outlast the collector's own timeout.
	found := make([]diskFound, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() { found[i] = d.measure(ctx, env, mounts, t) })
	}
	wg.Wait()

	for i, t := range targets {
		m, u, err := found[i].mount, found[i].usage, found[i].err
		switch {
		case err == nil:
		case t.path && !t.named && errors.Is(err, fs.ErrNotExist):
			// The original's default paths: a host without /scratch has
			// no document for it, and nothing to fix.
			env.Log.Info("disk: default path does not exist here, skipped", "mount", t.name)
			continue
		case !t.named && errors.Is(err, unix.EACCES):
			// A default mount root may not read (an NFS export with root
			// squash): not worth a failure, and a cron mail, every run.
			env.Log.Debug("disk: skipping a mount root cannot stat", "mount", t.name, "error", err)
			continue
		default:
			errs = append(errs, fmt.Errorf("mount %s: %w", t.name, err))
			continue
		}
		doc := document.NewHost("DISK", env.Cluster, env.LoginNode, env.Now()).
			Add("mount", t.name).
			Add("device", deviceName(m.Source)).
			Add("total", u.Total).
			Add("used", u.Used).
			Add("free", u.Free).
			Add("utilization", document.Float(u.Utilization()))
		if err := emit(doc); err != nil {
			return nil, err
		}
		if ioErr == nil {
			if cur, ok := stats[m.Device]; ok {
				next.Devices[m.Device] = cur
				if p, ok := prev.Devices[m.Device]; ok && ioReason == "" {
					if io, ok := cur.Since(p, interval); ok {
						if err := emit(ioDocument(env, t.name, m, io)); err != nil {
							return nil, err
						}
					} else {
						env.Log.Info("disk: I/O counters went backwards, recording a new baseline", "mount", t.name, "device", m.Device)
					}
				}
			}
		}
	}
	if ioErr == nil && !next.SameInstant(prev.HostClock) {
		if nextRaw, err = json.Marshal(next); err != nil {
			return nil, err
		}
	}
	return nextRaw, errors.Join(errs...)
}

// ioDocument is a mount's I/O since the previous run, a document of its own
// (kind DISKIO) rather than a field of DISK: DISK stays a snapshot, exactly
// as the dashboards know it, and a DISKIO, like NETWORK, is a delta that
// counts only once the state it was computed against is saved.
func ioDocument(env *collect.Env, name string, m Mount, io document.Object) document.Document {
	d := document.NewHost("DISKIO", env.Cluster, env.LoginNode, env.Now()).
		Add("mount", name).
		Add("device", deviceName(m.Source)).
		Add("io", io)
	d.Delta = true
	return d
}

// deviceName is a mount's source as the original sent it: without the
// leading /dev/ of a block device (vda, mapper/vg-home); an NFS export or
// tmpfs as it is.
func deviceName(source string) string {
	return strings.TrimPrefix(source, "/dev/")
}

func (d Disk) statTimeout() time.Duration {
	if d.StatTimeout > 0 {
		return d.StatTimeout
	}
	return 5 * time.Second
}

// diskTarget is one DISK document to make: a path to find the filesystem
// of, or (AllMounts) a mount itself.
type diskTarget struct {
	name  string // the document's mount field: the path, or the mount point
	path  bool   // name is a path to resolve, as df PATH does
	named bool   // named with --mount: a failure is an error
	mount Mount  // !path: the mount to report
}

// targets are what to report: every real filesystem, the paths named, or
// the default paths.
func (d Disk) targets(mounts []Mount) []diskTarget {
	var out []diskTarget
	if d.AllMounts {
		for _, m := range RealFilesystems(mounts) {
			out = append(out, diskTarget{name: m.MountPoint, mount: m})
		}
		return out
	}
	paths, named := d.Mounts, true
	if len(paths) == 0 {
		paths, named = DefaultMounts, false
	}
	seen := map[string]bool{}
	for _, p := range paths {
		p = filepath.Clean(p)
		if !seen[p] {
			seen[p] = true
			out = append(out, diskTarget{name: p, path: true, named: named})
		}
	}
	return out
}

// diskFound is what measure found of a target.
type diskFound struct {
	mount Mount
	usage Usage
	err   error
}

// measure finds the target's filesystem and statfs's it, giving up after
// the stat timeout: neither a path's lookup nor statfs can be interrupted
// (a hard NFS mount whose server is gone hangs both), so a hung one leaves
// a goroutine behind until the process exits.
func (d Disk) measure(ctx context.Context, env *collect.Env, mounts []Mount, t diskTarget) diskFound {
	statfs, timeout := d.statfs, d.statTimeout()
	if statfs == nil {
		statfs = unix.Statfs
	}
	ch := make(chan diskFound, 1)
	path := env.Roots.HostPath(t.name) // as named, for the timeout's message
	go func() {
		f, path := diskFound{mount: t.mount}, path
		if t.path {
			resolved, err := ResolveIn(env.Roots.Root, t.name)
			if errors.Is(err, fs.ErrNotExist) {
				err = fmt.Errorf("does not exist (%w)", err)
			}
			if err != nil {
				ch <- diskFound{err: err}
				return
			}
			m, ok := HoldingMount(mounts, resolved)
			if !ok {
				ch <- diskFound{err: fmt.Errorf("no mount of %s holds %s", mountinfoPath(env.Roots), resolved)}
				return
			}
			f.mount, path = m, env.Roots.HostPath(resolved)
		}
		var s unix.Statfs_t
		if err := statfs(path, &s); err != nil {
			f.err = fmt.Errorf("statfs %s: %w", path, err)
		} else {
			f.usage = UsageFromStatfs(&s)
		}
		ch <- f
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case f := <-ch:
		return f
	case <-timer.C:
		return diskFound{err: fmt.Errorf("statfs %s: no answer in %s (hung network filesystem?)", path, timeout)}
	case <-ctx.Done():
		return diskFound{err: fmt.Errorf("statfs %s: %w", path, ctx.Err())}
	}
}

// ResolveIn resolves the symbolic links of the absolute path p as the
// host sees it, its filesystem seen at root (HOST_ROOT): an absolute link
// starts again at root, and ".." never leaves it. It returns the host's
// path, or the error of the first part that cannot be looked up
// (fs.ErrNotExist for a path that does not exist).
func ResolveIn(root, p string) (string, error) {
	const maxLinks = 40 // as the kernel's ELOOP
	rest := strings.Split(filepath.Clean("/"+p), "/")
	cur, links := "/", 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur = filepath.Dir(cur)
			continue
		}
		next := filepath.Join(cur, c)
		fi, err := os.Lstat(filepath.Join(root, next))
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		if links++; links > maxLinks {
			return "", &fs.PathError{Op: "resolve", Path: p, Err: unix.ELOOP}
		}
		target, err := os.Readlink(filepath.Join(root, next))
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(target) {
			cur = "/"
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	return cur, nil
}

// HoldingMount is the mount that holds the host path p (symbolic links
// resolved), as df finds it: the one whose mount point is the longest
// prefix of p, the last one mounted there when several are (the visible
// one).
func HoldingMount(mounts []Mount, p string) (Mount, bool) {
	best := -1
	for i, m := range mounts {
		mp := m.MountPoint
		if mp != "/" && p != mp && !strings.HasPrefix(p, mp+"/") {
			continue
		}
		if best < 0 || len(mp) >= len(mounts[best].MountPoint) {
			best = i
		}
	}
	if best < 0 {
		return Mount{}, false
	}
	return mounts[best], true
}

// pseudoFS are filesystem types that hold no user data worth a DISK document.
var pseudoFS = map[string]bool{
	"autofs": true, "binfmt_misc": true, "bpf": true, "cgroup": true, "cgroup2": true,
	"configfs": true, "debugfs": true, "devpts": true, "devtmpfs": true, "efivarfs": true,
	"fusectl": true, "fuse.lxcfs": true, "fuse.gvfsd-fuse": true, "fuse.portal": true,
	"fuse.snapfuse": true, "hugetlbfs": true, "mqueue": true, "nfsd": true, "nsfs": true,
	"overlay": true, "proc": true, "pstore": true, "ramfs": true, "rpc_pipefs": true,
	"securityfs": true, "selinuxfs": true, "squashfs": true, "sysfs": true, "tmpfs": true,
	"tracefs": true, "iso9660": true, "aufs": true,
}

// systemPrefixes are mount points of the system and of container runtimes.
var systemPrefixes = []string{"/proc", "/sys", "/dev", "/run/credentials", "/var/lib/docker/", "/var/lib/containers/", "/var/lib/kubelet/"}

// RealFilesystems keeps the mounts holding real data: no pseudo filesystem,
// no system or container-runtime mount point, no FUSE mount of a user's and
// no CVMFS software repository, and each device once, at its shortest
// mount point (as df shows it), so bind mounts do not repeat it.
func RealFilesystems(mounts []Mount) []Mount {
	best := map[string]Mount{}
	var order []string
	for _, m := range mounts {
		if pseudoFS[m.FSType] || underSystem(m.MountPoint) || m.userFUSE() || m.Source == "cvmfs2" {
			continue
		}
		key := m.Device
		if key == "0:0" || key == "" {
			key = m.Source + " " + m.MountPoint
		}
		b, seen := best[key]
		if !seen {
			order = append(order, key)
		}
		if !seen || len(m.MountPoint) < len(b.MountPoint) {
			best[key] = m
		}
	}
	out := make([]Mount, 0, len(order))
	for _, k := range order {
		out = append(out, best[k])
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].MountPoint < out[j].MountPoint })
	return out
}

func underSystem(p string) bool {
	for _, pre := range systemPrefixes {
		if p == pre || (len(p) > len(pre) && p[:len(pre)] == pre && (pre[len(pre)-1] == '/' || p[len(pre)] == '/')) {
			return true
		}
	}
	return false
}

// mountinfoPath is init's mount table (the host's, in a pod with the host's
// /proc), falling back to our own when init's cannot be read.
func mountinfoPath(r collect.Roots) string {
	p := r.ProcPath("1", "mountinfo")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return r.ProcPath("self", "mountinfo")
}

func readMounts(r collect.Roots) ([]Mount, error) {
	return readParsed(mountinfoPath(r), "mount table", ParseMountinfo)
}

func readDiskstats(r collect.Roots) (map[string]DiskCounters, error) {
	return readParsed(r.ProcPath("diskstats"), "disk I/O counters", ParseDiskstats)
}

// Usage is a filesystem's size as statfs and df count it, in bytes.
type Usage struct {
	Total, Used, Free uint64
}

// Utilization is used/total, 0 for an empty filesystem.
func (u Usage) Utilization() float64 {
	if u.Total == 0 {
		return 0
	}
	return float64(u.Used) / float64(u.Total)
}

// UsageFromStatfs computes what df -B1 shows: size = blocks, used = blocks -
// bfree, available = bavail, all in fragment-size units.
func UsageFromStatfs(s *unix.Statfs_t) Usage {
	bs := uint64(s.Frsize)
	if bs == 0 {
		bs = uint64(s.Bsize)
	}
	return Usage{
		Total: s.Blocks * bs,
		Used:  (s.Blocks - s.Bfree) * bs,
		Free:  s.Bavail * bs,
	}
}
