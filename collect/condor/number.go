package condor

import (
	"bytes"
	"errors"
	"math"
	"strconv"
)

// maxQuantity bounds the times (seconds since 1970), durations, counts and
// sizes afmc reads from an ad: 2^40 seconds is 34,000 years, so that sums
// of a million of them cannot wrap either. A value above it is not
// condor's.
const maxQuantity = 1 << 40

// maxJobID is the largest ClusterId or ProcId: condor keeps them as int.
const maxJobID = math.MaxInt32

// jobIDNumber reads a ClusterId or ProcId: an integer from 0 to maxJobID.
func jobIDNumber(raw []byte) (int64, bool) {
	n, ok := exactInt(raw)
	if !ok || n < 0 || n > maxJobID {
		return 0, false
	}
	return n, true
}

// quantity reads a time, duration, count or size: a number from 0 to
// maxQuantity, a real truncated to its whole part; anything else (null,
// "/Expr(...)/", a negative or absurd number) reads as 0.
func quantity(raw []byte) int64 {
	n, ok := number(raw)
	if !ok || n < 0 || n > maxQuantity {
		return 0
	}
	return n
}

// exactInt reads a valid JSON integer literal (no fraction, no exponent),
// saturating at the int64 bounds.
func exactInt(raw []byte) (int64, bool) {
	neg := len(raw) > 0 && raw[0] == '-'
	if neg {
		raw = raw[1:]
	}
	if len(raw) == 0 {
		return 0, false
	}
	// The magnitude, saturated at 2^63: the caller's range check refuses
	// what does not fit.
	var mag uint64
	for _, c := range raw {
		if c < '0' || c > '9' {
			return 0, false
		}
		if mag > (1<<63)/10 {
			mag = 1 << 63
			continue
		}
		mag = min(mag*10+uint64(c-'0'), 1<<63)
	}
	switch {
	case neg && mag == 1<<63:
		return math.MinInt64, true
	case neg:
		return -int64(mag), true
	case mag >= 1<<63:
		return math.MaxInt64, true
	}
	return int64(mag), true
}

// number reads a valid JSON number as an integer, truncated toward zero
// and saturating at the int64 bounds; anything else is not a number.
func number(raw []byte) (int64, bool) {
	if len(raw) == 0 || raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
		return 0, false
	}
	if n, ok := exactInt(raw); ok {
		return n, true
	}
	// A real such as 37327.0 is its whole part, read as an integer; one
	// with an exponent is read as a float.
	if dot := bytes.IndexByte(raw, '.'); dot > 0 && !bytes.ContainsAny(raw, "eE") {
		return exactInt(raw[:dot])
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, false
	}
	switch {
	case f >= math.MaxInt64:
		return math.MaxInt64, true
	case f <= math.MinInt64:
		return math.MinInt64, true
	}
	return int64(f), true
}

// satAdd adds two non-negative quantities without wrapping.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
