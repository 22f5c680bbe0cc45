package condition_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/internal/expr"
	"github.com/sluicehq/sluice/internal/step"
	"github.com/sluicehq/sluice/internal/step/condition"
	"github.com/sluicehq/sluice/internal/step/steptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func request(input any, steps map[string]any) *step.Request {
	return &step.Request{
		RunID:   "run-1",
		StepID:  "check",
		Attempt: 1,
		Scope: &expr.Scope{
			Input: input,
			Steps: steps,
			Run:   expr.RunInfo{ID: "run-1", StepID: "check", Attempt: 1},
		},
	}
}

func TestExecute(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name       string
		expression string
		input      any
		steps      map[string]any
		want       bool
	}{
		{"input true", "input.amount > 100", map[string]any{"amount": 150.0}, nil, true},
		{"input false", "input.amount > 100", map[string]any{"amount": 50.0}, nil, false},
		{"step output", `steps.classify.output.label == "billing"`, nil,
			map[string]any{"classify": map[string]any{"label": "billing"}}, true},
		{"run info", "run.attempt == 1", nil, nil, true},
		{"literal", "false", nil, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := json.Marshal(map[string]any{"expression": tt.expression})
			require.NoError(t, err)
			action, err := condition.New().Compile(cfg)
			require.NoError(t, err)

			res, err := action.Execute(t.Context(), request(tt.input, tt.steps))
			require.NoError(t, err)
			require.NotNil(t, res.Branch)
			require.Equal(t, tt.want, *res.Branch)
			require.Equal(t, map[string]any{"result": tt.want}, res.Output)
			require.Equal(t, map[string]any{"expression": tt.expression}, res.Input)
			require.Empty(t, res.Outbox)
			require.True(t, res.WaitUntil.IsZero())
		})
	}
}

func TestExecuteErrorsArePermanent(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name       string
		expression string
		input      any
	}{
		{"not a boolean", "input.amount", map[string]any{"amount": 3.0}},
		{"type mismatch", "input.name > 3", map[string]any{"name": "x"}},
		{"nil member", "input.a.b.c == 1", map[string]any{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			action, err := condition.New().Compile(json.RawMessage(`{"expression":` + quote(t, tt.expression) + `}`))
			require.NoError(t, err)
			res, err := action.Execute(t.Context(), request(tt.input, nil))
			require.Error(t, err)
			require.Nil(t, res)
			require.True(t, step.IsPermanent(err), "%v", err)
			require.Contains(t, err.Error(), "condition: evaluate")
		})
	}
}

func TestCompileInvalid(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		config string
		want   []string // "path: message prefix"
	}{
		{"empty config", ``, []string{"/expression: is required"}},
		{"null config", `null`, []string{"/expression: is required"}},
		{"no expression", `{}`, []string{"/expression: is required"}},
		{"null expression", `{"expression": null}`, []string{"/expression: is required"}},
		{"not an object", `[1]`, []string{": must be an object", "/expression: is required"}},
		{"not a string", `{"expression": true}`, []string{"/expression: must be a string"}},
		{"empty", `{"expression": ""}`, []string{"/expression: must not be empty"}},
		{"syntax", `{"expression": "input.a >"}`, []string{`/expression: compile "input.a >": unexpected token EOF`}},
		{"unknown run field", `{"expression": "run.atempt > 1"}`, []string{`/expression: compile "run.atempt > 1"`}},
		{"unknown field", `{"expression": "true", "expr": "x"}`, []string{"/expr: unknown field (known: expression)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			action, err := condition.New().Compile(json.RawMessage(tt.config))
			require.Nil(t, action)
			steptest.RequireInvalid(t, err, "invalid condition config", tt.want...)
		})
	}
}

func quote(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	require.NoError(t, err)
	return string(b)
}
