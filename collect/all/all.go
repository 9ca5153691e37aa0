// Package all is the registry: every collector afmc knows, in one struct
// whose fields the CLI embeds as flags (as Telegraf's plugins/inputs/all
// lists its inputs). Adding a collector is its package, its test, and one
// field here.
package all

import (
	"reflect"

	"github.com/atlas-af/afmc/collect"
	"github.com/atlas-af/afmc/collect/condor"
	"github.com/atlas-af/afmc/collect/host"
	"github.com/atlas-af/afmc/collect/jupyter"
	"github.com/atlas-af/afmc/collect/login"
)

// Set is every collector afmc knows. Each collector's exported fields are
// its own settings, which the CLI embeds as flags (kong tags beside them).
// New collectors prefix their flags with their name ("ssh-"); disk's and
// network's keep the names they always had. A collector with settings
// that can be wrong has a Validate() error method, which kong calls at
// parse time: a mistake is a usage error before anything runs.
type Set struct {
	CPU     host.CPU        `embed:""`
	Mem     host.Mem        `embed:""`
	Disk    host.Disk       `embed:"" group:"disk"`
	Network host.Network    `embed:"" group:"network"`
	SSH     login.SSH       `embed:"" prefix:"ssh-" group:"ssh"`
	Jupyter jupyter.Jupyter `embed:"" group:"jupyter"`
	Condor  condor.Condor   `embed:"" prefix:"condor-" group:"condor"`
}

// List returns the collectors in registry order.
func (s Set) List() []collect.Collector {
	v := reflect.ValueOf(s)
	out := make([]collect.Collector, 0, v.NumField())
	for i := range v.NumField() {
		out = append(out, v.Field(i).Interface().(collect.Collector))
	}
	return out
}

// Groups are names that stand for several kinds.
var Groups = map[string][]string{
	"host": {"cpu", "mem", "disk", "network"},
}

// Select resolves the kinds named on the command line, groups included.
func Select(cs []collect.Collector, names []string, all bool) ([]collect.Collector, error) {
	return collect.Select(cs, Groups, names, all)
}

// KindNames lists the names Select accepts, sorted.
func KindNames(cs []collect.Collector) []string {
	return collect.KindNames(cs, Groups)
}
