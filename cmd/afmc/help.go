package main

import (
	"slices"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/atlas-af/afmc/collect/all"
)

// Help is in the flags' struct tags (help:""), beside the flags, as kong
// users expect; ${default} stands for a flag's default and ${kinds} for
// the kinds the registry knows.

// helpVars are the variables help texts use.
func helpVars() kong.Vars {
	return kong.Vars{"kinds": kindsHelp()}
}

// kindsHelp lists the kinds in registry order, then the groups with what
// they stand for: "cpu, mem, ..., condor; host (cpu, mem, disk, network)".
func kindsHelp() string {
	var names []string
	for _, c := range (all.Set{}).List() {
		names = append(names, c.Name())
	}
	out := strings.Join(names, ", ")
	groups := make([]string, 0, len(all.Groups))
	for g := range all.Groups {
		groups = append(groups, g)
	}
	slices.Sort(groups)
	for _, g := range groups {
		out += "; " + g + " (" + strings.Join(all.Groups[g], ", ") + ")"
	}
	return out
}

// describe gives every flag of the model its environment variable, for
// kong's help printer, the man page and the completions. (Not
// kong.DefaultEnvars: afmc reads AFMC_* through envResolver, which tests
// give a map.)
func describe(n *kong.Node) {
	for _, f := range n.Flags {
		f.Envs = []string{envName(f)}
		f.Tag.Envs = f.Envs
	}
	for _, c := range n.Children {
		describe(c)
	}
}
