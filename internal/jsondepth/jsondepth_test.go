package jsondepth

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestCheck(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   string
		max  int
		ok   bool
	}{
		{"flat", `{"a":1,"b":[1,2]}`, 2, true},
		{"at the bound", `[[[1]]]`, 3, true},
		{"over the bound", `[[[[1]]]]`, 3, false},
		{"objects count", `{"a":{"b":{"c":{}}}}`, 3, false},
		{"brackets in strings do not count", `["[[[[[[", "{{{{"]`, 1, true},
		{"an escaped quote does not end a string", `["\"[[[[", 1]`, 1, true},
		{"an escaped backslash does", `["\\", [[1]]]`, 2, false},
		{"closing more than opened does not go negative", `]]]][[`, 2, true},
	} {
		err := Check([]byte(tt.in), tt.max)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrTooDeep)) {
			t.Errorf("%s: Check(%s, %d) = %v, want ok %v", tt.name, tt.in, tt.max, err, tt.ok)
		}
	}
}

// The attack: 12 MB of nested brackets, which gjson's validator would
// recurse into until the stack overflows. The check names the offset.
func TestCheckDeepAttack(t *testing.T) {
	deep := bytes.Repeat([]byte("["), 12<<20)
	err := Check(deep, 0)
	if !errors.Is(err, ErrTooDeep) || !strings.Contains(err.Error(), "more than 512 levels at byte 512") {
		t.Fatalf("error %v", err)
	}
}

// A streaming decoder behind Reader gets an error, not the deep bytes.
func TestReader(t *testing.T) {
	deep := strings.Repeat("[", 100) + strings.Repeat("]", 100)
	dec := json.NewDecoder(Reader(iotest.OneByteReader(strings.NewReader(deep)), 10))
	var v any
	if err := dec.Decode(&v); !errors.Is(err, ErrTooDeep) {
		t.Errorf("decode: %v, want ErrTooDeep", err)
	}
	ok := `{"items":[{"a":[1,2,{"b":"[[[["}]}]}`
	b, err := io.ReadAll(Reader(iotest.HalfReader(strings.NewReader(ok)), 5))
	if err != nil || string(b) != ok {
		t.Errorf("read %q, %v", b, err)
	}
}
