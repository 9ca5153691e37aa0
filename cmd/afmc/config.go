package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/alecthomas/kong"
	"go.yaml.in/yaml/v3"

	"github.com/atlas-af/afmc/internal/safefile"
)

// defaultConfig is read when it exists; --config or AFMC_CONFIG names
// another, which must exist.
const defaultConfig = "/etc/afmc/afmc.yaml"

// configFile is the settings file: YAML (so JSON reads too), one key per
// flag, named as the flag with _ for - (cluster, token_file, ssh_history).
// It is a kong resolver: a flag beats the environment, which beats the
// file, which beats the defaults.
type configFile struct {
	path    string
	values  map[string]*yaml.Node // flag name → scalar or sequence
	entries []configEntry         // in file order, for messages
}

type configEntry struct {
	key  string // as written
	flag string // the flag it names, or ""
	node *yaml.Node
}

// configPath is the file to read: --config FILE (or --config=FILE) in
// args, else AFMC_CONFIG, else the default. It is needed before kong
// parses anything, since the file's values are among kong's inputs.
func configPath(args []string, getenv func(string) string) (path string, named bool) {
	for i, a := range args {
		if a == "--" {
			break
		}
		if v, ok := strings.CutPrefix(a, "--config="); ok {
			return v, true
		}
		if a == "--config" && i+1 < len(args) {
			return args[i+1], true
		}
	}
	if v := getenv("AFMC_CONFIG"); v != "" {
		return v, true
	}
	return defaultConfig, false
}

// loadConfig reads the file within a bound (a FIFO or a device is refused
// before any read). The default file may be absent; a named one must exist.
func loadConfig(ctx context.Context, path string, named bool) (*configFile, error) {
	cf := &configFile{path: path, values: map[string]*yaml.Node{}}
	// Refused if another user could change it: it names the programs afmc
	// runs as root and the endpoint the token goes to.
	b, err := safefile.ReadTrusted(ctx, path, safefile.MaxConfig)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !named:
		return cf, nil
	case err != nil:
		return nil, fmt.Errorf("config file: %w", err)
	}
	var doc yaml.Node
	if isJSONObject(b) {
		// The JSON of earlier versions, which yaml/v3 does not always read.
		n, err := jsonConfigNode(b)
		if err != nil {
			return nil, fmt.Errorf("config file %s: %w", path, err)
		}
		doc = *n
	} else if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return cf, nil // empty, or only comments
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("config file %s: want settings as key: value lines, not a %s", path, kindName(root))
	}
	// Each key once: looked up in maps, not in the list of those before
	// (a file of 100,000 keys took minutes).
	byKey := map[string]int{} // index in cf.entries
	byFlag := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch {
		case k.Kind != yaml.ScalarNode:
			return nil, fmt.Errorf("config file %s line %d: a key must be a name", path, k.Line)
		case v.Kind == yaml.MappingNode || v.Kind == yaml.AliasNode:
			return nil, fmt.Errorf("config file %s line %d: setting %q: want a value or a list, not a %s", path, v.Line, k.Value, kindName(v))
		case v.Kind == yaml.SequenceNode && slices.ContainsFunc(v.Content, func(n *yaml.Node) bool { return n.Kind != yaml.ScalarNode }):
			return nil, fmt.Errorf("config file %s line %d: setting %q: a list of values only", path, v.Line, k.Value)
		}
		flag := flagOfKey(k.Value)
		at, dup := byKey[k.Value]
		if !dup && flag != "" {
			at, dup = byFlag[flag]
		}
		if dup {
			e := cf.entries[at]
			return nil, fmt.Errorf("config file %s line %d: setting %q already defined (as %q on line %d)", path, k.Line, k.Value, e.key, e.node.Line)
		}
		if flag != "" {
			cf.values[flag] = v
		}
		byKey[k.Value] = len(cf.entries)
		if flag != "" {
			byFlag[flag] = len(cf.entries)
		}
		cf.entries = append(cf.entries, configEntry{key: k.Value, flag: flag, node: v})
	}
	return cf, nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "alias"
	}
	return "value"
}

// flagOfKey is the flag a key of the file names: the key with - for _
// (token_file), or in camelCase (tokenFile), as the JSON config of earlier
// versions allowed; "" when the key is neither.
func flagOfKey(key string) string {
	var b strings.Builder
	for i := range len(key) {
		switch c := key[i]; {
		case c == '_':
			b.WriteByte('-')
		case 'A' <= c && c <= 'Z' && i > 0:
			b.WriteByte('-')
			b.WriteByte(c - 'A' + 'a')
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			b.WriteByte(c)
		default:
			return ""
		}
	}
	return b.String()
}

// Validate is kong's hook, which runs only after the values were
// resolved: check runs before, so that a bad key is named first.
func (cf *configFile) Validate(*kong.Application) error { return nil }

// check refuses a key no flag has (kong would ignore a misspelt "clustr"
// without a word), the token or salt themselves, and a duration written
// without its unit.
func (cf *configFile) check(app *kong.Application) error {
	if len(cf.entries) == 0 {
		return nil
	}
	flags := map[string]*kong.Flag{}
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		for _, f := range n.Flags {
			flags[f.Name] = f
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(app.Node)
	for _, e := range cf.entries {
		key, v := e.key, e.node
		f, ok := flags[e.flag]
		switch {
		case key == "token" || key == "salt":
			return fmt.Errorf("config file %s: the %s does not belong in the config file: name its file with %s_file, or set AFMC_%s in the environment", cf.path, key, key, strings.ToUpper(key))
		case key == "config" || key == "env_file" || key == "help" || key == "version":
			return fmt.Errorf("config file %s line %d: %q cannot be set in the config file", cf.path, v.Line, key)
		case !ok:
			return fmt.Errorf("config file %s line %d: unknown setting %q (settings are named as the flags, with _ for -: cluster, token_file, mount, ...)", cf.path, v.Line, key)
		case f.Target.Type() == reflect.TypeFor[time.Duration]() && v.Kind == yaml.ScalarNode && v.Tag != "!!str":
			return fmt.Errorf("config file %s line %d: setting %q: write durations with a unit, such as \"30s\" or 5m, not %s", cf.path, v.Line, key, v.Value)
		}
	}
	return nil
}

// Resolve gives kong the file's value for a flag: a string for a value, a
// list of strings for a list, which kong parses as it parses the flag.
func (cf *configFile) Resolve(_ *kong.Context, _ *kong.Path, f *kong.Flag) (any, error) {
	v, ok := cf.values[f.Name]
	switch {
	case !ok || v.Tag == "!!null":
		return nil, nil
	case v.Kind == yaml.SequenceNode:
		list := make([]any, len(v.Content))
		for i, n := range v.Content {
			list[i] = n.Value
		}
		return list, nil
	}
	return v.Value, nil
}
