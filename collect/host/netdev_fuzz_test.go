package host

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gonet "github.com/shirou/gopsutil/v3/net"
)

// FuzzParseNetDev reads /proc/net/dev, compared with gopsutil's reader
// (which afmc used before): what ParseNetDev accepts, gopsutil reads
// without an error and with the same bytes for every interface. The error
// is short enough for a log.
func FuzzParseNetDev(f *testing.F) {
	f.Add(readFixture(f, "host/proc/net/dev"))
	f.Add(readFixture(f, "malformed/netdev-garbage"))
	f.Add(readFixture(f, "malformed/empty"))
	f.Add([]byte("Inter-|   Receive\n face |bytes\n  eth0:73810291827 58123411 0 12 0 0 0 81234 9123881723 21839471 0 0 0 0 0 0\n"))
	f.Add([]byte("Inter-|\n face |\n  eth0: 1 2\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := ParseNetDev(b)
		if err != nil {
			if len(err.Error()) > 500 {
				t.Fatalf("error of %d bytes: %.200q", len(err.Error()), err)
			}
			return
		}
		for name := range got {
			if name == "" || strings.ContainsAny(name, " \t\n:/") {
				t.Fatalf("accepted interface name %q", name)
			}
		}
		ref, err := gopsutilNetDev(dir, b)
		if err != nil {
			t.Fatalf("gopsutil refuses what ParseNetDev read as %v: %v", got, err)
		}
		want := map[string]IfCounters{}
		for _, s := range ref {
			want[s.Name] = IfCounters{Sent: s.BytesSent, Received: s.BytesRecv}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("got %v, gopsutil reads %v", got, want)
		}
	})
}

func gopsutilNetDev(dir string, b []byte) (stats []gonet.IOCountersStat, err error) {
	p := filepath.Join(dir, "dev")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return gonet.IOCountersByFileWithContext(context.Background(), true, p)
}

// A line cut short is an error naming it; gopsutil's reader panicked, which
// took the whole run down.
func TestParseNetDevShortLine(t *testing.T) {
	b := []byte("Inter-|   Receive\n face |bytes\n  eth0: 1 2\n")
	_, err := ParseNetDev(b)
	checkErr(t, err, "line 3 (eth0): 2 counters, want 16")
	if _, err := gopsutilNetDev(t.TempDir(), b); err == nil || !strings.HasPrefix(err.Error(), "panic") {
		t.Logf("gopsutil no longer panics here: %v", err)
	}
}
