package document

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

func TestDocumentKeepsFieldOrder(t *testing.T) {
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
