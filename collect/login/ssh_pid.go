package login

import (
	"errors"
	"io/fs"
	"os"
	"strconv"

	"github.com/atlas-af/afmc/collect"
)

// livePIDs tells whether the process of a utmp record still runs, as `who`
// does when it reads the system's utmp: coreutils (gnulib's read_utmp with
// READ_UTMP_CHECK_PIDS) skips a USER_PROCESS record whose PID kill(pid, 0)
// says is gone, the trace of a crashed sshd or a killed terminal. afmc
// looks where it sees the rest of the host: a PID is alive when
// HOST_PROC/PID exists, so a container with the host's /proc mounted
// judges the host's processes, not its own.
type livePIDs struct {
	proc string // "": no check, every record counts
}

// newLivePIDs checks that the proc root shows processes at all: PID 1 is
// in every PID namespace, so a tree without it is no proc, or one mounted
// with hidepid that hides other users' processes from afmc's user. There
// nothing can be told from a missing PID, and every record counts, as
// before afmc checked.
func newLivePIDs(env *collect.Env) livePIDs {
	one := env.Roots.ProcPath("1")
	if _, err := os.Stat(one); err != nil {
		env.Log.Info("ssh: cannot see processes in the proc root (hidepid, or not a proc), so utmp records of ended sessions are counted too",
			"path", one, "error", err)
		return livePIDs{}
	}
	return livePIDs{proc: env.Roots.Proc}
}

// alive reports whether pid runs. PIDs of 0 or less are not checked, as
// coreutils does not check them; a PID that cannot be stat'ed for another
// reason than its absence counts as alive (kill's EPERM is alive too).
func (l livePIDs) alive(pid int32) bool {
	if l.proc == "" || pid <= 0 {
		return true
	}
	_, err := os.Lstat(l.proc + "/" + strconv.FormatInt(int64(pid), 10))
	return !errors.Is(err, fs.ErrNotExist)
}
