package main

import (
	"strings"
	"testing"

	"github.com/alecthomas/kong"
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

// No flag's help is in its struct tag, where kong would parse it on every
// run; after describeCLI every flag and argument has one, with ${default}
// replaced, and its variable.
func TestFlagHelp(t *testing.T) {
	var c cli
	p, err := kong.New(&c)
	if err != nil {
		t.Fatal(err)
	}
	values(p.Model.Node, "afmc", func(path string, v *kong.Value) {
		if v.Help != "" && v.Name != "help" {
			t.Errorf("%s: help in the struct tag (move it to FlagHelp): %q", path, v.Help)
		}
	})
	if err := describeCLI(p.Model, &c); err != nil {
		t.Fatal(err)
	}
	n := 0
	values(p.Model.Node, "afmc", func(path string, v *kong.Value) {
		n++
		if v.Help == "" {
			t.Errorf("%s: no help: add it to its struct's FlagHelp", path)
		}
		if strings.Contains(v.Help, "${") {
			t.Errorf("%s: help not interpolated: %q", path, v.Help)
		}
		if v.Flag != nil && (len(v.Flag.Envs) != 1 || !strings.HasPrefix(v.Flag.Envs[0], "AFMC_")) {
			t.Errorf("%s: variable %q", path, v.Flag.Envs)
		}
	})
	// Every help text reached a flag: none names a field kong ignores.
	help, err := helpTexts(&c)
	if err != nil {
		t.Fatal(err)
	}
	// Each command repeats the global flags; count each field once.
	seen := map[fieldKey]bool{}
	values(p.Model.Node, "", func(_ string, v *kong.Value) {
		if v.Target.CanAddr() && help[fieldKeyOf(v.Target)] != "" {
			seen[fieldKeyOf(v.Target)] = true
		}
	})
	if len(seen) != len(help) {
		t.Errorf("%d help texts, %d reach a flag or argument", len(help), len(seen))
	}
}

type withDefault struct {
	Queue []string `default:"all"`
}

func (withDefault) FlagHelp() map[string]string {
	return map[string]string{"Queue": "A queue (repeatable; default ${default})."}
}

// "${default}" in a help is the flag's default.
func TestFlagHelpDefault(t *testing.T) {
	var c withDefault
	p, err := kong.New(&c)
	if err != nil {
		t.Fatal(err)
	}
	help, err := helpTexts(&c)
	if err != nil {
		t.Fatal(err)
	}
	describe(p.Model.Node, help)
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

type staleHelp struct {
	Renamed string
}

func (staleHelp) FlagHelp() map[string]string { return map[string]string{"OldName": "gone"} }

type withStale struct {
	Top   string
	Inner staleHelp
}

// A FlagHelp naming no field is an error, not a flag quietly without help.
func TestFlagHelpStaleName(t *testing.T) {
	_, err := helpTexts(&withStale{})
	if err == nil || !strings.Contains(err.Error(), `"OldName"`) {
		t.Fatalf("want an error naming OldName, got %v", err)
	}
}
