package main

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/alecthomas/kong"
)

// The help of flags and arguments is not in their struct tags: kong parses
// every tag rune by rune, and interpolates every help string, each time it
// builds its model, which is on every run, while only --help, the man page
// and the completions read help. With some 50 flags that was 40% of the
// time kong.New takes (0.49 against 0.29 ms warm). Each struct of flags says its help
// in a FlagHelp method beside it, and describe puts it into the model when
// it is to be shown. Commands, only a few, keep theirs in the tags.

// flagHelper is a struct of flags: the help of its fields, by Go field name.
// "${default}" in a help stands for the flag's default.
type flagHelper interface {
	FlagHelp() map[string]string
}

// fieldKey names one field of the CLI struct: its address and type (a
// struct and its first field share an address).
type fieldKey struct {
	addr uintptr
	typ  reflect.Type
}

func fieldKeyOf(v reflect.Value) fieldKey {
	return fieldKey{v.Addr().Pointer(), v.Type()}
}

// helpTexts walks the struct that root points to and returns the help of
// every field its FlagHelp methods name. A name that is no field of its
// struct is an error: a renamed field would lose its help silently.
func helpTexts(root any) (map[fieldKey]string, error) {
	out := map[fieldKey]string{}
	var walk func(v reflect.Value) error
	walk = func(v reflect.Value) error {
		t := v.Type()
		if h, ok := v.Addr().Interface().(flagHelper); ok {
			for name, help := range h.FlagHelp() {
				f, ok := t.FieldByName(name)
				if !ok || len(f.Index) != 1 || !f.IsExported() {
					return fmt.Errorf("%s.FlagHelp: %s has no exported field %q", t, t, name)
				}
				out[fieldKeyOf(v.FieldByIndex(f.Index))] = help
			}
		}
		for i := range t.NumField() {
			if f := v.Field(i); t.Field(i).IsExported() && f.Kind() == reflect.Struct {
				if err := walk(f); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return out, walk(reflect.ValueOf(root).Elem())
}

// describe gives every flag and positional argument of the model its help
// (from helpTexts) and its environment variable: what kong's help printer,
// the man page and the completions show.
func describe(n *kong.Node, help map[fieldKey]string) {
	fill := func(v *kong.Value) {
		if v.Help == "" && v.Target.CanAddr() {
			v.Help = strings.ReplaceAll(help[fieldKeyOf(v.Target)], "${default}", v.Default)
			v.OrigHelp = v.Help
		}
	}
	for _, f := range n.Flags {
		fill(f.Value)
		f.Envs = []string{envName(f)}
		f.Tag.Envs = f.Envs
	}
	for _, p := range n.Positional {
		fill(p)
	}
	for _, c := range n.Children {
		describe(c, help)
	}
}

// describeCLI describes the model kong built of c.
func describeCLI(app *kong.Application, c *cli) error {
	help, err := helpTexts(c)
	if err != nil {
		return err
	}
	describe(app.Node, help)
	return nil
}
