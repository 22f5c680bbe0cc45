package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/api"
	"github.com/sluicehq/sluice/internal/engine"
	"github.com/sluicehq/sluice/internal/seed"
)

// ServerConfig configures a Server. Zero values take the documented
// defaults.
type ServerConfig struct {
	// Addr is the TCP address the API listens on; port 0 picks a free port
	// (see Server.Addr). Defaults to 127.0.0.1:8080.
	Addr string
	// DatabaseURL names the database, e.g. sqlite:sluice.db. Defaults to
	// sqlite:sluice.db.
	DatabaseURL string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Workers is how many runs the engine works on at once. Defaults to the
	// engine's default (64).
	Workers int
	// LeaseFor is how long a claim on a run lasts (renewed while long steps
	// run); after a crash, the runs are taken over once it expires.
	// Defaults to the engine's default (30s).
	LeaseFor time.Duration
	// PollInterval bounds how long the engine waits between looks for due
	// runs. Defaults to the engine's default (1s).
	PollInterval time.Duration
	// MaxBodyBytes is the request body limit. Defaults to 1 MiB.
	MaxBodyBytes int64
	// ShutdownTimeout bounds graceful shutdown: in-flight HTTP requests and
	// running steps get this long to finish. Defaults to 10s.
	ShutdownTimeout time.Duration
	// NoSeed skips installing the seed workflows.
	NoSeed bool
	// Version is reported by the OpenAPI document.
	Version string
}

// Server is a running Sluice: store, engine and HTTP API in one process.
// Create it with NewServer, start it with Open, stop it with Close.
type Server struct {
	cfg ServerConfig
	log *slog.Logger

	store  store
	steps  *steps
	engine *engine.Engine
	http   *http.Server
	ln     net.Listener

	stopEngine context.CancelFunc
	engineDone chan struct{}
	wg         sync.WaitGroup
	errc       chan error

	closeOnce sync.Once
	closeErr  error
}

// NewServer returns an unopened server.
func NewServer(cfg ServerConfig) *Server {
	cfg.Addr = cmp.Or(cfg.Addr, "127.0.0.1:8080")
	cfg.DatabaseURL = cmp.Or(cfg.DatabaseURL, "sqlite:sluice.db")
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	cfg.MaxBodyBytes = cmp.Or(cfg.MaxBodyBytes, api.DefaultMaxBodyBytes)
	cfg.ShutdownTimeout = cmp.Or(cfg.ShutdownTimeout, 10*time.Second)
	cfg.Version = cmp.Or(cfg.Version, versionString())
	return &Server{cfg: cfg, log: cfg.Logger, errc: make(chan error, 2)}
}

// Open opens the database (applying migrations), installs the seed
// workflows, starts the engine and starts serving HTTP. On error everything
// opened so far is closed again.
func (s *Server) Open(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	var sole bool
	if s.store, sole, err = openStore(ctx, s.cfg.DatabaseURL, true); err != nil {
		return err
	}
	if s.steps, err = newSteps(s.cfg.Version); err != nil {
		return err
	}
	s.engine, err = engine.New(engine.Config{
		Store:           s.store,
		Registry:        s.steps.registry,
		Logger:          s.log,
		Workers:         s.cfg.Workers,
		LeaseFor:        s.cfg.LeaseFor,
		PollInterval:    s.cfg.PollInterval,
		ShutdownTimeout: s.cfg.ShutdownTimeout,
		SoleWorker:      sole,
	})
	if err != nil {
		return err
	}
	if !s.cfg.NoSeed {
		if err := seed.Install(ctx, s.engine, s.log); err != nil {
			return err
		}
	}
	handler, err := api.New(api.Config{Engine: s.engine, Logger: s.log, MaxBodyBytes: s.cfg.MaxBodyBytes, Version: s.cfg.Version})
	if err != nil {
		return err
	}
	if s.ln, err = (&net.ListenConfig{}).Listen(ctx, "tcp", s.cfg.Addr); err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
	}
	s.http = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}

	engineCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stopEngine = stop
	s.engineDone = make(chan struct{})
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		defer close(s.engineDone)
		if err := s.engine.Run(engineCtx); err != nil {
			s.errc <- fmt.Errorf("engine: %w", err)
		}
	}()
	go func() {
		defer s.wg.Done()
		if err := s.http.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.errc <- fmt.Errorf("http server: %w", err)
		}
	}()
	s.log.Info("sluice listening", "addr", s.Addr(), "url", s.URL(), "database", redactURL(s.cfg.DatabaseURL))
	return nil
}

// Addr returns the address the API listens on (with the real port when
// the configured port was 0), or "" before Open.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// URL returns the API's base URL, e.g. http://127.0.0.1:8080.
func (s *Server) URL() string { return "http://" + s.Addr() }

// Err reports a failure of the engine or the HTTP server after Open.
func (s *Server) Err() <-chan error { return s.errc }

// Close shuts down gracefully: the API stops accepting connections and
// finishes in-flight requests while the engine stops claiming runs, lets
// running steps finish and releases their leases, both within
// ShutdownTimeout; then the database is closed. Close is idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		var mu sync.Mutex
		var wg sync.WaitGroup
		if s.http != nil {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
				defer cancel()
				err := s.http.Shutdown(ctx)
				switch {
				case errors.Is(err, context.DeadlineExceeded):
					// Connections still open after the grace period (slow
					// requests, or clients that connected and never spoke)
					// are cut: that is what the deadline is for.
					s.log.Warn("shutdown grace period over; closing remaining connections", "grace", s.cfg.ShutdownTimeout)
					_ = s.http.Close()
				case err != nil:
					mu.Lock()
					errs = append(errs, fmt.Errorf("shut down http server: %w", err))
					mu.Unlock()
					_ = s.http.Close()
				}
			})
		} else if s.ln != nil {
			_ = s.ln.Close()
		}
		if s.stopEngine != nil {
			s.stopEngine()
		}
		wg.Wait()
		s.wg.Wait()
		if s.steps != nil {
			s.steps.close()
		}
		if s.store != nil {
			if err := s.store.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close database: %w", err))
			}
		}
		s.closeErr = errors.Join(errs...)
		if s.ln != nil {
			s.log.Info("sluice stopped")
		}
	})
	return s.closeErr
}
