package api

import (
	"encoding/json"
	"time"

	"github.com/sluicehq/sluice/internal/workflow"
)

// Wire types. Field names are camelCase and part of the API contract.

// Workflow is one stored version of a workflow definition.
type Workflow struct {
	WorkflowID    string          `json:"workflowId" example:"ai-triage-flow" doc:"The workflow's stable id."`
	Version       int             `json:"version" example:"1" doc:"This version's number; it grows by one for every changed definition."`
	LatestVersion int             `json:"latestVersion" example:"1" doc:"The workflow's newest version."`
	Name          string          `json:"name" doc:"Human-readable title."`
	TriggerType   string          `json:"triggerType" enum:"webhook,manual" doc:"How runs start."`
	TriggerKey    string          `json:"triggerKey,omitempty" example:"ai-triage" doc:"Webhook key: runs start with POST /api/webhooks/{triggerKey}."`
	Enabled       bool            `json:"enabled" doc:"False once the workflow was deleted (trigger disabled); history is kept."`
	Hash          string          `json:"hash" doc:"Content hash of the definition, used to detect unchanged saves."`
	CreatedAt     time.Time       `json:"createdAt" doc:"When this version was saved."`
	Definition    json.RawMessage `json:"definition,omitempty" doc:"The DSL document of this version (omitted in lists)."`
}

func workflowOut(v *workflow.WorkflowVersion, withDefinition bool) Workflow {
	w := Workflow{
		WorkflowID:    v.WorkflowID,
		Version:       v.Version,
		LatestVersion: v.LatestVersion,
		Name:          v.Name,
		TriggerType:   v.TriggerType,
		TriggerKey:    v.TriggerKey,
		Enabled:       v.Enabled,
		Hash:          v.Hash,
		CreatedAt:     v.CreatedAt.UTC(),
	}
	if withDefinition {
		w.Definition = v.Definition
	}
	return w
}

// Instance is a run (workflow instance) without its history.
type Instance struct {
	ID              string          `json:"id" example:"0190f5c4-7a1e-7cc2-9d0a-3f1a2b3c4d5e" doc:"Run id (UUIDv7)."`
	WorkflowID      string          `json:"workflowId" example:"ai-triage-flow" doc:"The workflow the run belongs to."`
	WorkflowVersion int             `json:"workflowVersion" example:"1" doc:"The definition version the run started with."`
	Status          string          `json:"status" enum:"pending,running,waiting,completed,dead_lettered,cancelled" doc:"The run's state."`
	CurrentStepID   string          `json:"currentStepId" doc:"The step to run next, or the step that ended the run."`
	Attempt         int             `json:"attempt" doc:"Attempt number (1-based) of the current step."`
	Generation      int             `json:"generation" doc:"0 for the original run, +1 per replay."`
	Input           json.RawMessage `json:"input" doc:"The trigger body."`
	Output          json.RawMessage `json:"output" doc:"The last step's output once completed, else null."`
	Error           string          `json:"error,omitempty" doc:"The last error (failed attempt, dead letter, cancellation)."`
	CreatedAt       time.Time       `json:"createdAt"`
	UpdatedAt       time.Time       `json:"updatedAt"`
	StartedAt       *time.Time      `json:"startedAt" doc:"First claim by a worker; null until then."`
	FinishedAt      *time.Time      `json:"finishedAt" doc:"When the run reached a terminal status; null until then."`
}

func instanceOut(r *workflow.Run) Instance {
	return Instance{
		ID:              r.ID,
		WorkflowID:      r.WorkflowID,
		WorkflowVersion: r.WorkflowVersion,
		Status:          string(r.Status),
		CurrentStepID:   r.CurrentStepID,
		Attempt:         r.Attempt,
		Generation:      r.Generation,
		Input:           jsonOrNull(r.Input),
		Output:          jsonOrNull(r.Output),
		Error:           r.Error,
		CreatedAt:       r.CreatedAt.UTC(),
		UpdatedAt:       r.UpdatedAt.UTC(),
		StartedAt:       utc(r.StartedAt),
		FinishedAt:      utc(r.FinishedAt),
	}
}

// InstanceDetail is a run with every step execution and replay.
type InstanceDetail struct {
	Instance
	Steps   []StepExecution `json:"steps" doc:"Every step execution of every generation, in the order recorded."`
	Replays []Replay        `json:"replays" doc:"Replay history, oldest first."`
}

// StepExecution is one attempt of one step.
type StepExecution struct {
	ID             string          `json:"id"`
	StepID         string          `json:"stepId" example:"classify"`
	Type           string          `json:"type" example:"ai" doc:"Step type."`
	Attempt        int             `json:"attempt"`
	Generation     int             `json:"generation"`
	Status         string          `json:"status" enum:"completed,failed,interrupted"`
	Input          json.RawMessage `json:"input" doc:"What the step was asked to do (its rendered config)."`
	Output         json.RawMessage `json:"output" doc:"The handler's result; null unless completed."`
	Error          string          `json:"error,omitempty"`
	IdempotencyKey string          `json:"idempotencyKey" doc:"The key the step passed downstream; the same across retries, new after a replay."`
	StartedAt      time.Time       `json:"startedAt"`
	FinishedAt     time.Time       `json:"finishedAt"`
}

func stepOut(e *workflow.StepExecution) StepExecution {
	return StepExecution{
		ID:             e.ID,
		StepID:         e.StepID,
		Type:           e.StepType,
		Attempt:        e.Attempt,
		Generation:     e.Generation,
		Status:         string(e.Status),
		Input:          jsonOrNull(e.Input),
		Output:         jsonOrNull(e.Output),
		Error:          e.Error,
		IdempotencyKey: e.IdempotencyKey,
		StartedAt:      e.StartedAt.UTC(),
		FinishedAt:     e.FinishedAt.UTC(),
	}
}

// Replay is one replay of a run.
type Replay struct {
	ID             string    `json:"id"`
	Generation     int       `json:"generation" doc:"The generation this replay started."`
	From           string    `json:"from" enum:"start,failed_step"`
	StepID         string    `json:"stepId" doc:"The step the replay restarted at."`
	PreviousStatus string    `json:"previousStatus" doc:"The run's status before the replay."`
	InputReplaced  bool      `json:"inputReplaced" doc:"True when the replay supplied a new input."`
	RequestedBy    string    `json:"requestedBy,omitempty"`
	CreatedAt      time.Time `json:"createdAt"`
}

func replayOut(r *workflow.Replay) Replay {
	return Replay{
		ID:             r.ID,
		Generation:     r.Generation,
		From:           string(r.From),
		StepID:         r.StepID,
		PreviousStatus: string(r.PreviousStatus),
		InputReplaced:  r.InputReplaced,
		RequestedBy:    r.RequestedBy,
		CreatedAt:      r.CreatedAt.UTC(),
	}
}

// DeadLetter is a run whose step failed for good.
type DeadLetter struct {
	ID              string          `json:"id"`
	InstanceID      string          `json:"instanceId" doc:"The dead-lettered run."`
	WorkflowID      string          `json:"workflowId"`
	WorkflowVersion int             `json:"workflowVersion"`
	Generation      int             `json:"generation"`
	StepID          string          `json:"stepId" doc:"The step that failed."`
	StepType        string          `json:"stepType"`
	Reason          string          `json:"reason" enum:"retries_exhausted,non_retryable"`
	Attempts        int             `json:"attempts"`
	LastError       string          `json:"lastError"`
	Input           json.RawMessage `json:"input" doc:"The run's input."`
	CreatedAt       time.Time       `json:"createdAt"`
	ReplayedAt      *time.Time      `json:"replayedAt" doc:"Set once the dead letter was replayed."`
}

func deadLetterOut(d *workflow.DeadLetter) DeadLetter {
	return DeadLetter{
		ID:              d.ID,
		InstanceID:      d.RunID,
		WorkflowID:      d.WorkflowID,
		WorkflowVersion: d.WorkflowVersion,
		Generation:      d.Generation,
		StepID:          d.StepID,
		StepType:        d.StepType,
		Reason:          d.Reason,
		Attempts:        d.Attempts,
		LastError:       d.LastError,
		Input:           jsonOrNull(d.Input),
		CreatedAt:       d.CreatedAt.UTC(),
		ReplayedAt:      utc(d.ReplayedAt),
	}
}

// OutboxMessage is a message written by a queue_publish step.
type OutboxMessage struct {
	ID         string            `json:"id"`
	InstanceID string            `json:"instanceId"`
	StepID     string            `json:"stepId"`
	Exchange   string            `json:"exchange" example:"sluice.events"`
	RoutingKey string            `json:"routingKey" example:"ticket.escalated"`
	Message    json.RawMessage   `json:"message"`
	Headers    map[string]string `json:"headers,omitempty"`
	MessageID  string            `json:"messageId" doc:"The step's idempotency key, for consumer-side deduplication."`
	Status     string            `json:"status" enum:"pending,sent,failed"`
	Attempts   int               `json:"attempts"`
	LastError  string            `json:"lastError,omitempty"`
	CreatedAt  time.Time         `json:"createdAt"`
	SentAt     *time.Time        `json:"sentAt"`
}

func outboxOut(m *workflow.OutboxMessage) OutboxMessage {
	return OutboxMessage{
		ID:         m.ID,
		InstanceID: m.RunID,
		StepID:     m.StepID,
		Exchange:   m.Exchange,
		RoutingKey: m.RoutingKey,
		Message:    jsonOrNull(m.Message),
		Headers:    m.Headers,
		MessageID:  m.MessageID,
		Status:     string(m.Status),
		Attempts:   m.Attempts,
		LastError:  m.LastError,
		CreatedAt:  m.CreatedAt.UTC(),
		SentAt:     utc(m.SentAt),
	}
}

func jsonOrNull(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return b
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
