package host

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Mount is one line of /proc/PID/mountinfo.
type Mount struct {
	Device     string // "major:minor", as /proc/diskstats names it
	Root       string // the path within the filesystem that is mounted (bind mounts)
	MountPoint string
	FSType     string
	Source     string // "/dev/vda1", "server:/export", "tmpfs"
	SuperOpts  string // "rw,user_id=1000,group_id=1000"
}

// ParseMountinfo parses /proc/PID/mountinfo (proc(5)):
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//
// Paths are octal-escaped (\040 for a space).
func ParseMountinfo(b []byte) ([]Mount, error) {
	var out []Mount
	n := 0
	for raw := range bytes.Lines(b) {
		n++
		line := strings.TrimRight(string(raw), "\n")
		if strings.TrimSpace(line) == "" {
			continue
		}
		// Fields are one space apart, and only space, tab, newline and
		// backslash are escaped: a path may hold another blank (a no-break
		// space, a CR), and the source may be empty ("tmpfs  rw", a FUSE
		// mount with fsname=), which strings.Fields would get wrong.
		pre, post, ok := strings.Cut(line, " - ")
		f := strings.Split(pre, " ")
		g := strings.SplitN(post, " ", 3)
		if !ok || len(f) < 6 || slices.Contains(f[:6], "") || len(g) < 2 || !mountinfoWord(g[0]) || !strings.HasPrefix(f[4], "/") {
			return nil, fmt.Errorf("line %d: malformed mount entry %q", n, truncate(line, 80))
		}
		if !validDeviceNumber(f[2]) {
			return nil, fmt.Errorf("line %d: malformed device %q, want major:minor", n, truncate(f[2], 40))
		}
		out = append(out, Mount{
			Device:     f[2],
			Root:       unescapeOctal(f[3]),
			MountPoint: unescapeOctal(f[4]),
			FSType:     g[0],
			Source:     unescapeOctal(g[1]),
			SuperOpts:  superOpts(g),
		})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no mount entries")
	}
	return out, nil
}

// unescapeOctal undoes the kernel's \ooo escapes of space, tab, newline and
// backslash.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func superOpts(g []string) string {
	if len(g) > 2 {
		return g[2]
	}
	return ""
}

// mountinfoWord is a field the kernel writes without a blank or a control
// character (the filesystem type).
func mountinfoWord(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f })
}

// validDeviceNumber is "major:minor", two decimal numbers.
func validDeviceNumber(s string) bool {
	major, minor, ok := strings.Cut(s, ":")
	_, err1 := strconv.ParseUint(major, 10, 32)
	_, err2 := strconv.ParseUint(minor, 10, 32)
	return ok && err1 == nil && err2 == nil
}

// userFUSE tells a FUSE filesystem a user mounted (sshfs, rclone): their
// own business, and unreadable to root anyway.
func (m Mount) userFUSE() bool {
	if m.FSType != "fuse" && !strings.HasPrefix(m.FSType, "fuse.") {
		return false
	}
	for _, o := range strings.Split(m.SuperOpts, ",") {
		if v, ok := strings.CutPrefix(o, "user_id="); ok && v != "0" {
			return true
		}
	}
	return false
}
