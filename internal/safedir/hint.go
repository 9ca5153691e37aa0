package safedir

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// What a refused state dir's error tells a person to do. afmc runs as
// root: a hint to chown or chmod is followed as written, so it is given
// only for a directory that looks made for afmc. A shared directory
// (/tmp, /var/tmp, /dev/shm: sticky or writable by all), a system one or
// a home directory gets a subdirectory of afmc's own instead, and the
// state dir of the service (root meeting the dir of the user the timer or
// cron job runs as) is named as such.

// ErrServiceState is wrapped by the refusal of a state dir that belongs to
// another user for a run as root: the state of the afmc service, which
// runs as that user. Reading it is safe (Peek does, for --dry-run);
// taking it over is not.
var ErrServiceState = errors.New("the afmc service's state dir")

// systemDirs are directories of the system, never afmc's to change.
var systemDirs = map[string]bool{
	"/": true, "/bin": true, "/boot": true, "/dev": true, "/dev/shm": true, "/etc": true,
	"/home": true, "/lib": true, "/lib64": true, "/media": true, "/mnt": true, "/opt": true,
	"/proc": true, "/root": true, "/run": true, "/run/lock": true, "/sbin": true, "/srv": true,
	"/sys": true, "/tmp": true, "/usr": true, "/usr/local": true, "/var": true, "/var/cache": true,
	"/var/lib": true, "/var/lib/private": true, "/var/lock": true, "/var/log": true, "/var/run": true,
	"/var/spool": true, "/var/tmp": true,
}

// notAfmcs says why a dir is not one to chown or chmod for afmc ("a
// shared directory", ...), or "" when it may be.
func notAfmcs(path string, st *unix.Stat_t) string {
	switch {
	case st.Mode&unix.S_ISVTX != 0:
		return "a shared directory (sticky, as /tmp is)"
	case st.Mode&0o002 != 0:
		return "a shared directory (writable by all)"
	case systemDirs[path]:
		return "a directory of the system"
	case isHome(path, int(st.Uid)):
		return "a home directory"
	}
	return ""
}

// isHome tells whether path is uid's home directory.
func isHome(path string, uid int) bool {
	u, err := user.LookupId(strconv.Itoa(uid))
	return err == nil && filepath.Clean(u.HomeDir) == path
}

// unusableDir is the error for a state dir that uid does not own alone.
func unusableDir(path string, st *unix.Stat_t, uid int) error {
	owner := int(st.Uid)
	what := notAfmcs(path, st)
	switch {
	case uid == 0 && owner != 0 && st.Mode&0o022 == 0 && what == "":
		return fmt.Errorf("%w: %s is owned by %s, and this run is root's: it is the state of the afmc service, which runs as that user "+
			"(the systemd timer's, or the cron job's). A run as root would take the service's intervals and spool: "+
			"to see what the service would send, add --dry-run (it reads that state and changes nothing); to run as root, give it another --state-dir",
			ErrServiceState, path, who(owner))
	case what != "":
		return fmt.Errorf("%w: %s, owned by %s with mode %s, is %s, which afmc does not take over: "+
			"give afmc a directory of its own, such as --state-dir %s (afmc creates it, mode 0700)",
			ErrUnsafe, path, who(owner), modeText(st.Mode), what, ownDirHint(path, st, uid))
	case owner == uid:
		return fmt.Errorf("%w: %s has mode %s; afmc uses only a dir that group and others cannot write: run `chmod 700 %s`, or choose another --state-dir",
			ErrUnsafe, path, modeText(st.Mode), path)
	}
	return fmt.Errorf("%w: %s is owned by %s with mode %s; afmc runs as %s and uses only a dir it owns that group and others cannot write: "+
		"run `chown %s %s && chmod 700 %s`, or choose another --state-dir",
		ErrUnsafe, path, who(owner), modeText(st.Mode), who(uid), userName(uid), path, path)
}

// ownDirHint is a state dir that uid could have below path, or else its
// default one: afmc-USER in a sticky dir, afmc in a dir it may create in
// and that nobody else can change.
func ownDirHint(path string, st *unix.Stat_t, uid int) string {
	var candidate string
	switch owner := int(st.Uid); {
	case st.Mode&unix.S_ISVTX != 0 && st.Mode&0o002 != 0:
		candidate = filepath.Join(path, "afmc-"+userName(uid))
	case st.Mode&0o022 == 0 && (owner == uid || uid == 0 && owner == 0):
		candidate = filepath.Join(path, "afmc")
	}
	if candidate != "" && checkAncestors(candidate, uid) == nil {
		return candidate
	}
	return defaultHint(uid)
}

// defaultHint is uid's default state dir, for a message.
func defaultHint(uid int) string {
	if dir, err := DefaultStateDir(os.Getenv, uid); err == nil {
		return dir
	}
	return "DIR (a directory of this user's own)"
}

// rootOr names root and uid, who may own the dirs above a state dir.
func rootOr(uid int) string {
	if uid == 0 {
		return "root"
	}
	return "root or " + userName(uid)
}

// DefaultStateDir is /var/lib/afmc for root, else $XDG_STATE_HOME/afmc or
// ~/.local/state/afmc. Without either variable there is no default: a
// shared dir such as /tmp would let other users plant files in it.
func DefaultStateDir(getenv func(string) string, uid int) (string, error) {
	if uid == 0 {
		return "/var/lib/afmc", nil
	}
	if x := getenv("XDG_STATE_HOME"); filepath.IsAbs(x) { // the spec ignores a relative one
		return filepath.Join(x, "afmc"), nil
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".local", "state", "afmc"), nil
	}
	return "", ErrNoStateDir
}
