package main

import (
	"strings"
	"testing"

	"github.com/alecthomas/kong"

	"github.com/atlas-af/afmc/collect/all"
)

// values lists every flag and positional argument of the model, with the
// command path it belongs to.
func values(n *kong.Node, path string, visit func(path string, v *kong.Value)) {
	for _, f := range n.Flags {
		visit(path+" --"+f.Name, f.Value)
	}
	for _, p := range n.Positional {
		visit(path+" <"+p.Name+">", p)
	}
	for _, c := range n.Children {
		values(c, path+" "+c.Name, visit)
	}
}

// Every flag and argument has its help in its struct tag, interpolated,
// and, once described, its variable. The kinds in the help are the
// registry's.
func TestFlagHelp(t *testing.T) {
	var c cli
	p, err := kong.New(&c, helpVars())
	if err != nil {
		t.Fatal(err)
	}
	describe(p.Model.Node)
	values(p.Model.Node, "afmc", func(path string, v *kong.Value) {
		if v.Help == "" {
			t.Errorf("%s: no help: add help:\"\" to its struct tag", path)
		}
		if strings.Contains(v.Help, "${") {
			t.Errorf("%s: help not interpolated: %q", path, v.Help)
		}
		if v.Flag != nil && (len(v.Flag.Envs) != 1 || !strings.HasPrefix(v.Flag.Envs[0], "AFMC_")) {
			t.Errorf("%s: variable %q", path, v.Flag.Envs)
		}
		if strings.HasSuffix(path, "<kind>") {
			for _, k := range all.KindNames(all.Set{}.List()) {
				if !strings.Contains(v.Help, k) {
					t.Errorf("%s: help does not name the kind %s: %q", path, k, v.Help)
				}
			}
		}
	})
}

type withDefault struct {
	Queue []string `default:"all" help:"A queue (repeatable; default ${default})."`
}

// "${default}" in a help is the flag's default.
func TestFlagHelpDefault(t *testing.T) {
	var c withDefault
	p, err := kong.New(&c)
	if err != nil {
		t.Fatal(err)
	}
	describe(p.Model.Node)
	found := false
	for _, f := range p.Model.Flags {
		if f.Name == "queue" {
			found = true
			if f.Help != "A queue (repeatable; default all)." {
				t.Errorf("--queue: ${default} not replaced by %q: %q", f.Default, f.Help)
			}
		}
	}
	if !found {
		t.Error("no --queue flag in the model")
	}
}
