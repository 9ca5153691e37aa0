package output

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/atlas-af/afmc/document"
)

func TestIBytes(t *testing.T) {
	for n, want := range map[uint64]string{0: "0B", 1023: "1023B", 1024: "1.0KiB", 1536: "1.5KiB", 25276026880: "23.5GiB", 1 << 60: "1.0EiB"} {
		if got := IBytes(n); got != want {
			t.Errorf("IBytes(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestWriteNDJSONAndTable(t *testing.T) {
	at := time.Unix(0, 0)
	docs := []document.Document{
		document.NewHost("MEM", "UC-AF", "login01", at).Add("available", uint64(1<<30)).Add("total", uint64(2<<30)),
		document.NewHost("NETWORK", "UC-AF", "login01", at).Add("network", document.Object{{Key: "interval", Value: 300.064}, {Key: "sent", Value: uint64(1536)}, {Key: "received", Value: uint64(0)}}),
		document.NewHost("DISK", "UC-AF", "login01", at).Add("mount", "/data").Add("utilization", 0.25),
	}
	var nd bytes.Buffer
	if err := WriteNDJSON(&nd, docs); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(nd.String()), "\n"); len(lines) != 3 || lines[0] != `{"kind":"MEM","cluster":"UC-AF","login_node":"login01","available":1073741824,"total":2147483648}` {
		t.Errorf("NDJSON:\n%s", nd.String())
	}

	var tb bytes.Buffer
	if err := WriteTable(&tb, docs); err != nil {
		t.Fatal(err)
	}
	want := `KIND     DETAILS  (cluster UC-AF, login node login01)
MEM      available=1.0GiB  total=2.0GiB
NETWORK  network={interval=300.064s sent=1.5KiB received=0B}
DISK     mount=/data  utilization=25.0%
`
	if tb.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", tb.String(), want)
	}
}
