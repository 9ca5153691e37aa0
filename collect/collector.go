// Package collect holds the collector contract, the registry of collectors
// and one file per collector. Parsers are pure functions over bytes, kept
// apart from the I/O so they can be tested on fixtures in testdata/.
package collect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/atlas-af/afmc/document"
)

// Collector gathers one kind of document.
//
// A collector never prints, never exits and never touches another
// collector's state: it gets its own state section and returns the next one.
type Collector interface {
	// Name is the kind named on the command line ("cpu", "disk", ...).
	Name() string
	// Available reports why the collector's source does not exist on this
	// host, or nil when it does. Under --all an unavailable collector is
	// skipped; named explicitly it is an error.
	Available(env *Env) error
	// Collect runs once. prev is the collector's state section from the last
	// run (nil when there is none). It returns the documents, the next state
	// section (nil keeps prev) and an error naming what failed. Documents
	// and an error may come together: one bad mount does not stop the rest.
	Collect(ctx context.Context, env *Env, prev json.RawMessage) (Result, error)
}

// Result is what one collection produced.
type Result struct {
	Docs  []document.Document
	State json.RawMessage
}

// Env is what every collector may read about the run and the host.
type Env struct {
	Roots     Roots
	Cluster   string
	LoginNode string
	Now       func() time.Time
	Log       *slog.Logger
}

// Set is every collector afmc knows. Each collector's exported fields are
// its own settings, which the CLI embeds as flags (kong tags beside them),
// so adding a collector is one file, its test, and one field here. New
// collectors prefix their flags with their name ("ssh-"); disk's and
// network's keep the names they always had.
type Set struct {
	CPU     CPU     `embed:""`
	Mem     Mem     `embed:""`
	Disk    Disk    `embed:"" group:"disk"`
	Network Network `embed:"" group:"network"`
}

// List returns the collectors in registry order.
func (s Set) List() []Collector {
	v := reflect.ValueOf(s)
	out := make([]Collector, 0, v.NumField())
	for i := range v.NumField() {
		out = append(out, v.Field(i).Interface().(Collector))
	}
	return out
}

// Groups are names that stand for several kinds.
var Groups = map[string][]string{
	"host": {"cpu", "mem", "disk", "network"},
}

// Select resolves the kinds named on the command line to collectors, in
// registry order and without duplicates. all selects every collector.
func Select(cs []Collector, names []string, all bool) ([]Collector, error) {
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
		if g, ok := Groups[n]; ok {
			for _, k := range g {
				want[k] = true
			}
			continue
		}
		if _, ok := byName[n]; !ok {
			return nil, fmt.Errorf("unknown kind %q (known: %s)", n, strings.Join(KindNames(cs), ", "))
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
func KindNames(cs []Collector) []string {
	var names []string
	for _, c := range cs {
		names = append(names, c.Name())
	}
	for g := range Groups {
		names = append(names, g)
	}
	sort.Strings(names)
	return names
}

// Outcome is what happened to one collector in a run.
type Outcome struct {
	Name    string
	Docs    []document.Document
	State   json.RawMessage // nil: keep the previous section
	Err     error
	Skipped error // non-nil: not run, because its source is missing (--all)
}

// ErrTimeout marks a collector that did not finish in time.
var ErrTimeout = errors.New("timed out")

// Run runs the collectors concurrently, each under timeout, and returns one
// outcome per collector in the given order. A collector that ignores its
// context (stuck in a system call) is abandoned at the timeout: it never
// holds up the others. skipUnavailable skips collectors whose source is
// missing (--all); otherwise a missing source is that collector's error.
func Run(ctx context.Context, env *Env, cs []Collector, states map[string]json.RawMessage, timeout time.Duration, skipUnavailable bool) []Outcome {
	out := make([]Outcome, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		out[i].Name = c.Name()
		if err := c.Available(env); err != nil {
			if skipUnavailable {
				out[i].Skipped = err
				env.Log.Info("skipping collector: its source is not on this host", "collector", c.Name(), "reason", err)
			} else {
				out[i].Err = err
			}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = runOne(ctx, env, c, states[c.Name()], timeout)
		}()
	}
	wg.Wait()
	return out
}

func runOne(ctx context.Context, env *Env, c Collector, prev json.RawMessage, timeout time.Duration) Outcome {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type done struct {
		res Result
		err error
	}
	ch := make(chan done, 1) // buffered: an abandoned collector can still finish and exit
	start := time.Now()
	go func() {
		res, err := c.Collect(ctx, env, prev)
		ch <- done{res, err}
	}()
	o := Outcome{Name: c.Name()}
	select {
	case d := <-ch:
		o.Docs, o.State, o.Err = d.res.Docs, d.res.State, d.err
	case <-ctx.Done():
		o.Err = fmt.Errorf("%w after %s", ErrTimeout, timeout)
	}
	if o.Err != nil {
		o.Err = fmt.Errorf("collector %s: %w", c.Name(), o.Err)
	}
	env.Log.Debug("collector finished", "collector", c.Name(), "documents", len(o.Docs), "took", time.Since(start), "error", o.Err)
	return o
}
