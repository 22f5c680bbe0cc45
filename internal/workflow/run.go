package workflow

import (
	"crypto/sha1" //nolint:gosec // RFC 4122 name-based UUIDs are defined with SHA-1; not a security use.
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"
)

// RunStatus is the state of a run. See docs/architecture.md for the diagram.
type RunStatus string

// Run statuses.
const (
	// RunPending: accepted, due now, not yet claimed by a worker.
	RunPending RunStatus = "pending"
	// RunRunning: claimed by a worker holding a lease.
	RunRunning RunStatus = "running"
	// RunWaiting: parked until NextRunAt (a delay step or retry backoff).
	RunWaiting RunStatus = "waiting"
	// RunCompleted: the last step succeeded.
	RunCompleted RunStatus = "completed"
	// RunDeadLettered: a step failed for good; a DeadLetter holds the details.
	RunDeadLettered RunStatus = "dead_lettered"
	// RunCancelled: cancelled through the API.
	RunCancelled RunStatus = "cancelled"
)

// RunStatuses lists every status, in lifecycle order.
var RunStatuses = []RunStatus{RunPending, RunRunning, RunWaiting, RunCompleted, RunDeadLettered, RunCancelled}

// Valid reports whether s is a known status.
func (s RunStatus) Valid() bool {
	for _, k := range RunStatuses {
		if s == k {
			return true
		}
	}
	return false
}

// Terminal reports whether a run in status s will never run again unless
// replayed.
func (s RunStatus) Terminal() bool {
	return s == RunCompleted || s == RunDeadLettered || s == RunCancelled
}

// Cancellable reports whether a run in status s may be cancelled.
func (s RunStatus) Cancellable() bool {
	return s == RunPending || s == RunRunning || s == RunWaiting
}

// Replayable reports whether a run in status s may be replayed.
func (s RunStatus) Replayable() bool { return s.Terminal() }

// Run is one execution of one workflow version. The run row is also the
// queue entry: it is due when DueAt <= now.
type Run struct {
	// ID is a UUIDv7 (time ordered).
	ID string
	// WorkflowID and WorkflowVersion pin the definition the run started with.
	WorkflowID      string
	WorkflowVersion int
	// Status is the run's state.
	Status RunStatus
	// CurrentStepID is the step to run next, or the step that ended the run.
	CurrentStepID string
	// Attempt is the attempt number (1-based) of CurrentStepID.
	Attempt int
	// Generation counts replays: 0 for the original run, +1 per replay.
	Generation int
	// Input is the trigger body.
	Input json.RawMessage
	// Steps holds the recorded outputs of the steps that completed in the
	// current generation, as a JSON object {stepID: output}.
	Steps json.RawMessage
	// Output is the output of the last step once the run completed.
	Output json.RawMessage
	// Error is the last error (failed attempt, dead letter, cancellation).
	Error string
	// TriggerKey and IdempotencyKey identify the start request.
	TriggerKey     string
	IdempotencyKey string
	// RequestHash is a hash of the start input, to detect a reused key with a
	// different body.
	RequestHash string
	// DueAt is when the run is next due: NextRunAt for pending and waiting
	// runs, the lease expiry for running runs, nil for terminal runs.
	DueAt *time.Time
	// LeaseOwner and LeaseToken identify the current claim. LeaseToken grows
	// by one on every claim and every cancel/replay; every write of a claimed
	// run checks it (fencing).
	LeaseOwner string
	LeaseToken int64
	// CreatedAt, UpdatedAt, StartedAt (first claim) and FinishedAt (terminal).
	CreatedAt  time.Time
	UpdatedAt  time.Time
	StartedAt  *time.Time
	FinishedAt *time.Time
}

// StepOutputs decodes Steps into a map.
func (r *Run) StepOutputs() (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	if len(r.Steps) == 0 {
		return out, nil
	}
	if err := json.Unmarshal(r.Steps, &out); err != nil {
		return nil, Errorf(EINTERNAL, "decode step outputs of run %s: %v", r.ID, err)
	}
	return out, nil
}

// StepStatus is the outcome of one step execution.
type StepStatus string

// Step execution statuses.
const (
	// StepCompleted: the handler succeeded.
	StepCompleted StepStatus = "completed"
	// StepFailed: the handler returned an error or timed out.
	StepFailed StepStatus = "failed"
	// StepInterrupted: the worker lost its lease (crash, pause) while the step
	// may have been running; the step runs again (at-least-once).
	StepInterrupted StepStatus = "interrupted"
)

// StepExecution is one attempt of one step, recorded in the same transaction
// as the run's next state.
type StepExecution struct {
	// ID is a UUIDv7.
	ID string
	// RunID, Generation, StepID, StepType and Attempt identify the attempt.
	RunID      string
	Generation int
	StepID     string
	StepType   string
	Attempt    int
	// Status is the attempt's outcome.
	Status StepStatus
	// Input is what the step was asked to do (its rendered config).
	Input json.RawMessage
	// Output is the handler's result; nil unless completed.
	Output json.RawMessage
	// Error is set unless completed.
	Error string
	// IdempotencyKey is the key the handler received for this step.
	IdempotencyKey string
	// StartedAt and FinishedAt bracket the attempt.
	StartedAt  time.Time
	FinishedAt time.Time
}

// DeadLetter records a run whose step failed for good.
type DeadLetter struct {
	// ID is a UUIDv7.
	ID string
	// RunID, Generation, WorkflowID and WorkflowVersion locate the run.
	RunID           string
	Generation      int
	WorkflowID      string
	WorkflowVersion int
	// StepID and StepType name the failed step.
	StepID   string
	StepType string
	// Reason is why the step failed for good: DeadLetterExhausted or
	// DeadLetterNonRetryable.
	Reason string
	// Attempts is how many attempts the step made.
	Attempts int
	// LastError is the error of the last attempt.
	LastError string
	// Input is the run's input.
	Input json.RawMessage
	// CreatedAt is when the run was dead-lettered.
	CreatedAt time.Time
	// ReplayedAt is set once the dead letter was replayed.
	ReplayedAt *time.Time
}

// Dead-letter reasons.
const (
	DeadLetterExhausted    = "retries_exhausted"
	DeadLetterNonRetryable = "non_retryable"
)

// ReplayFrom says where a replay restarts a run.
type ReplayFrom string

// Replay origins.
const (
	// ReplayFromStart re-runs every step with a new generation.
	ReplayFromStart ReplayFrom = "start"
	// ReplayFromFailedStep re-runs the step the run stopped at, reusing the
	// recorded outputs of the steps before it.
	ReplayFromFailedStep ReplayFrom = "failed_step"
)

// Valid reports whether f is a known origin.
func (f ReplayFrom) Valid() bool { return f == ReplayFromStart || f == ReplayFromFailedStep }

// Replay records one replay of a run.
type Replay struct {
	// ID is a UUIDv7.
	ID string
	// RunID is the replayed run; Generation is the generation the replay
	// started.
	RunID      string
	Generation int
	// From, StepID (the step it restarted at) and PreviousStatus describe it.
	From           ReplayFrom
	StepID         string
	PreviousStatus RunStatus
	// InputReplaced is true when the replay supplied a new input.
	InputReplaced bool
	// RequestedBy names who asked (API caller, "deadletter:<id>").
	RequestedBy string
	// CreatedAt is when the replay was requested.
	CreatedAt time.Time
}

// OutboxStatus is the delivery state of an outbox message.
type OutboxStatus string

// Outbox statuses.
const (
	OutboxPending OutboxStatus = "pending"
	OutboxSent    OutboxStatus = "sent"
	OutboxFailed  OutboxStatus = "failed"
)

// Valid reports whether s is a known outbox status.
func (s OutboxStatus) Valid() bool {
	return s == OutboxPending || s == OutboxSent || s == OutboxFailed
}

// OutboxMessage is a message written in a step's transaction, to be
// delivered to a broker by the relay.
type OutboxMessage struct {
	// ID is a UUIDv7.
	ID string
	// RunID and StepID name the step that wrote it.
	RunID  string
	StepID string
	// Exchange, RoutingKey, Message (JSON) and Headers describe the message.
	Exchange   string
	RoutingKey string
	Message    json.RawMessage
	Headers    map[string]string
	// MessageID is the step's idempotency key, for consumer-side dedup.
	MessageID string
	// Status, Attempts and LastError track delivery.
	Status    OutboxStatus
	Attempts  int
	LastError string
	// CreatedAt and SentAt.
	CreatedAt time.Time
	SentAt    *time.Time
}

// StepIdempotencyKey derives the idempotency key of one step of one
// generation of a run: the same for every attempt and crash re-run of that
// step, new after a replay. It is a name-based (version 5) UUID, so the
// engine and the store (recording interrupted attempts) derive the same key.
func StepIdempotencyKey(runID string, generation int, stepID string) string {
	return uuidV5(stepKeyNamespace, "sluice:"+runID+":"+strconv.Itoa(generation)+":"+stepID)
}

// stepKeyNamespace is the RFC 4122 URL namespace.
var stepKeyNamespace = [16]byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}

// uuidV5 implements RFC 4122 section 4.3 with SHA-1.
func uuidV5(namespace [16]byte, name string) string {
	h := sha1.New()
	h.Write(namespace[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = (u[6] & 0x0f) | 0x50 // version 5
	u[8] = (u[8] & 0x3f) | 0x80 // RFC 4122 variant
	var buf [36]byte
	hex.Encode(buf[0:8], u[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], u[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], u[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], u[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:], u[10:])
	return string(buf[:])
}
