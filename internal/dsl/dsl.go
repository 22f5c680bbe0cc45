// Package dsl parses, validates and compiles Sluice's JSON workflow DSL into
// a workflow.Definition plus one compiled step.Action per step.
//
// Validation reports every problem of a document at once, each located by
// a JSON pointer (RFC 6901) such as "/steps/2/next", sorted in the order the
// problems appear in the document. The DSL reference is docs/dsl.md; the
// JSON Schema (Schema) is committed as docs/dsl.schema.json.
package dsl

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/internal/step"
	"github.com/sluicehq/sluice/internal/workflow"
)

// Document is the JSON shape of a workflow definition. Its json tags are the
// DSL contract; the JSON Schema is generated from it.
type Document struct {
	ID          string       `json:"id" jsonschema_description:"Stable identifier of the workflow: 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit."`
	Name        string       `json:"name,omitempty" jsonschema_description:"Human-readable title. Defaults to the id."`
	Description string       `json:"description,omitempty" jsonschema_description:"Optional free text."`
	Trigger     TriggerDoc   `json:"trigger,omitzero" jsonschema_description:"How runs start. Defaults to a manual trigger."`
	StartAt     string       `json:"startAt" jsonschema_description:"Id of the first step."`
	Defaults    *DefaultsDoc `json:"defaults,omitempty" jsonschema_description:"Retry policy and timeout of steps that set none."`
	Steps       []StepDoc    `json:"steps" jsonschema_description:"The steps, in any order; successors are named by id."`
}

// TriggerDoc says how a workflow's runs start.
type TriggerDoc struct {
	Type string `json:"type" jsonschema:"enum=webhook,enum=manual" jsonschema_description:"webhook: runs start from POST /api/webhooks/{key}; manual: runs start only through the API."`
	Key  string `json:"key,omitempty" jsonschema_description:"Webhook key, required for webhook triggers and not allowed for manual ones; same pattern as ids."`
}

// DefaultsDoc holds workflow-wide step defaults.
type DefaultsDoc struct {
	Retry   *RetryDoc `json:"retry,omitempty" jsonschema_description:"Default retry policy; fields left out fall back to the built-in policy one by one."`
	Timeout string    `json:"timeout,omitempty" jsonschema_description:"Default step timeout as a Go duration (e.g. \"30s\"), at most 24h. Defaults to 30s."`
}

// StepDoc is one step of a Document.
type StepDoc struct {
	ID      string          `json:"id" jsonschema_description:"Step id, unique within the workflow; same pattern as the workflow id. steps.<id>.output holds the step's output."`
	Type    string          `json:"type" jsonschema_description:"Step type: ai, condition, delay, http or queue_publish (or another registered type)."`
	Config  json.RawMessage `json:"config,omitempty" jsonschema_description:"Configuration of the step type. Strings may hold {{ expression }} templates."`
	Next    string          `json:"next,omitempty" jsonschema_description:"Id of the step that follows; omit it to end the run. Not with onTrue/onFalse."`
	OnTrue  string          `json:"onTrue,omitempty" jsonschema_description:"Id of the step that follows when a condition step is true; omit it to end the run."`
	OnFalse string          `json:"onFalse,omitempty" jsonschema_description:"Id of the step that follows when a condition step is false; omit it to end the run."`
	Retry   *RetryDoc       `json:"retry,omitempty" jsonschema_description:"Retry policy of the step; fields left out are inherited from defaults.retry, then from the built-in policy."`
	Timeout string          `json:"timeout,omitempty" jsonschema_description:"Timeout of one attempt as a Go duration (e.g. \"30s\"), at most 24h. Inherited from defaults.timeout, else 30s."`
}

// RetryDoc is a retry policy. Fields left out are inherited.
type RetryDoc struct {
	MaxAttempts     *int     `json:"maxAttempts,omitempty" jsonschema:"minimum=1,maximum=100" jsonschema_description:"Total number of attempts including the first, 1 to 100. Built-in default 3."`
	InitialInterval string   `json:"initialInterval,omitempty" jsonschema_description:"Wait before the second attempt, a Go duration > 0. Built-in default 1s."`
	Multiplier      *float64 `json:"multiplier,omitempty" jsonschema:"minimum=1,maximum=100" jsonschema_description:"Growth of the wait after each attempt, 1 to 100. Built-in default 2."`
	MaxInterval     string   `json:"maxInterval,omitempty" jsonschema_description:"Cap on the wait, a Go duration >= initialInterval. Built-in default 1m."`
	Jitter          *float64 `json:"jitter,omitempty" jsonschema:"minimum=0,maximum=1" jsonschema_description:"Fraction (0 to 1) by which each wait is randomized up or down. Built-in default 0.2."`
}

// Compiled is a validated definition ready to run.
type Compiled struct {
	// Definition is the parsed definition, with each step's effective Retry
	// and Timeout resolved (step, else workflow defaults, else
	// workflow.DefaultRetryPolicy and workflow.DefaultStepTimeout).
	Definition *workflow.Definition
	// Actions holds the compiled action of every step, by step id.
	Actions map[string]step.Action
	// Canonical is the compact canonical JSON of the document: fields in a
	// fixed order, config object keys sorted, no insignificant whitespace,
	// so that documents differing only in key order or layout are equal.
	Canonical json.RawMessage
	// Hash is the hex SHA-256 of Canonical.
	Hash string
}

// Step returns the step with the given id and its compiled action.
func (c *Compiled) Step(id string) (*workflow.Step, step.Action, bool) {
	s, ok := c.Definition.Step(id)
	if !ok {
		return nil, nil, false
	}
	return s, c.Actions[id], true
}

// Parse decodes raw strictly and checks everything that does not depend on
// step handlers: syntax, unknown fields, types, ids, durations, retry
// policies, successors, reachability and cycles. Step types and configs are
// checked by Compile. Problems are returned as one *workflow.Error with code
// EINVALID.
func Parse(raw []byte) (*Document, error) {
	ps, err := parse(raw)
	if err != nil {
		return nil, err
	}
	if err := ps.p.err(ps.tree); err != nil {
		return nil, err
	}
	return ps.doc, nil
}

// Compile parses and validates raw, compiles every step's config with the
// handler registered for its type in reg and resolves effective retry
// policies and timeouts. Invalid documents yield a *workflow.Error with
// code EINVALID listing every problem; other errors come from handlers that
// failed for reasons other than an invalid config.
func Compile(raw []byte, reg *step.Registry) (*Compiled, error) {
	if reg == nil {
		return nil, errors.New("compile workflow definition: nil step registry")
	}
	ps, err := parse(raw)
	if err != nil {
		return nil, err
	}
	actions, err := compileSteps(ps, reg)
	if err != nil {
		return nil, err
	}
	if err := ps.p.err(ps.tree); err != nil {
		return nil, err
	}
	doc := ps.doc
	canonical, err := canonicalJSON(doc)
	if err != nil {
		return nil, fmt.Errorf("compile workflow definition %q: %w", doc.ID, err)
	}
	sum := sha256.Sum256(canonical)
	return &Compiled{
		Definition: definition(doc),
		Actions:    actions,
		Canonical:  canonical,
		Hash:       hex.EncodeToString(sum[:]),
	}, nil
}
