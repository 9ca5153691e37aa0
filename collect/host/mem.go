package host

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/atlas-af/afmc/collect"
	"github.com/atlas-af/afmc/document"
)

// Mem reports the host's total and available memory, in bytes, as kind MEM.
//
// It reads meminfo itself: gopsutil v3's VirtualMemory returns a document of
// zeros, and no error, when meminfo cannot be read.
type Mem struct{}

func (Mem) Name() string                 { return "mem" }
func (Mem) Available(*collect.Env) error { return nil }

func (Mem) Collect(_ context.Context, env *collect.Env, _ json.RawMessage, emit collect.Emit) (json.RawMessage, error) {
	mi, err := readParsed(env.Roots.ProcPath("meminfo"), "memory info", ParseMeminfo)
	if err != nil {
		return nil, err
	}
	doc := document.NewHost("MEM", env.Cluster, env.LoginNode, env.Now()).
		Add("available", mi.Available).
		Add("total", mi.Total)
	return nil, emit(doc)
}

// Meminfo is what afmc takes from /proc/meminfo, in bytes.
type Meminfo struct {
	Total     uint64
	Available uint64
}

// ParseMeminfo reads MemTotal and MemAvailable (kernel 3.14+, and RHEL 7's
// 3.10) from /proc/meminfo. Both must be present: a document of zeros would
// be worse than an error.
func ParseMeminfo(b []byte) (Meminfo, error) {
	var mi Meminfo
	var haveTotal, haveAvail bool
	for raw := range bytes.Lines(b) {
		line := strings.TrimRight(string(raw), "\n")
		key, rest, ok := strings.Cut(line, ":")
		if !ok || (key != "MemTotal" && key != "MemAvailable") {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 || len(f) > 2 || (len(f) == 2 && f[1] != "kB") {
			return mi, fmt.Errorf("malformed %s line %q", key, truncate(line, 80))
		}
		v, err := strconv.ParseUint(f[0], 10, 64)
		if err == nil && len(f) == 2 && v > math.MaxUint64/1024 {
			err = strconv.ErrRange // its bytes would not fit in 64 bits
		}
		if err != nil {
			return mi, fmt.Errorf("malformed %s value %q", key, truncate(f[0], 40))
		}
		if len(f) == 2 {
			v *= 1024
		}
		switch key {
		case "MemTotal":
			mi.Total, haveTotal = v, true
		case "MemAvailable":
			mi.Available, haveAvail = v, true
		}
	}
	switch {
	case !haveTotal:
		return mi, fmt.Errorf("no MemTotal line")
	case !haveAvail:
		return mi, fmt.Errorf("no MemAvailable line (kernel older than 3.14?)")
	case mi.Total == 0:
		return mi, fmt.Errorf("MemTotal is 0")
	}
	return mi, nil
}
