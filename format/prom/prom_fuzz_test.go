package prom

import (
	"bytes"
	"math"
	"strconv"
	"testing"

	"github.com/atlas-af/afmc/internal/promtest"
)

// The previous textfile is read back from a directory others may write:
// Value never panics, and finds only a line that is the metric's.
func FuzzValue(f *testing.F) {
	f.Add([]byte("afmc_last_success_timestamp_seconds 1.7e+09\n"))
	f.Add([]byte("# HELP afmc_last_success_timestamp_seconds x\nafmc_last_success_timestamp_seconds{a=\"b\"} 1\nafmc_last_success_timestamp_seconds NaN\n"))
	f.Add([]byte("afmc_last_success_timestamp_seconds_total 5\nafmc_last_success_timestamp_seconds  +Inf"))
	f.Add([]byte{0xff, '\n', 0})
	f.Fuzz(func(t *testing.T, text []byte) {
		v, ok := Value(text, LastSuccess)
		if !ok {
			return
		}
		found := false
		for _, line := range bytes.Split(text, []byte("\n")) {
			if rest, is := bytes.CutPrefix(line, []byte(LastSuccess+" ")); is {
				if w, err := strconv.ParseFloat(string(bytes.TrimSpace(rest)), 64); err == nil && (w == v || math.IsNaN(w) && math.IsNaN(v)) {
					found = true
					break
				}
			}
		}
		if !found {
			t.Fatalf("Value found %v in no line of %q", v, text)
		}
	})
}

// Whatever a label value or help text holds (a queue name from a site's
// config, a version), the file reads back with that value, made valid
// UTF-8, and a value reads back as written.
func FuzzAppendReadsBack(f *testing.F) {
	f.Add("all", "Help.", 1.5)
	f.Add("q\"uote\\back\nline", "a \\ b\nc", math.Copysign(0, -1))
	f.Add("\xff\xfe", "\x00", math.Inf(1))
	f.Add("", "", 1e300)
	f.Fuzz(func(t *testing.T, label, help string, v float64) {
		if math.IsNaN(v) {
			v = 0 // NaN is written as NaN, but compares with nothing
		}
		fam := Family{Name: "afmc_fuzz", Help: help, Type: Gauge}
		fam.Add(v, "queue", label)
		b, err := Append(nil, []Family{fam})
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Count(b, []byte("\n")) != 3 {
			t.Fatalf("a value made extra lines:\n%s", b)
		}
		got, err := promtest.Samples(string(b))
		if err != nil {
			t.Fatalf("%v\n%s", err, b)
		}
		// Each invalid byte is a U+FFFD, as string([]rune(s)) makes it.
		key := `afmc_fuzz{queue=` + strconv.Quote(string([]rune(label))) + `}`
		if w, ok := got[key]; !ok || w != v {
			t.Fatalf("read back %v, want %s = %v:\n%s", got, key, v, b)
		}
	})
}
