// Package cli is the sluice command line: serve, migrate, validate,
// workflows apply and version. It is the only package that wires adapters
// (the SQLite store, the step handlers, the HTTP API) to the engine.
//
// Run is the whole program; cmd/sluice only adds the signal context and
// the exit code, so that tests run the program in-process.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/alecthomas/kong"
)

// exitError ends the program with Code after its message (if any) was
// printed.
type exitError struct {
	Code    int
	Message string
}

func (e *exitError) Error() string { return e.Message }

// kongExit is how a kong.Exit call (after --help, or a usage error)
// unwinds to Run.
type kongExit struct{ code int }

// Globals are the flags every subcommand accepts.
type Globals struct {
	DatabaseURL string `name:"database-url" env:"SLUICE_DATABASE_URL" default:"sqlite:sluice.db" placeholder:"URL" help:"Database to use: sqlite:PATH (embedded SQLite file, created if missing; one serve process per file). Add ?sync=normal to skip the disk sync at each commit (faster; a power loss may lose the last commits). PostgreSQL (postgres://...) is not built yet. Default sqlite:sluice.db."`
	LogLevel    string `name:"log-level" env:"SLUICE_LOG_LEVEL" default:"info" enum:"debug,info,warn,error" help:"Minimum level of log records: debug, info, warn or error."`
	LogFormat   string `name:"log-format" env:"SLUICE_LOG_FORMAT" default:"text" enum:"text,json" help:"Log record format on stderr: text (logfmt-like) or json (one object per line)."`
}

// root is the command line grammar.
type root struct {
	Globals

	Serve     serveCmd     `cmd:"" help:"Run the HTTP API and the workflow engine in one process until SIGINT or SIGTERM."`
	Migrate   migrateCmd   `cmd:"" help:"Apply pending database migrations and exit."`
	Validate  validateCmd  `cmd:"" help:"Check workflow definition files (JSON DSL) without storing them; exit 1 if any is invalid."`
	Workflows workflowsCmd `cmd:"" help:"Manage workflow definitions directly in the database."`
	Version   versionCmd   `cmd:"" help:"Print the version, commit and Go version."`
}

// runEnv is what every command's Run method receives.
type runEnv struct {
	ctx    context.Context
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger
}

// Run runs the sluice command line with args (without the program name)
// and returns the process exit code: 0 on success, 1 on failure, 2 on a
// usage error. It returns when the command is done; serve runs until ctx
// ends and then shuts down gracefully.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) (code int) {
	var cli root
	parser, err := kong.New(&cli,
		kong.Name("sluice"),
		kong.Description("Sluice is a durable workflow engine: webhooks start runs of JSON-defined workflows whose steps (ai, http, condition, delay, queue_publish) survive crashes and restarts.\n\nEvery flag can also be set through the environment variable shown next to it; a flag on the command line wins over the variable."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(c int) { panic(kongExit{code: c}) }),
		kong.UsageOnError(),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true, FlagsLast: true}),
	)
	if err != nil {
		fmt.Fprintf(stderr, "sluice: %v\n", err)
		return 1
	}
	defer func() {
		if v := recover(); v != nil {
			e, ok := v.(kongExit)
			if !ok {
				panic(v)
			}
			code = e.code
		}
	}()
	kctx, err := parser.Parse(args)
	if err != nil {
		var pe *kong.ParseError
		if errors.As(err, &pe) {
			fmt.Fprintf(stderr, "sluice: %v\n", err)
			_ = pe.Context.PrintUsage(true)
			return 2
		}
		fmt.Fprintf(stderr, "sluice: %v\n", err)
		return 2
	}
	log, err := newLogger(stderr, cli.LogLevel, cli.LogFormat)
	if err != nil {
		fmt.Fprintf(stderr, "sluice: %v\n", err)
		return 2
	}
	rt := &runEnv{ctx: ctx, stdout: stdout, stderr: stderr, log: log}
	if err := kctx.Run(rt, &cli.Globals); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			if ee.Message != "" {
				fmt.Fprintf(stderr, "sluice: %s\n", ee.Message)
			}
			return ee.Code
		}
		fmt.Fprintf(stderr, "sluice: %v\n", err)
		return 1
	}
	return 0
}

// newLogger returns the process logger writing to w.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("invalid log level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("invalid log format %q: want text or json", format)
	}
}
