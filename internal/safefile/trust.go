package safefile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// afmc runs as root: a file it reads settings or secrets from, and a
// program it runs, are only as safe as the users who can change them. The
// checks here tell who can: the owner of the file and of every directory
// on the way to it, and the group and others through the mode bits.

// ErrUntrusted is wrapped by the error for a file or program another user
// could change.
var ErrUntrusted = errors.New("another user could change it")

// Trust is what another user than root and the user afmc runs as could do
// with a file.
type Trust struct {
	Path       string // the file, symbolic links resolved
	OtherOwner string // the file belongs to this other user ("" when to root or afmc's user)
	Writable   string // why another user could change it, "" if none could but its owner
	Readable   bool   // others may read it (mode o+r)
	Mode       fs.FileMode
}

// Inspect tells who could change or read the file at path: its owner and
// mode, and those of every directory on the way to it, both as named and
// with symbolic links resolved. A directory writable by others lets them
// replace the file, unless it is sticky (as /tmp is) and the entry on the
// way belongs to root or afmc's user.
func Inspect(path string) (Trust, error) {
	uid := os.Geteuid()
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return Trust{}, err
	}
	real, err = filepath.Abs(real)
	if err != nil {
		return Trust{}, err
	}
	fi, err := os.Stat(real)
	if err != nil {
		return Trust{}, err
	}
	// What it is first: a FIFO or a device is refused as such.
	if err := Regular(path, fi); err != nil {
		return Trust{}, err
	}
	st := fi.Sys().(*syscall.Stat_t)
	t := Trust{Path: real, Mode: fi.Mode(), Readable: fi.Mode().Perm()&0o004 != 0}
	if !trustedOwner(st.Uid, uid) {
		t.OtherOwner = who(int(st.Uid))
	}
	if othersWrite(fi.Mode(), st.Gid, uid) {
		t.Writable = fmt.Sprintf("%s has mode %s, writable by group or others", real, modeText(fi.Mode()))
		return t, nil
	}
	// The directories of the real path, then those of the path as named
	// (a symbolic link lives in a directory of its own: whoever may write
	// there may point it elsewhere).
	chains := []string{real}
	if abs, err := filepath.Abs(path); err == nil && abs != real {
		chains = append(chains, abs)
	}
	for i, p := range chains {
		// The file's own owner is OtherOwner; a link's, in a shared dir,
		// is one more who could point it elsewhere.
		if why, err := dirsOnTheWay(p, uid, i > 0); err != nil {
			return Trust{}, err
		} else if why != "" {
			t.Writable = why
			return t, nil
		}
	}
	return t, nil
}

// dirsOnTheWay checks every directory above p (each followed where it is
// a link): the reason another user could replace what is in it, or "".
// checkEntry: p's own owner counts too, when it is in a shared dir.
func dirsOnTheWay(p string, uid int, checkEntry bool) (string, error) {
	child, childUID := p, -1
	if fi, err := os.Lstat(p); err == nil && checkEntry {
		childUID = int(fi.Sys().(*syscall.Stat_t).Uid)
	}
	for dir := filepath.Dir(p); ; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err != nil {
			return "", err
		}
		st := fi.Sys().(*syscall.Stat_t)
		switch {
		case !trustedOwner(st.Uid, uid):
			return fmt.Sprintf("%s, on the way to it, belongs to %s", dir, who(int(st.Uid))), nil
		case othersWrite(fi.Mode(), st.Gid, uid) && fi.Mode()&fs.ModeSticky == 0:
			return fmt.Sprintf("%s, on the way to it, has mode %s, writable by group or others", dir, modeText(fi.Mode())), nil
		case othersWrite(fi.Mode(), st.Gid, uid) && childUID >= 0 && !trustedOwner(uint32(childUID), uid):
			return fmt.Sprintf("%s, in the shared dir %s, belongs to %s", child, dir, who(childUID)), nil
		}
		if dir == "/" || dir == "." {
			return "", nil
		}
		child, childUID = dir, int(st.Uid)
	}
}

func trustedOwner(owner uint32, uid int) bool { return owner == 0 || int(owner) == uid }

// othersWrite tells whether a mode lets others than the owner write: any
// user (o+w), or the file's group (g+w). Run as a user of its own rather
// than root (a developer whose umask is 002, a pod with an fsGroup), afmc
// accepts its own effective group's write: it holds no privilege there
// for those checks to guard.
func othersWrite(m fs.FileMode, gid uint32, uid int) bool {
	if m.Perm()&0o002 != 0 {
		return true
	}
	return m.Perm()&0o020 != 0 && (uid == 0 || int(gid) != os.Getegid())
}

// Program checks a program afmc is about to run (path as exec.LookPath
// found it): an error wrapping ErrUntrusted when another user could change
// it, since what it does, afmc's user does.
func Program(path string) error {
	t, err := Inspect(path)
	if err != nil {
		return fmt.Errorf("checking %s: %w", path, err)
	}
	if err := t.refuseOthers("runs it"); err != nil {
		return err
	}
	return nil
}

// refuseOthers is the error when another user could change the file:
// through its mode, a directory, or as its owner.
func (t Trust) refuseOthers(what string) error {
	switch {
	case t.Writable != "":
		return fmt.Errorf("%w: %s; afmc %s as %s: make it root's alone (chown root, chmod go-w) or name another", ErrUntrusted, t.Writable, what, who(os.Geteuid()))
	case t.OtherOwner != "":
		return fmt.Errorf("%w: %s belongs to %s, who could change it; afmc %s as %s: run `chown root %s`, or name another", ErrUntrusted, t.Path, t.OtherOwner, what, who(os.Geteuid()), t.Path)
	}
	return nil
}

// ReadTrusted reads a file that tells afmc what to do (the config file, a
// CA bundle, a kubeconfig): as ReadContext, refused when another user
// could change it.
func ReadTrusted(ctx context.Context, path string, max int64) ([]byte, error) {
	return WithContext(ctx, path, func() ([]byte, error) {
		if err := CheckTrusted(path); err != nil {
			return nil, err
		}
		return Read(path, max)
	})
}

// CheckTrusted is the check of ReadTrusted alone, for a file afmc does not
// read itself (a kubeconfig, which kubectl reads: it can name a
// credential plugin kubectl then runs).
func CheckTrusted(path string) error {
	t, err := Inspect(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrNotRegular) {
			return err
		}
		return fmt.Errorf("checking %s: %w", path, err)
	}
	return t.refuseOthers("reads it")
}

// ReadSecret reads a file that holds a secret (the token, the salt): as
// ReadContext, refused when another user could write it through its mode
// or a directory on the way; and a warning, naming it, when it belongs to
// another user or, afmc running as root, every user can read it.
func ReadSecret(ctx context.Context, path string, max int64) ([]byte, []string, error) {
	type secret struct {
		b    []byte
		warn []string
	}
	s, err := WithContext(ctx, path, func() (secret, error) {
		t, err := Inspect(path)
		switch {
		case errors.Is(err, ErrNotRegular):
			return secret{}, err
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return secret{}, fmt.Errorf("checking %s: %w", path, err)
		}
		var warn []string
		if err == nil {
			if t.Writable != "" {
				return secret{}, fmt.Errorf("%w: %s; another user could put their own in it: make it root's alone (chown root, chmod 600 or 640) or name another", ErrUntrusted, t.Writable)
			}
			if t.OtherOwner != "" {
				warn = append(warn, fmt.Sprintf("%s belongs to %s, who can read and replace it: run `chown root %s`", t.Path, t.OtherOwner, t.Path))
			}
			if t.Readable && os.Geteuid() == 0 {
				warn = append(warn, fmt.Sprintf("%s is readable by every user (mode %s): run `chmod o-r %s`", t.Path, modeText(t.Mode), t.Path))
			}
		}
		b, err := Read(path, max)
		return secret{b, warn}, err
	})
	return s.b, s.warn, err
}

// modeText is a mode as ls shows it, and in octal.
func modeText(m fs.FileMode) string {
	return fmt.Sprintf("%s (%04o)", m.String(), m.Perm())
}

// who names a user by uid and, when known, name.
func who(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return fmt.Sprintf("uid %d (%s)", uid, u.Username)
	}
	return fmt.Sprintf("uid %d", uid)
}
