package extcmd

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// What a program leaves behind. A process it started that left its
// process group (setsid, a daemon, `ssh -f`) outlives a kill of the group.
// As a child subreaper (PR_SET_CHILD_SUBREAPER), afmc becomes the parent
// of such a process once the program that started it exits, instead of
// init: every child of afmc's that is not a program still running is then
// a leftover, and is ended. This is state of the process, as the
// subreaper attribute is: the registry of running programs is the one
// global of the package.

var reaper struct {
	mu      sync.Mutex
	on      bool         // Subreaper was called
	running map[int]bool // pids of the programs being run
	dying   map[int]bool // leftovers killed and not reaped yet: never killed again
	// sweeping is held for a whole sweep: no sweep reaps a leftover that
	// another has listed and is about to kill, whose pid could be free.
	sweeping sync.Mutex
}

// Subreaper makes afmc the reaper of what its programs leave behind; call
// it once, at start (main). Without it a leftover that left its process
// group is init's, and outlives afmc.
func Subreaper() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return err
	}
	reaper.mu.Lock()
	reaper.on = true
	reaper.mu.Unlock()
	return nil
}

// EndLeftovers ends every process the programs left behind that has not
// been ended yet: call it before afmc exits.
func EndLeftovers() { sweep() }

// start starts cmd and records it as running, under the lock a sweep
// takes: a sweep never sees a program between its fork and its record.
func start(cmd *exec.Cmd) error {
	reaper.mu.Lock()
	defer reaper.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return err
	}
	if reaper.running == nil {
		reaper.running = map[int]bool{}
	}
	reaper.running[cmd.Process.Pid] = true
	return nil
}

// finished records the end of a program (reaped: its pid may be reused)
// and ends what it left behind.
func finished(pid int) {
	reaper.mu.Lock()
	delete(reaper.running, pid)
	reaper.mu.Unlock()
	sweep()
}

// sweep kills afmc's children that are no running program, and reaps
// them; what they leave in turn is re-parented to afmc and swept in the
// next round.
func sweep() {
	reaper.sweeping.Lock()
	defer reaper.sweeping.Unlock()
	for round := 0; round < 8; round++ {
		reaper.mu.Lock()
		if !reaper.on {
			reaper.mu.Unlock()
			return
		}
		var left []int
		for _, pid := range children() {
			if !reaper.running[pid] && !reaper.dying[pid] {
				left = append(left, pid)
			}
		}
		for _, pid := range left {
			// A leftover that made itself a group leader takes its group
			// with it. Neither id can be another's: the child is not
			// reaped, so its pid is not free.
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		reaper.mu.Unlock()
		if len(left) == 0 {
			return
		}
		reap(left)
	}
}

// reap waits a little for killed leftovers to die and reaps them; one
// stuck in the kernel (a hung mount) is reaped in the background.
func reap(pids []int) {
	deadline := time.Now().Add(200 * time.Millisecond)
	for len(pids) > 0 {
		rest := pids[:0]
		for _, pid := range pids {
			var ws unix.WaitStatus
			if n, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil); n == 0 && err == nil {
				rest = append(rest, pid)
			}
		}
		pids = rest
		if len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			reaper.mu.Lock()
			if reaper.dying == nil {
				reaper.dying = map[int]bool{}
			}
			for _, pid := range pids {
				reaper.dying[pid] = true
			}
			reaper.mu.Unlock()
			for _, pid := range pids {
				go func() {
					var ws unix.WaitStatus
					for {
						if _, err := unix.Wait4(pid, &ws, 0, nil); !errors.Is(err, unix.EINTR) {
							break
						}
					}
					// Reaped: the pid may be another process's from now
					// on, and is no child of afmc's to be listed.
					reaper.mu.Lock()
					delete(reaper.dying, pid)
					reaper.mu.Unlock()
				}()
			}
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// children lists afmc's child processes: from each thread's children
// file (a child's parent is the thread that forked it, or the one it was
// re-parented to), else, on a kernel without those files, from the parent
// of every process in /proc.
func children() []int {
	tasks, err := os.ReadDir("/proc/self/task")
	if err == nil {
		var out []int
		ok := true
		for _, task := range tasks {
			b, err := os.ReadFile("/proc/self/task/" + task.Name() + "/children")
			if errors.Is(err, os.ErrNotExist) {
				if _, terr := os.Stat("/proc/self/task/" + task.Name()); terr == nil {
					ok = false // the thread is there, its children file is not
					break
				}
				continue // the thread has ended
			}
			for _, f := range bytes.Fields(b) {
				if pid, err := strconv.Atoi(string(f)); err == nil {
					out = append(out, pid)
				}
			}
		}
		if ok {
			return out
		}
	}
	return childrenOf(os.Getpid())
}

// childrenOf lists the processes whose parent is ppid, from /proc.
func childrenOf(ppid int) []int {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	var out []int
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + n + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := bytes.Fields(b[i+1:])
		if len(f) < 2 {
			continue
		}
		if p, err := strconv.Atoi(string(f[1])); err == nil && p == ppid {
			out = append(out, pid)
		}
	}
	return out
}
