// Package collect holds the collector contract (Collector, Env, Emit) and
// the scheduler that runs collectors concurrently (Run). The collectors
// live in a package per family (collect/host, collect/login,
// collect/condor, collect/jupyter); collect/all is the registry.
package collect

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/atlas-af/afmc/document"
)

// Collector gathers one kind of document.
//
// A collector never prints, never exits and never touches another
// collector's state: it gets its own state section and returns the next one.
// It reports real user names; the run's users step filters and hides them.
type Collector interface {
	// Name is the kind named on the command line ("cpu", "disk", ...).
	Name() string
	// Available reports why the collector's source does not exist on this
	// host, or nil when it does. Under --all an unavailable collector is
	// skipped; named explicitly it is an error.
	Available(env *Env) error
	// Collect runs once. prev is the collector's state section from the last
	// run (nil when there is none). Each document goes to emit as soon as it
	// is made, so that a pool of 200,000 jobs is never held at once; when
	// emit fails, the collector stops and returns that error. Collect
	// returns the next state section (nil keeps prev) and an error naming
	// what failed. Documents and an error may come together: one bad mount
	// does not stop the rest.
	//
	// Documents marked Delta (computed against prev) count only together
	// with the state section returned: they are passed on only when Collect
	// returns a non-nil section, so a collector that fails or times out
	// before moving its state never has its events counted twice. A Delta
	// that belongs to an Answer (document.Answer) is passed on as it is
	// made instead, so that a large answer is never held: the collector
	// voids the answer or returns a state that accounts for it, and if it
	// returns no state its answers are voided for it.
	Collect(ctx context.Context, env *Env, prev json.RawMessage, emit Emit) (json.RawMessage, error)
}

// Validator is a collector whose settings can be wrong: kong calls
// Validate when it parses them, so a mistake is a usage error before
// anything runs. Collect may take them as valid.
type Validator interface {
	Validate() error
}

// Budgeted is a collector with a deadline of its own (a flag), which must
// be below the run's --collector-timeout.
type Budgeted interface {
	Budget() (flag string, d time.Duration)
}

// Emit hands one document on: to stdout, the spool, or a test's slice.
type Emit func(document.Document) error

// Env is what every collector may read about the run and the host.
type Env struct {
	Roots     Roots
	Cluster   string
	LoginNode string
	Now       func() time.Time
	Log       *slog.Logger
}

// Select resolves the kinds named on the command line to collectors, in
// registry order and without duplicates: a name of groups stands for its
// kinds. all selects every collector.
func Select(cs []Collector, groups map[string][]string, names []string, all bool) ([]Collector, error) {
	if all {
		return cs, nil
	}
	byName := make(map[string]Collector, len(cs))
	for _, c := range cs {
		byName[c.Name()] = c
	}
	want := map[string]bool{}
	for _, n := range names {
		n = strings.ToLower(n)
		if g, ok := groups[n]; ok {
			for _, k := range g {
				want[k] = true
			}
			continue
		}
		if _, ok := byName[n]; !ok {
			return nil, fmt.Errorf("unknown kind %q (known: %s)", n, strings.Join(KindNames(cs, groups), ", "))
		}
		want[n] = true
	}
	var out []Collector
	for _, c := range cs {
		if want[c.Name()] {
			out = append(out, c)
		}
	}
	return out, nil
}

// KindNames lists the names Select accepts.
func KindNames(cs []Collector, groups map[string][]string) []string {
	var names []string
	for _, c := range cs {
		names = append(names, c.Name())
	}
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	return names
}

// For is env as collector name sees it: its logs carry the collector as
// an attribute (collector=name), so no message needs to name it.
func (env *Env) For(name string) *Env {
	e := *env
	e.Log = env.Log.With("collector", name)
	return &e
}
