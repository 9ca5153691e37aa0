package main

import (
	"math/big"
	"strings"
	"testing"
)

// FuzzByteSize reads --spool-max-bytes (flag, AFMC_SPOOL_MAX_BYTES, the
// config file): a size of at most the bound, exactly the number times its
// unit, or an error.
func FuzzByteSize(f *testing.F) {
	for _, s := range []string{"64MiB", "10M", "1000000", "0", " 5 KiB ", "-1", "1.5G", "9223372036854775807", "8796093022208KiB", "1e3", "MiB", "+7B"} {
		f.Add(s)
	}
	units := map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "K": 1000, "M": 1000 * 1000, "G": 1000 * 1000 * 1000, "B": 1}
	f.Fuzz(func(t *testing.T, s string) {
		var b byteSize
		if err := b.UnmarshalText([]byte(s)); err != nil {
			return
		}
		if b < 0 || int64(b) > maxSpoolBytes {
			t.Fatalf("%q: %d", s, b)
		}
		num, mult := strings.TrimSpace(s), int64(1)
		for _, u := range []string{"KiB", "MiB", "GiB", "K", "M", "G", "B"} {
			if rest, ok := strings.CutSuffix(num, u); ok {
				num, mult = strings.TrimSpace(rest), units[u]
				break
			}
		}
		n, ok := new(big.Int).SetString(strings.TrimPrefix(num, "+"), 10)
		if !ok || strings.HasPrefix(num, "+-") {
			t.Fatalf("%q: read as %d from %q", s, b, num)
		}
		if n.Mul(n, big.NewInt(mult)); !n.IsInt64() || n.Int64() != int64(b) {
			t.Fatalf("%q: read as %d, want %s", s, b, n)
		}
	})
}
