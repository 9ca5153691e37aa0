package host

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/atlas-af/afmc/document"
)

// sectorSize is the unit of /proc/diskstats, whatever the device's own.
const sectorSize = 512

// DiskCounters are a block device's cumulative I/O counters.
type DiskCounters struct {
	Reads      uint64 `json:"reads"`
	ReadBytes  uint64 `json:"read_bytes"`
	Writes     uint64 `json:"writes"`
	WriteBytes uint64 `json:"write_bytes"`
}

// Since is the I/O from p to c as the DISK document's io object, or false
// when a counter went backwards (the device was re-created).
func (c DiskCounters) Since(p DiskCounters, interval float64) (document.Object, bool) {
	if c.Reads < p.Reads || c.ReadBytes < p.ReadBytes || c.Writes < p.Writes || c.WriteBytes < p.WriteBytes {
		return nil, false
	}
	return document.Object{
		{Key: "interval", Value: document.Float(interval)},
		{Key: "read_bytes", Value: c.ReadBytes - p.ReadBytes},
		{Key: "write_bytes", Value: c.WriteBytes - p.WriteBytes},
		{Key: "reads", Value: c.Reads - p.Reads},
		{Key: "writes", Value: c.Writes - p.Writes},
	}, true
}

// ParseDiskstats parses /proc/diskstats into counters keyed by
// "major:minor". Fields (Documentation/admin-guide/iostats.rst): major minor
// name, reads completed, reads merged, sectors read, ms reading, writes
// completed, writes merged, sectors written, ...
func ParseDiskstats(b []byte) (map[string]DiskCounters, error) {
	out := map[string]DiskCounters{}
	n := 0
	for line := range bytes.Lines(b) {
		n++
		f := strings.Fields(string(line))
		if len(f) == 0 {
			continue
		}
		if len(f) < 14 {
			return nil, fmt.Errorf("line %d: %d fields, want at least 14", n, len(f))
		}
		if !validDeviceNumber(f[0] + ":" + f[1]) {
			return nil, fmt.Errorf("line %d: malformed device number %q", n, truncate(f[0]+" "+f[1], 40))
		}
		var v [4]uint64
		for i, col := range []int{3, 5, 7, 9} {
			x, err := strconv.ParseUint(f[col], 10, 64)
			if err == nil && (col == 5 || col == 9) && x > math.MaxUint64/sectorSize {
				err = strconv.ErrRange // its bytes would not fit in 64 bits
			}
			if err != nil {
				return nil, fmt.Errorf("line %d (%s): malformed counter %q", n, truncate(f[2], 40), truncate(f[col], 40))
			}
			v[i] = x
		}
		out[f[0]+":"+f[1]] = DiskCounters{Reads: v[0], ReadBytes: v[1] * sectorSize, Writes: v[2], WriteBytes: v[3] * sectorSize}
	}
	return out, nil
}
