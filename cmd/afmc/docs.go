package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/alecthomas/kong"
)

// The man page and the shell completions are written from kong's model of
// the command line, so they never drift from it.

// visibleFlags are a node's flags that a person may set, global ones first.
func visibleFlags(n *kong.Node) []*kong.Flag {
	var out []*kong.Flag
	for _, group := range n.AllFlags(true) {
		out = append(out, group...)
	}
	return out
}

// commands are the top-level commands a person uses.
func commands(app *kong.Application) []*kong.Node {
	var out []*kong.Node
	for _, c := range app.Children {
		if !c.Hidden {
			out = append(out, c)
		}
	}
	return out
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

// roff escapes text for a man page line.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

func writeManFlag(w io.Writer, f *kong.Flag) {
	name := `\fB\-\-` + roff(f.Name) + `\fR`
	if f.Short != 0 {
		name = `\fB\-` + string(f.Short) + `\fR, ` + name
	}
	if !f.IsBool() && !f.IsCounter() {
		name += `=\fI` + roff(f.FormatPlaceHolder()) + `\fR`
	}
	fmt.Fprintf(w, ".TP\n%s\n%s", name, roff(f.Help))
	if f.HasDefault && f.Default != "" && !f.IsBool() {
		fmt.Fprintf(w, " Default: %s.", roff(f.Default))
	}
	fmt.Fprintf(w, " Environment: \\fB%s\\fR.", roff(envName(f)))
	fmt.Fprintln(w)
}

// writeMan writes afmc(1) in roff.
func writeMan(w io.Writer, app *kong.Application, version string) {
	fmt.Fprintf(w, ".TH AFMC 1 \"\" \"afmc %s\" \"User Commands\"\n", roff(version))
	fmt.Fprintf(w, ".SH NAME\nafmc \\- Analysis Facility Metrics Collector\n")
	fmt.Fprintf(w, ".SH SYNOPSIS\n")
	for _, c := range commands(app) {
		fmt.Fprintf(w, ".B afmc\n%s\n.br\n", roff(c.Summary()))
	}
	fmt.Fprintf(w, ".SH DESCRIPTION\n")
	for _, p := range strings.Split(app.Help, "\n\n") {
		fmt.Fprintf(w, ".PP\n%s\n", roff(p))
	}
	fmt.Fprintf(w, ".SH COMMANDS\n")
	for _, c := range commands(app) {
		fmt.Fprintf(w, ".TP\n\\fBafmc %s\\fR\n%s\n", roff(c.Name), roff(c.Help))
		for _, a := range c.Positional {
			fmt.Fprintf(w, "\\fI%s\\fR: %s\n", roff(a.Name), roff(a.Help))
		}
	}
	fmt.Fprintf(w, ".SH OPTIONS\n")
	for _, f := range app.Flags {
		if !f.Hidden {
			writeManFlag(w, f)
		}
	}
	for _, c := range commands(app) {
		var ungrouped []*kong.Flag
		groups := map[string][]*kong.Flag{}
		var order []string
		for _, f := range c.Flags {
			switch {
			case f.Hidden:
			case f.Group == nil:
				ungrouped = append(ungrouped, f)
			default:
				if _, ok := groups[f.Group.Title]; !ok {
					order = append(order, f.Group.Title)
				}
				groups[f.Group.Title] = append(groups[f.Group.Title], f)
			}
		}
		if len(ungrouped)+len(order) == 0 {
			continue
		}
		fmt.Fprintf(w, ".SS afmc %s\n", roff(c.Name))
		for _, f := range ungrouped {
			writeManFlag(w, f)
		}
		for _, title := range order {
			fmt.Fprintf(w, ".SS %s\n", roff(strings.TrimSuffix(title, ":")))
			for _, f := range groups[title] {
				writeManFlag(w, f)
			}
		}
	}
	fmt.Fprint(w, `.SH ENVIRONMENT
.TP
\fBAFMC_\fIFLAG\fR
Every flag, as shown above.
.TP
\fBAFMC_TOKEN\fR, \fBAFMC_SALT\fR
The token and the salt, where no file names them: never on the command line.
.TP
\fBHOST_PROC\fR, \fBHOST_SYS\fR, \fBHOST_ETC\fR, \fBHOST_VAR\fR, \fBHOST_RUN\fR, \fBHOST_ROOT\fR
Where the host's /proc, /sys, /etc, /var, /run and / are seen, in a container.
.SH FILES
.TP
/etc/afmc/afmc.yaml
The settings, keys named as the flags with _ for \-.
.TP
/etc/afmc/afmc.env
Secret variables (AFMC_TOKEN, AFMC_SALT), read with \-\-env\-file by the units and the cron file, with the rules of systemd's EnvironmentFile=.
.TP
/var/lib/afmc
The state dir, as root: state.json, the lock, the spool of undelivered documents.
.TP
afmc\-check.service
afmc check as afmc.service runs: systemctl start afmc\-check, then journalctl \-u afmc\-check.
.SH EXIT STATUS
.TP
0
Every requested collector produced its documents, and all were delivered.
.TP
1
A collector failed, the state could not be read or saved, or the Prometheus textfile could not be written.
.TP
2
Usage error: nothing was done.
.TP
3
Some documents were not delivered: they wait in the spool, and a later run sends them once the endpoint answers again.
.TP
4
Another run held the state lock past \-\-lock\-timeout.
.TP
5
The endpoint needs a person: it refused the token or has no input at \-\-url (401, 403, 404, 405, 501, 505), redirected, answered with a web page, showed a certificate the roots do not trust, or refused every document. They wait in the spool, but no later run delivers them until \-\-url, the token or \-\-ca\-file is fixed.
.PP
When several apply, the first in the order 1, 5, 4, 3 is returned: what needs a person before what heals by itself.
.SH SEE ALSO
cron(8), systemd.timer(5), condor_q(1), kubectl(1), getent(1), loginctl(1)
`)
}

// completionValues says how a flag's value is completed: from a list, as a
// file, as a directory, or not at all (a value of the user's).
func completionValues(f *kong.Flag) (words []string, files, dirs bool) {
	if f.Enum != "" {
		for _, e := range strings.Split(f.Enum, ",") {
			words = append(words, strings.TrimSpace(e))
		}
		return words, false, false
	}
	if f.Tag != nil && f.Tag.Type == "path" {
		if strings.HasSuffix(f.Name, "-dir") {
			return nil, false, true
		}
		return nil, true, false
	}
	if strings.HasSuffix(f.Name, "-dir") {
		return nil, false, true
	}
	return nil, false, false
}

func flagWords(flags []*kong.Flag) []string {
	var out []string
	for _, f := range flags {
		if f.Hidden {
			continue
		}
		out = append(out, "--"+f.Name)
		if f.Short != 0 {
			out = append(out, "-"+string(f.Short))
		}
	}
	sort.Strings(out)
	return out
}

// takesKinds tells whether a command's arguments are kinds (collect,
// check): what the completions offer there.
func takesKinds(c *kong.Node) bool {
	for _, a := range c.Positional {
		if a.Name == "kind" {
			return true
		}
	}
	return false
}

// writeBash writes a bash completion script.
func writeBash(w io.Writer, app *kong.Application, kinds []string) {
	var cmds []string
	for _, c := range commands(app) {
		cmds = append(cmds, c.Name)
	}
	fmt.Fprintf(w, "# bash completion for afmc, written by `afmc completion bash` from its command line.\n")
	fmt.Fprintf(w, "_afmc() {\n\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd= w\n")
	fmt.Fprintf(w, "\tfor w in \"${COMP_WORDS[@]:1:COMP_CWORD-1}\"; do\n\t\tcase $w in %s) cmd=$w; break ;; esac\n\tdone\n", strings.Join(cmds, "|"))
	// Values of flags, by the flag before the cursor.
	fmt.Fprintf(w, "\tcase $prev in\n")
	seen := map[string]bool{}
	var all []*kong.Flag
	all = append(all, app.Flags...)
	for _, c := range commands(app) {
		all = append(all, c.Flags...)
	}
	var free []string
	for _, f := range all {
		if f.Hidden || seen[f.Name] || f.IsBool() || f.IsCounter() {
			continue
		}
		seen[f.Name] = true
		words, files, dirs := completionValues(f)
		switch {
		case len(words) > 0:
			fmt.Fprintf(w, "\t--%s) COMPREPLY=($(compgen -W '%s' -- \"$cur\")); return ;;\n", f.Name, strings.Join(words, " "))
		case files:
			fmt.Fprintf(w, "\t--%s) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n", f.Name)
		case dirs:
			fmt.Fprintf(w, "\t--%s) COMPREPLY=($(compgen -d -- \"$cur\")); return ;;\n", f.Name)
		default:
			free = append(free, "--"+f.Name)
		}
	}
	if len(free) > 0 {
		sort.Strings(free)
		fmt.Fprintf(w, "\t%s) return ;; # a value of the user's\n", strings.Join(free, "|"))
	}
	fmt.Fprintf(w, "\tesac\n\tcase $cmd in\n")
	fmt.Fprintf(w, "\t'') COMPREPLY=($(compgen -W '%s' -- \"$cur\")) ;;\n", strings.Join(append(cmds, flagWords(app.Flags)...), " "))
	for _, c := range commands(app) {
		args := ""
		if takesKinds(c) {
			args = strings.Join(kinds, " ")
		}
		fmt.Fprintf(w, "\t%s)\n\t\tif [[ $cur == -* ]]; then COMPREPLY=($(compgen -W '%s' -- \"$cur\"))\n\t\telse COMPREPLY=($(compgen -W '%s' -- \"$cur\")); fi ;;\n",
			c.Name, strings.Join(flagWords(visibleFlags(c)), " "), args)
	}
	fmt.Fprintf(w, "\tesac\n}\ncomplete -F _afmc afmc\n")
}

// zshQuote escapes a description for _arguments.
func zshQuote(s string) string {
	s = firstSentence(s)
	r := strings.NewReplacer(`\`, `\\`, `'`, `'\''`, `[`, `\[`, `]`, `\]`, `:`, `\:`)
	return r.Replace(strings.TrimSuffix(s, "."))
}

func zshSpec(f *kong.Flag) string {
	spec := "--" + f.Name
	if !f.IsBool() && !f.IsCounter() {
		spec += "="
	}
	spec += "[" + zshQuote(f.Help) + "]"
	if f.IsBool() || f.IsCounter() {
		return "'" + spec + "'"
	}
	words, files, dirs := completionValues(f)
	switch {
	case len(words) > 0:
		spec += ":value:(" + strings.Join(words, " ") + ")"
	case files:
		spec += ":file:_files"
	case dirs:
		spec += ":directory:_files -/"
	default:
		spec += ":" + strings.ToLower(zshQuote(f.FormatPlaceHolder())) + ": "
	}
	return "'" + spec + "'"
}

// writeZsh writes a zsh completion function.
func writeZsh(w io.Writer, app *kong.Application, kinds []string) {
	fmt.Fprintf(w, "#compdef afmc\n# zsh completion for afmc, written by `afmc completion zsh` from its command line.\n\n_afmc() {\n\tlocal -a commands\n\tcommands=(\n")
	for _, c := range commands(app) {
		fmt.Fprintf(w, "\t\t'%s:%s'\n", c.Name, zshQuote(c.Help))
	}
	fmt.Fprintf(w, "\t)\n\tlocal curcontext=$curcontext state line\n")
	var top []string
	for _, f := range app.Flags {
		if !f.Hidden {
			top = append(top, zshSpec(f))
		}
	}
	top = append(top, "'1: :->command'", "'*:: :->args'")
	fmt.Fprintf(w, "\t_arguments -C \\\n\t\t%s\n", strings.Join(top, " \\\n\t\t"))
	fmt.Fprintf(w, "\tcase $state in\n\tcommand) _describe command commands ;;\n\targs)\n\t\tcase $words[1] in\n")
	for _, c := range commands(app) {
		var specs []string
		for _, f := range c.Flags {
			if !f.Hidden {
				specs = append(specs, zshSpec(f))
			}
		}
		if takesKinds(c) {
			specs = append(specs, "'*:kind:("+strings.Join(kinds, " ")+")'")
		}
		if len(specs) == 0 {
			fmt.Fprintf(w, "\t\t%s) ;;\n", c.Name)
			continue
		}
		fmt.Fprintf(w, "\t\t%s)\n\t\t\t_arguments \\\n\t\t\t\t%s\n\t\t\t;;\n", c.Name, strings.Join(specs, " \\\n\t\t\t\t"))
	}
	fmt.Fprintf(w, "\t\tesac ;;\n\tesac\n}\n\n_afmc \"$@\"\n")
}
