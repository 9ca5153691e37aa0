package runner

import (
	"errors"
	"io/fs"
	"log/slog"
	"math"
	"time"

	"github.com/atlas-af/afmc/format/prom"
)

// TextfileName is the file of --textfile-dir that node_exporter's textfile
// collector reads.
const TextfileName = "afmc.prom"

// writeTextfile writes the run's figures and afmc's own health to
// TextfileName in cfg.TextfileDir. The last success time is read back from
// the previous textfile rather than kept in the state: whether a run
// succeeded is known only once it has sent, after its state was saved (a
// second save each run would be the price), and a run without a usable
// state (locked out, a broken state dir) must still keep it. Two runs
// writing at once (one locked out) may each keep the time the other read;
// the window is the time between a read and a rename.
func writeTextfile(cfg Config, rep *Report, figures *prom.Figures, started time.Time) error {
	log := cfg.Env.Log
	dir, err := prom.OpenDir(cfg.TextfileDir)
	if err != nil {
		log.Error("Prometheus textfile not written", "error", err)
		return err
	}
	defer dir.Close()
	now := cfg.Env.Now()
	run := prom.Run{
		Version:  cfg.Version,
		Backlog:  rep.Backlog,
		Dropped:  rep.Dropped,
		Finished: now,
		Duration: time.Since(started),
	}
	for _, c := range rep.Collectors {
		run.Collectors = append(run.Collectors, prom.Collector{Name: c.Name, Skipped: c.Status == StatusSkipped, OK: c.Status == StatusOK, Duration: c.Took})
	}
	run.Documents = rep.Kinds
	if rep.Succeeded() {
		run.LastSuccess = now
	} else {
		run.LastSuccess = previousSuccess(dir, now, log)
	}
	b, err := prom.Append(nil, prom.Families(run, figures))
	if err == nil {
		err = dir.WriteFile(TextfileName, b, now)
	}
	if err != nil {
		log.Error("Prometheus textfile not written", "error", err)
	}
	return err
}

// previousSuccess is the success time the previous textfile holds, or
// zero. A time later than now (a clock stepped back, a tampered file)
// would keep the alert quiet forever: it is not kept.
func previousSuccess(dir *prom.Dir, now time.Time, log *slog.Logger) time.Time {
	b, err := dir.ReadFile(TextfileName)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			log.Warn("previous Prometheus textfile not read: the last success time starts anew", "error", err)
		}
		return time.Time{}
	}
	v, ok := prom.Value(b, prom.LastSuccess)
	if !ok || v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) || v > prom.Seconds(now) {
		return time.Time{}
	}
	return time.UnixMilli(int64(math.Round(v * 1e3)))
}
