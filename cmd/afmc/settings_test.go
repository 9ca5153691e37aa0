package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"
)

var update = flag.Bool("update", false, "rewrite golden files from the model")

// setting is one config key as kong's model has it: what examples/afmc.yaml
// and its test (examples/config_test.go) check it against.
type setting struct {
	Kind    string   `json:"kind"` // string, bool, int, duration, size, list
	Enum    []string `json:"enum,omitempty"`
	Default string   `json:"default,omitempty"` // as the example file writes it
}

// modelSettings is every flag of `afmc collect` (the globals included) as
// a config key.
func modelSettings(t *testing.T) map[string]setting {
	t.Helper()
	var c cli
	p, err := kong.New(&c, helpVars())
	if err != nil {
		t.Fatal(err)
	}
	var collectNode *kong.Node
	for _, n := range p.Model.Children {
		if n.Name == "collect" {
			collectNode = n
		}
	}
	if collectNode == nil {
		t.Fatal("no collect command in the model")
	}
	out := map[string]setting{}
	for _, group := range collectNode.AllFlags(true) {
		for _, f := range group {
			// Not settings: --config and --env-file are read before the
			// file, --help and --version print and exit.
			if f.Name == "help" || f.Name == "config" || f.Name == "env-file" || f.Name == "version" {
				continue
			}
			s := setting{Enum: f.EnumSlice()}
			switch typ := f.Target.Type(); {
			case typ == reflect.TypeFor[time.Duration]():
				s.Kind = "duration"
			case typ == reflect.TypeFor[byteSize]():
				s.Kind = "size"
			case typ.Kind() == reflect.Bool:
				s.Kind = "bool"
				s.Default = "false"
			case typ.Kind() == reflect.Int:
				s.Kind = "int"
			case typ.Kind() == reflect.Slice:
				s.Kind = "list"
			default:
				s.Kind = "string"
			}
			if f.Default != "" {
				s.Default = f.Default
				if s.Kind == "list" {
					s.Default = "[" + strings.ReplaceAll(f.Default, ",", ", ") + "]"
				}
			}
			if len(s.Enum) == 1 && s.Enum[0] == "" {
				s.Enum = nil
			}
			sort.Strings(s.Enum)
			out[strings.ReplaceAll(f.Name, "-", "_")] = s
		}
	}
	return out
}

// The settings every config file may hold are generated from kong's
// model into examples/testdata/settings.json (go test ./cmd/afmc -run
// TestSettingsGolden -update), which examples/config_test.go checks
// examples/afmc.yaml and the ConfigMaps against: kinds, enums and
// defaults are kept in the flags' struct tags alone.
func TestSettingsGolden(t *testing.T) {
	b, err := json.MarshalIndent(modelSettings(t), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	golden := filepath.Join("..", "..", "examples", "testdata", "settings.json")
	if *update {
		if err := os.WriteFile(golden, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("%s is not what the flags say: run go test ./cmd/afmc -run TestSettingsGolden -update, then update examples/afmc.yaml and the README\n%s", golden, b)
	}
}

// Every setting is named in the README (as --flag or as the key), so none
// is a secret of the code.
func TestREADMENamesEverySetting(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	examples, err := os.ReadFile(filepath.Join("..", "..", "examples", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme) + string(examples)
	for k := range modelSettings(t) {
		flagName := "--" + strings.ReplaceAll(k, "_", "-")
		if !strings.Contains(text, flagName) && !strings.Contains(text, "`"+k+"`") {
			t.Errorf("neither README.md nor examples/README.md names %s (or `%s`)", flagName, k)
		}
	}
}
