// Package workflow is Sluice's domain core: workflow definitions, runs, step
// executions, dead letters, outbox messages, their statuses and transitions,
// domain errors and the Store interface that every database adapter
// implements. It imports only the standard library.
package workflow

import (
	"encoding/json"
	"time"
)

// Step types known to the engine. New step types need only a handler
// registered in the wiring; these names are listed for documentation and
// defaults.
const (
	StepTypeAI           = "ai"
	StepTypeHTTP         = "http"
	StepTypeCondition    = "condition"
	StepTypeDelay        = "delay"
	StepTypeQueuePublish = "queue_publish"
)

// Trigger types.
const (
	// TriggerWebhook starts runs from POST /api/webhooks/{key}.
	TriggerWebhook = "webhook"
	// TriggerManual starts runs only through the API by workflow id.
	TriggerManual = "manual"
)

// DefaultStepTimeout is the timeout of a step that sets none and whose
// workflow sets no default.
const DefaultStepTimeout = 30 * time.Second

// DefaultRetryPolicy is the retry policy of a step that sets none and whose
// workflow sets no default.
var DefaultRetryPolicy = RetryPolicy{
	MaxAttempts:     3,
	InitialInterval: time.Second,
	Multiplier:      2,
	MaxInterval:     time.Minute,
	Jitter:          0.2,
}

// Definition is a parsed, validated workflow definition (one version of it).
type Definition struct {
	// ID is the workflow's stable identifier, e.g. "ai-triage-flow".
	ID string
	// Name is a human-readable title.
	Name string
	// Description is optional free text.
	Description string
	// Trigger says how runs start.
	Trigger Trigger
	// StartAt is the id of the first step.
	StartAt string
	// Steps in the order they were written.
	Steps []Step
	// Retry is the workflow-level default retry policy, already resolved
	// against DefaultRetryPolicy.
	Retry RetryPolicy
	// Timeout is the workflow-level default step timeout.
	Timeout time.Duration
}

// Step returns the step with the given id.
func (d *Definition) Step(id string) (*Step, bool) {
	for i := range d.Steps {
		if d.Steps[i].ID == id {
			return &d.Steps[i], true
		}
	}
	return nil, false
}

// Trigger says how a workflow's runs start.
type Trigger struct {
	// Type is TriggerWebhook or TriggerManual.
	Type string
	// Key is the webhook key (unique among enabled workflows); empty for
	// manual triggers.
	Key string
}

// Step is one node of a workflow graph.
type Step struct {
	// ID is unique within the definition.
	ID string
	// Type names the step handler ("http", "ai", ...).
	Type string
	// Config is the handler-specific configuration, as written.
	Config json.RawMessage
	// Next is the successor of a non-branching step; empty ends the run.
	Next string
	// OnTrue and OnFalse are the successors of a condition step; empty ends
	// the run.
	OnTrue, OnFalse string
	// Retry is the step's effective retry policy (step, else workflow
	// default, else DefaultRetryPolicy).
	Retry RetryPolicy
	// Timeout is the step's effective timeout.
	Timeout time.Duration
}

// Successor returns the step that follows s given a branch outcome. branch
// is nil for non-branching steps. An empty result ends the run.
func (s *Step) Successor(branch *bool) string {
	if branch == nil {
		return s.Next
	}
	if *branch {
		return s.OnTrue
	}
	return s.OnFalse
}

// RetryPolicy decides how often and how far apart a failing step is retried.
type RetryPolicy struct {
	// MaxAttempts is the total number of attempts, including the first (>= 1).
	MaxAttempts int
	// InitialInterval is the wait before the second attempt.
	InitialInterval time.Duration
	// Multiplier grows the wait after each attempt (>= 1).
	Multiplier float64
	// MaxInterval caps the wait.
	MaxInterval time.Duration
	// Jitter is the fraction (0..1) by which each wait is randomised, +/-.
	Jitter float64
}

// WorkflowVersion is one stored version of a workflow definition.
type WorkflowVersion struct {
	// WorkflowID is the definition's id.
	WorkflowID string
	// Version starts at 1 and grows by one for every changed definition.
	Version int
	// Name is the definition's name.
	Name string
	// TriggerType and TriggerKey mirror the definition's trigger.
	TriggerType string
	TriggerKey  string
	// Definition is the DSL document (JSON) of this version.
	Definition json.RawMessage
	// Hash is a content hash of Definition used to detect unchanged saves.
	Hash string
	// Enabled is false once the workflow was deleted (its trigger disabled).
	// It describes the workflow, not the version.
	Enabled bool
	// LatestVersion is the workflow's newest version number.
	LatestVersion int
	// CreatedAt is when this version was saved.
	CreatedAt time.Time
}
