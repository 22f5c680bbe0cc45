package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/internal/dsl"
	"github.com/sluicehq/sluice/internal/workflow"
)

// ValidateWorkflow parses and validates a DSL document. It returns nil or a
// *workflow.Error with code EINVALID listing every problem with its JSON
// pointer.
func (e *Engine) ValidateWorkflow(raw []byte) error {
	_, err := dsl.Compile(raw, e.cfg.Registry)
	return err
}

// PutWorkflow validates and stores a DSL document. An unchanged document
// returns the existing latest version with created=false.
func (e *Engine) PutWorkflow(ctx context.Context, raw []byte) (v *workflow.WorkflowVersion, created bool, err error) {
	compiled, err := dsl.Compile(raw, e.cfg.Registry)
	if err != nil {
		return nil, false, err
	}
	def := compiled.Definition
	v, created, err = e.store.WorkflowPut(ctx, &workflow.WorkflowPutParams{
		ID:          def.ID,
		Name:        def.Name,
		TriggerType: def.Trigger.Type,
		TriggerKey:  def.Trigger.Key,
		Definition:  compiled.Canonical,
		Hash:        compiled.Hash,
		Now:         e.cfg.Now(),
	})
	if err != nil {
		return nil, false, fmt.Errorf("save workflow %s: %w", def.ID, err)
	}
	if created {
		e.defs.put(v.WorkflowID, v.Version, compiled)
	}
	e.triggers.clear()
	return v, created, nil
}

// DisableWorkflow disables a workflow's trigger; its versions and runs stay.
func (e *Engine) DisableWorkflow(ctx context.Context, workflowID string) error {
	err := e.store.WorkflowDisable(ctx, &workflow.WorkflowDisableParams{ID: workflowID, Now: e.cfg.Now()})
	e.triggers.clear()
	if err != nil {
		return fmt.Errorf("disable workflow %s: %w", workflowID, err)
	}
	return nil
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
	var problems []workflow.FieldError
	if (p.WorkflowID == "") == (p.TriggerKey == "") {
		problems = append(problems, workflow.FieldError{Path: "/workflowId", Message: "exactly one of workflowId and triggerKey is required"})
	}
	if p.IdempotencyKey == "" {
		problems = append(problems, workflow.FieldError{Path: "/idempotencyKey", Message: "idempotency key is required"})
	} else if len(p.IdempotencyKey) > 255 {
		problems = append(problems, workflow.FieldError{Path: "/idempotencyKey", Message: "idempotency key is longer than 255 bytes"})
	}
	input, err := compactInput(p.Input)
	if err != nil {
		problems = append(problems, workflow.FieldError{Path: "/input", Message: err.Error()})
	}
	if len(problems) > 0 {
		return nil, false, workflow.Invalid("invalid start request", problems...)
	}
	v, triggerKey, err := e.resolveTrigger(ctx, p)
	if err != nil {
		return nil, false, err
	}
	compiled, err := e.defs.get(ctx, v.WorkflowID, v.Version)
	if err != nil {
		return nil, false, err
	}
	run, existing, err = e.store.RunStart(ctx, &workflow.RunStartParams{
		ID:              newID(),
		WorkflowID:      v.WorkflowID,
		WorkflowVersion: v.Version,
		StartStepID:     compiled.Definition.StartAt,
		TriggerKey:      triggerKey,
		IdempotencyKey:  p.IdempotencyKey,
		RequestHash:     requestHash(input),
		Input:           input,
		Now:             e.cfg.Now(),
	})
	if err != nil {
		return nil, false, fmt.Errorf("start run of %s: %w", v.WorkflowID, err)
	}
	if !existing {
		signal(e.wake)
		e.emit(runEvent(EventStarted, run, run.CreatedAt))
	}
	return run, existing, nil
}

// resolveTrigger finds the workflow version a start request starts and the
// idempotency scope (trigger key) of the request.
func (e *Engine) resolveTrigger(ctx context.Context, p *StartParams) (*workflow.WorkflowVersion, string, error) {
	scope := "webhook:" + p.TriggerKey
	if p.WorkflowID != "" {
		scope = "workflow:" + p.WorkflowID
	}
	if v, ok := e.triggers.get(scope); ok {
		return v, scope, nil
	}
	var v *workflow.WorkflowVersion
	var err error
	if p.TriggerKey != "" {
		v, err = e.store.WorkflowGetByTrigger(ctx, p.TriggerKey)
		if err != nil {
			return nil, "", fmt.Errorf("resolve webhook %q: %w", p.TriggerKey, err)
		}
	} else {
		v, err = e.store.WorkflowGet(ctx, &workflow.WorkflowGetParams{ID: p.WorkflowID})
		if err != nil {
			return nil, "", fmt.Errorf("resolve workflow %q: %w", p.WorkflowID, err)
		}
		if !v.Enabled {
			return nil, "", workflow.Errorf(workflow.ENOTFOUND, "workflow %q is disabled", p.WorkflowID)
		}
	}
	e.triggers.put(scope, v)
	return v, scope, nil
}

// compactInput checks that input is JSON and strips insignificant
// whitespace, so that the same document hashes the same.
func compactInput(input json.RawMessage) (json.RawMessage, error) {
	if len(bytes.TrimSpace(input)) == 0 {
		return json.RawMessage("null"), nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, input); err != nil {
		return nil, fmt.Errorf("input is not valid JSON: %w", err)
	}
	return buf.Bytes(), nil
}

// Cancel cancels a pending, waiting or running run; a step running in this
// process is told through its context. ENOTFOUND, ECONFLICT (terminal).
func (e *Engine) Cancel(ctx context.Context, runID, reason string) (*workflow.Run, error) {
	run, err := e.store.RunCancel(ctx, &workflow.RunCancelParams{RunID: runID, Reason: reason, Now: e.cfg.Now()})
	if err != nil {
		return nil, fmt.Errorf("cancel run %s: %w", runID, err)
	}
	e.cancelLocal(runID)
	e.emit(runEvent(EventCancelled, run, run.UpdatedAt))
	return run, nil
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
// completed run), EINVALID (bad From or input).
func (e *Engine) Replay(ctx context.Context, p *ReplayParams) (*workflow.Run, error) {
	if !p.From.Valid() {
		return nil, workflow.Invalid("invalid replay request",
			workflow.FieldError{Path: "/from", Message: fmt.Sprintf("must be %q or %q, got %q", workflow.ReplayFromStart, workflow.ReplayFromFailedStep, p.From)})
	}
	var input json.RawMessage
	if p.Input != nil {
		var err error
		if input, err = compactInput(p.Input); err != nil {
			return nil, workflow.Invalid("invalid replay request", workflow.FieldError{Path: "/input", Message: err.Error()})
		}
	}
	run, err := e.store.RunGet(ctx, p.RunID)
	if err != nil {
		return nil, fmt.Errorf("replay run %s: %w", p.RunID, err)
	}
	compiled, err := e.defs.get(ctx, run.WorkflowID, run.WorkflowVersion)
	if err != nil {
		return nil, err
	}
	run, err = e.store.RunReplay(ctx, &workflow.RunReplayParams{
		RunID:       p.RunID,
		From:        p.From,
		StartStepID: compiled.Definition.StartAt,
		Input:       input,
		RequestedBy: p.RequestedBy,
		ReplayID:    newID(),
		Now:         e.cfg.Now(),
	})
	if err != nil {
		return nil, fmt.Errorf("replay run %s: %w", p.RunID, err)
	}
	signal(e.wake)
	e.emit(runEvent(EventReplayed, run, run.UpdatedAt))
	return run, nil
}

// ReplayDeadLetter replays the run of a dead letter, optionally with a
// replacement input (nil keeps the run's input). ECONFLICT if the dead letter
// was already replayed.
func (e *Engine) ReplayDeadLetter(ctx context.Context, deadLetterID string, from workflow.ReplayFrom, input json.RawMessage, requestedBy string) (*workflow.Run, error) {
	dl, err := e.store.DeadLetterGet(ctx, deadLetterID)
	if err != nil {
		return nil, fmt.Errorf("replay dead letter %s: %w", deadLetterID, err)
	}
	if dl.ReplayedAt != nil {
		return nil, workflow.Errorf(workflow.ECONFLICT, "dead letter %s was already replayed at %s", dl.ID, dl.ReplayedAt.UTC().Format(time.RFC3339))
	}
	return e.Replay(ctx, &ReplayParams{RunID: dl.RunID, From: from, Input: input, RequestedBy: requestedBy})
}
