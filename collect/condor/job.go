package condor

import (
	"strconv"
)

// jobStates names JobStatus codes; the documents call 4 "finished", as
// the dashboards expect.
var jobStates = [...]string{
	0:  "unexpanded", // unused for a decade; the original named it so
	1:  "idle",
	2:  "running",
	3:  "removed",
	4:  "finished",
	5:  "held",
	6:  "transferring_output",
	7:  "suspended",
	8:  "failed",
	9:  "blocked",
	10: "preparing",
}

// jobState names a JobStatus; an unknown code is "unknown", never an error.
func jobState(code int64) string {
	if code >= 0 && code < int64(len(jobStates)) {
		return jobStates[code]
	}
	return "unknown"
}

// jobStateValues are jobStates boxed once, for documents.
var jobStateValues = func() (v [len(jobStates) + 1]any) {
	for i, s := range jobStates {
		v[i] = s
	}
	v[len(jobStates)] = "unknown"
	return v
}()

func jobStateValue(code int64) any {
	if code >= 0 && code < int64(len(jobStates)) {
		return jobStateValues[code]
	}
	return jobStateValues[len(jobStates)]
}

// jobRunning is true for the states in which a job holds a slot and its
// current run is not yet in RemoteWallClockTime: those condor_q -run lists.
func jobRunning(code int64) bool { return code == 2 || code == 6 || code == 7 }

// jobRuntime is a job's run time in whole seconds, as condor_q shows it:
// RemoteWallClockTime counts only previous runs, so a running job adds its
// current run, from ShadowBday (or JobCurrentStartDate) to ServerTime (or
// now, when the reply has none). Every term is within maxQuantity, so the
// sum cannot wrap.
func jobRuntime(a *condorAd, now int64) int64 {
	rt := a.wallClock
	if jobRunning(a.status) {
		start := a.shadowBday
		if start <= 0 {
			start = a.startDate
		}
		at := a.serverTime
		if at <= 0 {
			at = min(max(now, 0), maxQuantity)
		}
		if start > 0 && at > start {
			rt += at - start
		}
	}
	return rt
}

// jobID is "ClusterId.ProcId".
func jobID(a *condorAd) string {
	var b [48]byte
	out := strconv.AppendInt(b[:0], a.cluster, 10)
	out = append(out, '.')
	out = strconv.AppendInt(out, a.proc, 10)
	return string(out)
}
