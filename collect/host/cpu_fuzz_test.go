package host

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// kernelDecimal is how the kernel prints /proc/loadavg and /proc/uptime
// ("%lu.%02lu"): digits and a fraction, no sign, exponent, hex or
// underscore, which strconv.ParseFloat would take.
var kernelDecimal = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`).MatchString

// FuzzParseLoadAvg reads /proc/loadavg: an error short enough for a log,
// or the first field's value, written as the kernel writes it.
func FuzzParseLoadAvg(f *testing.F) {
	for _, name := range []string{"host/proc/loadavg", "malformed/loadavg-short", "malformed/loadavg-nan", "malformed/loadavg-notanumber", "malformed/empty"} {
		f.Add(readFixture(f, name))
	}
	f.Add([]byte("0x1p-2 0.58 0.59 1/467 12345\n"))
	f.Add([]byte("1e3 1 1 1/1 1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzKernelNumber(t, b, ParseLoadAvg)
	})
}

// FuzzParseUptime reads /proc/uptime in the same way.
func FuzzParseUptime(f *testing.F) {
	f.Add(readFixture(f, "host/proc/uptime"))
	for _, s := range []string{"", "12 3", "-1 2", "+Inf 1", "NaN", "1_0.5 1", "0x10 1", "  3.5\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzKernelNumber(t, b, ParseUptime)
	})
}

func fuzzKernelNumber(t *testing.T, b []byte, parse func([]byte) (float64, error)) {
	v, err := parse(b)
	if err != nil {
		if len(err.Error()) > 500 {
			t.Fatalf("error of %d bytes: %.200q", len(err.Error()), err)
		}
		return
	}
	first := strings.Fields(string(b))[0]
	if !kernelDecimal(first) {
		t.Fatalf("accepted %q as %v", first, v)
	}
	if want, _ := strconv.ParseFloat(first, 64); v != want {
		t.Fatalf("%q read as %v", first, v)
	}
}
