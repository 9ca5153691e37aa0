package host

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// FuzzParseMountinfo reads mount tables: an error, short enough for a
// log, or one mount per line that is not blank, each on a device
// "major:minor" of two numbers, at an absolute mount point, with a
// filesystem type that is one word.
func FuzzParseMountinfo(f *testing.F) {
	for _, name := range []string{"host/proc/1/mountinfo", "malformed/mountinfo-nosep", "malformed/mountinfo-baddev", "malformed/empty"} {
		f.Add(readFixture(f, name))
	}
	f.Add([]byte("61 22 0:60 / /mnt/empty\\040source rw,relatime shared:50 - tmpfs  rw,size=1024k\n"))
	f.Add([]byte("62 22 0:61 / /home/bob/x rw,nosuid,nodev - fuse.sshfs  rw,user_id=1000,group_id=1000\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		mounts, err := ParseMountinfo(b)
		if err != nil {
			if len(err.Error()) > 500 {
				t.Fatalf("error of %d bytes: %.200q", len(err.Error()), err)
			}
			return
		}
		lines := 0
		for _, l := range strings.Split(string(b), "\n") {
			if strings.TrimSpace(l) != "" {
				lines++
			}
		}
		if len(mounts) == 0 || len(mounts) != lines {
			t.Fatalf("%d mounts from %d lines", len(mounts), lines)
		}
		for _, m := range mounts {
			// The type is as the kernel wrote it, escapes and all (a FUSE
			// subtype may hold \134): one word.
			if !validDevice(m.Device) || m.FSType == "" || strings.ContainsFunc(m.FSType, func(r rune) bool { return r <= ' ' || r == 0x7f }) ||
				!strings.HasPrefix(m.MountPoint, "/") {
				t.Fatalf("accepted %+v", m)
			}
		}
	})
}

// validDevice is two decimal numbers, as the kernel prints MAJOR:MINOR.
var validDevice = regexp.MustCompile(`^[0-9]+:[0-9]+$`).MatchString

// mangle escapes as the kernel's show_mountinfo does (seq_escape with
// " \t\n\\"): as octal.
func mangle(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; strings.IndexByte(" \t\n\\", c) >= 0 {
			fmt.Fprintf(&b, "\\%03o", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// FuzzMountinfoRoundTrip writes a mount as the kernel does and reads it
// back: paths with spaces, tabs, newlines and backslashes, a source that
// is empty (`mount -t tmpfs "" /mnt`, a FUSE mount with fsname=), and
// optional fields or none.
func FuzzMountinfoRoundTrip(f *testing.F) {
	f.Add(uint32(8), uint32(33), "/", "/mnt/usb disk", "shared:34", "ext4", "/dev/sdc1", "rw")
	f.Add(uint32(0), uint32(48), "/", "/home", "", "nfs4", "nfs01.example.org:/export/home", "rw,vers=4.2")
	f.Add(uint32(0), uint32(52), "/", "/home/alice/remote", "shared:42 master:7", "fuse.sshfs", "", "rw,user_id=1000,group_id=1000")
	f.Add(uint32(253), uint32(0), "/projects\\x", "/srv/a\tb\nc\\", "", "xfs", "/dev/mapper/vg0-data", "ro")
	// Blanks the kernel does not escape: a no-break space, NEL, CR, VT.
	f.Add(uint32(8), uint32(1), "/", "/data/a\u00a0b", "", "ext4", "/dev/sda\u00851", "rw")
	f.Add(uint32(8), uint32(2), "/\r", "/data/c\vd\fe", "shared:1", "ext4", "/dev/sdb", "rw")
	f.Fuzz(func(t *testing.T, major, minor uint32, root, mountPoint, optional, fsType, source, superOpts string) {
		// A mount point is absolute; a root is a path, or a name such as
		// net:[4026532288] for a namespace file: neither is the separator.
		if root == "" || root == "-" || !strings.HasPrefix(mountPoint, "/") || !kernelWord(fsType) || !kernelWord(superOpts) ||
			strings.Contains(root+mountPoint+source, "\x00") {
			return // the kernel writes none of these
		}
		var words []string
		for _, w := range strings.Split(optional, " ") {
			if w != "" && !kernelWord(w) || w == "-" {
				return
			}
			if w != "" {
				words = append(words, w)
			}
		}
		opt := strings.Join(words, " ")
		if opt != "" {
			opt = " " + opt
		}
		line := fmt.Sprintf("36 35 %d:%d %s %s rw,relatime%s - %s %s %s\n", major, minor, mangle(root), mangle(mountPoint), opt, fsType, mangle(source), superOpts)
		mounts, err := ParseMountinfo([]byte(line))
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		want := Mount{Device: fmt.Sprintf("%d:%d", major, minor), Root: root, MountPoint: mountPoint, FSType: fsType, Source: source, SuperOpts: superOpts}
		if len(mounts) != 1 || mounts[0] != want {
			t.Fatalf("%q:\ngot  %+v\nwant %+v", line, mounts, want)
		}
	})
}

// kernelWord is a field the kernel writes as it is: not empty, no space,
// control character or backslash.
func kernelWord(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == '\\' || r == 0x7f })
}
