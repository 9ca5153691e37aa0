package send

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/atlas-af/afmc/internal/jsonstrict"
)

// FuzzAppendDoc splices the token and the timestamp into a document as it
// is sent: the result is a JSON object with the document's fields and
// those two.
func FuzzAppendDoc(f *testing.F) {
	f.Add([]byte(`{"kind":"CPU","load":1.5}`), "Zq8vN3kPw7Rt2YhLmX4cB9dFs1G")
	f.Add([]byte(`{}`), testToken)
	f.Add([]byte("{ \n}"), "0123456789abcdef")
	f.Add([]byte(`{"a":{}}`), "\"\u2028<script>&amp;0123456789")
	f.Fuzz(func(t *testing.T, doc []byte, token string) {
		doc = bytes.TrimSpace(doc)
		var fields map[string]json.RawMessage
		if len(doc) < 2 || doc[0] != '{' || jsonstrict.Check(doc) != nil || json.Unmarshal(doc, &fields) != nil {
			return // the sender drops what is not a JSON object
		}
		if CheckToken(token) != nil {
			return // refused before the run
		}
		if _, ok := fields["token"]; ok {
			return
		}
		if _, ok := fields["timestamp"]; ok {
			return
		}
		tok, _ := json.Marshal(token)
		field := append(append([]byte(`"token":`), tok...), `,"timestamp":`...)
		at := time.UnixMilli(1764096000123)
		out := appendDoc([]byte("prefix"), doc, field, at)
		out, ok := bytes.CutPrefix(out, []byte("prefix"))
		var got map[string]json.RawMessage
		if !ok || json.Unmarshal(out, &got) != nil {
			t.Fatalf("sent %q: not a JSON object", out)
		}
		var gotTok string
		if json.Unmarshal(got["token"], &gotTok) != nil || gotTok != token || string(got["timestamp"]) != "1764096000123" {
			t.Fatalf("sent %q: token or timestamp wrong", out)
		}
		if len(got) != len(fields)+2 {
			t.Fatalf("sent %q: %d fields, want %d", out, len(got), len(fields)+2)
		}
		for k, v := range fields {
			if !bytes.Equal(got[k], v) {
				t.Fatalf("field %q: sent %s, want %s", k, got[k], v)
			}
		}
	})
}
