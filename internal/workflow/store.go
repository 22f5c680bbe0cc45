package workflow

import (
	"context"
	"encoding/json"
	"time"
)

// Store is the durable state of Sluice. SQLite (embedded default) and
// PostgreSQL implement it; both pass the conformance suite in
// internal/store/storetest. Methods take the current time in their params
// (never reading a clock themselves) so that callers and tests control time.
//
// Errors are *Error values: ENOTFOUND for unknown ids, ECONFLICT for state
// conflicts, EIDEMPOTENCY for reused idempotency keys, ELEASELOST when a
// fencing token is stale, EUNAVAILABLE when the database cannot be reached.
// Drivers map their own errors to these codes.
type Store interface {
	// WorkflowPut stores a workflow version. When Hash equals the hash of the
	// workflow's latest version, nothing new is stored and the latest version
	// is returned with created=false (a disabled workflow is re-enabled).
	// Otherwise a new version (latest+1, or 1) is stored and the workflow is
	// enabled. ECONFLICT if another enabled workflow has the same TriggerKey.
	WorkflowPut(ctx context.Context, p *WorkflowPutParams) (v *WorkflowVersion, created bool, err error)
	// WorkflowGet returns one version (Version > 0) or the latest (Version 0),
	// disabled workflows included. ENOTFOUND if unknown.
	WorkflowGet(ctx context.Context, p *WorkflowGetParams) (*WorkflowVersion, error)
	// WorkflowGetByTrigger returns the latest version of the enabled workflow
	// with the given webhook key. ENOTFOUND if none.
	WorkflowGetByTrigger(ctx context.Context, triggerKey string) (*WorkflowVersion, error)
	// WorkflowList returns the latest version of every workflow (disabled
	// ones included), ordered by workflow id.
	WorkflowList(ctx context.Context) ([]*WorkflowVersion, error)
	// WorkflowDisable disables a workflow's trigger; runs and versions stay.
	// ENOTFOUND if unknown.
	WorkflowDisable(ctx context.Context, p *WorkflowDisableParams) error

	// RunStart inserts a pending run due at p.Now, unless a run with the same
	// (TriggerKey, IdempotencyKey) exists: then that run is returned with
	// existing=true if its RequestHash matches, else EIDEMPOTENCY. The run
	// and its idempotency record are one transaction.
	RunStart(ctx context.Context, p *RunStartParams) (run *Run, existing bool, err error)
	// RunGet returns a run. ENOTFOUND if unknown.
	RunGet(ctx context.Context, id string) (*Run, error)
	// RunList returns runs newest first with a stable cursor.
	RunList(ctx context.Context, p *RunListParams) (*RunPage, error)
	// RunClaim claims up to p.Limit due runs (DueAt <= p.Now, oldest due
	// first): each gets status running, LeaseOwner p.Owner, LeaseToken+1,
	// DueAt p.Now+p.LeaseFor and StartedAt if unset. A run that was running
	// (its lease expired) also gets Attempt+1 and an interrupted
	// StepExecution recording the lost attempt, with the IdempotencyKey that
	// attempt was given (StepIdempotencyKey) and an empty StepType (the
	// store does not read definitions). Returns the claimed runs as they are
	// after the claim.
	RunClaim(ctx context.Context, p *RunClaimParams) ([]*Run, error)
	// RunCheckpoint records a step's outcome in one transaction: inserts
	// p.Execution, updates the run to its next state, inserts p.Outbox rows
	// and p.DeadLetter. ELEASELOST (and nothing written) if the run's
	// LeaseToken is not p.LeaseToken.
	RunCheckpoint(ctx context.Context, p *RunCheckpointParams) error
	// RunExtendLease moves a running run's lease expiry to p.Until.
	// ELEASELOST if the token is stale.
	RunExtendLease(ctx context.Context, p *RunLeaseParams) error
	// RunRelease gives a claimed run back without progress (graceful
	// shutdown): status pending (or waiting if Attempt > 1), due at p.Now,
	// lease cleared. ELEASELOST if the token is stale.
	RunRelease(ctx context.Context, p *RunLeaseParams) error
	// RunExpireLeases ends the leases of running runs now, as if they had
	// expired: those held by p.Owner, or every running run when p.Owner is
	// "". The next claim takes them over as usual (Attempt+1 and an
	// interrupted StepExecution). It is for a caller that knows the holder
	// is dead: a process restarted under the same owner name, or the only
	// process of an embedded database starting up. Returns how many runs it
	// touched.
	RunExpireLeases(ctx context.Context, p *RunExpireLeasesParams) (int, error)
	// RunCancel cancels a pending, running or waiting run: status cancelled,
	// LeaseToken+1 (so a worker still running it cannot commit), DueAt nil.
	// ENOTFOUND if unknown; ECONFLICT if the run is terminal.
	RunCancel(ctx context.Context, p *RunCancelParams) (*Run, error)
	// RunReplay restarts a terminal run as a new generation: status pending,
	// due now, Attempt 1, LeaseToken+1, Error and Output cleared, FinishedAt
	// nil, and a Replay record. From start: CurrentStepID = p.StartStepID and
	// Steps emptied. From the failed step: CurrentStepID and Steps kept
	// (ECONFLICT for a completed run). p.Input, if set, replaces the input.
	// The run's open dead letter, if any, gets ReplayedAt. ENOTFOUND if
	// unknown; ECONFLICT if the run is not terminal.
	RunReplay(ctx context.Context, p *RunReplayParams) (*Run, error)
	// RunNextDue returns the earliest DueAt of any run, ok=false if none.
	RunNextDue(ctx context.Context) (due time.Time, ok bool, err error)

	// StepExecutionList returns a run's step executions, all generations, in
	// the order they were recorded.
	StepExecutionList(ctx context.Context, runID string) ([]*StepExecution, error)
	// ReplayList returns a run's replays, oldest first.
	ReplayList(ctx context.Context, runID string) ([]*Replay, error)

	// DeadLetterList returns dead letters newest first.
	DeadLetterList(ctx context.Context, p *DeadLetterListParams) ([]*DeadLetter, error)
	// DeadLetterGet returns one dead letter. ENOTFOUND if unknown.
	DeadLetterGet(ctx context.Context, id string) (*DeadLetter, error)

	// OutboxList returns outbox messages oldest first.
	OutboxList(ctx context.Context, p *OutboxListParams) ([]*OutboxMessage, error)

	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}

// WorkflowPutParams are the arguments of Store.WorkflowPut.
type WorkflowPutParams struct {
	ID          string
	Name        string
	TriggerType string
	TriggerKey  string
	Definition  json.RawMessage
	Hash        string
	Now         time.Time
}

// WorkflowGetParams are the arguments of Store.WorkflowGet.
type WorkflowGetParams struct {
	ID string
	// Version 0 means the latest.
	Version int
}

// WorkflowDisableParams are the arguments of Store.WorkflowDisable.
type WorkflowDisableParams struct {
	ID  string
	Now time.Time
}

// RunStartParams are the arguments of Store.RunStart.
type RunStartParams struct {
	// ID is the new run's id (UUIDv7), chosen by the caller.
	ID              string
	WorkflowID      string
	WorkflowVersion int
	// StartStepID becomes CurrentStepID.
	StartStepID    string
	TriggerKey     string
	IdempotencyKey string
	RequestHash    string
	Input          json.RawMessage
	Now            time.Time
}

// RunListParams are the arguments of Store.RunList.
type RunListParams struct {
	// WorkflowID and Status filter when set.
	WorkflowID string
	Status     RunStatus
	// Limit is the page size (1..1000).
	Limit int
	// Cursor is RunPage.NextCursor of the previous page, or "".
	Cursor string
}

// RunPage is one page of Store.RunList.
type RunPage struct {
	Runs []*Run
	// NextCursor is "" on the last page.
	NextCursor string
}

// RunClaimParams are the arguments of Store.RunClaim.
type RunClaimParams struct {
	Owner    string
	Limit    int
	LeaseFor time.Duration
	Now      time.Time
	// NewExecutionID makes ids for interrupted step executions.
	NewExecutionID func() string
}

// RunCheckpointParams are the arguments of Store.RunCheckpoint.
type RunCheckpointParams struct {
	RunID      string
	LeaseToken int64
	Now        time.Time
	// Execution is the step execution to record.
	Execution *StepExecution
	// Status is the run's next status: running (the worker continues with
	// CurrentStepID while holding the lease until LeaseUntil), pending or
	// waiting (due at NextRunAt, lease released), completed or dead_lettered
	// (terminal, DueAt nil).
	Status        RunStatus
	CurrentStepID string
	Attempt       int
	// Steps is the run's new step-output object.
	Steps json.RawMessage
	// Output is the final output (completed runs).
	Output json.RawMessage
	// Error is the run's error ("" clears it).
	Error      string
	NextRunAt  time.Time
	LeaseUntil time.Time
	// Outbox rows to insert.
	Outbox []*OutboxMessage
	// DeadLetter to insert when Status is dead_lettered.
	DeadLetter *DeadLetter
}

// RunLeaseParams are the arguments of Store.RunExtendLease and
// Store.RunRelease.
type RunLeaseParams struct {
	RunID      string
	LeaseToken int64
	Until      time.Time
	Now        time.Time
}

// RunExpireLeasesParams are the arguments of Store.RunExpireLeases.
type RunExpireLeasesParams struct {
	// Owner limits the expiry to one lease holder; "" means every holder.
	Owner string
	Now   time.Time
}

// RunCancelParams are the arguments of Store.RunCancel.
type RunCancelParams struct {
	RunID  string
	Reason string
	Now    time.Time
}

// RunReplayParams are the arguments of Store.RunReplay.
type RunReplayParams struct {
	RunID       string
	From        ReplayFrom
	StartStepID string
	// Input replaces the run's input when non-nil.
	Input       json.RawMessage
	RequestedBy string
	// ReplayID is the new Replay record's id.
	ReplayID string
	Now      time.Time
}

// DeadLetterListParams are the arguments of Store.DeadLetterList.
type DeadLetterListParams struct {
	WorkflowID string
	Limit      int
}

// OutboxListParams are the arguments of Store.OutboxList.
type OutboxListParams struct {
	Status OutboxStatus
	Limit  int
}
