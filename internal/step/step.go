// Package step defines how step types plug into the engine: the Handler
// interface that compiles a step's config once per definition version, the
// Action it yields, the control errors an action returns to steer its step
// (retry, fail now, retry after), the Registry the wiring fills, and the
// Middleware type for cross-cutting concerns. It imports no adapter.
package step

import (
	"context"
	"encoding/json"
	"time"

	"github.com/sluicehq/sluice/internal/expr"
	"github.com/sluicehq/sluice/internal/workflow"
)

// Handler is one step type. Compile is called once per definition version,
// when the definition is saved or first loaded.
type Handler interface {
	// Compile validates config and compiles its expressions. It returns a
	// *workflow.Error with code EINVALID whose Fields carry JSON pointers
	// relative to the config object (e.g. "/url"), listing every problem.
	Compile(config json.RawMessage) (Action, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(config json.RawMessage) (Action, error)

// Compile implements Handler.
func (f HandlerFunc) Compile(config json.RawMessage) (Action, error) { return f(config) }

// Action is a compiled step, safe for concurrent use by many runs.
type Action interface {
	// Execute runs the step once. ctx carries the step timeout and the run's
	// cancellation. A nil error means success; errors steer the step (see
	// Permanent, RetryAfter); any other error is retried per policy.
	Execute(ctx context.Context, req *Request) (*Result, error)
}

// ActionFunc adapts a function to Action.
type ActionFunc func(ctx context.Context, req *Request) (*Result, error)

// Execute implements Action.
func (f ActionFunc) Execute(ctx context.Context, req *Request) (*Result, error) { return f(ctx, req) }

// Request is what an action gets for one attempt.
type Request struct {
	// RunID, WorkflowID, WorkflowVersion, StepID, StepType and Attempt
	// identify the attempt.
	RunID           string
	WorkflowID      string
	WorkflowVersion int
	StepID          string
	StepType        string
	Attempt         int
	// IdempotencyKey is the same across retries and crash re-runs of this
	// step and new after a replay. Pass it downstream.
	IdempotencyKey string
	// Scope is what expressions and templates see: input, steps, run.
	Scope *expr.Scope
	// Now is the engine clock's time at the start of the attempt.
	Now time.Time
}

// Result is a successful step's outcome.
type Result struct {
	// Input is what the step did, as recorded in its step execution (e.g.
	// the rendered HTTP request). Optional.
	Input any
	// Output becomes steps.<id>.output; it must marshal to JSON.
	Output any
	// Branch selects onTrue/onFalse for branching steps; nil follows next.
	Branch *bool
	// WaitUntil, when non-zero, parks the run as waiting until then before
	// the successor runs (delay steps).
	WaitUntil time.Time
	// Outbox messages to write in the step's transaction. RunID, StepID, ID,
	// Status and CreatedAt are filled by the engine; MessageID defaults to
	// the request's IdempotencyKey.
	Outbox []*workflow.OutboxMessage
}

// ExecuteFunc is the signature middleware wraps.
type ExecuteFunc func(ctx context.Context, req *Request) (*Result, error)

// Middleware wraps every action's Execute (tracing, metrics, logging).
type Middleware func(next ExecuteFunc) ExecuteFunc
