// Command afmc is the Analysis Facility Metrics Collector: a one-shot CLI
// that collects usage documents once, prints or posts them, and exits.
// Scheduling belongs to cron, systemd timers or a Kubernetes CronJob.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
	"golang.org/x/sys/unix"

	"github.com/atlas-af/afmc/collect"
	"github.com/atlas-af/afmc/internal/extcmd"
	"github.com/atlas-af/afmc/internal/redact"
	"github.com/atlas-af/afmc/internal/safefile"
	"github.com/atlas-af/afmc/output"
	"github.com/atlas-af/afmc/runner"
	"github.com/atlas-af/afmc/state"
	"github.com/atlas-af/afmc/users"
)

// Exit statuses, documented in the README.
const (
	exitOK          = 0
	exitFailed      = 1 // a collector failed, the state could not be read or saved, or the textfile not written
	exitUsage       = 2 // bad command line or configuration: nothing was done
	exitUndelivered = 3 // some documents were not delivered (kept in the spool, or refused)
	exitLocked      = 4 // another run held the state lock for longer than --lock-timeout
	// The endpoint needs a person: 401, 403, 404, 405, 501, 505, a
	// redirect, a web page answering, a certificate the roots do not
	// trust, or every document refused. Kept in the spool, as for 3, but
	// the next run will not heal it.
	exitNeedsPerson = 5
)

// Bounds of the numeric settings: a value outside is a usage error, never
// an overflow or an allocation of whatever size was typed.
const (
	maxSpoolBytes  = 1 << 40 // 1 TiB of undelivered documents
	maxBatch       = 10000   // documents per POST
	maxInFlight    = 256     // requests at once
	maxDuration    = 24 * time.Hour
	maxSpoolMaxAge = 10 * 365 * 24 * time.Hour
	defaultTimeout = 2 * time.Minute // --timeout's default
)

// Set at build time with -ldflags "-X main.version=... -X main.commit=...
// -X main.date=...".
var version, commit, date string

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// cli is the command line. Every flag can also be set as AFMC_<FLAG> or in
// the config file.
type cli struct {
	Config      string      `placeholder:"FILE" type:"path"`
	EnvFile     string      `placeholder:"FILE" type:"path"`
	LogLevel    string      `enum:"debug,info,warn,error" default:"warn"`
	Verbose     bool        `short:"v"`
	ShowVersion versionFlag `name:"version"`

	// What collect and check share, set once: two copies would double
	// the time kong takes to build its model on every run.
	Settings `embed:""`

	Collect    collectCmd    `cmd:"" help:"Collect documents once; print them, or post them with --post."`
	Check      checkCmd      `cmd:"" help:"Check that every collector, the state dir and the endpoint work, sending nothing: run once after installing."`
	Version    versionCmd    `cmd:"" help:"Print the version, the commit and the build date."`
	Man        struct{}      `cmd:"" hidden:"" help:"Print the man page, in roff."`
	Completion completionCmd `cmd:"" hidden:"" help:"Print a completion script for bash or zsh."`
}

// FlagHelp is the help of cli's flags and arguments, by field: see
// cmd/afmc/help.go for why it is not in the struct tags.
func (cli) FlagHelp() map[string]string {
	return map[string]string{
		"Config":      "The YAML config file (default: /etc/afmc/afmc.yaml, when it exists).",
		"EnvFile":     "Read environment variables (AFMC_*, the token or salt, variables of the programs afmc runs) from FILE, with the rules of systemd's EnvironmentFile=, as the units and the cron file do; they beat the environment.",
		"LogLevel":    "Log level: debug, info, warn, error. Logs go to stderr.",
		"Verbose":     "Log what the run does (same as --log-level=info).",
		"ShowVersion": "Print the version, the commit and the build date, as afmc version does.",
	}
}

type collectCmd struct {
	Kinds  []string `arg:"" optional:"" name:"kind"`
	All    bool
	JSON   bool `name:"json"`
	Post   bool
	DryRun bool
}

// FlagHelp is the help of collectCmd's flags and arguments, by field: see
// cmd/afmc/help.go for why it is not in the struct tags.
func (collectCmd) FlagHelp() map[string]string {
	return map[string]string{
		"Kinds":  "What to collect: cpu, mem, disk, network, host (those four), ssh, jupyter, condor.",
		"All":    "Run every collector; those whose source is not on this host are skipped.",
		"JSON":   "Print NDJSON (one document a line) instead of a table.",
		"Post":   "Send the documents to --url. Without --json nothing is printed.",
		"DryRun": "Collect and print against the saved state, and save, spool and send nothing: the next real run is unaffected.",
	}
}

// Settings are what collect and check share: the site, the collectors,
// the state and the delivery.
type Settings struct {
	Cluster   string `placeholder:"NAME"`
	LoginNode string `placeholder:"NAME"`

	// Each collector's own settings, declared beside it.
	Collectors collect.Set `embed:""`
	// The users step: every document that names users.
	Users users.Settings `embed:"" group:"users"`

	StateDir         string        `placeholder:"DIR"`
	LockTimeout      time.Duration `default:"30s"`
	CollectorTimeout time.Duration `default:"30s"`
	Timeout          time.Duration `default:"2m"`

	URL            string        `name:"url" default:"https://af.atlas-ml.org/"`
	InsecureHTTP   bool          `name:"insecure-http"`
	TokenFile      string        `placeholder:"FILE" type:"path"`
	CAFile         string        `name:"ca-file" placeholder:"FILE" type:"path"`
	Batch          int           `default:"1"`
	MaxInFlight    int           `default:"4"`
	Compress       string        `enum:"none,gzip" default:"none"`
	RequestTimeout time.Duration `default:"10s"`
	SpoolMaxBytes  byteSize      `default:"64MiB"`
	SpoolMaxAge    time.Duration `default:"168h"`

	Monitoring Monitoring `embed:"" group:"monitoring"`
}

// FlagHelp is the help of Settings's flags and arguments, by field: see
// cmd/afmc/help.go for why it is not in the struct tags.
func (Settings) FlagHelp() map[string]string {
	return map[string]string{
		"Cluster":          "Cluster name, the cluster field of every document.",
		"LoginNode":        "Login node name for host documents (default: the host name).",
		"StateDir":         "Where state and spool live (default: /var/lib/afmc as root, else $XDG_STATE_HOME/afmc or ~/.local/state/afmc).",
		"LockTimeout":      "How long to wait for a concurrent run to release the state lock.",
		"CollectorTimeout": "How long one collector may take.",
		"Timeout":          "Deadline for the whole run, delivery included.",
		"URL":              "Endpoint documents are POSTed to.",
		"InsecureHTTP":     "Allow --post to a plain http:// URL on another host than this one: the token then crosses the network unencrypted.",
		"TokenFile":        "File holding the token (or set AFMC_TOKEN). Never pass a token on the command line.",
		"CAFile":           "PEM bundle of a site CA, added to the system roots.",
		"Batch":            "Documents per POST; above 1 they are sent as JSON arrays.",
		"MaxInFlight":      "Requests in flight at most.",
		"Compress":         "gzip: send request bodies gzipped (Content-Encoding: gzip), some 14 times smaller; Logstash's http input decodes them.",
		"RequestTimeout":   "How long one POST may take.",
		"SpoolMaxBytes":    "Bound on the undelivered documents kept, by their JSON size (the spool file adds about 60 bytes a document); 0: no bound.",
		"SpoolMaxAge":      "Undelivered documents older than this are dropped.",
	}
}

type versionCmd struct{}

// versionLine is what afmc version and afmc --version print.
func versionLine() string {
	return fmt.Sprintf("afmc %s (commit %s, built %s, %s %s/%s)", buildVersion(), orUnknown(commit), orUnknown(date),
		runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// versionFlag is --version: it prints the version line and exits before
// kong asks for a command, as kong.VersionFlag does.
type versionFlag bool

func (versionFlag) BeforeReset(app *kong.Kong) error {
	fmt.Fprintln(app.Stdout, versionLine())
	app.Exit(exitOK)
	return nil
}

type completionCmd struct {
	Shell string `arg:"" enum:"bash,zsh"`
}

// FlagHelp is the help of completionCmd's flags and arguments, by field: see
// cmd/afmc/help.go for why it is not in the struct tags.
func (completionCmd) FlagHelp() map[string]string {
	return map[string]string{
		"Shell": "bash or zsh.",
	}
}

// byteSize parses 64MiB, 10M, 1000000.
type byteSize int64

func (b *byteSize) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"K", 1000}, {"M", 1000 * 1000}, {"G", 1000 * 1000 * 1000}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("bad size %q: want a number with an optional KiB, MiB, GiB, K, M or G", string(text))
	}
	if n > maxSpoolBytes/mult {
		return fmt.Errorf("size %q is over the most afmc allows, %s", string(text), output.IBytes(maxSpoolBytes))
	}
	*b = byteSize(n * mult)
	return nil
}

func main() {
	// What the programs afmc runs leave behind (a setsid child, a daemon)
	// comes back to afmc rather than init, and ends with the call that
	// started it, at the latest when afmc exits.
	_ = extcmd.Subreaper()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	extcmd.EndLeftovers()
	os.Exit(code)
}

// exitPanic carries kong's exit requests (after --help) out of the parser.
type exitPanic int

// run is main without the process: tests call it directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) (code int) {
	var c cli
	builtin := collect.Set{}.List()
	var envFromFile *envFile
	if path := envFilePath(args, getenv); path != "" {
		ef, err := readEnvFile(path)
		if err == nil {
			err = ef.export()
		}
		if err != nil {
			fmt.Fprintf(stderr, "afmc: %v\n", err)
			return exitUsage
		}
		envFromFile, getenv = ef, ef.overlay(getenv)
	}
	// Read before the flags, so before --timeout is known: bounded by the
	// default, so that a config file on a hung mount cannot hold the run.
	cctx, cancel := context.WithTimeout(ctx, defaultTimeout)
	path, named := configPath(args, getenv)
	fromFile, err := loadConfig(cctx, path, named)
	cancel()
	if err != nil {
		fmt.Fprintf(stderr, "afmc: %v\n", err)
		return exitUsage
	}
	parser, err := kong.New(&c,
		kong.Name("afmc"),
		kong.Description("Analysis Facility Metrics Collector: collects usage documents once and prints or posts them.\n\n"+
			"Every flag can also be set as AFMC_<FLAG> or in the YAML config file "+defaultConfig+
			" (--config or AFMC_CONFIG names another), keys named as the flags with _ for -. "+
			"The token comes from --token-file or AFMC_TOKEN, never the command line."),
		// Not kong.DefaultEnvars: kong would interpolate every name on
		// every run; the names are made when needed (envName).
		kong.Help(func(options kong.HelpOptions, ctx *kong.Context) error {
			if err := describeCLI(ctx.Model, &c); err != nil {
				return err
			}
			return kong.DefaultHelpPrinter(options, ctx)
		}),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { panic(exitPanic(code)) }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.ExplicitGroups([]kong.Group{
			{Key: "disk", Title: "Disk (disk):"},
			{Key: "network", Title: "Network (network):"},
			{Key: "ssh", Title: "Login users (ssh):"},
			{Key: "jupyter", Title: "JupyterHub users (jupyter):"},
			{Key: "condor", Title: "HTCondor (condor):"},
			{Key: "users", Title: "User names, in every document that has them:"},
			{Key: "monitoring", Title: "Monitoring afmc (Prometheus textfile, self-report):"},
		}),
		// Later resolvers win: a flag beats the environment, which beats
		// the config file.
		kong.Resolvers(fromFile, envResolver(getenv)),
	)
	if err != nil {
		fmt.Fprintf(stderr, "afmc: %v\n", err)
		return exitUsage
	}
	if err := fromFile.check(parser.Model); err != nil {
		fmt.Fprintf(stderr, "afmc: %v\n", err)
		return exitUsage
	}
	defer func() {
		if r := recover(); r != nil {
			p, ok := r.(exitPanic)
			if !ok {
				panic(r)
			}
			code = int(p)
		}
	}()
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "afmc: %v\n", err)
		return exitUsage
	}
	log := newLogger(stderr, c.LogLevel, c.Verbose)
	if envFromFile != nil {
		envFromFile.notes = envFromFile.check(parser.Model)
		if !strings.HasPrefix(kctx.Command(), "check") { // check shows them in its table
			for _, w := range envFromFile.notes {
				log.Warn("env file " + envFromFile.path + ": " + w)
			}
		}
	}
	if cmd := kctx.Command(); cmd == "man" || cmd == "completion <shell>" {
		if err := describeCLI(parser.Model, &c); err != nil {
			fmt.Fprintf(stderr, "afmc: %v\n", err)
			return exitFailed
		}
	}
	switch kctx.Command() {
	case "version":
		fmt.Fprintln(stdout, versionLine())
		return exitOK
	case "man":
		writeMan(stdout, parser.Model, buildVersion())
		return exitOK
	case "completion <shell>":
		kinds := collect.KindNames(builtin)
		if c.Completion.Shell == "zsh" {
			writeZsh(stdout, parser.Model, kinds)
		} else {
			writeBash(stdout, parser.Model, kinds)
		}
		return exitOK
	case "check", "check <kind>":
		c.Check.envFile = envFromFile
		return c.Check.run(ctx, &c.Settings, stdout, stderr, getenv, log)
	default:
		return c.Collect.run(ctx, &c.Settings, stdout, stderr, getenv, log)
	}
}

// envName is a flag's environment variable: AFMC_ and the flag's name in
// capitals with _ for -, as kong.DefaultEnvars would name it.
func envName(f *kong.Flag) string {
	return "AFMC_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
}

// envResolver makes kong read AFMC_* through getenv rather than the process
// environment, so tests need not touch it.
func envResolver(getenv func(string) string) kong.Resolver {
	return kong.ResolverFunc(func(_ *kong.Context, _ *kong.Path, flag *kong.Flag) (any, error) {
		if flag.Name == "version" {
			return nil, nil // --version prints and exits: not a setting
		}
		if v := getenv(envName(flag)); v != "" {
			return v, nil
		}
		return nil, nil
	})
}

func (c *collectCmd) run(ctx context.Context, set *Settings, stdout, stderr io.Writer, getenv func(string) string, log *slog.Logger) int {
	usage := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "afmc: "+format+"\n", args...)
		return exitUsage
	}
	if c.All && len(c.Kinds) > 0 {
		return usage("name kinds or --all, not both")
	}
	collectors := set.Collectors.List()
	if !c.All && len(c.Kinds) == 0 {
		return usage("nothing to collect: name a kind (%s) or --all", strings.Join(collect.KindNames(collectors), ", "))
	}
	selected, err := collect.Select(collectors, c.Kinds, c.All)
	if err != nil {
		return usage("%v", err)
	}
	// The whole run within --timeout, reading the named files included: one
	// on a hung network mount must not hold the run past it.
	if set.Timeout > 0 && set.Timeout <= maxDuration {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, set.Timeout)
		defer cancel()
	}
	var token string
	if c.Post && !c.DryRun {
		// Read first: from here on, no log line shows it, however a
		// server or a program echoes it.
		var msg string
		if token, msg = set.token(ctx, getenv, log); msg != "" {
			return usage("%s", msg)
		}
		log = slog.New(redact.Handler(log.Handler(), redact.New(token)))
	}
	env, msg := set.env(getenv, log)
	if msg != "" {
		return usage("%s", msg)
	}
	cfg := runner.Config{
		Env:              env,
		Collectors:       selected,
		SkipUnavailable:  c.All,
		StateDir:         set.StateDir,
		LockTimeout:      set.LockTimeout,
		CollectorTimeout: set.CollectorTimeout,
		Timeout:          set.Timeout,
		Stdout:           stdout,
		TextfileDir:      set.Monitoring.TextfileDir,
		SelfReport:       set.Monitoring.SelfReport,
		Version:          buildVersion(),
	}
	if cfg.StateDir == "" {
		cfg.StateDir = state.DefaultDir(getenv, os.Geteuid())
	}
	step, msg := set.usersStep(ctx, getenv, env.LoginNode, log)
	if msg != "" {
		return usage("%s", msg)
	}
	if w := step.Warning(); w != "" {
		log.Warn(w)
	}
	// Always: the user-name rule applies to every document naming users,
	// whether or not names are filtered or hashed.
	cfg.Users = step
	cfg.DryRun = c.DryRun
	switch {
	case c.JSON, c.DryRun && c.Post:
		// A dry run of the cron line shows what it would send.
		cfg.Format = runner.FormatJSON
	case !c.Post:
		cfg.Format = runner.FormatTable
	}
	if c.Post && !c.DryRun {
		post, msg := set.postConfig(ctx, token, log, isTerminal(stderr))
		if msg != "" {
			return usage("%s", msg)
		}
		defer post.Sender.Close()
		cfg.Post = post
	}

	rep := runner.Run(ctx, cfg)
	log.Info("run finished", "collected", rep.Collected, "sent", rep.Delivered, "spooled", rep.Spooled,
		"dropped", rep.Dropped+rep.Rejected+rep.Lost, "failed_collectors", len(rep.FailedCollector))
	return exitStatus(rep)
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
	case output.CheckToken(token) != nil:
		return nil, "", "token: " + output.CheckToken(token).Error()
	case len(token) < output.ShortToken:
		warn = append(warn, fmt.Sprintf("the token is %d characters long, shorter than the %d a secret should have: it is used as issued, and scrubbed whole from every log",
			len(token), output.ShortToken))
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
	s, err := output.NewSender(output.SenderConfig{
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
		Spool:  output.SpoolLimits{MaxBytes: int64(c.SpoolMaxBytes), MaxAge: c.SpoolMaxAge},
	}, ""
}

// exitStatus picks one status when several things went wrong, in the
// order 1, 5, 4, 3: what needs an administrator comes before what heals
// by itself.
func exitStatus(rep runner.Report) int {
	switch {
	case len(rep.FailedCollector) > 0, rep.PrintErr != nil, rep.TextfileErr != nil:
		return exitFailed
	case rep.StateErr != nil && !errors.Is(rep.StateErr, state.ErrLockTimeout):
		return exitFailed
	case rep.ConfigError != "":
		return exitNeedsPerson
	case errors.Is(rep.StateErr, state.ErrLockTimeout):
		return exitLocked
	case rep.Undelivered():
		return exitUndelivered
	}
	return exitOK
}

// stallNotice is how long a run at a terminal goes without delivering
// before it says it is retrying until --timeout.
const stallNotice = 3 * time.Second

// plainHTTP applies the rule for a plain http:// --url, which collect and
// check share: the token would cross the network in clear, so it is
// refused (msg) unless the host is this one (a loopback address) or
// --insecure-http says the site means it. ok describes an allowed URL for
// check's row.
func (c *Settings) plainHTTP() (ok, msg string) {
	u, err := url.Parse(c.URL)
	switch {
	case err != nil || u.Scheme != "http":
		return "", ""
	case isLoopback(u.Hostname()):
		return "plain http to " + u.Hostname() + ", this host: the token stays on it", ""
	case c.InsecureHTTP:
		return "plain http, allowed by --insecure-http: the token crosses the network unencrypted", ""
	}
	return "", fmt.Sprintf("--url %s is plain http to another host: the token would cross the network unencrypted. Use https, or --insecure-http (insecure_http: true) if the site means it", u.Redacted())
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// isTerminal tells whether w is a terminal, where a person reads the logs.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

func newLogger(w io.Writer, level string, verbose bool) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	if verbose && l > slog.LevelInfo {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
