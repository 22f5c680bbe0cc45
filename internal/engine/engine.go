// Package engine runs workflows durably: it claims due runs from the store
// (lease + fencing token), executes the current step through the step
// registry, checkpoints the step's result and the run's next state in one
// transaction, continues in-process while steps are immediate, and parks
// runs (next_run_at) for delays and retry backoff. It imports no adapter.
package engine

import (
	"context"
	"encoding/json"
	"log/slog"
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
	// Owner names this engine in leases. Defaults to hostname-pid-random.
	Owner string
	// Workers is how many steps run at once. Defaults to 64.
	Workers int
	// ClaimBatch is how many due runs one claim takes at most. Defaults to
	// Workers.
	ClaimBatch int
	// LeaseFor is how long a claim holds a run before another worker may
	// take it over. Defaults to 60s.
	LeaseFor time.Duration
	// PollInterval bounds how long the engine sleeps between looks for due
	// runs that no in-process signal announced. Defaults to 1s.
	PollInterval time.Duration
	// ShutdownTimeout is how long Run waits for running steps after its
	// context ends before cancelling them. Defaults to 10s.
	ShutdownTimeout time.Duration
	// Middleware wraps every step execution, outermost first.
	Middleware []step.Middleware
	// Random returns a float in [0,1) for retry jitter. Defaults to
	// math/rand/v2.Float64.
	Random func() float64
}

// Engine runs workflows. Create it with New; call Run to process runs.
type Engine struct {
	cfg Config
}

// New validates cfg, fills defaults and returns an Engine.
func New(cfg Config) (*Engine, error) {
	panic("TODO")
}

// Store returns the engine's store, for read-only queries.
func (e *Engine) Store() workflow.Store { return e.cfg.Store }

// Run processes due runs until ctx ends, then stops claiming, waits up to
// ShutdownTimeout for running steps, cancels the rest and releases their
// leases. It returns nil after a clean shutdown.
func (e *Engine) Run(ctx context.Context) error {
	panic("TODO")
}

// ValidateWorkflow parses and validates a DSL document. It returns nil or a
// *workflow.Error with code EINVALID listing every problem with its JSON
// pointer.
func (e *Engine) ValidateWorkflow(raw []byte) error {
	panic("TODO")
}

// PutWorkflow validates and stores a DSL document. An unchanged document
// returns the existing latest version with created=false.
func (e *Engine) PutWorkflow(ctx context.Context, raw []byte) (v *workflow.WorkflowVersion, created bool, err error) {
	panic("TODO")
}

// StartParams are the arguments of Engine.Start. Exactly one of WorkflowID
// and TriggerKey is set.
type StartParams struct {
	// WorkflowID starts the latest version of a workflow by id (API trigger).
	WorkflowID string
	// TriggerKey starts the enabled workflow with this webhook key.
	TriggerKey string
	// IdempotencyKey deduplicates starts per trigger. Required.
	IdempotencyKey string
	// Input is the trigger body (any JSON value; empty means null).
	Input json.RawMessage
}

// Start durably starts a run, or returns the run an earlier start with the
// same idempotency key created (existing=true). ENOTFOUND for an unknown or
// disabled workflow or trigger key; EIDEMPOTENCY when the key was used with a
// different input; EINVALID for bad params.
func (e *Engine) Start(ctx context.Context, p *StartParams) (run *workflow.Run, existing bool, err error) {
	panic("TODO")
}

// Cancel cancels a pending, waiting or running run; a step running in this
// process is told through its context. ENOTFOUND, ECONFLICT (terminal).
func (e *Engine) Cancel(ctx context.Context, runID, reason string) (*workflow.Run, error) {
	panic("TODO")
}

// ReplayParams are the arguments of Engine.Replay.
type ReplayParams struct {
	RunID string
	// From is "start" or "failed_step".
	From workflow.ReplayFrom
	// Input, when non-nil, replaces the run's input.
	Input json.RawMessage
	// RequestedBy names the caller, recorded in the replay history.
	RequestedBy string
}

// Replay restarts a dead-lettered, completed or cancelled run as a new
// generation. ENOTFOUND, ECONFLICT (not terminal, or failed_step on a
// completed run), EINVALID (bad From).
func (e *Engine) Replay(ctx context.Context, p *ReplayParams) (*workflow.Run, error) {
	panic("TODO")
}

// ReplayDeadLetter replays the run of a dead letter.
func (e *Engine) ReplayDeadLetter(ctx context.Context, deadLetterID string, from workflow.ReplayFrom, requestedBy string) (*workflow.Run, error) {
	panic("TODO")
}
