package format

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/atlas-af/afmc/document"
)

func TestIBytes(t *testing.T) {
	t.Parallel()
	for n, want := range map[uint64]string{0: "0B", 1023: "1023B", 1024: "1.0KiB", 1536: "1.5KiB", 25276026880: "23.5GiB", 1 << 60: "1.0EiB"} {
		if got := IBytes(n); got != want {
			t.Errorf("IBytes(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestWriteNDJSONAndTable(t *testing.T) {
	t.Parallel()
	at := time.Unix(0, 0)
	docs := []document.Document{
		document.NewHost("MEM", "UC-AF", "login01", at).Add("available", uint64(1<<30)).Add("total", uint64(2<<30)),
		document.NewHost("NETWORK", "UC-AF", "login01", at).Add("network", document.Object{{Key: "interval", Value: 300.064}, {Key: "sent", Value: uint64(1536)}, {Key: "received", Value: uint64(0)}}),
		document.NewHost("DISK", "UC-AF", "login01", at).Add("mount", "/data").Add("utilization", 0.25),
	}
	var nd bytes.Buffer
	if err := writeNDJSON(&nd, docs); err != nil {
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

// Strings chosen by others (a mount point, a device, an LDAP user name, the
// cluster and node names) reach the table escaped: no control byte reaches
// the terminal and no value forges a row or a field.
func TestTableEscapesHostileStrings(t *testing.T) {
	t.Parallel()
	hostile := map[string]string{
		"newline":        "/data\nDISK     mount=/forged",
		"carriage":       "/data\rMEM  available=0B",
		"escape":         "/data\x1b[2J\x1b[1;1H\x1b]0;owned\x07",
		"tab":            "/da\tta",
		"invalid utf-8":  "/data\xff\xfe\x80",
		"c1 control":     "/data\u009b31m",
		"bidi override":  "/data\u202egnp.exe",
		"line separator": "/data\u2028forged",
		"forged field":   "/data  utilization=0.0%",
		"nul":            "/da\x00ta",
		"delete":         "/da\x7fta",
	}
	at := time.Unix(0, 0)
	for name, s := range hostile {
		t.Run(name, func(t *testing.T) {
			docs := []document.Document{
				document.NewHost("DISK", s, s, at).Add("mount", s).Add("device", s).Add("used", uint64(1)),
				document.NewHost("SSH", "UC-AF", "login01", at).Add("users", []string{"alice", s}),
				document.NewHost("NETWORK", "UC-AF", "login01", at).Add("network", document.Object{{Key: s, Value: s}, {Key: "sent", Value: uint64(2)}}),
				document.NewHost("X", "UC-AF", "login01", at).Add(s, s),
			}
			var tb bytes.Buffer
			if err := WriteTable(&tb, docs); err != nil {
				t.Fatal(err)
			}
			out := tb.String()
			if !utf8.ValidString(out) {
				t.Errorf("invalid UTF-8 reached the output: %q", out)
			}
			for _, r := range out {
				if r != '\n' && !strconv.IsPrint(r) {
					t.Errorf("raw %U reached the output: %q", r, out)
				}
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != len(docs)+1 {
				t.Fatalf("%d lines for %d documents:\n%s", len(lines), len(docs), out)
			}
			for i, d := range docs {
				if !strings.HasPrefix(lines[i+1], d.Kind()+" ") {
					t.Errorf("line %d is not the %s row: %q", i+1, d.Kind(), lines[i+1])
				}
			}
			q := strconv.Quote(s)
			for _, want := range []string{
				"(cluster " + q + ",UC-AF, login node " + q + ",login01)",
				"mount=" + q + "  device=" + q + "  used=1B",
				"users=alice," + q,
				"network={" + q + "=" + q + " sent=2B}",
				q + "=" + q,
			} {
				if !strings.Contains(out, want) {
					t.Errorf("missing %s in:\n%s", want, out)
				}
			}
			// Escaped, it reads back to the very string.
			if back, err := strconv.Unquote(q); err != nil || back != s {
				t.Errorf("quoted form %s does not read back: %q, %v", q, back, err)
			}
		})
	}
}

func TestPrintable(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":               "",
		"/data":          "/data",
		"login01.af.org": "login01.af.org",
		"/home/üser":     "/home/üser",
		"/media/My Disk": `"/media/My Disk"`,
		`C:\x`:           `"C:\\x"`,
		`"quoted"`:       `"\"quoted\""`,
		"a,b":            `"a,b"`,
		"k=v":            `"k=v"`,
		"a\nb":           `"a\nb"`,
		"\x1b[31mred":    `"\x1b[31mred"`,
		"bad\xffutf8":    `"bad\xffutf8"`,
		"\u202eevil":     `"\u202eevil"`,
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %s, want %s", in, got, want)
		}
	}
}

// Collectors' documents arrive interleaved; the table puts its rows in the
// order of the collectors, each collector's own order kept.
func TestTableOrdersRowsByCollector(t *testing.T) {
	t.Parallel()
	at := time.Unix(0, 0)
	doc := func(collector, kind string, seq int) document.Document {
		d := document.New(kind, "C", at).Add("seq", seq)
		d.Collector = collector
		return d
	}
	var b bytes.Buffer
	p := Table(&b, []string{"cpu", "disk", "condor"})
	for _, d := range []document.Document{doc("condor", "condorjob", 1), doc("disk", "DISK", 1), doc("condor", "condorjob", 2), doc("cpu", "CPU", 1), doc("disk", "DISK", 2)} {
		if err := p.Print(d, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n")[1:] {
		got = append(got, strings.Join(strings.Fields(line), " "))
	}
	want := []string{"CPU seq=1", "DISK seq=1", "DISK seq=2", "condorjob seq=1", "condorjob seq=2"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("rows %q, want %q", got, want)
	}
}

// writeNDJSON writes one compact JSON document per line.
func writeNDJSON(w io.Writer, docs []document.Document) error {
	p := NDJSON(w)
	for _, d := range docs {
		b, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("encoding %s document: %w", d.Kind(), err)
		}
		if err := p.Print(d, b); err != nil {
			return err
		}
	}
	return p.Close()
}

// The table holds a block of rows at most, however many documents come:
// every row is printed, the title once.
func TestTableHoldsABlock(t *testing.T) {
	var out bytes.Buffer
	p := Table(&out, nil)
	const n = 3*tableBlock + 17
	for i := range n {
		d := document.New("condorjob", "C", time.Unix(0, 0)).Add("Id", fmt.Sprintf("%d.0", i)).Add("users", "alice")
		if err := p.Print(d, nil); err != nil {
			t.Fatal(err)
		}
		if held := len(p.(*table).docs); held >= tableBlock {
			t.Fatalf("%d rows held after %d documents", held, i+1)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != n+1 || !strings.HasPrefix(lines[0], "KIND") || strings.Count(out.String(), "KIND") != 1 {
		t.Errorf("%d lines, want %d rows and one title", len(lines), n)
	}
	if !strings.Contains(lines[n], fmt.Sprintf("Id=%d.0", n-1)) {
		t.Errorf("last row %q", lines[n])
	}
}
