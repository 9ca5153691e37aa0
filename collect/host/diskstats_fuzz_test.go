package host

import (
	"math/big"
	"strings"
	"testing"
)

// FuzzParseDiskstats reads /proc/diskstats: an error short enough for a
// log, or counters keyed by a device "major:minor" of two numbers, each
// exactly what that device's line says (bytes = sectors × 512, never a
// product that wrapped around 2^64).
func FuzzParseDiskstats(f *testing.F) {
	for _, name := range []string{"host/proc/diskstats", "malformed/diskstats-short", "malformed/diskstats-negative", "malformed/empty"} {
		f.Add(readFixture(f, name))
	}
	f.Add([]byte(" 8 0 sda 1 0 36028797018963968 0 1 0 2 0 0 0 0 0 0 0 0 0 0\n"))
	f.Add([]byte(" x y sda 1 0 2 0 1 0 2 0 0 0 0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		stats, err := ParseDiskstats(b)
		if err != nil {
			if len(err.Error()) > 500 {
				t.Fatalf("error of %d bytes: %.200q", len(err.Error()), err)
			}
			return
		}
		// The last line of each device, as a map keeps it.
		last := map[string][]string{}
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) > 0 {
				last[f[0]+":"+f[1]] = f
			}
		}
		for dev, c := range stats {
			if !validDevice(dev) {
				t.Fatalf("accepted device %q", dev)
			}
			f := last[dev]
			for _, v := range []struct {
				col  int
				mult int64
				got  uint64
			}{{3, 1, c.Reads}, {5, sectorSize, c.ReadBytes}, {7, 1, c.Writes}, {9, sectorSize, c.WriteBytes}} {
				n, ok := new(big.Int).SetString(f[v.col], 10)
				if !ok || n.Sign() < 0 {
					t.Fatalf("%s: accepted counter %q", dev, f[v.col])
				}
				if n.Mul(n, big.NewInt(v.mult)); !n.IsUint64() || n.Uint64() != v.got {
					t.Fatalf("%s: column %d is %q, got %d", dev, v.col+1, f[v.col], v.got)
				}
			}
		}
	})
}
