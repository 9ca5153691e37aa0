package main

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/alecthomas/kong"

	"github.com/atlas-af/afmc/internal/safefile"
)

// The environment file (--env-file, /etc/afmc/afmc.env) is read by afmc
// itself, with the rules of systemd's EnvironmentFile=, under systemd (the
// units hand it over as a credential) and under cron alike. Sourced with
// /bin/sh it would mean something else: a salt with a $ or a space would
// differ between the nodes of a site, and their user hashes with it.

// envEntry is one assignment of the file.
type envEntry struct {
	line       int
	key, value string
}

// envFile is a parsed environment file.
type envFile struct {
	path     string
	entries  []envEntry        // valid assignments, in file order
	values   map[string]string // the last assignment of each name wins
	warnings []string          // lines ignored, as systemd ignores them
	notes    []string          // warnings, and names no setting has (check)
}

// envFilePath is the file to read: --env-file FILE (or --env-file=FILE)
// in args, else AFMC_ENV_FILE; "" for none. It is needed before kong
// parses anything: its variables are among kong's inputs (AFMC_CONFIG
// included).
func envFilePath(args []string, getenv func(string) string) string {
	for i, a := range args {
		if a == "--" {
			break
		}
		if v, ok := strings.CutPrefix(a, "--env-file="); ok {
			return v
		}
		if a == "--env-file" && i+1 < len(args) {
			return args[i+1]
		}
	}
	return getenv("AFMC_ENV_FILE")
}

// readEnvFile reads and parses path, a regular file of at most 1 MiB. A
// missing file is an error: it was named.
func readEnvFile(path string) (*envFile, error) {
	b, err := safefile.Read(path, safefile.MaxConfig)
	if err != nil {
		return nil, fmt.Errorf("--env-file: %w", err)
	}
	entries, err := parseEnvFile(b)
	if err != nil {
		return nil, fmt.Errorf("--env-file %s: %w", path, err)
	}
	ef := &envFile{path: path, values: map[string]string{}}
	for _, e := range entries {
		switch {
		case !validEnvName.MatchString(e.key):
			ef.warnings = append(ef.warnings, fmt.Sprintf("line %d: %q is not a variable name: ignored, as systemd ignores it", e.line, e.key))
		case !utf8.ValidString(e.value):
			ef.warnings = append(ef.warnings, fmt.Sprintf("line %d: the value of %s is not valid UTF-8: ignored, as systemd ignores it", e.line, e.key))
		default:
			ef.entries = append(ef.entries, e)
			ef.values[e.key] = e.value
		}
	}
	return ef, nil
}

// validEnvName is what systemd takes for a variable name.
var validEnvName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// overlay is getenv with the file's variables over it: they beat the
// environment afmc was started with, as EnvironmentFile= beats
// Environment= in a unit.
func (ef *envFile) overlay(getenv func(string) string) func(string) string {
	return func(k string) string {
		if v, ok := ef.values[k]; ok {
			return v
		}
		return getenv(k)
	}
}

// export sets the file's variables that are not afmc's own (KUBECONFIG,
// CONDOR_CONFIG, HTTPS_PROXY, ...) in the process environment, where the
// programs afmc runs and the HTTP client find them, as they would under
// systemd. afmc's own (AFMC_*) are read through overlay only, and never
// reach a child.
func (ef *envFile) export() error {
	for _, e := range ef.entries {
		if strings.HasPrefix(e.key, "AFMC_") {
			continue
		}
		if err := os.Setenv(e.key, ef.values[e.key]); err != nil {
			return fmt.Errorf("--env-file %s line %d: %w", ef.path, e.line, err)
		}
	}
	return nil
}

// names are the variables the file sets, sorted, once each: what `afmc
// check` shows (never their values).
func (ef *envFile) names() []string {
	var out []string
	for k := range ef.values {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// The states of systemd's parser (src/basic/env-file.c).
const (
	envPreKey = iota
	envKey
	envPreValue
	envValue
	envValueEscape
	envSingleQuote
	envDoubleQuote
	envDoubleQuoteEscape
	envComment
	envCommentEscape
)

// parseEnvFile reads assignments as systemd's EnvironmentFile= does:
//   - blank lines, and lines whose first non-blank character is # or ;,
//     are comments;
//   - KEY=VALUE, blanks around KEY and before VALUE ignored;
//   - an unquoted VALUE runs to the end of the line, trailing blanks cut;
//     a backslash takes the next character as it is, and a backslash at
//     the end of a line joins the next line;
//   - in '…' every character is itself, newlines included; in "…" a
//     backslash escapes only " \ ` $ (and a newline, which it removes),
//     and stays before any other character;
//   - nothing is expanded: $HOME is five characters;
//   - quoted and unquoted parts next to each other join ("a"b is ab);
//   - a line without = is ignored; a later assignment of a name wins.
//
// One thing systemd versions disagree on is refused: a comment ending in
// a backslash joins the next line to the comment before systemd 254, and
// not since.
func parseEnvFile(b []byte) ([]envEntry, error) {
	var (
		out         []envEntry
		key, value  []byte
		state       = envPreKey
		lastKeyWS   = -1 // where trailing blanks of the key start
		lastValueWS = -1 // where trailing blanks of an unquoted value start
		line        = 1
		keyLine     = 0
	)
	push := func(chomp bool) {
		if lastKeyWS >= 0 {
			key = key[:lastKeyWS]
		}
		if chomp && lastValueWS >= 0 {
			value = value[:lastValueWS]
		}
		out = append(out, envEntry{line: keyLine, key: string(key), value: string(value)})
		key, value = key[:0], value[:0]
	}
	isBlank := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	isNewline := func(c byte) bool { return c == '\n' || c == '\r' }
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == 0 {
			return nil, fmt.Errorf("line %d: a NUL byte", line)
		}
		switch state {
		case envPreKey:
			switch {
			case c == '#' || c == ';':
				state = envComment
			case !isBlank(c):
				state, lastKeyWS, keyLine = envKey, -1, line
				key = append(key, c)
			}
		case envKey:
			switch {
			case isNewline(c):
				state = envPreKey // no =: ignored
				key = key[:0]
			case c == '=':
				state, lastValueWS = envPreValue, -1
			default:
				if !isBlank(c) {
					lastKeyWS = -1
				} else if lastKeyWS < 0 {
					lastKeyWS = len(key)
				}
				key = append(key, c)
			}
		case envPreValue:
			switch {
			case isNewline(c):
				state = envPreKey
				push(false)
			case c == '\'':
				state = envSingleQuote
			case c == '"':
				state = envDoubleQuote
			case c == '\\':
				state = envValueEscape
			case !isBlank(c):
				state = envValue
				value = append(value, c)
			}
		case envValue:
			switch {
			case isNewline(c):
				state = envPreKey
				push(true)
			case c == '\\':
				state, lastValueWS = envValueEscape, -1
			default:
				if !isBlank(c) {
					lastValueWS = -1
				} else if lastValueWS < 0 {
					lastValueWS = len(value)
				}
				value = append(value, c)
			}
		case envValueEscape:
			state = envValue
			if !isNewline(c) {
				value = append(value, c)
			}
		case envSingleQuote:
			if c == '\'' {
				state = envPreValue
			} else {
				value = append(value, c)
			}
		case envDoubleQuote:
			switch c {
			case '"':
				state = envPreValue
			case '\\':
				state = envDoubleQuoteEscape
			default:
				value = append(value, c)
			}
		case envDoubleQuoteEscape:
			state = envDoubleQuote
			switch {
			case bytes.IndexByte([]byte("\"\\`$"), c) >= 0:
				value = append(value, c)
			case c != '\n':
				value = append(value, '\\', c)
			}
		case envComment:
			switch {
			case c == '\\':
				state = envCommentEscape
			case isNewline(c):
				state = envPreKey
			}
		case envCommentEscape:
			if isNewline(c) {
				return nil, fmt.Errorf("line %d: a comment ends in a backslash, which joins the next line to it in systemd before version 254 and not since: remove the backslash", line)
			}
			state = envComment
		}
		if c == '\n' {
			line++
		}
	}
	switch state {
	case envPreValue, envSingleQuote, envDoubleQuote, envDoubleQuoteEscape:
		push(false)
	case envValue, envValueEscape:
		push(true)
	}
	return out, nil
}

// check returns what to warn of: the lines ignored, and AFMC_ names no
// setting has (a misspelt AFMC_SALT would leave the names unsalted
// without a word).
func (ef *envFile) check(app *kong.Application) []string {
	known := map[string]bool{"AFMC_TOKEN": true, "AFMC_SALT": true}
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		for _, f := range n.Flags {
			known[envName(f)] = true
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(app.Node)
	out := slices.Clone(ef.warnings)
	for _, e := range ef.entries {
		switch {
		case e.key == "AFMC_ENV_FILE":
			out = append(out, fmt.Sprintf("line %d: AFMC_ENV_FILE in the env file itself is ignored", e.line))
		case strings.HasPrefix(e.key, "AFMC_") && !known[e.key]:
			out = append(out, fmt.Sprintf("line %d: %s is no afmc setting (see afmc collect --help): ignored", e.line, e.key))
		}
	}
	return out
}
