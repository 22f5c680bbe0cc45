package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/sluicehq/sluice/internal/step"
	"github.com/sluicehq/sluice/internal/step/ai"
	"github.com/sluicehq/sluice/internal/step/condition"
	"github.com/sluicehq/sluice/internal/step/delay"
	"github.com/sluicehq/sluice/internal/step/httpcall"
	"github.com/sluicehq/sluice/internal/step/publish"
	"github.com/sluicehq/sluice/internal/store/sqlite"
	"github.com/sluicehq/sluice/internal/workflow"
)

// store is a workflow.Store that can also apply its migrations.
type store interface {
	workflow.Store
	Migrate(ctx context.Context) error
}

// openStore opens the database named by a SLUICE_DATABASE_URL value and
// applies pending migrations. worker is true for a process that will run
// workflows (serve): an embedded database is then locked to it, and sole
// reports that no other process can be working on it, so that the engine
// may take over at once the runs a crashed predecessor left running.
func openStore(ctx context.Context, databaseURL string, worker bool) (s store, sole bool, err error) {
	scheme, rest, _ := strings.Cut(databaseURL, ":")
	switch strings.ToLower(scheme) {
	case "sqlite", "sqlite3":
		path, query, _ := strings.Cut(strings.TrimPrefix(rest, "//"), "?")
		if path == "" {
			return nil, false, fmt.Errorf("database URL %q names no file: use sqlite:PATH, e.g. sqlite:sluice.db", databaseURL)
		}
		cfg, err := sqliteOptions(query)
		if err != nil {
			return nil, false, fmt.Errorf("database URL %q: %w", databaseURL, err)
		}
		cfg.Exclusive = worker
		s, err := sqlite.Open(ctx, path, cfg)
		if err != nil {
			return nil, false, fmt.Errorf("open SQLite database %s: %w", path, err)
		}
		return s, worker, nil
	case "postgres", "postgresql":
		return nil, false, fmt.Errorf("postgres support is not built yet: use sqlite:PATH for SLUICE_DATABASE_URL")
	default:
		return nil, false, fmt.Errorf("unsupported database URL %q: use sqlite:PATH", redactURL(databaseURL))
	}
}

// sqliteOptions reads the options of a sqlite: URL's query: sync=full|normal.
func sqliteOptions(query string) (sqlite.Config, error) {
	var cfg sqlite.Config
	values, err := url.ParseQuery(query)
	if err != nil {
		return cfg, fmt.Errorf("bad query: %w", err)
	}
	for key, vals := range values {
		switch key {
		case "sync":
			cfg.Synchronous = vals[len(vals)-1]
		default:
			return cfg, fmt.Errorf("unknown option %q (known: sync=full|normal)", key)
		}
	}
	return cfg, nil
}

// redactURL hides a password in a URL-like string.
func redactURL(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	userinfo, host, ok := strings.Cut(rest, "@")
	if !ok {
		return s
	}
	user, _, _ := strings.Cut(userinfo, ":")
	return scheme + "://" + user + ":xxxxx@" + host
}

// steps is the step registry with every built-in step type, plus what must
// be released with it.
type steps struct {
	registry *step.Registry
	// transport carries the http step's requests; close its idle
	// connections at shutdown.
	transport *http.Transport
}

// newSteps builds the step registry. A new step type is one line here.
func newSteps(version string) (*steps, error) {
	base, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return nil, errors.New("net/http's default transport is not an *http.Transport")
	}
	transport := base.Clone()
	transport.MaxIdleConnsPerHost = 64 // many runs call the same few downstreams
	aiHandler, err := ai.New(map[string]ai.Provider{ai.DefaultProvider: ai.NewMock()})
	if err != nil {
		return nil, err
	}
	reg := step.NewRegistry()
	for _, h := range []struct {
		name    string
		handler step.Handler
	}{
		{workflow.StepTypeAI, aiHandler},
		{workflow.StepTypeCondition, condition.New()},
		{workflow.StepTypeDelay, delay.New()},
		{workflow.StepTypeHTTP, httpcall.New(httpcall.Config{
			Client:    &http.Client{Transport: transport},
			UserAgent: "sluice/" + version,
		})},
		{workflow.StepTypeQueuePublish, publish.New()},
	} {
		if err := reg.Register(h.name, h.handler); err != nil {
			return nil, err
		}
	}
	return &steps{registry: reg, transport: transport}, nil
}

// close releases the handlers' resources.
func (s *steps) close() { s.transport.CloseIdleConnections() }
