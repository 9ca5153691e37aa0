package host

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atlas-af/afmc/collect/collecttest"
)

// Deltas near 2^64 on several interfaces: their sum wraps and must be
// refused, not reported as a small or huge figure.
func TestNetworkDeltaSumWraps(t *testing.T) {
	t.Parallel()
	clock := func(up float64) HostClock { return HostClock{BootID: "b1", Uptime: up} }
	const top = math.MaxUint64
	tests := []struct {
		name       string
		prev, cur  map[string]IfCounters
		want       NetDelta
		wantReason string
	}{
		{"sent sum wraps",
			map[string]IfCounters{"eth0": {Sent: 0}, "eth1": {Sent: 0}},
			map[string]IfCounters{"eth0": {Sent: top - 10}, "eth1": {Sent: 20}},
			NetDelta{}, "passes 2^64"},
		{"received sum wraps",
			map[string]IfCounters{"eth0": {Received: 1}, "eth1": {Received: 1}},
			map[string]IfCounters{"eth0": {Received: top}, "eth1": {Received: top}},
			NetDelta{}, "passes 2^64"},
		{"sum reaches the top exactly",
			map[string]IfCounters{"eth0": {Sent: 0}, "eth1": {Sent: 0}},
			map[string]IfCounters{"eth0": {Sent: top - 20}, "eth1": {Sent: 20}},
			NetDelta{Interval: 300, Sent: top}, ""},
		{"one counter near the top grows a little",
			map[string]IfCounters{"eth0": {Sent: top - 100, Received: top - 50}},
			map[string]IfCounters{"eth0": {Sent: top - 40, Received: top}},
			NetDelta{Interval: 300, Sent: 60, Received: 50}, ""},
		// A 32-bit driver counter wrapped from near 2^32 to a small value:
		// it reads as going backwards, a new baseline.
		{"32-bit counter wraps",
			map[string]IfCounters{"eth0": {Sent: 1<<32 - 100, Received: 5}},
			map[string]IfCounters{"eth0": {Sent: 50, Received: 10}},
			NetDelta{}, "counters of eth0 went backwards"},
		{"64-bit counter wraps",
			map[string]IfCounters{"eth0": {Sent: 5, Received: top - 1}},
			map[string]IfCounters{"eth0": {Sent: 10, Received: 3}},
			NetDelta{}, "counters of eth0 went backwards"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := NetworkDelta(
				NetworkState{HostClock: clock(1000), Interfaces: tt.prev},
				NetworkState{HostClock: clock(1300), Interfaces: tt.cur})
			checkNetDelta(t, got, reason, tt.want, tt.wantReason)
		})
	}
}

// Through the collector: a wrapped sum sends nothing, logs why at info and
// takes the new reading as the baseline, so the next interval counts again.
func TestNetworkSumWrapIsNewBaseline(t *testing.T) {
	t.Parallel()
	env, dir, logs := fixtureHost(t)
	ctx := context.Background()
	netdev := filepath.Join(dir, "proc", "net", "dev")
	b, err := os.ReadFile(netdev)
	if err != nil {
		t.Fatal(err)
	}
	// Both physical interfaces (eth0, eno2) near the top of their counters.
	high := strings.Replace(string(b), "eth0: 73810291827", "eth0: 18446744073709551000", 1)
	high = strings.Replace(high, "eno2: 1048576000", "eno2: 18446744073709551000", 1)
	writeFile(t, netdev, high)
	res, err := collecttest.Gather(ctx, Network{}, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	var cur NetworkState
	if err := json.Unmarshal(res.State, &cur); err != nil {
		t.Fatal(err)
	}
	if cur.Interfaces["eth0"].Received != 18446744073709551000 || cur.Interfaces["eno2"].Received != 18446744073709551000 {
		t.Fatalf("fixture not read as expected: %+v", cur.Interfaces)
	}
	// The previous reading, 300 s earlier, had both at zero: each growth
	// fits in 64 bits, their sum does not.
	prev := NetworkState{HostClock: cur.HostClock, Interfaces: map[string]IfCounters{}}
	prev.Uptime -= 300
	for name, c := range cur.Interfaces {
		prev.Interfaces[name] = IfCounters{Sent: c.Sent, Received: 0}
	}
	prevRaw, _ := json.Marshal(prev)
	logs.Reset()
	res, err = collecttest.Gather(ctx, Network{}, env, prevRaw)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Docs) != 0 {
		t.Errorf("a wrapped sum was reported: %s", docJSON(t, res.Docs[0]))
	}
	if !strings.Contains(logs.String(), "level=INFO") || !strings.Contains(logs.String(), "passes 2^64") {
		t.Errorf("not logged at info: %s", logs)
	}
	var next NetworkState
	if err := json.Unmarshal(res.State, &next); err != nil {
		t.Fatal(err)
	}
	if next.Uptime != cur.Uptime || next.Interfaces["eth0"] != cur.Interfaces["eth0"] {
		t.Errorf("the new reading is not the baseline: %+v", next)
	}

	// From that baseline, a little growth is counted again.
	writeFile(t, filepath.Join(dir, "proc", "uptime"), "86700.25 170000.50\n")
	writeFile(t, netdev, strings.Replace(high, "eth0: 18446744073709551000", "eth0: 18446744073709551100", 1))
	res, err = collecttest.Gather(ctx, Network{}, env, res.State)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Docs) != 1 || !strings.Contains(docJSON(t, res.Docs[0]), `"sent":0,"received":100}`) {
		t.Errorf("after the new baseline: %v", res.Docs)
	}
}
