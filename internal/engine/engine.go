// Package engine runs workflows durably: it claims due runs from the store
// (lease + fencing token), executes the current step through the step
// registry, checkpoints the step's result and the run's next state in one
// transaction, continues in-process while steps are immediate, and parks
// runs (next_run_at) for delays and retry backoff. It imports no adapter.
package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/internal/step"
	"github.com/sluicehq/sluice/internal/workflow"
)

// Config configures an Engine. Zero values take the documented defaults.
type Config struct {
	// Store is the durable state. Required.
	Store workflow.Store
	// Registry holds the step handlers. Required.
	Registry *step.Registry
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
	// Owner names this engine in leases; it must be unique among the
	// engines alive at once. Run takes over, as it starts, the runs a
	// previous process with the same name left running, so a stable name
	// (a pod name) speeds up recovery after a crash. Defaults to
	// hostname-pid-random.
	Owner string
	// Workers is how many runs are worked on at once. Defaults to 64.
	Workers int
	// ClaimBatch is how many due runs one claim takes at most. Defaults to
	// Workers.
	ClaimBatch int
	// LeaseFor is how long a claim holds a run before another worker may
	// take it over, so about how long after a crash its runs resume.
	// Defaults to 30s. A step that may run longer keeps its lease alive
	// (every LeaseFor/3) while it runs.
	LeaseFor time.Duration
	// PollInterval bounds how long the engine sleeps between looks for due
	// runs that no in-process signal announced (runs started by another
	// process). Defaults to 1s.
	PollInterval time.Duration
	// ShutdownTimeout is how long Run waits for running steps after its
	// context ends before cancelling them. Defaults to 10s.
	ShutdownTimeout time.Duration
	// Middleware wraps every step execution, outermost first.
	Middleware []step.Middleware
	// Random returns a float in [0,1) for retry jitter. Defaults to
	// math/rand/v2.Float64.
	Random func() float64
	// TriggerCacheTTL is how long a webhook key's resolution to a workflow
	// version is cached. Changes made through this engine invalidate it at
	// once; changes made by another replica are seen after at most this
	// long. Defaults to 1s; negative disables the cache.
	TriggerCacheTTL time.Duration
	// SoleWorker says that no other process works on this store (an
	// embedded database locked to this process). Run then takes over, as it
	// starts, every run a previous process left running (crashed mid-step),
	// instead of waiting for their leases to expire. Leave it false when
	// replicas share the database.
	SoleWorker bool
	// Observer, if set, is called after every committed run change (start,
	// step checkpoint, cancel, replay). It runs on the engine's goroutines
	// and must not block.
	Observer func(Event)
}

// Engine runs workflows. Create it with New; call Run to process runs. All
// methods are safe for concurrent use.
type Engine struct {
	cfg   Config
	store workflow.Store
	log   *slog.Logger

	defs     *definitionCache
	triggers *triggerCache

	wake     chan struct{} // a run may have become due
	freed    chan struct{} // a worker slot was freed
	running  sync.Map      // run id → context.CancelFunc
	started  atomic.Bool
	stopping atomic.Bool
}

// New validates cfg, fills defaults and returns an Engine.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil {
		return nil, errors.New("engine: Config.Store is required")
	}
	if cfg.Registry == nil {
		return nil, errors.New("engine: Config.Registry is required")
	}
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Random == nil {
		cfg.Random = rand.Float64
	}
	cfg.Owner = cmp.Or(cfg.Owner, defaultOwner())
	cfg.Workers = cmp.Or(cfg.Workers, 64)
	cfg.ClaimBatch = cmp.Or(cfg.ClaimBatch, cfg.Workers)
	cfg.LeaseFor = cmp.Or(cfg.LeaseFor, 30*time.Second)
	cfg.PollInterval = cmp.Or(cfg.PollInterval, time.Second)
	cfg.ShutdownTimeout = cmp.Or(cfg.ShutdownTimeout, 10*time.Second)
	cfg.TriggerCacheTTL = cmp.Or(cfg.TriggerCacheTTL, time.Second)
	switch {
	case cfg.Workers < 1:
		return nil, fmt.Errorf("engine: Config.Workers must be >= 1, got %d", cfg.Workers)
	case cfg.ClaimBatch < 1:
		return nil, fmt.Errorf("engine: Config.ClaimBatch must be >= 1, got %d", cfg.ClaimBatch)
	case cfg.LeaseFor < time.Second/10:
		return nil, fmt.Errorf("engine: Config.LeaseFor must be >= 100ms, got %s", cfg.LeaseFor)
	case cfg.PollInterval < time.Millisecond:
		return nil, fmt.Errorf("engine: Config.PollInterval must be >= 1ms, got %s", cfg.PollInterval)
	}
	e := &Engine{
		cfg:   cfg,
		store: cfg.Store,
		log:   cfg.Logger.With("component", "engine", "owner", cfg.Owner),
		wake:  make(chan struct{}, 1),
		freed: make(chan struct{}, 1),
	}
	e.defs = newDefinitionCache(cfg.Store, cfg.Registry)
	e.triggers = newTriggerCache(cfg.TriggerCacheTTL, cfg.Now)
	return e, nil
}

// Store returns the engine's store, for read-only queries.
func (e *Engine) Store() workflow.Store { return e.store }

// Owner returns the name this engine claims runs under.
func (e *Engine) Owner() string { return e.cfg.Owner }

// signal wakes the dispatcher without blocking.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func defaultOwner() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "sluice"
	}
	return fmt.Sprintf("%s-%d-%04x", host, os.Getpid(), rand.IntN(0x10000))
}

// cancelLocal cancels the context of a run worked on in this process.
func (e *Engine) cancelLocal(runID string) {
	if c, ok := e.running.Load(runID); ok {
		if cancel, ok := c.(context.CancelFunc); ok {
			cancel()
		}
	}
}
