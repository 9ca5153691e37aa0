package examples

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// valueKind is how afmc reads a setting's value.
type valueKind int

const (
	kString   valueKind = iota
	kBool               // true or false
	kInt                // a YAML integer
	kDuration           // a string Go's time.ParseDuration reads, with a unit
	kSize               // 64MiB, 10M, 1000000
	kList               // a sequence of strings
)

// setting is one config key: its kind, the values it may take (enums) and
// the default the example must show when the line is active.
type setting struct {
	kind valueKind
	enum []string
	def  string // as written in the example; "" when there is no default
}

// settings is every key of afmc's config. TestSettingsTableIsComplete
// keeps it equal to the flags of `afmc collect --help`: a new flag fails
// until it is here and in examples/afmc.yaml.
var settings = map[string]setting{
	"log_level": {kind: kString, enum: []string{"debug", "info", "warn", "error"}, def: "warn"},
	"verbose":   {kind: kBool},
	"all":       {kind: kBool},
	"json":      {kind: kBool},
	"post":      {kind: kBool},
	"dry_run":   {kind: kBool},

	"cluster":           {kind: kString},
	"login_node":        {kind: kString},
	"state_dir":         {kind: kString},
	"lock_timeout":      {kind: kDuration, def: "30s"},
	"collector_timeout": {kind: kDuration, def: "30s"},
	"timeout":           {kind: kDuration, def: "2m"},

	"url":             {kind: kString, def: "https://af.atlas-ml.org/"},
	"insecure_http":   {kind: kBool},
	"token_file":      {kind: kString},
	"ca_file":         {kind: kString},
	"batch":           {kind: kInt, def: "1"},
	"max_in_flight":   {kind: kInt, def: "4"},
	"compress":        {kind: kString, enum: []string{"none", "gzip"}, def: "none"},
	"request_timeout": {kind: kDuration, def: "10s"},
	"spool_max_bytes": {kind: kSize, def: "64MiB"},
	"spool_max_age":   {kind: kDuration, def: "168h"},

	"mount":      {kind: kList},
	"all_mounts": {kind: kBool},
	"interface":  {kind: kList},

	"ssh_source":        {kind: kString, enum: []string{"auto", "utmp", "logind"}, def: "auto"},
	"ssh_remote_only":   {kind: kBool, def: "false"},
	"ssh_history":       {kind: kBool},
	"ssh_history_since": {kind: kDuration, def: "5m"},
	"ssh_loginctl":      {kind: kString, def: "loginctl"},

	"jupyter":             {kind: kList},
	"kubeconfig":          {kind: kString},
	"kubectl":             {kind: kString, def: "kubectl"},
	"service_account_dir": {kind: kString, def: "/var/run/secrets/kubernetes.io/serviceaccount"},

	"condor_bin_dir":            {kind: kString},
	"condor_global":             {kind: kBool, def: "false"},
	"condor_parallel":           {kind: kInt, def: "8"},
	"condor_exclude_owner":      {kind: kList, def: "[atlas-coffea]"},
	"condor_queue":              {kind: kList, def: "[all]"},
	"condor_history_since":      {kind: kDuration, def: "10m"},
	"condor_history_scan_limit": {kind: kInt, def: "1000000"},
	"condor_timeout":            {kind: kDuration, def: "25s"},

	"group":                  {kind: kString},
	"obfuscate_users":        {kind: kBool},
	"salt_file":              {kind: kString},
	"user_hash":              {kind: kString, enum: []string{"sha256-8", "hmac-sha256"}, def: "sha256-8"},
	"obfuscate_hosts":        {kind: kString},
	"obfuscate_hosts_prefix": {kind: kString, def: "atlas"},
	"getent":                 {kind: kString, def: "getent"},

	"textfile_dir": {kind: kString},
	"self_report":  {kind: kBool},
}

// secretKeys may never be in a config file: afmc reads them from the
// environment or from the files token_file and salt_file name.
var secretKeys = []string{"token", "salt"}

func TestSettingsTableIsComplete(t *testing.T) {
	keys := settingKeys(t)
	for _, k := range keys {
		if _, ok := settings[k]; !ok {
			t.Errorf("flag --%s is not in this test's settings table (nor, probably, in examples/afmc.yaml)", strings.ReplaceAll(k, "_", "-"))
		}
	}
	for k := range settings {
		if !slices.Contains(keys, k) {
			t.Errorf("settings table has %s, which `afmc collect --help` does not list", k)
		}
	}
}

// checkValue says what is wrong with a setting's value, if anything.
func checkValue(key string, n *yaml.Node) error {
	s, ok := settings[key]
	if !ok {
		return fmt.Errorf("unknown key %q", key)
	}
	scalar := func(tag string) error {
		if n.Kind != yaml.ScalarNode || n.Tag != tag {
			return fmt.Errorf("%s: want a %s, got %s %q", key, tag, n.Tag, n.Value)
		}
		return nil
	}
	switch s.kind {
	case kString:
		if err := scalar("!!str"); err != nil {
			return err
		}
		if s.enum != nil && !slices.Contains(s.enum, n.Value) {
			return fmt.Errorf("%s: %q is not one of %v", key, n.Value, s.enum)
		}
	case kBool:
		return scalar("!!bool")
	case kInt:
		if err := scalar("!!int"); err != nil {
			return err
		}
		if _, err := strconv.Atoi(n.Value); err != nil {
			return fmt.Errorf("%s: %v", key, err)
		}
	case kDuration:
		if err := scalar("!!str"); err != nil {
			return err
		}
		if d, err := time.ParseDuration(n.Value); err != nil || d <= 0 {
			return fmt.Errorf("%s: %q is not a positive duration with a unit", key, n.Value)
		}
	case kSize:
		if err := scalar("!!str"); err != nil {
			return err
		}
		if !regexp.MustCompile(`^[0-9]+(KiB|MiB|GiB|K|M|G|B)?$`).MatchString(n.Value) {
			return fmt.Errorf("%s: %q is not a size such as 64MiB", key, n.Value)
		}
	case kList:
		if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
			return fmt.Errorf("%s: want a non-empty list", key)
		}
		for _, e := range n.Content {
			if e.Kind != yaml.ScalarNode || e.Tag != "!!str" || e.Value == "" {
				return fmt.Errorf("%s: every element must be a string, got %s %q", key, e.Tag, e.Value)
			}
		}
	}
	return nil
}

// configMapping decodes a config file: one mapping, no duplicate keys.
func configMapping(b []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("not a mapping of settings")
	}
	return doc.Content[0], nil
}

// checkConfig checks every key and value of a config file.
func checkConfig(b []byte) (map[string]*yaml.Node, error) {
	m, err := configMapping(b)
	if err != nil {
		return nil, err
	}
	out := map[string]*yaml.Node{}
	for i := 0; i < len(m.Content); i += 2 {
		key := m.Content[i].Value
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("%s set twice", key)
		}
		if slices.Contains(secretKeys, key) {
			return nil, fmt.Errorf("%s in a config file: secrets come from files or the environment", key)
		}
		if err := checkValue(key, m.Content[i+1]); err != nil {
			return nil, err
		}
		out[key] = m.Content[i+1]
	}
	return out, nil
}

var commentedSetting = regexp.MustCompile(`^# ([a-z][a-z0-9_]*): (.*)$`)
var activeSetting = regexp.MustCompile(`^([a-z][a-z0-9_]*):`)

func TestExampleConfig(t *testing.T) {
	b := readFile(t, "afmc.yaml")
	active, err := checkConfig(b)
	if err != nil {
		t.Fatalf("examples/afmc.yaml: %v", err)
	}
	// Active lines show afmc's defaults.
	for k, n := range active {
		want := settings[k].def
		if want == "" {
			t.Errorf("%s is set in examples/afmc.yaml but has no default: it is a site's choice, to be commented out", k)
			continue
		}
		got := n.Value
		if n.Kind == yaml.SequenceNode {
			var vs []string
			for _, e := range n.Content {
				vs = append(vs, e.Value)
			}
			got = "[" + strings.Join(vs, ", ") + "]"
		}
		if got != want {
			t.Errorf("%s: %s in examples/afmc.yaml, but the default is %s", k, got, want)
		}
	}

	// Each commented-out setting, uncommented alone, is a valid config.
	present := map[string]bool{}
	for k := range active {
		present[k] = true
	}
	lines := strings.Split(string(b), "\n")
	for i, line := range lines {
		m := commentedSetting.FindStringSubmatch(line)
		if m == nil {
			if m := activeSetting.FindStringSubmatch(line); m != nil && !hasCommentAbove(lines, i) {
				t.Errorf("examples/afmc.yaml:%d: %s has no comment above it", i+1, m[1])
			}
			continue
		}
		present[m[1]] = true
		if _, err := checkConfig([]byte(m[1] + ": " + m[2] + "\n")); err != nil {
			t.Errorf("examples/afmc.yaml:%d, uncommented: %v", i+1, err)
		}
		if !hasCommentAbove(lines, i) {
			t.Errorf("examples/afmc.yaml:%d: %s has no comment above it", i+1, m[1])
		}
	}
	for _, k := range settingKeys(t) {
		if !present[k] {
			t.Errorf("examples/afmc.yaml lacks %s (active, or commented out as `# %s: VALUE`)", k, k)
		}
	}
	// The hubs it shows are the dashboards' (examples/k8s_test.go).
	for _, m := range regexp.MustCompile(`(?m)^# jupyter: \[(.*)\]$`).FindAllStringSubmatch(string(b), -1) {
		for _, hub := range strings.Split(m[1], ", ") {
			if !slices.Contains(dashboardHubs, hub) {
				t.Errorf("examples/afmc.yaml: jupyter hub %s is none the dashboards know", hub)
			}
		}
	}
	// The package installs this file world-readable: no secret in it.
	if regexp.MustCompile(`(?m)^#? ?(token|salt):`).Match(b) {
		t.Error("examples/afmc.yaml has a token or salt key")
	}
}

// hasCommentAbove: the line above line i (the block of settings lines
// that share a comment aside) is a comment that is not itself a setting.
func hasCommentAbove(lines []string, i int) bool {
	for j := i - 1; j >= 0; j-- {
		l := lines[j]
		if commentedSetting.MatchString(l) || activeSetting.MatchString(l) {
			// Another form of the same setting (an alternative value)
			// shares its comment.
			if k := settingName(l); k != "" && k == settingName(lines[i]) {
				continue
			}
			return false
		}
		return strings.HasPrefix(l, "#")
	}
	return false
}

func settingName(l string) string {
	if m := commentedSetting.FindStringSubmatch(l); m != nil {
		return m[1]
	}
	if m := activeSetting.FindStringSubmatch(l); m != nil {
		return m[1]
	}
	return ""
}

// The checks above would pass a file afmc refuses if this test's idea of
// the types drifted from afmc's: these configs must fail it.
func TestCheckConfigRefuses(t *testing.T) {
	for _, bad := range []string{
		"clustr: UC-AF\n",
		"lock_timeout: 30\n",
		"batch: \"1\"\n",
		"mount: /home\n",
		"ssh_source: wtmp\n",
		"token: abc\n",
		"cluster: a\ncluster: b\n",
		"spool_max_bytes: 64 MB\n",
		"- cluster\n",
	} {
		if _, err := checkConfig([]byte(bad)); err == nil {
			t.Errorf("checkConfig accepted %q", bad)
		}
	}
}

// afmc itself reads the example and the ConfigMap's settings: a value of
// the wrong type or an unknown key is a usage error (exit 2) there. This
// needs afmc's YAML config (issue 10); a JSON-only afmc fails it.
func TestAFMCReadsExampleConfig(t *testing.T) {
	configs := map[string][]byte{"examples/afmc.yaml": readFile(t, "afmc.yaml")}
	for _, m := range manifests(t) {
		if cm, ok := m.obj.(*configMap); ok {
			configs[m.file+": ConfigMap "+cm.Metadata.Name] = []byte(cm.Data["afmc.yaml"])
		}
	}
	for name, b := range configs {
		dir := t.TempDir()
		path := filepath.Join(dir, "afmc.yaml")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		state := filepath.Join(dir, "state")
		code, _, errOut := runAFMC(t, []string{"AFMC_CONFIG=" + path, "AFMC_STATE_DIR=" + state}, "collect", "cpu", "--json", "--dry-run")
		if code != 0 {
			t.Errorf("afmc with %s as its config: exit %d\n%s", name, code, errOut)
		}
		// The same with a misspelt key: refused, so the check above is
		// not vacuous.
		typo := bytes.Replace(b, []byte("\nurl:"), []byte("\nulr:"), 1)
		if bytes.Equal(typo, b) {
			typo = append(append([]byte{}, b...), "clustr: x\n"...)
		}
		if err := os.WriteFile(path, typo, 0o644); err != nil {
			t.Fatal(err)
		}
		if code, _, _ := runAFMC(t, []string{"AFMC_CONFIG=" + path, "AFMC_STATE_DIR=" + state}, "collect", "cpu", "--json", "--dry-run"); code != 2 {
			t.Errorf("afmc with %s and a misspelt key: exit %d, want 2 (usage error)", name, code)
		}
	}
}
