package dsl_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/internal/dsl"
	"github.com/sluicehq/sluice/internal/expr"
	"github.com/sluicehq/sluice/internal/step"
	"github.com/sluicehq/sluice/internal/workflow"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// exampleDoc is the DSL example of docs/dsl.md.
const exampleDoc = `{
  "id": "ai-triage-flow",
  "name": "AI ticket triage",
  "trigger": {"type": "webhook", "key": "ai-triage"},
  "startAt": "classify",
  "defaults": {"retry": {"maxAttempts": 5, "initialInterval": "500ms"}, "timeout": "20s"},
  "steps": [
    {"id": "classify", "type": "ai",
     "config": {"provider": "mock", "model": "mock-1", "prompt": "Classify this ticket: {{ input.ticket }}"},
     "retry": {"maxAttempts": 3, "initialInterval": "200ms", "multiplier": 2, "maxInterval": "10s", "jitter": 0.2},
     "timeout": "30s", "next": "route"},
    {"id": "route", "type": "condition", "config": {"expression": "input.amount > 100"}, "onTrue": "escalate"},
    {"id": "escalate", "type": "http",
     "config": {"method": "POST", "url": "https://support.example.com/api/escalations",
       "headers": {"X-Ticket": "{{ input.ticket }}"},
       "body": {"ticket": "{{ input.ticket }}", "label": "{{ steps.classify.output.label }}"}},
     "next": "wait"},
    {"id": "wait", "type": "delay", "config": {"duration": "10s"}, "next": "publish"},
    {"id": "publish", "type": "queue_publish",
     "config": {"exchange": "sluice.events", "routingKey": "ticket.escalated", "message": {"ticket": "{{ input.ticket }}"}}}
  ]
}`

// noop is the action every fake handler compiles to.
var noop = step.ActionFunc(func(context.Context, *step.Request) (*step.Result, error) {
	return &step.Result{}, nil
})

// fakeConfig decodes a config for the fake handlers; the DSL always passes
// an object.
func fakeConfig(raw json.RawMessage) map[string]any {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		panic("dsl passed a non-object config: " + string(raw))
	}
	return m
}

// templates compiles every string of cfg as a template, as real handlers do.
func templates(cfg map[string]any) []workflow.FieldError {
	if _, err := expr.CompileTemplate(cfg); err != nil {
		var te *expr.TemplateError
		if errors.As(err, &te) {
			return []workflow.FieldError{{Path: te.Pointer, Message: te.Err.Error()}}
		}
		return []workflow.FieldError{{Path: "", Message: err.Error()}}
	}
	return nil
}

// requireString reports a missing or non-string field.
func requireString(cfg map[string]any, key string) []workflow.FieldError {
	if s, ok := cfg[key].(string); !ok || s == "" {
		return []workflow.FieldError{{Path: "/" + key, Message: "is required"}}
	}
	return nil
}

// fakeHandler builds a handler from a check of the decoded config.
func fakeHandler(check func(cfg map[string]any) []workflow.FieldError) step.Handler {
	return step.HandlerFunc(func(raw json.RawMessage) (step.Action, error) {
		if fields := check(fakeConfig(raw)); len(fields) > 0 {
			return nil, workflow.Invalid("invalid config", fields...)
		}
		return noop, nil
	})
}

// newRegistry returns a registry with fake handlers for the five built-in
// step types.
func newRegistry(t testing.TB) *step.Registry {
	t.Helper()
	reg := step.NewRegistry()
	handlers := map[string]step.Handler{
		workflow.StepTypeAI: fakeHandler(templates),
		workflow.StepTypeCondition: fakeHandler(func(cfg map[string]any) []workflow.FieldError {
			if f := requireString(cfg, "expression"); f != nil {
				return f
			}
			if _, err := expr.Compile(cfg["expression"].(string)); err != nil {
				return []workflow.FieldError{{Path: "/expression", Message: err.Error()}}
			}
			return nil
		}),
		workflow.StepTypeDelay: fakeHandler(func(cfg map[string]any) []workflow.FieldError {
			_, hasDuration := cfg["duration"]
			_, hasUntil := cfg["until"]
			if hasDuration == hasUntil {
				return []workflow.FieldError{{Path: "", Message: "set exactly one of duration and until"}}
			}
			return nil
		}),
		workflow.StepTypeHTTP: fakeHandler(func(cfg map[string]any) []workflow.FieldError {
			return append(requireString(cfg, "url"), templates(cfg)...)
		}),
		workflow.StepTypeQueuePublish: fakeHandler(func(cfg map[string]any) []workflow.FieldError {
			return append(requireString(cfg, "routingKey"), templates(cfg)...)
		}),
	}
	for typ, h := range handlers {
		require.NoError(t, reg.Register(typ, h))
	}
	return reg
}

// compileFields compiles doc, requires an EINVALID error and returns its
// fields.
func compileFields(t *testing.T, doc string) []workflow.FieldError {
	t.Helper()
	c, err := dsl.Compile([]byte(doc), newRegistry(t))
	require.Error(t, err, "document should be invalid")
	require.Nil(t, c)
	require.Equal(t, workflow.EINVALID, workflow.ErrorCode(err), "error: %v", err)
	return workflow.ErrorFields(err)
}

// mustCompile compiles doc with the fake registry and requires success.
func mustCompile(t *testing.T, doc string) *dsl.Compiled {
	t.Helper()
	c, err := dsl.Compile([]byte(doc), newRegistry(t))
	require.NoError(t, err)
	return c
}
