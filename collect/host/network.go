package host

import (
	"context"
	"encoding/json"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"sort"

	"github.com/atlas-af/afmc/collect"
	"github.com/atlas-af/afmc/document"
)

// Network reports bytes sent and received since the previous run as kind
// NETWORK, summed over the chosen interfaces. By default those are the
// physical ones (with a device under /sys/class/net/IF/device): loopback,
// bridges, veths, tunnels and bonds would count the same bytes twice. Where
// no interface is physical (a container's veth), every interface but lo.
//
// The first run, and the first after a reboot or a counter reset, records a
// baseline and sends nothing: never a zero interval or a negative delta.
type Network struct {
	Interfaces []string `name:"interface" placeholder:"IF" help:"Network interface to count, shell patterns allowed (repeatable; default: the physical ones)."`
}

// Validate refuses an --interface that is not a shell pattern.
func (n Network) Validate() error {
	for _, pat := range n.Interfaces {
		if _, err := filepath.Match(pat, ""); err != nil {
			return fmt.Errorf("bad --interface pattern %q: %w", pat, err)
		}
	}
	return nil
}

func (Network) Name() string                 { return "network" }
func (Network) Available(*collect.Env) error { return nil }

// NetworkState is the network collector's state section.
type NetworkState struct {
	HostClock
	Interfaces map[string]IfCounters `json:"interfaces"`
}

// IfCounters are one interface's cumulative byte counters.
type IfCounters struct {
	Sent     uint64 `json:"sent"`
	Received uint64 `json:"received"`
}

func (n Network) Collect(ctx context.Context, env *collect.Env, prevRaw json.RawMessage, emit collect.Emit) (json.RawMessage, error) {
	clock, err := ReadHostClock(env.Roots)
	if err != nil {
		return nil, err
	}
	all, err := readParsed(env.Roots.ProcPath("net", "dev"), "network counters", ParseNetDev)
	if err != nil {
		return nil, err
	}
	chosen, err := n.choose(env, all)
	if err != nil {
		return nil, err
	}
	next := NetworkState{HostClock: clock, Interfaces: chosen}
	nextRaw, err := json.Marshal(next)
	if err != nil {
		return nil, err
	}

	var prev NetworkState
	if len(prevRaw) > 0 {
		if err := json.Unmarshal(prevRaw, &prev); err != nil {
			env.Log.Warn("network: unreadable previous counters, recording a new baseline", "error", err)
			return nextRaw, nil
		}
	}
	d, reason := NetworkDelta(prev, next)
	if reason != "" {
		env.Log.Info("network: no document this run", "reason", reason)
		if next.SameInstant(prev.HostClock) {
			return nil, nil // keep the previous baseline
		}
		return nextRaw, nil
	}
	doc := document.NewHost("NETWORK", env.Cluster, env.LoginNode, env.Now()).
		Add("network", document.Object{
			{Key: "interval", Value: document.Float(d.Interval)},
			{Key: "sent", Value: d.Sent},
			{Key: "received", Value: d.Received},
		})
	doc.Delta = true
	return nextRaw, emit(doc)
}

// choose picks the interfaces to count from all of /proc/net/dev.
func (n Network) choose(env *collect.Env, all map[string]IfCounters) (map[string]IfCounters, error) {
	out := map[string]IfCounters{}
	if len(n.Interfaces) > 0 {
		for _, pat := range n.Interfaces {
			if _, err := filepath.Match(pat, ""); err != nil {
				return nil, fmt.Errorf("bad --interface pattern %q: %w", pat, err)
			}
			matched := false
			for name, c := range all {
				if ok, _ := filepath.Match(pat, name); ok {
					out[name], matched = c, true
				}
			}
			if !matched {
				return nil, fmt.Errorf("--interface %q matches no interface in %s (have: %s)", pat, env.Roots.ProcPath("net", "dev"), ifNames(all))
			}
		}
		return out, nil
	}
	for name, c := range all {
		if name == "lo" {
			continue
		}
		if _, err := os.Stat(env.Roots.SysPath("class", "net", name, "device")); err == nil {
			out[name] = c
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	for name, c := range all {
		if name != "lo" {
			out[name] = c
		}
	}
	env.Log.Debug("network: no physical interface found, counting every interface but lo", "interfaces", ifNames(out))
	return out, nil
}

func ifNames(m map[string]IfCounters) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return fmt.Sprint(names)
}

// NetDelta is the traffic between two readings.
type NetDelta struct {
	Interval       float64
	Sent, Received uint64
}

// NetworkDelta sums the growth of every interface present in both readings.
// It returns a reason instead when the readings cannot be compared: no
// previous reading, a reboot, or a counter that went backwards (a driver
// reload or a re-created interface) would give a bogus or negative delta.
// A 32-bit counter that wrapped reads as one that went backwards, and so
// does a reset: both are a new baseline. A sum over interfaces that passes
// 2^64 cannot be reported either, and is a new baseline too, never a small
// or huge wrong delta.
// An interface that appeared since the previous reading has no baseline yet
// and is left out of this interval.
func NetworkDelta(prev, cur NetworkState) (NetDelta, string) {
	interval, reason := cur.IntervalSince(prev.HostClock)
	if reason != "" {
		return NetDelta{}, reason
	}
	d := NetDelta{Interval: interval}
	for name, c := range cur.Interfaces {
		p, ok := prev.Interfaces[name]
		if !ok {
			continue
		}
		if c.Sent < p.Sent || c.Received < p.Received {
			return NetDelta{}, fmt.Sprintf("the counters of %s went backwards (reset): recording a new baseline", name)
		}
		var cs, cr uint64
		d.Sent, cs = bits.Add64(d.Sent, c.Sent-p.Sent, 0)
		d.Received, cr = bits.Add64(d.Received, c.Received-p.Received, 0)
		if cs != 0 || cr != 0 {
			return NetDelta{}, "the traffic summed over the interfaces passes 2^64 bytes: recording a new baseline"
		}
	}
	return d, ""
}
