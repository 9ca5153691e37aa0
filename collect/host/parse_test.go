package host

import (
	"reflect"
	"testing"
)

func TestParseLoadAvg(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file    string
		want    float64
		wantErr string
	}{
		{"host/proc/loadavg", 1.25, ""},
		{"malformed/loadavg-short", 0, "want at least 3 fields"},
		{"malformed/loadavg-nan", 0, `malformed 1-minute load "abc"`},
		{"malformed/loadavg-notanumber", 0, `malformed 1-minute load "NaN"`},
		{"malformed/empty", 0, "want at least 3 fields"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseLoadAvg(readFixture(t, tt.file))
			checkErr(t, err, tt.wantErr)
			if got != tt.want {
				t.Errorf("load = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseMeminfo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file    string
		want    Meminfo
		wantErr string
	}{
		{"host/proc/meminfo", Meminfo{Total: 24683620 * 1024, Available: 24331536 * 1024}, ""},
		{"malformed/meminfo-noavail", Meminfo{}, "no MemAvailable line"},
		{"malformed/meminfo-badvalue", Meminfo{}, `malformed MemTotal value "lots"`},
		{"malformed/empty", Meminfo{}, "no MemTotal line"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseMeminfo(readFixture(t, tt.file))
			checkErr(t, err, tt.wantErr)
			if err == nil && got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseMountinfo(t *testing.T) {
	t.Parallel()
	mounts, err := ParseMountinfo(readFixture(t, "host/proc/1/mountinfo"))
	if err != nil {
		t.Fatal(err)
	}
	if len(mounts) != 19 {
		t.Fatalf("got %d mounts, want 19", len(mounts))
	}
	want := map[string]Mount{
		"/":             {Device: "259:2", Root: "/", MountPoint: "/", FSType: "xfs", Source: "/dev/nvme0n1p2", SuperOpts: "rw,attr2,inode64,noquota"},
		"/home":         {Device: "0:48", Root: "/", MountPoint: "/home", FSType: "nfs4", Source: "nfs01.af.example.org:/export/home", SuperOpts: "rw,vers=4.2,rsize=1048576,wsize=1048576,hard,proto=tcp"},
		"/srv/projects": {Device: "253:0", Root: "/projects", MountPoint: "/srv/projects", FSType: "xfs", Source: "/dev/mapper/vg0-data", SuperOpts: "rw,attr2,inode64,noquota"},
		"/mnt/usb disk": {Device: "8:33", Root: "/", MountPoint: "/mnt/usb disk", FSType: "ext4", Source: "/dev/sdc1", SuperOpts: "rw"},
	}
	for _, m := range mounts {
		if w, ok := want[m.MountPoint]; ok {
			if m != w {
				t.Errorf("mount %s: got %+v, want %+v", m.MountPoint, m, w)
			}
			delete(want, m.MountPoint)
		}
	}
	if len(want) > 0 {
		t.Errorf("mounts not found: %v", want)
	}

	for _, tt := range []struct{ file, wantErr string }{
		{"malformed/mountinfo-nosep", "line 1: malformed mount entry"},
		{"malformed/mountinfo-baddev", `line 1: malformed device "2592"`},
		{"malformed/empty", "no mount entries"},
	} {
		_, err := ParseMountinfo(readFixture(t, tt.file))
		checkErr(t, err, tt.wantErr)
	}
}

func TestUnescapeOctal(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`/mnt/usb\040disk`: "/mnt/usb disk",
		`/a\134b`:          `/a\b`,
		`/tab\011x`:        "/tab\tx",
		`/trailing\04`:     `/trailing\04`,
		`/plain`:           "/plain",
		`/bad\999`:         `/bad\999`,
	} {
		if got := unescapeOctal(in); got != want {
			t.Errorf("unescapeOctal(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRealFilesystems(t *testing.T) {
	t.Parallel()
	mounts, err := ParseMountinfo(readFixture(t, "host/proc/1/mountinfo"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range RealFilesystems(mounts) {
		got = append(got, m.MountPoint)
	}
	// No pseudo filesystems, no docker overlay or snap squashfs, no user's
	// sshfs or CVMFS (but EOS, a system FUSE mount, stays), and /data once:
	// /srv/projects is a bind mount of the same device.
	want := []string{"/", "/boot", "/data", "/eos", "/home", "/mnt/usb disk", "/scratch"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestParseDiskstats(t *testing.T) {
	t.Parallel()
	stats, err := ParseDiskstats(readFixture(t, "host/proc/diskstats"))
	if err != nil {
		t.Fatal(err)
	}
	want := DiskCounters{Reads: 50512, ReadBytes: 3910244 * 512, Writes: 160122, WriteBytes: 12810944 * 512}
	if got := stats["253:0"]; got != want {
		t.Errorf("dm-0: got %+v, want %+v", got, want)
	}
	if len(stats) != 9 {
		t.Errorf("got %d devices, want 9", len(stats))
	}
	for _, tt := range []struct{ file, wantErr string }{
		{"malformed/diskstats-short", "line 1: 6 fields, want at least 14"},
		{"malformed/diskstats-negative", `line 1 (nvme0n1): malformed counter "-5"`},
	} {
		_, err := ParseDiskstats(readFixture(t, tt.file))
		checkErr(t, err, tt.wantErr)
	}
}

func TestParseUptime(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]float64{"86400.25 170000.50\n": 86400.25, "12 3": 12} {
		got, err := ParseUptime([]byte(in))
		if err != nil || got != want {
			t.Errorf("ParseUptime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x 1", "-1 2", "NaN 1", "+Inf 1"} {
		if _, err := ParseUptime([]byte(in)); err == nil {
			t.Errorf("ParseUptime(%q): no error", in)
		}
	}
}
