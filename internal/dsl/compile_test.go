package dsl_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/dsl"
	"github.com/sluicehq/sluice/internal/expr"
	"github.com/sluicehq/sluice/internal/step"
	"github.com/sluicehq/sluice/internal/workflow"
)

// http returns an http step with the given config and extra fields.
func http(id, config, extra string) string {
	return `{"id":"` + id + `","type":"http","config":` + config + extra + `}`
}

func TestCompile_Config(t *testing.T) {
	t.Parallel()
	runInvalid(t, []invalidCase{
		{"handler fields are prefixed", wf(``, `{"id":"a","type":"condition","config":{"expr":"x"},"onTrue":"b"}`, http("b", `{"url":"{{ input. }}"}`, "")),
			[]workflow.FieldError{
				fe("/steps/0/config/expression", "is required"),
				{Path: "/steps/1/config/url", Message: templateErr(t, "{{ input. }}")},
			}},
		{"missing config is passed as {}", wf(``, `{"id":"a","type":"http"}`),
			[]workflow.FieldError{fe("/steps/0/config/url", "is required")}},
		{"handler error without fields", wf(``, `{"id":"a","type":"delay","config":{"duration":"1s","until":"x"}}`),
			[]workflow.FieldError{fe("/steps/0/config", "set exactly one of duration and until")}},
		{"condition expression", wf(``, `{"id":"a","type":"condition","config":{"expression":"input.x >"}}`),
			[]workflow.FieldError{{Path: "/steps/0/config/expression", Message: mustCompileErr(t, "input.x >")}}},
		{"unknown step in a template", wf(``, http("a", `{"url":"https://x","body":{"label":"{{ steps.clasify.output.label }}"}}`, "")),
			[]workflow.FieldError{fe("/steps/0/config/body/label", `references unknown step "clasify"`)}},
		{"unknown steps in an interpolated header", wf(``, http("a", `{"url":"https://x/{{ steps.x.output }}","headers":{"A/B":"{{ steps.y.output }}-{{ steps.z.output }}"}}`, "")),
			[]workflow.FieldError{
				fe("/steps/0/config/url", `references unknown step "x"`),
				fe("/steps/0/config/headers/A~1B", `references unknown step "y"`),
				fe("/steps/0/config/headers/A~1B", `references unknown step "z"`),
			}},
		{"handler problems besides unknown steps", wf(``, http("a", `{"method":"POST","body":"{{ steps.nope.output }}"}`, "")),
			[]workflow.FieldError{
				fe("/steps/0/config/url", "is required"),
				fe("/steps/0/config/body", `references unknown step "nope"`),
			}},
		{"unknown step in a template array", wf(``, `{"id":"a","type":"queue_publish","config":{"routingKey":"k","message":[1,{"v":"{{ steps.nope.output }}"}]}}`),
			[]workflow.FieldError{fe("/steps/0/config/message/1/v", `references unknown step "nope"`)}},
		{"unknown step in a condition expression", wf(``, `{"id":"a","type":"condition","config":{"expression":"steps.nope.output.x > 1"}}`),
			[]workflow.FieldError{fe("/steps/0/config/expression", `references unknown step "nope"`)}},
		{"step that runs later", wf(``, http("a", `{"url":"{{ steps.b.output.url }}"}`, `,"next":"b"`), delay("b", "")),
			[]workflow.FieldError{fe("/steps/0/config/url", `references step "b", which never runs before step "a"`)}},
		{"own output", wf(``, http("a", `{"url":"{{ steps.a.output.url }}"}`, "")),
			[]workflow.FieldError{fe("/steps/0/config/url", `references step "a", which never runs before step "a"`)}},
		{"step on the other branch", wf(``, cond("a", `,"onTrue":"b","onFalse":"c"`), delay("b", ""), http("c", `{"url":"{{ steps.b.output }}"}`, "")),
			[]workflow.FieldError{fe("/steps/2/config/url", `references step "b", which never runs before step "c"`)}},
		{"condition expression referencing a later step", wf(``, `{"id":"a","type":"condition","config":{"expression":"steps.b.output.ok"},"onTrue":"b"}`, delay("b", "")),
			[]workflow.FieldError{fe("/steps/0/config/expression", `references step "b", which never runs before step "a"`)}},
	})
}

// templateErr returns the message of a template that does not compile.
func templateErr(t *testing.T, s string) string {
	t.Helper()
	_, err := expr.CompileTemplateString(s)
	require.Error(t, err)
	return errors.Unwrap(err).Error()
}

// mustCompileErr returns the message of the fake condition handler for src.
func mustCompileErr(t *testing.T, src string) string {
	t.Helper()
	fields := compileFields(t, wf(``, `{"id":"a","type":"condition","config":{"expression":`+mustJSON(t, src)+`}}`))
	require.Len(t, fields, 1)
	require.Contains(t, fields[0].Message, "compile")
	return fields[0].Message
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func TestCompile_ValidReferences(t *testing.T) {
	t.Parallel()
	mustCompile(t, exampleDoc)
	// An ancestor on one path only is allowed: the template can test for it.
	mustCompile(t, wf(``, cond("a", `,"onTrue":"b","onFalse":"c"`), delay("b", `,"next":"c"`),
		http("c", `{"url":"https://x","body":"{{ steps.b?.output ?? steps.a.output }}"}`, "")))
}

func TestCompile_HandlerFailures(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	for _, tc := range []struct {
		name    string
		handler step.HandlerFunc
		check   func(t *testing.T, err error)
	}{
		{"plain error", func(json.RawMessage) (step.Action, error) { return nil, boom }, func(t *testing.T, err error) {
			require.ErrorIs(t, err, boom)
			require.Equal(t, workflow.EINTERNAL, workflow.ErrorCode(err))
			require.EqualError(t, err, `compile step "a" (/steps/0) of type "odd": boom`)
		}},
		{"other domain error", func(json.RawMessage) (step.Action, error) {
			return nil, workflow.Errorf(workflow.EUNAVAILABLE, "provider down")
		}, func(t *testing.T, err error) {
			require.Equal(t, workflow.EUNAVAILABLE, workflow.ErrorCode(err))
		}},
		{"no action", func(json.RawMessage) (step.Action, error) { return nil, nil }, func(t *testing.T, err error) {
			require.EqualError(t, err, `compile step "a" (/steps/0): handler of type "odd" returned no action`)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := step.NewRegistry()
			require.NoError(t, reg.Register("odd", tc.handler))
			c, err := dsl.Compile([]byte(wf(``, `{"id":"a","type":"odd"}`)), reg)
			require.Nil(t, c)
			tc.check(t, err)
		})
	}

	t.Run("nil registry", func(t *testing.T) {
		t.Parallel()
		_, err := dsl.Compile([]byte(exampleDoc), nil)
		require.EqualError(t, err, "compile workflow definition: nil step registry")
	})
	t.Run("empty registry", func(t *testing.T) {
		t.Parallel()
		_, err := dsl.Compile([]byte(wf(``, delay("a", ""))), step.NewRegistry())
		require.Equal(t, []workflow.FieldError{fe("/steps/0/type", `unknown step type "delay" (no step types are registered)`)}, workflow.ErrorFields(err))
	})
}

func TestCompile_AllProblemsAtOnce(t *testing.T) {
	t.Parallel()
	doc := `{
	  "id": "bad id",
	  "trigger": {"type": "webhook"},
	  "startAt": "classify",
	  "steps": [
	    {"id": "classify", "type": "ai", "config": {"prompt": "{{ input.ticket }}"},
	     "retry": {"maxAttempts": 0, "initialInterval": "soon"}, "next": "rout"},
	    {"id": "route", "type": "condition", "config": {}, "onTrue": "escalate"},
	    {"id": "escalate", "type": "htp", "config": {"url": "https://x"}, "timeout": "48h"},
	    {"id": "classify", "type": "delay", "config": {"duration": "1s"}, "extra": true}
	  ]
	}`
	fields := compileFields(t, doc)
	require.Equal(t, []workflow.FieldError{
		fe("/id", `id "bad id" is invalid: use 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit`),
		fe("/trigger/key", "webhook key is required"),
		fe("/steps/0/retry/maxAttempts", "maxAttempts must be between 1 and 100, not 0"),
		fe("/steps/0/retry/initialInterval", `initialInterval "soon" is not a duration such as "500ms", "10s" or "1h"`),
		fe("/steps/0/next", `"next" names no step: "rout"`),
		fe("/steps/1", `step "route" is not reachable from startAt "classify"`),
		fe("/steps/1/config/expression", "is required"),
		fe("/steps/2", `step "escalate" is not reachable from startAt "classify"`),
		fe("/steps/2/type", `unknown step type "htp" (known: ai, condition, delay, http, queue_publish)`),
		fe("/steps/2/timeout", `timeout "48h" exceeds the maximum of 24h`),
		fe("/steps/3/id", `duplicate step id "classify" (first used by /steps/0)`),
		fe("/steps/3/extra", `unknown field "extra" in a step (allowed: id, type, config, next, onTrue, onFalse, retry, timeout)`),
	}, fields)

	_, err := dsl.Compile([]byte(doc), newRegistry(t))
	require.Contains(t, err.Error(), "invalid workflow definition: 12 problems; /id: ")
}

func TestCompile_Example(t *testing.T) {
	t.Parallel()
	c := mustCompile(t, exampleDoc)
	def := c.Definition
	require.Equal(t, "ai-triage-flow", def.ID)
	require.Equal(t, "AI ticket triage", def.Name)
	require.Equal(t, workflow.Trigger{Type: workflow.TriggerWebhook, Key: "ai-triage"}, def.Trigger)
	require.Equal(t, "classify", def.StartAt)
	require.Len(t, def.Steps, 5)
	require.Len(t, c.Actions, 5)

	s, action, ok := c.Step("route")
	require.True(t, ok)
	require.NotNil(t, action)
	require.Equal(t, workflow.StepTypeCondition, s.Type)
	require.Equal(t, "escalate", s.OnTrue)
	require.Empty(t, s.OnFalse)
	require.JSONEq(t, `{"expression":"input.amount > 100"}`, string(s.Config))
	require.Same(t, &def.Steps[1], s)

	_, _, ok = c.Step("nope")
	require.False(t, ok)
}

func TestCompile_ConfigIsCopied(t *testing.T) {
	t.Parallel()
	raw := []byte(wf(``, delay("a", "")))
	c, err := dsl.Compile(raw, newRegistry(t))
	require.NoError(t, err)
	for i := range raw {
		raw[i] = ' '
	}
	require.JSONEq(t, `{"duration":"1s"}`, string(c.Definition.Steps[0].Config))
}

func TestCompile_EffectiveRetryAndTimeout(t *testing.T) {
	t.Parallel()
	def := workflow.DefaultRetryPolicy
	for _, tc := range []struct {
		name, defaults, stepExtra string
		wantDefault, wantStep     workflow.RetryPolicy
		wantDefTimeout, wantTime  time.Duration
	}{
		{"built-in", ``, ``, def, def, workflow.DefaultStepTimeout, workflow.DefaultStepTimeout},
		{"workflow defaults", `"defaults":{"retry":{"maxAttempts":5,"jitter":0},"timeout":"1m"},`, ``,
			workflow.RetryPolicy{MaxAttempts: 5, InitialInterval: time.Second, Multiplier: 2, MaxInterval: time.Minute, Jitter: 0},
			workflow.RetryPolicy{MaxAttempts: 5, InitialInterval: time.Second, Multiplier: 2, MaxInterval: time.Minute, Jitter: 0},
			time.Minute, time.Minute},
		{"step over defaults field by field", `"defaults":{"retry":{"maxAttempts":5,"multiplier":3},"timeout":"1m"},`,
			`,"retry":{"maxAttempts":1,"initialInterval":"200ms","maxInterval":"10s"},"timeout":"5s"`,
			workflow.RetryPolicy{MaxAttempts: 5, InitialInterval: time.Second, Multiplier: 3, MaxInterval: time.Minute, Jitter: 0.2},
			workflow.RetryPolicy{MaxAttempts: 1, InitialInterval: 200 * time.Millisecond, Multiplier: 3, MaxInterval: 10 * time.Second, Jitter: 0.2},
			time.Minute, 5 * time.Second},
		{"step only", ``, `,"retry":{"multiplier":1.5,"jitter":1},"timeout":"24h"`, def,
			workflow.RetryPolicy{MaxAttempts: 3, InitialInterval: time.Second, Multiplier: 1.5, MaxInterval: time.Minute, Jitter: 1},
			workflow.DefaultStepTimeout, 24 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := mustCompile(t, wf(tc.defaults, delay("a", tc.stepExtra)))
			require.Equal(t, tc.wantDefault, c.Definition.Retry)
			require.Equal(t, tc.wantDefTimeout, c.Definition.Timeout)
			require.Equal(t, tc.wantStep, c.Definition.Steps[0].Retry)
			require.Equal(t, tc.wantTime, c.Definition.Steps[0].Timeout)
		})
	}
}
