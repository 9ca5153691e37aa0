package all

import (
	"strings"
	"testing"

	"github.com/atlas-af/afmc/collect"
	"github.com/atlas-af/afmc/internal/fixture"
)

func TestSelect(t *testing.T) {
	t.Parallel()
	cs := Set{}.List()
	names := func(cs []collect.Collector) string {
		var s []string
		for _, c := range cs {
			s = append(s, c.Name())
		}
		return strings.Join(s, " ")
	}
	for _, tt := range []struct {
		args    []string
		all     bool
		want    string
		wantErr string
	}{
		{[]string{"disk"}, false, "disk", ""},
		{[]string{"mem", "cpu", "CPU"}, false, "cpu mem", ""},
		{[]string{"host"}, false, "cpu mem disk network", ""},
		{[]string{"host", "disk"}, false, "cpu mem disk network", ""},
		{nil, true, "cpu mem disk network ssh jupyter condor", ""},
		{[]string{"dsik"}, false, "", `unknown kind "dsik" (known: condor, cpu, disk, host, jupyter, mem, network, ssh)`},
	} {
		got, err := Select(cs, tt.args, tt.all)
		fixture.CheckErr(t, err, tt.wantErr)
		if err == nil && names(got) != tt.want {
			t.Errorf("Select(%v) = %s, want %s", tt.args, names(got), tt.want)
		}
	}
}
