package ai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/internal/step"
)

// Execute renders the prompt, asks the provider and records the answer.
// Render errors fail the step permanently; provider errors steer it as the
// provider decided (see Provider).
func (a *action) Execute(ctx context.Context, req *step.Request) (*step.Result, error) {
	creq, err := a.render(req)
	if err != nil {
		return nil, step.Permanent(err)
	}
	input := a.input(creq)

	comp, err := a.provider.Complete(ctx, creq)
	if err != nil {
		return nil, fmt.Errorf("ai %s %s: %w", a.providerName, a.model, err)
	}
	if comp == nil {
		return nil, fmt.Errorf("ai %s %s: provider returned no completion", a.providerName, a.model)
	}

	out := map[string]any{
		"text":     comp.Text,
		"model":    a.model,
		"provider": a.providerName,
		"usage": map[string]any{
			"inputTokens":  comp.Usage.InputTokens,
			"outputTokens": comp.Usage.OutputTokens,
		},
	}
	if comp.Model != "" {
		out["model"] = comp.Model
	}
	v := comp.JSON
	if a.json {
		if v == nil {
			if err := json.Unmarshal([]byte(comp.Text), &v); err != nil {
				// Models answer differently each time: worth another attempt.
				return nil, fmt.Errorf("ai %s %s: answer is not valid JSON: %w", a.providerName, a.model, err)
			}
		}
		out["json"] = v
	}
	// A structured answer's label and summary are lifted for convenience
	// (steps.<id>.output.label), whether or not JSON was asked for.
	if obj, ok := v.(map[string]any); ok {
		for _, key := range []string{"label", "summary"} {
			if s, ok := obj[key].(string); ok {
				out[key] = s
			}
		}
	}
	return &step.Result{Input: input, Output: out}, nil
}

// render renders the system prompt and messages.
func (a *action) render(req *step.Request) (*CompletionRequest, error) {
	creq := &CompletionRequest{
		Model:       a.model,
		JSON:        a.json,
		MaxTokens:   a.maxTokens,
		Temperature: a.temperature,
		Messages:    make([]Message, 0, len(a.messages)),
	}
	if a.system != nil {
		s, err := a.system.RenderString(req.Scope)
		if err != nil {
			return nil, fmt.Errorf("ai system: %w", err)
		}
		creq.System = s
	}
	for i, m := range a.messages {
		content, err := m.content.RenderString(req.Scope)
		if err != nil {
			return nil, fmt.Errorf("ai message %d: %w", i, err)
		}
		creq.Messages = append(creq.Messages, Message{Role: m.role, Content: content})
	}
	if len(creq.Messages) == 0 {
		return nil, errors.New("ai: no messages") // Compile rules this out
	}
	return creq, nil
}

// input is the step's recorded input: the rendered request.
func (a *action) input(creq *CompletionRequest) map[string]any {
	in := map[string]any{
		"provider": a.providerName,
		"model":    creq.Model,
		"messages": creq.Messages,
		"json":     creq.JSON,
	}
	if creq.System != "" {
		in["system"] = creq.System
	}
	if creq.MaxTokens > 0 {
		in["maxTokens"] = creq.MaxTokens
	}
	if creq.Temperature != nil {
		in["temperature"] = *creq.Temperature
	}
	return in
}
