package host

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// ParseNetDev reads /proc/net/dev: two header lines, then one line per
// interface, "NAME: " and 16 counters (8 received, 8 sent), of which
// afmc takes the bytes. Older kernels print no space after the colon.
//
// gopsutil's reader, used before, panics on a line of fewer than 13
// counters or a file of fewer than two lines, and takes a line without a
// colon or with garbage in the columns it does not read; this one says
// what is wrong instead.
func ParseNetDev(b []byte) (map[string]IfCounters, error) {
	out := map[string]IfCounters{}
	n := 0
	for raw := range bytes.Lines(b) {
		n++
		if n <= 2 {
			if !bytes.Contains(raw, []byte("|")) {
				return nil, fmt.Errorf("line %d: %q is not a header line", n, truncate(string(raw), 60))
			}
			continue
		}
		line := strings.TrimSpace(string(raw))
		if line == "" {
			continue
		}
		i := strings.IndexByte(line, ':') // a name holds none
		if i < 0 {
			return nil, fmt.Errorf("line %d: no colon after the interface name in %q", n, truncate(line, 60))
		}
		name, fields := strings.TrimSpace(line[:i]), strings.Fields(line[i+1:])
		if name == "" || strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r == '/' }) {
			return nil, fmt.Errorf("line %d: malformed interface name %q", n, truncate(name, 40))
		}
		if len(fields) < 16 {
			return nil, fmt.Errorf("line %d (%s): %d counters, want 16", n, truncate(name, 40), len(fields))
		}
		v := make([]uint64, len(fields)) // 16, or more from a later kernel
		for k, s := range fields {
			x, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("line %d (%s): malformed counter %q", n, truncate(name, 40), truncate(s, 40))
			}
			v[k] = x
		}
		out[name] = IfCounters{Received: v[0], Sent: v[8]}
	}
	if n < 2 {
		return nil, fmt.Errorf("no header lines")
	}
	return out, nil
}
