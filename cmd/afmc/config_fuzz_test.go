package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/alecthomas/kong"
	"go.yaml.in/yaml/v3"

	"github.com/atlas-af/afmc/internal/jsonstrict"
)

// FuzzLoadConfig reads config files: no panic (the YAML parser's
// included); an error that names the file; or settings whose values are
// plain values or lists of them, each flag set once. A JSON object (JSON
// is YAML, and earlier versions read JSON) of plain values gives kong the
// same strings encoding/json reads. Whatever the file, a whole command
// line over it ends as a usage error or runs: never a panic.
func FuzzLoadConfig(f *testing.F) {
	for _, p := range []string{filepath.Join("..", "..", "examples", "afmc.yaml")} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"# site settings\ncluster: FROM-CONFIG   # the cluster field\nlogin_node: cfg-node\nmount:\n  - /data\n  - /home\nlock_timeout: 5s\n",
		`{"cluster": "FROM-JSON", "loginNode": "json-node", "mount": ["/data"]}`,
		"clustr: X\n", "cluster: [\n", "batch: many\n", "timeout: 30\n", "token: s3cret-token-value\n",
		"mount:\n  path: /x\n", "- cluster\n", "cluster: a\ncluster: b\n", "login_node: a\nloginNode: b\n",
		"a: &x [1]\nb: *x\n", "<<: {cluster: x}\n", "cluster: !!binary aGVsbG8=\n", "? [a]\n: b\n", "cluster: ~\n",
		"{\"cluster\"\t:\t\"x\"}", "{\"cluster\":\"a\\/b\\u00e9\\ud83d\\ude00\"}", "---\ncluster: a\n---\ncluster: b\n",
	} {
		f.Add([]byte(s))
	}
	path := filepath.Join(f.TempDir(), "afmc.yaml")
	model, err := kong.New(&cli{}, helpVars())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		cf, err := loadConfig(t.Context(), path, true)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "config file "+path) {
				t.Fatalf("error does not name the file: %v", err)
			}
		} else {
			checkSettings(t, cf)
		}
		if want, ok := jsonSettings(b); ok {
			if err != nil {
				t.Fatalf("JSON settings %q refused: %v", b, err)
			}
			for key, v := range want {
				flag := flagOfKey(key)
				if flag == "" {
					continue
				}
				got, _ := cf.Resolve(nil, nil, &kong.Flag{Value: &kong.Value{Name: flag}})
				if !sameSetting(got, v) {
					t.Fatalf("setting %q: kong gets %#v, encoding/json reads %#v", key, got, v)
				}
			}
		}
		// The whole command line, where check passes the file (kong takes
		// milliseconds to start: the rest of the files end there).
		if err == nil && cf.check(model.Model) == nil {
			var stderr bytes.Buffer
			code := run(context.Background(), []string{"--config", path, "version"}, io.Discard, &stderr, func(string) string { return "" })
			if code != exitOK && code != exitUsage {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
		}
	})
}

// checkSettings checks what loadConfig accepted.
func checkSettings(t *testing.T, cf *configFile) {
	t.Helper()
	flags := map[string]bool{}
	for _, e := range cf.entries {
		if e.flag != "" && flags[e.flag] {
			t.Fatalf("flag %s set twice", e.flag)
		}
		flags[e.flag] = true
		switch n := e.node; n.Kind {
		case yaml.ScalarNode:
		case yaml.SequenceNode:
			if slices.ContainsFunc(n.Content, func(c *yaml.Node) bool { return c.Kind != yaml.ScalarNode }) {
				t.Fatalf("setting %q: a list of more than values", e.key)
			}
		default:
			t.Fatalf("setting %q: a node of kind %v", e.key, n.Kind)
		}
	}
	for flag, n := range cf.values {
		if !flags[flag] || n == nil {
			t.Fatalf("value of flag %q without its entry", flag)
		}
	}
}

// jsonSettings reads b as encoding/json does when it is a JSON object of
// plain values and lists of them, each key once and no two naming the
// same flag, in text YAML can hold: each value as the string kong would
// get (nil for null).
func jsonSettings(b []byte) (map[string]any, bool) {
	if !utf8.Valid(b) || jsonstrict.Check(b) != nil || !yamlPrintable(string(b)) {
		return nil, false
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(b, &top) != nil || top == nil {
		return nil, false
	}
	out := map[string]any{}
	flags := map[string]bool{}
	for k, raw := range top {
		if len(k) > 1000 { // YAML's bound on a key
			return nil, false
		}
		if f := flagOfKey(k); f != "" {
			if flags[f] {
				return nil, false
			}
			flags[f] = true
		}
		if v, ok := plainJSON(raw); ok {
			out[k] = v
			continue
		}
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) != nil {
			return nil, false
		}
		vs := make([]any, len(list))
		for i, r := range list {
			v, ok := plainJSON(r)
			if !ok || v == nil {
				return nil, false
			}
			vs[i] = v
		}
		out[k] = vs
	}
	return out, true
}

// plainJSON is a string, number, boolean or null as its text, nil for null.
func plainJSON(raw json.RawMessage) (any, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	switch t := strings.TrimSpace(string(raw)); {
	case t == "null":
		return nil, true
	case t == "true" || t == "false":
		return t, true
	case json.Valid(raw) && t != "" && strings.ContainsRune("-0123456789", rune(t[0])):
		return t, true
	}
	return nil, false
}

func sameSetting(got, want any) bool {
	switch w := want.(type) {
	case nil:
		return got == nil
	case string:
		return got == w
	case []any:
		g, ok := got.([]any)
		return ok && slices.Equal(g, w)
	}
	return false
}

// yamlPrintable is text of the characters YAML allows in a stream (YAML
// 1.2, 5.1): JSON takes C1 controls and DEL in a string, YAML does not.
func yamlPrintable(s string) bool {
	for _, r := range s {
		switch {
		case r == '\t', r == '\n', r == '\r', r >= 0x20 && r <= 0x7e, r == 0x85,
			r >= 0xa0 && r <= 0xd7ff, r >= 0xe000 && r <= 0xfffd && r != 0xfeff, r >= 0x10000 && r <= 0x10ffff:
		default:
			return false
		}
	}
	return true
}

// A JSON config reads with what yaml/v3 refuses, and its errors name lines.
func TestJSONConfig(t *testing.T) {
	dir, env := hostFixture(t)
	cfg := filepath.Join(dir, "afmc.json")
	env["AFMC_CONFIG"] = cfg
	delete(env, "AFMC_CLUSTER")
	os.WriteFile(cfg, []byte("{\"cluster\": \"UC\\/AF \\ud83d\\ude00\"\n, \"mount\"\n: [\"\\/data\"]}\n"), 0o600)
	r := afmc(t, env, "collect", "disk", "--json")
	if ds := docs(t, r.stdout); r.code != 0 || len(ds) != 1 || ds[0]["cluster"] != "UC/AF \U0001F600" || ds[0]["mount"] != "/data" {
		t.Errorf("JSON config: exit %d, %v, %s", r.code, ds, r.stderr)
	}
	for content, want := range map[string]string{
		"{\"cluster\": \"x\",\n  \"clustr\": \"y\"}":   `line 2: unknown setting "clustr"`,
		"{\n\"timeout\": 30}":                          `line 2: setting "timeout": write durations with a unit`,
		"{\"mount\": {\"path\": \"/x\"}}":              `setting "mount": want a value or a list, not a mapping`,
		"{\"cluster\": \"a\",\n\n \"cluster\": \"b\"}": `line 3: setting "cluster" already defined (as "cluster" on line 1)`,
	} {
		os.WriteFile(cfg, []byte(content), 0o600)
		if r := afmc(t, env, "collect", "cpu"); r.code != exitUsage || !strings.Contains(r.stderr, want) {
			t.Errorf("config %q: exit %d, stderr %q, want %q", content, r.code, r.stderr, want)
		}
	}
}
