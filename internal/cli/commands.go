package cli

import (
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/dsl"
	"github.com/sluicehq/sluice/internal/engine"
	"github.com/sluicehq/sluice/internal/workflow"
)

// Version is the release version; set at build time with
// -ldflags "-X github.com/sluicehq/sluice/internal/cli.Version=v1.2.3".
// Without it the module version from the build info is used.
var Version = ""

type serveCmd struct {
	Addr            string        `name:"addr" env:"SLUICE_ADDR" default:"127.0.0.1:8080" placeholder:"HOST:PORT" help:"TCP address the HTTP API listens on; port 0 picks a free port (the log says which). Default 127.0.0.1:8080."`
	Workers         int           `name:"workers" env:"SLUICE_WORKERS" default:"64" help:"How many runs the engine works on at once."`
	MaxBodyBytes    int64         `name:"max-body-bytes" env:"SLUICE_MAX_BODY_BYTES" default:"1048576" help:"Largest request body accepted, in bytes; larger bodies get 413."`
	ShutdownTimeout time.Duration `name:"shutdown-timeout" env:"SLUICE_SHUTDOWN_TIMEOUT" default:"10s" help:"On SIGINT/SIGTERM, how long in-flight requests and running steps get to finish before they are cancelled and their leases released."`
	Lease           time.Duration `name:"lease" env:"SLUICE_LEASE" default:"30s" help:"How long a claim on a run lasts; steps that run longer renew it every third of it. After a crash, other workers (or this process restarted) take its runs over once it expires."`
	PollInterval    time.Duration `name:"poll-interval" env:"SLUICE_POLL_INTERVAL" default:"1s" help:"Longest wait between looks for due runs (delays, retries, runs started by other processes)."`
	NoSeed          bool          `name:"no-seed" env:"SLUICE_NO_SEED" help:"Do not install the seed workflows (ai-triage-flow, delayed-followup, flaky-demo) at start-up."`
}

// Run serves until the context ends, then shuts down gracefully.
func (c *serveCmd) Run(rt *runEnv, g *Globals) error {
	if c.Workers < 1 {
		return &exitError{Code: 2, Message: fmt.Sprintf("--workers must be at least 1, got %d", c.Workers)}
	}
	if c.MaxBodyBytes < 1 {
		return &exitError{Code: 2, Message: fmt.Sprintf("--max-body-bytes must be at least 1, got %d", c.MaxBodyBytes)}
	}
	s := NewServer(ServerConfig{
		Addr:            c.Addr,
		DatabaseURL:     g.DatabaseURL,
		Logger:          rt.log,
		Workers:         c.Workers,
		LeaseFor:        c.Lease,
		PollInterval:    c.PollInterval,
		MaxBodyBytes:    c.MaxBodyBytes,
		ShutdownTimeout: c.ShutdownTimeout,
		NoSeed:          c.NoSeed,
		Version:         versionString(),
	})
	if err := s.Open(rt.ctx); err != nil {
		return err
	}
	var runErr error
	select {
	case <-rt.ctx.Done():
		rt.log.Info("shutting down", "timeout", c.ShutdownTimeout)
	case runErr = <-s.Err():
		rt.log.Error("shutting down after failure", "err", runErr)
	}
	if err := s.Close(); err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}

type migrateCmd struct{}

// Run applies pending migrations. Opening the store applies them already
// (sqlite.Config.SkipMigrations cannot open an unmigrated database, since
// the store prepares its statements at open); Migrate is then a no-op that
// states the intent.
func (c *migrateCmd) Run(rt *runEnv, g *Globals) error {
	s, _, err := openStore(rt.ctx, g.DatabaseURL, false)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Migrate(rt.ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	fmt.Fprintf(rt.stdout, "migrations applied to %s\n", redactURL(g.DatabaseURL))
	return nil
}

type validateCmd struct {
	Files []string `arg:"" name:"file" help:"Workflow definition files (JSON DSL)."`
}

// Run prints "FILE: ok" or one "FILE: PATH: MESSAGE" line per problem.
func (c *validateCmd) Run(rt *runEnv) error {
	st, err := newSteps(versionString())
	if err != nil {
		return err
	}
	defer st.close()
	invalid := 0
	for _, file := range c.Files {
		raw, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintf(rt.stdout, "%s: %v\n", file, err)
			invalid++
			continue
		}
		if _, err := dsl.Compile(raw, st.registry); err != nil {
			invalid++
			printProblems(rt, file, err)
			continue
		}
		fmt.Fprintf(rt.stdout, "%s: ok\n", file)
	}
	if invalid > 0 {
		return &exitError{Code: 1, Message: fmt.Sprintf("%d of %d files invalid", invalid, len(c.Files))}
	}
	return nil
}

// printProblems prints every field error of err, or err itself.
func printProblems(rt *runEnv, file string, err error) {
	fields := workflow.ErrorFields(err)
	if len(fields) == 0 {
		fmt.Fprintf(rt.stdout, "%s: %v\n", file, err)
		return
	}
	for _, f := range fields {
		path := f.Path
		if path == "" {
			path = "/"
		}
		fmt.Fprintf(rt.stdout, "%s: %s: %s\n", file, path, f.Message)
	}
}

type workflowsCmd struct {
	Apply applyCmd `cmd:"" help:"Store workflow definition files as new versions (unchanged definitions are left alone). Works on the database directly; a running server picks the change up within a second."`
}

type applyCmd struct {
	Files []string `arg:"" name:"file" help:"Workflow definition files (JSON DSL)."`
}

// Run validates and stores each file.
func (c *applyCmd) Run(rt *runEnv, g *Globals) error {
	s, _, err := openStore(rt.ctx, g.DatabaseURL, false)
	if err != nil {
		return err
	}
	defer s.Close()
	st, err := newSteps(versionString())
	if err != nil {
		return err
	}
	defer st.close()
	e, err := engine.New(engine.Config{Store: s, Registry: st.registry, Logger: rt.log})
	if err != nil {
		return err
	}
	failed := 0
	for _, file := range c.Files {
		raw, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintf(rt.stdout, "%s: %v\n", file, err)
			failed++
			continue
		}
		v, created, err := e.PutWorkflow(rt.ctx, raw)
		if err != nil {
			failed++
			printProblems(rt, file, err)
			continue
		}
		what := "unchanged"
		if created {
			what = "created"
		}
		fmt.Fprintf(rt.stdout, "%s: %s version %d %s\n", file, v.WorkflowID, v.Version, what)
	}
	if failed > 0 {
		return &exitError{Code: 1, Message: fmt.Sprintf("%d of %d files not applied", failed, len(c.Files))}
	}
	return nil
}

type versionCmd struct{}

// Run prints version information.
func (c *versionCmd) Run(rt *runEnv) error {
	commit, modified, goVersion := buildInfo()
	if modified {
		commit += " (modified)"
	}
	fmt.Fprintf(rt.stdout, "sluice %s\ncommit: %s\ngo: %s\n", versionString(), commit, goVersion)
	return nil
}

// versionString is Version, else the main module's version, else "dev".
func versionString() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// buildInfo returns the VCS revision ("unknown" without VCS stamping), the
// modified flag and the Go version.
func buildInfo() (commit string, modified bool, goVersion string) {
	commit, goVersion = "unknown", "unknown"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return commit, false, goVersion
	}
	goVersion = strings.TrimSpace(bi.GoVersion)
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	return commit, modified, goVersion
}
