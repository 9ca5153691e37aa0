package login

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/atlas-af/afmc/collect"
	"github.com/atlas-af/afmc/document"
	"github.com/atlas-af/afmc/internal/extcmd"
)

// SSH reports the users logged in on this login node as one ssh document:
// ssh_user_count and the sorted users, each once however many terminals
// they have. Sessions come from utmp (what `who` reads) or, on hosts that
// no longer keep it (Debian 13 and other systemd-only systems), from
// systemd-logind.
//
// With History, the users who logged in and out between two runs are
// added, from wtmp read from where the previous run stopped: every short
// session is reported by exactly one run, however late or early cron is.
type SSH struct {
	Source       string        `enum:"auto,utmp,logind" default:"auto" help:"Where sessions come from: auto (utmp where the host keeps it, else systemd-logind), utmp or logind."`
	RemoteOnly   bool          `help:"Count only sessions from another host: not a console, an X display (:0), or a tmux or screen window."`
	History      bool          `help:"Also report the users who logged in and out since the previous run, from wtmp."`
	HistorySince time.Duration `default:"5m" help:"With --ssh-history, how far back the first run (with no previous position) looks."`
	Loginctl     string        `default:"loginctl" placeholder:"PATH" help:"The loginctl program, for sessions from systemd-logind."`
}

func (SSH) Name() string { return "ssh" }

// Validate checks the settings before anything is collected.
func (s SSH) Validate() error {
	if s.HistorySince <= 0 || s.HistorySince > 31*24*time.Hour {
		return fmt.Errorf("--ssh-history-since must be positive and at most 744h, got %s", s.HistorySince)
	}
	return nil
}

// Session sources.
const (
	sourceUtmp   = "utmp"
	sourceLogind = "logind"
)

func (s SSH) Available(env *collect.Env) error {
	_, _, err := s.source(env)
	return err
}

// source picks where sessions come from: the utmp path, or logind.
func (s SSH) source(env *collect.Env) (kind, utmp string, err error) {
	utmp, utmpErr := findUtmp(env.Roots)
	logindErr := s.logindAvailable(env)
	switch s.Source {
	case sourceUtmp:
		return sourceUtmp, utmp, utmpErr
	case sourceLogind:
		return sourceLogind, "", logindErr
	}
	switch {
	case utmpErr == nil:
		return sourceUtmp, utmp, nil
	case logindErr == nil:
		return sourceLogind, "", nil
	}
	return "", "", fmt.Errorf("no source of login sessions: %w; and %w", utmpErr, logindErr)
}

// findUtmp looks where gopsutil does (HOST_VAR/run/utmp), then in /run.
func findUtmp(r collect.Roots) (string, error) {
	candidates := []string{filepath.Join(r.Var, "run", "utmp"), filepath.Join(r.Run, "utmp")}
	for _, p := range candidates {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("no utmp at %s or %s", candidates[0], candidates[1])
}

// logindAvailable: systemd is the init system (it alone makes
// /run/systemd/system, as sd_booted(3) says), logind keeps its session
// files in /run, and loginctl is there to ask it. The directories alone
// are not enough: installing the systemd package makes some of them.
func (s SSH) logindAvailable(env *collect.Env) error {
	for _, dir := range []string{
		filepath.Join(env.Roots.Run, "systemd", "system"),
		filepath.Join(env.Roots.Run, "systemd", "sessions"),
	} {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return fmt.Errorf("systemd-logind is not running (no %s)", dir)
		}
	}
	if _, err := extcmd.Find(s.Loginctl); err != nil {
		return fmt.Errorf("systemd-logind runs but %w", err)
	}
	return nil
}

// SSHState is the ssh collector's state section: where wtmp was read up to.
type SSHState struct {
	Wtmp *WtmpPosition `json:"wtmp,omitempty"`
}

// WtmpPosition identifies a wtmp file and the end of its last whole record
// read. A different inode or first record, or a file shorter than Offset,
// is a rotated file. (An inode alone is not enough: a file removed and
// created again often gets the same number.)
type WtmpPosition struct {
	Dev    uint64 `json:"dev"`
	Ino    uint64 `json:"ino"`
	First  uint64 `json:"first"` // FNV-1a of the first record; 0 for an empty file
	Offset int64  `json:"offset"`
}

// sameFile tells whether cur (of size bytes) is the file p was read from.
func (p WtmpPosition) sameFile(cur WtmpPosition, size int64) bool {
	return p.Dev == cur.Dev && p.Ino == cur.Ino && size >= p.Offset && (p.Offset == 0 || p.First == cur.First)
}

func (s SSH) Collect(ctx context.Context, env *collect.Env, prevRaw json.RawMessage, emit collect.Emit) (json.RawMessage, error) {
	kind, utmpPath, err := s.source(env)
	if err != nil {
		return nil, err
	}
	env.Log.Info("ssh: reading login sessions", "source", kind, "path", utmpPath)
	users := map[string]bool{}
	if kind == sourceUtmp {
		err = s.utmpUsers(env, utmpPath, users)
	} else {
		err = s.logindUsers(ctx, env, users)
	}
	if err != nil {
		return nil, err
	}
	if !s.History {
		return nil, emit(s.document(env, users))
	}

	var prev SSHState
	if len(prevRaw) > 0 {
		if err := json.Unmarshal(prevRaw, &prev); err != nil {
			env.Log.Warn("ssh: unreadable previous wtmp position, reading history from the lookback", "error", err)
			prev = SSHState{}
		}
	}
	pos, err := s.historyUsers(env, prev.Wtmp, users)
	if err != nil {
		// The users logged in now still go out, as a snapshot; the
		// position stays, so the next run reports the short sessions.
		return nil, errors.Join(fmt.Errorf("login history: %w", err), emit(s.document(env, users)))
	}
	next, err := json.Marshal(SSHState{Wtmp: &pos})
	if err != nil {
		return nil, err
	}
	doc := s.document(env, users)
	doc.Delta = true // its short sessions are reported once, with the position saved
	return next, emit(doc)
}

func (s SSH) document(env *collect.Env, users map[string]bool) document.Document {
	names := make([]string, 0, len(users))
	for u := range users {
		names = append(names, u)
	}
	slices.Sort(names)
	return document.NewHost("ssh", env.Cluster, env.LoginNode, env.Now()).
		Add("ssh_user_count", document.UserCount(len(names))).
		Add("users", document.UserList(names))
}

// take adds a USER_PROCESS record's user, unless the record is damaged or
// --ssh-remote-only leaves it out.
func (s SSH) take(env *collect.Env, r LoginRecord, users map[string]bool) {
	switch {
	case r.Type != utUserProcess:
	case !validUserName(r.User):
		env.Log.Debug("ssh: login record with an unusable user name ignored", "user", extcmd.Printable(r.User), "line", extcmd.Printable(r.Line))
	case s.RemoteOnly && !isRemoteHost(r.Host):
	default:
		users[r.User] = true
	}
}

func (s SSH) utmpUsers(env *collect.Env, path string, users map[string]bool) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("reading utmp: %w", err)
	}
	defer f.Close()
	// Only here, as `who` checks PIDs only for the system's utmp: wtmp's
	// history is of sessions that ended by definition.
	live := newLivePIDs(env)
	_, err = ScanUtmp(f, func(r LoginRecord) error {
		if r.Type == utUserProcess && !live.alive(r.PID) {
			env.Log.Debug("ssh: utmp record of a process that no longer runs ignored, as who does",
				"user", extcmd.Printable(r.User), "line", extcmd.Printable(r.Line), "pid", r.PID)
			return nil
		}
		s.take(env, r, users)
		return nil
	})
	if errors.Is(err, errTruncatedRecord) {
		env.Log.Warn("ssh: utmp ends in a partial record, ignored; the whole records before it count", "path", path, "error", err)
		err = nil
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	return nil
}

func (s SSH) logindUsers(ctx context.Context, env *collect.Env, users map[string]bool) error {
	sessions, err := logindSessions(ctx, s.Loginctl)
	if err != nil {
		return fmt.Errorf("sessions from systemd-logind: %w", err)
	}
	for _, ses := range sessions {
		switch {
		case !ses.IsLogin():
		case !validUserName(ses.User):
			env.Log.Debug("ssh: logind session with an unusable user name ignored", "session", ses.ID, "user", extcmd.Printable(ses.User))
		case s.RemoteOnly && !ses.Remote:
		default:
			users[ses.User] = true
		}
	}
	return nil
}

// historyUsers adds the users of the logins recorded in wtmp since prev
// (or, with no prev, within HistorySince) and returns the new position.
func (s SSH) historyUsers(env *collect.Env, prev *WtmpPosition, users map[string]bool) (WtmpPosition, error) {
	path := filepath.Join(env.Roots.Var, "log", "wtmp")
	f, err := os.Open(path)
	if err != nil {
		return WtmpPosition{}, fmt.Errorf("reading wtmp (hosts without it, such as Debian 13, keep no history afmc reads: leave out --ssh-history): %w", err)
	}
	defer f.Close()
	cur, size, err := fileID(f)
	if err != nil {
		return WtmpPosition{}, fmt.Errorf("%s: %w", path, err)
	}
	since := time.Time{}
	start := int64(0)
	switch {
	case prev == nil:
		since = env.Now().Add(-s.HistorySince)
		env.Log.Info("ssh: no previous wtmp position, looking back", "since", s.HistorySince)
	case prev.sameFile(cur, size):
		start = prev.Offset
	default:
		env.Log.Info("ssh: wtmp was rotated since the previous run, reading it from its start", "path", path)
		s.rotatedTail(env, path+".1", *prev, users)
	}
	take := func(r LoginRecord) error {
		if r.Time.Before(since) {
			return nil
		}
		s.take(env, r, users)
		return nil
	}
	n, err := ScanUtmp(io.NewSectionReader(f, start, size-start), take)
	if errors.Is(err, errTruncatedRecord) {
		// A record being written: the next run reads it whole.
		env.Log.Warn("ssh: wtmp ends in a partial record, left for the next run", "path", path, "error", err)
		err = nil
	}
	if err != nil {
		return WtmpPosition{}, fmt.Errorf("reading %s: %w", path, err)
	}
	cur.Offset = start + n
	return cur, nil
}

// rotatedTail reads what the previous run had not read of the rotated
// file, when it is still there under its usual name (wtmp.1).
func (s SSH) rotatedTail(env *collect.Env, path string, prev WtmpPosition, users map[string]bool) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	// The same file renamed (logrotate's create), or a copy of it
	// (copytruncate: another inode, the same first record and at least
	// the bytes read): either way its tail is what the previous run did
	// not read.
	id, size, err := fileID(f)
	if err != nil || prev.Offset == 0 || id.First != prev.First || size < prev.Offset {
		return
	}
	_, err = ScanUtmp(io.NewSectionReader(f, prev.Offset, size-prev.Offset), func(r LoginRecord) error {
		s.take(env, r, users)
		return nil
	})
	if err != nil && !errors.Is(err, errTruncatedRecord) {
		env.Log.Warn("ssh: reading the rotated wtmp", "path", path, "error", err)
	}
}

// fileID identifies an open wtmp file (device, inode, first record) and
// tells its size.
func fileID(f *os.File) (WtmpPosition, int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return WtmpPosition{}, 0, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return WtmpPosition{}, 0, errors.New("no inode number")
	}
	id := WtmpPosition{Dev: uint64(st.Dev), Ino: st.Ino}
	var first [utmpRecordSize]byte
	if _, err := f.ReadAt(first[:], 0); err == nil {
		h := fnv.New64a()
		h.Write(first[:])
		id.First = h.Sum64()
	}
	return id, fi.Size(), nil
}
