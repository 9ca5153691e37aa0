package host

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/atlas-af/afmc/collect"
	"github.com/atlas-af/afmc/document"
)

// CPU reports the one-minute load average as kind CPU.
type CPU struct{}

func (CPU) Name() string                 { return "cpu" }
func (CPU) Available(*collect.Env) error { return nil }

func (CPU) Collect(_ context.Context, env *collect.Env, _ json.RawMessage, emit collect.Emit) (json.RawMessage, error) {
	load, err := readParsed(env.Roots.ProcPath("loadavg"), "load average", ParseLoadAvg)
	if err != nil {
		return nil, err
	}
	doc := document.NewHost("CPU", env.Cluster, env.LoginNode, env.Now()).Add("load", document.Float(load))
	return nil, emit(doc)
}

// ParseLoadAvg returns the one-minute load average from /proc/loadavg
// ("0.52 0.58 0.59 1/467 12345").
func ParseLoadAvg(b []byte) (float64, error) {
	fields := strings.Fields(string(b))
	if len(fields) < 3 {
		return 0, fmt.Errorf("malformed loadavg %q: want at least 3 fields", truncate(string(b), 60))
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil || !plainDecimal(fields[0]) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("malformed 1-minute load %q", truncate(fields[0], 40))
	}
	return v, nil
}

// plainDecimal is a number as the kernel prints loadavg and uptime
// ("%lu.%02lu"): digits, then maybe a point and digits. ParseFloat also
// takes signs, exponents, hex, underscores, NaN and Inf.
func plainDecimal(s string) bool {
	whole, frac, dot := strings.Cut(s, ".")
	digits := func(s string) bool { return s != "" && strings.TrimLeft(s, "0123456789") == "" }
	return digits(whole) && (!dot || digits(frac))
}

// truncate shortens s for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
