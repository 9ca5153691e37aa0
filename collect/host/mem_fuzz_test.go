package host

import (
	"math/big"
	"strings"
	"testing"
)

// FuzzParseMeminfo reads /proc/meminfo: an error short enough for a log,
// or a MemTotal that is not 0 and, like MemAvailable, exactly what one of
// its lines says in bytes (never a value that wrapped around 2^64 when
// multiplied by 1024).
func FuzzParseMeminfo(f *testing.F) {
	for _, name := range []string{"host/proc/meminfo", "malformed/meminfo-noavail", "malformed/meminfo-badvalue", "malformed/empty"} {
		f.Add(readFixture(f, name))
	}
	f.Add([]byte("MemTotal: 18014398509481985 kB\nMemAvailable: 1 kB\n"))
	f.Add([]byte("MemTotal: 18446744073709551615\nMemAvailable: 0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		mi, err := ParseMeminfo(b)
		if err != nil {
			if len(err.Error()) > 500 {
				t.Fatalf("error of %d bytes: %.200q", len(err.Error()), err)
			}
			return
		}
		if mi.Total == 0 {
			t.Fatal("accepted MemTotal 0")
		}
		if !meminfoSays(b, "MemTotal", mi.Total) || !meminfoSays(b, "MemAvailable", mi.Available) {
			t.Fatalf("got %+v: not what the lines say", mi)
		}
	})
}

// meminfoSays tells whether a line "key: N kB" (or "key: N") has the value
// v in bytes, in arbitrary precision.
func meminfoSays(b []byte, key string, v uint64) bool {
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, key+":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		n, ok := new(big.Int).SetString(f[0], 10)
		if !ok {
			continue
		}
		if len(f) == 2 && f[1] == "kB" {
			n.Mul(n, big.NewInt(1024))
		}
		if n.IsUint64() && n.Uint64() == v {
			return true
		}
	}
	return false
}
