package users

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseDB reads getent's passwd and group output: exactly the lines
// of n colon-separated fields, whole and in order, whatever the lines
// around them (blank, short, very long, a CR before the newline).
func FuzzParseDB(f *testing.F) {
	for _, name := range []string{"group", "passwd"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "ssh", "nss", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("atlas:x:5000:" + strings.Repeat("user0001,", 8000) + "last\nnext:x:5001:\n"))
	f.Add([]byte("a:b:c\r\n::::::\n\nx:x:1:1:g:/h:/bin/sh"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, n := range []int{4, 7} {
			got := parseDB(b, n)
			var want [][]string
			for _, line := range strings.Split(string(b), "\n") {
				if f := strings.Split(strings.TrimSuffix(line, "\r"), ":"); len(f) == n {
					want = append(want, f)
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%d fields: got %q, want %q", n, got, want)
			}
		}
	})
}

// A line past the scanner's first bound (16 MiB: a group of two million
// members) neither stops the reading nor loses the lines after it.
func TestParseDBLongLine(t *testing.T) {
	b := []byte("huge:x:5000:" + strings.Repeat("u,", 9<<20) + "v\nalice:x:1000:5000:Alice:/home/alice:/bin/bash\n")
	if got := parseDB(b, 4); len(got) != 1 || len(got[0][3]) != 18<<20+1 {
		t.Errorf("group lines: %d", len(got))
	}
	if got := parseDB(b, 7); len(got) != 1 || got[0][0] != "alice" {
		t.Errorf("passwd lines after the long one: %q", got)
	}
}
