package collect

import "path/filepath"

// Roots are where the host's filesystems are seen from. They follow
// gopsutil's variables (HOST_PROC, HOST_SYS, HOST_ETC, HOST_VAR, HOST_RUN,
// HOST_ROOT), so afmc runs in a pod with the host's /proc mounted, and
// tests run on fixture trees.
type Roots struct {
	Proc string // /proc
	Sys  string // /sys
	Etc  string // /etc
	Var  string // /var: utmp (run/utmp) and wtmp (log/wtmp)
	Run  string // /run: systemd-logind's session files
	Root string // /: mount points are joined to it for statfs
}

// RootsFromEnv reads the HOST_* variables through getenv (os.Getenv in the
// binary, a map in tests).
func RootsFromEnv(getenv func(string) string) Roots {
	get := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	return Roots{
		Proc: get("HOST_PROC", "/proc"),
		Sys:  get("HOST_SYS", "/sys"),
		Etc:  get("HOST_ETC", "/etc"),
		Var:  get("HOST_VAR", "/var"),
		Run:  get("HOST_RUN", "/run"),
		Root: get("HOST_ROOT", "/"),
	}
}

// ProcPath joins elements under the proc root.
func (r Roots) ProcPath(elem ...string) string {
	return filepath.Join(append([]string{r.Proc}, elem...)...)
}

// SysPath joins elements under the sys root.
func (r Roots) SysPath(elem ...string) string {
	return filepath.Join(append([]string{r.Sys}, elem...)...)
}

// HostPath is a path of the host's filesystem as seen from here.
func (r Roots) HostPath(p string) string {
	return filepath.Join(r.Root, p)
}
