package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/atlas-af/afmc/collect"
	"github.com/atlas-af/afmc/document"
)

// Disk reports one DISK document per mount (size and use) and, once a
// baseline exists, one DISKIO with the I/O of the mount's block device
// since the previous run (from /proc/diskstats, which the original tool
// meant to read and never did).
type Disk struct {
	Mounts      []string      `name:"mount" placeholder:"PATH" help:"Mount point to report (repeatable; default: every real filesystem)."`
	StatTimeout time.Duration `kong:"-"` // one statfs; a dead NFS server hangs it forever

	statfs func(path string, s *unix.Statfs_t) error // unix.Statfs; tests hang it
}

func (Disk) Name() string                 { return "disk" }
func (Disk) Available(*collect.Env) error { return nil }

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
	chosen, errs := d.choose(env, mounts)

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

	// statfs every mount at once: a few dead NFS servers must not, one
	// timeout after another, outlast the collector's own timeout.
	usages := make([]Usage, len(chosen))
	usageErrs := make([]error, len(chosen))
	var wg sync.WaitGroup
	for i, m := range chosen {
		wg.Go(func() { usages[i], usageErrs[i] = d.usage(ctx, env.Roots.HostPath(m.MountPoint)) })
	}
	wg.Wait()

	for i, m := range chosen {
		u, err := usages[i], usageErrs[i]
		if err != nil && len(d.Mounts) == 0 && errors.Is(err, unix.EACCES) {
			// A default mount root may not read (an NFS export with root
			// squash): not worth a failure, and a cron mail, every run.
			env.Log.Debug("disk: skipping a mount root cannot stat", "mount", m.MountPoint, "error", err)
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("mount %s: %w", m.MountPoint, err))
			continue
		}
		doc := document.NewHost("DISK", env.Cluster, env.LoginNode, env.Now()).
			Add("mount", m.MountPoint).
			Add("device", m.Source).
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
						if err := emit(ioDocument(env, m, io)); err != nil {
							return nil, err
						}
					} else {
						env.Log.Info("disk: I/O counters went backwards, recording a new baseline", "mount", m.MountPoint, "device", m.Device)
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
func ioDocument(env *collect.Env, m Mount, io document.Object) document.Document {
	d := document.NewHost("DISKIO", env.Cluster, env.LoginNode, env.Now()).
		Add("mount", m.MountPoint).
		Add("device", m.Source).
		Add("io", io)
	d.Delta = true
	return d
}

func (d Disk) statTimeout() time.Duration {
	if d.StatTimeout > 0 {
		return d.StatTimeout
	}
	return 5 * time.Second
}

// choose picks the mounts to report: the ones named, each of which must be a
// mount point, or every real filesystem.
func (d Disk) choose(env *collect.Env, mounts []Mount) ([]Mount, []error) {
	if len(d.Mounts) == 0 {
		return RealFilesystems(mounts), nil
	}
	byPoint := map[string]Mount{}
	for _, m := range mounts {
		byPoint[m.MountPoint] = m // the last one mounted there is the visible one
	}
	var out []Mount
	var errs []error
	for _, p := range d.Mounts {
		m, ok := byPoint[filepath.Clean(p)]
		if !ok {
			errs = append(errs, fmt.Errorf("mount %s: not a mount point (not in %s)", p, mountinfoPath(env.Roots)))
			continue
		}
		out = append(out, m)
	}
	return out, errs
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

// usage runs statfs and gives up after the timeout: the call itself cannot
// be interrupted, so a hung mount leaves one goroutine behind until the
// process exits.
func (d Disk) usage(ctx context.Context, path string) (Usage, error) {
	statfs, timeout := d.statfs, d.statTimeout()
	if statfs == nil {
		statfs = unix.Statfs
	}
	type result struct {
		u   Usage
		err error
	}
	ch := make(chan result, 1)
	go func() {
		var s unix.Statfs_t
		if err := statfs(path, &s); err != nil {
			ch <- result{err: fmt.Errorf("statfs %s: %w", path, err)}
			return
		}
		ch <- result{u: UsageFromStatfs(&s)}
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case r := <-ch:
		return r.u, r.err
	case <-t.C:
		return Usage{}, fmt.Errorf("statfs %s: no answer in %s (hung network filesystem?)", path, timeout)
	case <-ctx.Done():
		return Usage{}, fmt.Errorf("statfs %s: %w", path, ctx.Err())
	}
}
