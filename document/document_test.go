package document

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

func TestDocumentKeepsFieldOrder(t *testing.T) {
	t.Parallel()
	d := NewHost("NETWORK", "UC-AF", "login02.af.uchicago.edu", time.Unix(0, 0)).
		Add("network", Object{{"interval", 300.064}, {"sent", uint64(6606414)}, {"received", uint64(11383868)}})
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"NETWORK","cluster":"UC-AF","login_node":"login02.af.uchicago.edu","network":{"interval":300.064,"sent":6606414,"received":11383868}}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	if d.Kind() != "NETWORK" {
		t.Errorf("Kind() = %q", d.Kind())
	}
}

func TestObjectSetAndGet(t *testing.T) {
	t.Parallel()
	o := Object{{"a", 1}}
	o.Set("b", 2)
	o.Set("a", 3)
	if v, _ := o.Get("a"); v != 3 || len(o) != 2 || o[0].Key != "a" {
		t.Errorf("Set replaced in place? %v", o)
	}
	if _, ok := o.Get("missing"); ok {
		t.Error("Get found a missing key")
	}
}

func TestMarshalErrorNamesField(t *testing.T) {
	t.Parallel()
	_, err := json.Marshal(New("CPU", "c", time.Now()).Add("load", math.NaN()))
	if err == nil || !contains(err.Error(), `field "load"`) {
		t.Errorf("error %v does not name the field", err)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestFloatAlwaysHasAPoint(t *testing.T) {
	t.Parallel()
	for f, want := range map[Float]string{0: "0.0", 1: "1.0", 0.01: "0.01", 300.064: "300.064", 1e21: "1e+21", -2: "-2.0"} {
		b, err := json.Marshal(f)
		if err != nil || string(b) != want {
			t.Errorf("Float(%v) = %s, %v; want %s", float64(f), b, err, want)
		}
	}
	if _, err := json.Marshal(Float(math.Inf(1))); err == nil {
		t.Error("+Inf encoded without an error")
	}
}

// AppendJSON writes exactly what encoding/json writes, for every value
// type the collectors use and for strings with everything that needs
// escaping.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	strs := []string{"", "plain", "quote\"back\\slash", "ctl\x00\x01\x1f\x7f", "nl\n\r\t\b\f", "<script>&amp;", "bad\xff\xfeutf8", "line\u2028sep\u2029", "ünïcödé 雪", "\xc3"}
	docs := []Document{
		New("condorjob", "UC-AF", time.Unix(0, 0)).Add("users", "brosser").Add("state", "running").Add("Id", "174100.63").Add("Runtime", 177),
		NewHost("ssh", "C", "n", time.Unix(0, 0)).Add("ssh_user_count", 2).Add("users", []string{"a", "b"}).Add("empty", []string{}).Add("nil", []string(nil)),
		NewHost("DISK", "C", "n", time.Unix(0, 0)).Add("total", uint64(math.MaxUint64)).Add("neg", int64(-5)).Add("ok", true).Add("u", Float(0.04902928361459448)),
		New("X", "C", time.Unix(0, 0)).Add("nested", Object{{"interval", Float(300.064)}, {"o", Object{{"deep", "v"}}}}).Add("other", map[string]int{"z": 1}),
	}
	for _, s := range strs {
		docs = append(docs, New(s, s, time.Unix(0, 0)).Add(s, []string{s, s}))
	}
	for f := range map[Float]bool{0: true, -0.5: true, 1e-7: true, 1.5e-9: true, 1e21: true, 123456789: true, 1e20: true, 5e-324: true, math.MaxFloat64: true, 0.000001: true} {
		docs = append(docs, New("F", "C", time.Unix(0, 0)).Add("f", f))
	}
	for _, d := range docs {
		want, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.AppendJSON(nil)
		if err != nil || string(got) != string(want) {
			t.Errorf("AppendJSON\n%s (%v)\nencoding/json\n%s", got, err, want)
		}
	}
	if _, err := New("CPU", "c", time.Now()).Add("load", Float(math.NaN())).AppendJSON(nil); err == nil || !contains(err.Error(), `field "load"`) {
		t.Errorf("NaN: %v", err)
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	d := New("condorjob", "UC-AF", time.Unix(0, 0)).Add("users", "brosser").Add("state", "running").Add("Id", "174100.63").Add("Runtime", 177)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = d.AppendJSON(buf[:0])
	}
}
