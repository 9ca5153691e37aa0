package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/atlas-af/afmc/collect"
	"github.com/atlas-af/afmc/collect/all"
	"github.com/atlas-af/afmc/internal/safefile"
	"github.com/atlas-af/afmc/runner"
	"github.com/atlas-af/afmc/send"
	"github.com/atlas-af/afmc/spool"
	"github.com/atlas-af/afmc/users"
)

// Settings are what collect and check share: the site, the collectors,
// the state and the delivery.
type Settings struct {
	Cluster   string `placeholder:"NAME" help:"Cluster name, the cluster field of every document."`
	LoginNode string `placeholder:"NAME" help:"Login node name for host documents (default: the host name)."`

	// Each collector's own settings, declared beside it.
	Collectors all.Set `embed:""`
	// The users step: every document that names users.
	Users users.Settings `embed:"" group:"users"`

	StateDir         string        `placeholder:"DIR" help:"Where state and spool live (default: /var/lib/afmc as root, else $XDG_STATE_HOME/afmc or ~/.local/state/afmc)."`
	LockTimeout      time.Duration `default:"30s" help:"How long to wait for a concurrent run to release the state lock."`
	CollectorTimeout time.Duration `default:"30s" help:"How long one collector may take."`
	Timeout          time.Duration `default:"2m" help:"Deadline for the whole run, delivery included."`

	URL            string        `name:"url" default:"https://af.atlas-ml.org/" help:"Endpoint documents are POSTed to."`
	InsecureHTTP   bool          `name:"insecure-http" help:"Allow --post to a plain http:// URL on another host than this one: the token then crosses the network unencrypted."`
	TokenFile      string        `placeholder:"FILE" type:"path" help:"File holding the token (or set AFMC_TOKEN). Never pass a token on the command line."`
	CAFile         string        `name:"ca-file" placeholder:"FILE" type:"path" help:"PEM bundle of a site CA, added to the system roots."`
	Batch          int           `default:"1" help:"Documents per POST; above 1 they are sent as JSON arrays."`
	MaxInFlight    int           `default:"4" help:"Requests in flight at most."`
	Compress       string        `enum:"none,gzip" default:"none" help:"gzip: send request bodies gzipped (Content-Encoding: gzip), some 14 times smaller; Logstash's http input decodes them."`
	RequestTimeout time.Duration `default:"10s" help:"How long one POST may take."`
	SpoolMaxBytes  byteSize      `default:"64MiB" help:"Bound on the undelivered documents kept, by their JSON size (the spool file adds about 60 bytes a document); 0: no bound."`
	SpoolMaxAge    time.Duration `default:"168h" help:"Undelivered documents older than this are dropped."`

	Monitoring Monitoring `embed:"" group:"monitoring"`
}

// env checks the settings that can be out of range and builds what every
// collector reads. A non-empty message is a usage error.
func (c *Settings) env(getenv func(string) string, log *slog.Logger) (*collect.Env, string) {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"--lock-timeout", c.LockTimeout}, {"--collector-timeout", c.CollectorTimeout}, {"--timeout", c.Timeout}, {"--request-timeout", c.RequestTimeout}} {
		if d.v <= 0 || d.v > maxDuration {
			return nil, fmt.Sprintf("%s must be positive and at most %s, got %s", d.name, maxDuration, d.v)
		}
	}
	if c.SpoolMaxAge < 0 || c.SpoolMaxAge > maxSpoolMaxAge {
		return nil, fmt.Sprintf("--spool-max-age must be between 0 (no bound) and %s, got %s", maxSpoolMaxAge, c.SpoolMaxAge)
	}
	if c.Batch < 1 || c.Batch > maxBatch {
		return nil, fmt.Sprintf("--batch must be between 1 and %d, got %d", maxBatch, c.Batch)
	}
	if c.MaxInFlight < 1 || c.MaxInFlight > maxInFlight {
		return nil, fmt.Sprintf("--max-in-flight must be between 1 and %d, got %d", maxInFlight, c.MaxInFlight)
	}
	env := &collect.Env{Roots: collect.RootsFromEnv(getenv), Cluster: c.Cluster, LoginNode: c.LoginNode, Now: time.Now, Log: log}
	if env.LoginNode == "" {
		var err error
		if env.LoginNode, err = os.Hostname(); err != nil {
			return nil, fmt.Sprintf("cannot tell the host name (%v): set --login-node", err)
		}
	}
	return env, ""
}

// usersStep builds the users step; the salt comes from --salt-file or
// AFMC_SALT, never the command line.
func (c *Settings) usersStep(ctx context.Context, getenv func(string) string, loginNode string, log *slog.Logger) (*users.Step, string) {
	salt := getenv("AFMC_SALT")
	if c.Users.SaltFile != "" {
		b, warn, err := safefile.ReadSecret(ctx, c.Users.SaltFile, safefile.MaxSalt)
		if err != nil {
			return nil, fmt.Sprintf("--salt-file: %v", err)
		}
		for _, w := range warn {
			log.Warn("--salt-file: " + w)
		}
		if salt = strings.TrimRight(string(b), "\r\n"); salt == "" {
			return nil, fmt.Sprintf("--salt-file %s is empty", c.Users.SaltFile)
		}
	}
	step, err := users.New(c.Users, salt, loginNode, users.Getent{Path: c.Users.Getent}, log)
	if err != nil {
		return nil, err.Error()
	}
	// The name service is asked within a collector's time: one that hangs
	// leaves the documents naming users out, not the whole run.
	step.SetTimeout(c.CollectorTimeout)
	return step, ""
}

// token reads the token from --token-file or AFMC_TOKEN and checks it; a
// file another user could write is refused. What is wrong but usable (a
// short token, a file others can read) is logged once, as a warning.
func (c *Settings) token(ctx context.Context, getenv func(string) string, log *slog.Logger) (string, string) {
	warn, token, msg := c.readToken(ctx, getenv)
	for _, w := range warn {
		log.Warn(w)
	}
	return token, msg
}

// readToken is token without the log: check shows the warnings in its row.
func (c *Settings) readToken(ctx context.Context, getenv func(string) string) (warn []string, token, msg string) {
	token = strings.TrimSpace(getenv("AFMC_TOKEN"))
	if c.TokenFile != "" {
		b, w, err := safefile.ReadSecret(ctx, c.TokenFile, safefile.MaxToken)
		if err != nil {
			return nil, "", fmt.Sprintf("--token-file: %v", err)
		}
		for _, s := range w {
			warn = append(warn, "--token-file: "+s)
		}
		if token = strings.TrimSpace(string(b)); token == "" {
			return nil, "", fmt.Sprintf("--token-file %s is empty", c.TokenFile)
		}
	}
	switch {
	case token == "":
		return nil, "", "--post needs a token: --token-file FILE or the AFMC_TOKEN environment variable"
	case send.CheckToken(token) != nil:
		return nil, "", "token: " + send.CheckToken(token).Error()
	case len(token) < send.ShortToken:
		warn = append(warn, fmt.Sprintf("the token is %d characters long, shorter than the %d a secret should have: it is used as issued, and scrubbed whole from every log",
			len(token), send.ShortToken))
	}
	return warn, token, ""
}

// postConfig checks what --post needs, before anything is collected.
// atTerminal: a person watches stderr, and is told when the endpoint does
// not answer for a while.
func (c *Settings) postConfig(ctx context.Context, token string, log *slog.Logger, atTerminal bool) (*runner.PostConfig, string) {
	if c.Cluster == "" {
		return nil, `--post needs --cluster (or AFMC_CLUSTER, or "cluster" in the config file)`
	}
	if _, msg := c.plainHTTP(); msg != "" {
		return nil, msg
	}
	if c.CAFile != "" {
		// Read here within the run's time, and refused if another user
		// could change it (their CA would see the token).
		if _, err := safefile.ReadTrusted(ctx, c.CAFile, safefile.MaxCABundle); err != nil {
			return nil, fmt.Sprintf("--ca-file: %v", err)
		}
	}
	stall := time.Duration(0)
	if atTerminal {
		stall = stallNotice
	}
	// Built before anything is collected: a bad URL or CA file is a usage
	// error.
	s, err := send.NewSender(send.SenderConfig{
		URL:            c.URL,
		Token:          token,
		CAFile:         c.CAFile,
		Batch:          c.Batch,
		Concurrency:    c.MaxInFlight,
		Compress:       c.Compress,
		RequestTimeout: c.RequestTimeout,
		UserAgent:      "afmc/" + buildVersion(),
		Logger:         log,
		StallNotice:    stall,
	})
	if err != nil {
		return nil, err.Error()
	}
	return &runner.PostConfig{
		Sender: s,
		Spool:  spool.SpoolLimits{MaxBytes: int64(c.SpoolMaxBytes), MaxAge: c.SpoolMaxAge},
	}, ""
}

// budgets checks that every selected collector's own deadline (such as
// --condor-timeout) is below --collector-timeout, at which the run gives
// up on a collector: its own would never fire. A non-empty message is a
// usage error.
func (c *Settings) budgets(selected []collect.Collector) string {
	for _, col := range selected {
		if b, ok := col.(collect.Budgeted); ok {
			if flag, d := b.Budget(); d >= c.CollectorTimeout {
				return fmt.Sprintf("%s (%s) must be below --collector-timeout (%s): raise --collector-timeout or lower %s", flag, d, c.CollectorTimeout, flag)
			}
		}
	}
	return ""
}
