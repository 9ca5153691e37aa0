package jsonstrict

import "testing"

func TestCheck(t *testing.T) {
	for in, ok := range map[string]bool{
		`{"a":1,"b":[{"a":2},{"a":3}]}`:  true,
		` [1, "x", null] `:               true,
		`{"a":1,"a":2}`:                  false,
		`{"o":{"k":1,"k":1}}`:            false,
		`[{"k":1},{"x":{"k":[],"k":0}}]`: false,
		`{"a":1}{"b":2}`:                 false,
		`{"a":1,}`:                       false,
		`"\ud800"`:                       true,
		``:                               false,
	} {
		if err := Check([]byte(in)); (err == nil) != ok {
			t.Errorf("Check(%q) = %v, want ok %v", in, err, ok)
		}
	}
}
