package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/atlas-af/afmc/collect"
	"github.com/atlas-af/afmc/collect/all"
	"github.com/atlas-af/afmc/document"
	"github.com/atlas-af/afmc/internal/extcmd"
	"github.com/atlas-af/afmc/internal/redact"
	"github.com/atlas-af/afmc/send"
	"github.com/atlas-af/afmc/spool"
	"github.com/atlas-af/afmc/state"
	"github.com/atlas-af/afmc/users"
)

// checkCmd is `afmc check`: what an administrator runs once after
// installing. Every collector is run once (its documents are counted,
// never printed or sent), the state dir is opened and locked, the spool's
// backlog counted, and the endpoint reached (name, TCP, TLS) without a
// request: Logstash makes an event of any request.
type checkCmd struct {
	Kinds []string `arg:"" optional:"" name:"kind" help:"What to check (default: every collector): ${kinds}."`

	envFile *envFile // --env-file, as run read it; nil: none
}

// Check results.
const (
	checkOK   = "OK"
	checkSkip = "SKIP" // not checked: a collector whose source is not on this host, a token nothing posts with
	checkWarn = "WARN" // works, but should be changed: not a failure
	checkFail = "FAIL"
)

// baselineNotes say which documents a collector sends only from its
// second run: check runs every collector against no state, as a first run.
var baselineNotes = map[string]string{
	"network": "NETWORK documents come from the second run: the first records a baseline",
	"disk":    "DISKIO documents come from the second run: the first records a baseline",
}

type checkRow struct{ what, result, detail string }

func (cmd *checkCmd) run(ctx context.Context, c *Settings, stdout, stderr io.Writer, getenv func(string) string, log *slog.Logger) int {
	usage := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "afmc: "+format+"\n", args...)
		return exitUsage
	}
	env, msg := c.env(getenv, log)
	if msg != "" {
		return usage("%s", msg)
	}
	// Within --timeout, as a run: a named file on a hung mount is a FAIL,
	// not a hang.
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	selected, err := all.Select(c.Collectors.List(), cmd.Kinds, len(cmd.Kinds) == 0)
	if err != nil {
		return usage("%v", err)
	}
	if msg := c.budgets(selected); msg != "" {
		return usage("%s", msg)
	}
	var rows []checkRow
	add := func(what string, err error, ok string) {
		if err != nil {
			rows = append(rows, checkRow{what, checkFail, extcmd.Printable(err.Error())})
		} else {
			rows = append(rows, checkRow{what, checkOK, ok})
		}
	}

	// The settings every run needs.
	if c.Cluster == "" {
		add("cluster", errors.New(`not set: set "cluster" in the config file, AFMC_CLUSTER or --cluster`), "")
	} else {
		add("cluster", nil, extcmd.Printable(c.Cluster))
	}
	if warn, token, msg := c.readToken(ctx, getenv); msg != "" && c.TokenFile == "" && strings.TrimSpace(getenv("AFMC_TOKEN")) == "" {
		// Nothing is posted without one: not a failure of this node.
		rows = append(rows, checkRow{"token", checkSkip, "none set: --post will need one, from --token-file FILE (token_file) or AFMC_TOKEN"})
	} else if msg != "" {
		add("token", errors.New(msg), "")
	} else {
		// As in a run: no log line shows it.
		log = slog.New(redact.Handler(log.Handler(), redact.New(token)))
		env.Log = log
		from := "AFMC_TOKEN"
		if c.TokenFile != "" {
			from = c.TokenFile
		}
		detail := "from " + from
		if len(warn) > 0 {
			// Usable, so not a FAIL; said where the administrator looks.
			detail += "; warning: " + strings.Join(warn, "; ")
		}
		add("token", nil, detail)
	}
	if cmd.envFile != nil {
		names := cmd.envFile.names()
		detail := cmd.envFile.path + ": " + plural(len(names), "variable")
		if len(names) > 0 {
			detail += " (" + strings.Join(names, ", ") + ")"
		}
		if ws := cmd.envFile.notes; len(ws) > 0 {
			rows = append(rows, checkRow{"env file", checkWarn, detail + "; " + strings.Join(ws, "; ")})
		} else {
			add("env file", nil, detail)
		}
	}
	step, msg := c.usersStep(ctx, getenv, env.LoginNode, log)
	if msg != "" {
		add("users step", errors.New(msg), "")
	} else if w := step.Warning(); w != "" {
		rows = append(rows, checkRow{"users step", checkWarn, w})
	}
	if msg == "" && c.Users.Group != "" {
		// The name service answers for the group: a run's users step will.
		// within a collector's time.
		gctx, cancel := context.WithTimeout(ctx, c.CollectorTimeout)
		gid, members, err := users.Getent{Path: c.Users.Getent}.Group(gctx, c.Users.Group)
		cancel()
		add("group "+c.Users.Group, err, fmt.Sprintf("gid %s, %s as supplementary group", gid, plural(len(members), "member")))
	}

	// Every collector once, against no state (nothing is saved), through
	// the scheduler a run uses, with a run's deadlines.
	for _, o := range collect.Run(ctx, env, selected, nil, c.CollectorTimeout, len(cmd.Kinds) == 0, func(document.Document) error { return nil }) {
		what := "collector " + o.Name
		switch {
		case o.Skipped != nil:
			rows = append(rows, checkRow{what, checkSkip, extcmd.Printable(o.Skipped.Error())})
		case o.Err != nil:
			// The row names the collector: not its error again.
			add(what, errors.New(strings.TrimPrefix(o.Err.Error(), what+": ")), "")
		default:
			detail := plural(o.Emitted, "document")
			if note := baselineNotes[o.Name]; note != "" {
				detail += "; " + note
			}
			add(what, nil, detail)
		}
	}

	// The state dir, its lock and the spool's backlog.
	dir := c.StateDir
	if dir == "" {
		dir = state.DefaultDir(getenv, os.Geteuid())
	}
	store, err := state.Open(ctx, dir, c.LockTimeout, log)
	switch {
	case errors.Is(err, state.ErrServiceState):
		// Root on a packaged node: the dir is the service's, and the
		// check that matters is the one run as the service.
		rows = append(rows, checkRow{"state dir", checkSkip, dir + ": the afmc service's (its user owns it): root does not lock it. " +
			"To check as the service runs: systemctl start afmc-check; journalctl -u afmc-check (under cron: sudo -u afmc afmc check)"})
	case err != nil:
		add("state dir", err, "")
	default:
		add("state dir", nil, dir+": writable, lock taken")
		sp, err := spool.OpenSpool(store.Handle(), store.Generation(), spool.SpoolLimits{}, time.Now(), log)
		if err != nil {
			add("spool", err, "")
		} else {
			n := sp.Waiting(store.Generation())
			add("spool", sp.SetAside, plural(n, "document")+" waiting to be sent")
			if err := sp.Close(); err != nil {
				add("spool", err, "")
			}
		}
		store.Close()
	}

	// The Prometheus textfile dir: a file can be made there, as a run
	// makes its temp file.
	if d := c.Monitoring.TextfileDir; d != "" {
		add("textfile dir", probeTextfileDir(d), d+": writable")
	}

	// The endpoint, without a request.
	u, err := send.ParseEndpoint(c.URL)
	refused := false
	if err == nil {
		// The rule collect --post applies: a URL it refuses is not probed.
		ok, msg := c.plainHTTP()
		if refused = msg != ""; refused {
			add("endpoint url", errors.New(msg), "")
		} else if ok != "" {
			add("endpoint url", nil, ok)
		}
	}
	switch {
	case refused:
	case err != nil:
		add("endpoint", err, "")
	default:
		if conf, err := send.TLSConfig(c.CAFile); err != nil {
			add("endpoint", err, "")
		} else {
			for _, st := range send.Probe(ctx, u, conf, c.RequestTimeout, http.ProxyFromEnvironment) {
				add("endpoint "+st.Name, st.Err, st.Detail)
			}
		}
	}

	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tRESULT\tDETAIL")
	failed := false
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.what, r.result, strings.ReplaceAll(r.detail, "\t", " "))
		failed = failed || r.result == checkFail
	}
	if err := tw.Flush(); err != nil {
		return exitFailed
	}
	if failed {
		return exitFailed
	}
	return exitOK
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
