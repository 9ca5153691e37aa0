package document

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

// FuzzAppendJSON encodes documents holding what others chose (user names,
// mount points, label values, numbers read from the host) exactly as
// encoding/json does, and as valid JSON; a NaN or an infinity is an error
// in both.
func FuzzAppendJSON(f *testing.F) {
	for _, s := range []string{"", "plain", "quote\"back\\slash", "ctl\x00\x01\x1f\x7f", "<script>&amp;", "bad\xff\xfeutf8", "line\u2028sep\u2029", "ünïcödé 雪", "\xc3", "\xed\xa0\x80"} {
		f.Add(s, 0.04902928361459448, int64(-5), uint64(math.MaxUint64))
	}
	for _, x := range []float64{0, -0.5, 1e-7, 1.5e-9, 1e21, 1e20, 5e-324, math.MaxFloat64, 0.000001, math.Copysign(0, -1), math.NaN(), math.Inf(-1)} {
		f.Add("f", x, int64(0), uint64(0))
	}
	f.Fuzz(func(t *testing.T, s string, x float64, i int64, u uint64) {
		d := New(s, "UC-AF", time.Unix(0, 0)).Add(s, []string{s, "", s}).Add("load", Float(x)).Add("n", i).Add("u", u).
			Add("o", Object{{s, Object{{"deep", s}, {"x", Float(x)}}}, {"b", i%2 == 0}, {"int", int(i)}})
		want, werr := json.Marshal(d)
		got, gerr := d.AppendJSON(nil)
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("AppendJSON error %v, encoding/json error %v", gerr, werr)
		}
		if werr != nil {
			if !math.IsNaN(x) && !math.IsInf(x, 0) {
				t.Fatalf("%v: %v", x, werr)
			}
			return
		}
		if string(got) != string(want) {
			t.Fatalf("AppendJSON\n%s\nencoding/json\n%s", got, want)
		}
		if !json.Valid(got) {
			t.Fatalf("not JSON: %s", got)
		}
	})
}
