package state

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// FuzzParseState reads state files: an error (the file is set aside), or
// a state of this version that the next save can write and read back with
// the same sections and generation.
func FuzzParseState(f *testing.F) {
	f.Add([]byte(`{"version":1,"generation":1764096000000000000,"saved_at":"2026-11-25T09:00:00.123456789Z","sections":{"network":{"boot_id":"b","uptime":86400.25,"interfaces":{"eth0":{"sent":1,"received":2}}},"ssh":{"wtmp":{"dev":1,"ino":2,"offset":384}}}}`))
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`{"version":2,"sections":{}}`))
	f.Add([]byte(`{"version":1,"sections":null,"saved_at":"0001-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"version":1,"saved_at":"2026-11-25T09:00:00.1234567891+14:00","sections":{"a":[1, 2 ,3]}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := parse(b)
		if err != nil {
			return
		}
		if st.Version != Version || st.Sections == nil {
			t.Fatalf("accepted %+v", st)
		}
		st.SavedAt = time.Now()
		out, err := json.Marshal(st)
		if err != nil {
			t.Fatalf("read, but cannot be saved: %v", err)
		}
		back, err := parse(out)
		if err != nil || back.Generation != st.Generation || len(back.Sections) != len(st.Sections) {
			t.Fatalf("saved %s, read back %+v, %v", out, back, err)
		}
		// The same values: encoding/json re-escapes a RawMessage (& as
		// \u0026), which changes no value.
		for name, raw := range st.Sections {
			want, got := decodeJSON(raw), decodeJSON(back.Sections[name])
			if !reflect.DeepEqual(want, got) {
				t.Fatalf("section %q: saved %s, read back %s", name, raw, back.Sections[name])
			}
		}
	})
}

func decodeJSON(b []byte) any {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return err.Error()
	}
	return v
}
