package host

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/atlas-af/afmc/collect"
)

// HostClock says when, in the host's life, counters were read: the boot they
// belong to and the seconds since that boot. Intervals come from uptime, not
// the wall clock, so NTP steps never make one negative or zero; a new boot id
// means every counter started again.
type HostClock struct {
	BootID string  `json:"boot_id"`
	Uptime float64 `json:"uptime"`
}

// ReadHostClock reads proc's sys/kernel/random/boot_id and uptime.
func ReadHostClock(r collect.Roots) (HostClock, error) {
	var c HostClock
	b, err := os.ReadFile(r.ProcPath("sys", "kernel", "random", "boot_id"))
	if err != nil {
		return c, fmt.Errorf("reading boot id: %w", err)
	}
	c.BootID = strings.TrimSpace(string(b))
	if filepath.Clean(r.Proc) == "/proc" {
		// The live kernel's clock: /proc/uptime has 10 ms ticks, too coarse
		// for runs that follow each other closely. A pod reading the host's
		// /proc shares the kernel, and so this clock, too.
		var ts unix.Timespec
		if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err == nil {
			c.Uptime = float64(ts.Nano()) / 1e9
			return c, nil
		}
	}
	c.Uptime, err = readParsed(r.ProcPath("uptime"), "uptime", ParseUptime)
	return c, err
}

// ParseUptime returns the first field of /proc/uptime, in seconds.
func ParseUptime(b []byte) (float64, error) {
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, fmt.Errorf("empty uptime")
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil || !plainDecimal(f[0]) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("malformed uptime %q", truncate(f[0], 40))
	}
	return v, nil
}

// SameInstant tells that no time measurable by uptime (10 ms ticks) passed
// since prev: the previous reading must then stay the baseline, or whatever
// the counters grew by in that tick would be lost.
func (c HostClock) SameInstant(prev HostClock) bool {
	return c.BootID == prev.BootID && c.Uptime <= prev.Uptime
}

// IntervalSince returns the seconds from prev to c, rounded to the
// millisecond, or a reason why counters read at prev and at c cannot be
// compared.
func (c HostClock) IntervalSince(prev HostClock) (float64, string) {
	switch {
	case prev.BootID == "" && prev.Uptime == 0:
		return 0, "no previous reading: recording a baseline"
	case prev.BootID != c.BootID:
		return 0, "the host rebooted since the previous reading: recording a new baseline"
	}
	d := math.Round((c.Uptime-prev.Uptime)*1000) / 1000
	if d <= 0 {
		return 0, "no time passed since the previous reading: recording a new baseline"
	}
	return d, ""
}
