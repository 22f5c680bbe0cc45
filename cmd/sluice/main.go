// Command sluice is the Sluice durable workflow engine: one binary with the
// subcommands serve, migrate, validate, workflows apply and version. Run
// `sluice --help` for the flags and their environment variables.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/sluicehq/sluice/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
