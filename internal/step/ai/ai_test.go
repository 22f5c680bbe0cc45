package ai_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/internal/expr"
	"github.com/sluicehq/sluice/internal/step"
	"github.com/sluicehq/sluice/internal/step/ai"
	"github.com/sluicehq/sluice/internal/step/steptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// providerFunc adapts a function to ai.Provider.
type providerFunc func(ctx context.Context, req *ai.CompletionRequest) (*ai.Completion, error)

func (f providerFunc) Complete(ctx context.Context, req *ai.CompletionRequest) (*ai.Completion, error) {
	return f(ctx, req)
}

type bundle struct {
	handler *ai.Handler
	// fake answers as the test sets answer; it records what it was asked.
	asked  chan *ai.CompletionRequest
	answer func(req *ai.CompletionRequest) (*ai.Completion, error)
}

func setup(t *testing.T) *bundle {
	t.Helper()
	b := &bundle{
		asked: make(chan *ai.CompletionRequest, 1),
		answer: func(*ai.CompletionRequest) (*ai.Completion, error) {
			return &ai.Completion{Text: "fake answer", Usage: ai.Usage{InputTokens: 3, OutputTokens: 2}}, nil
		},
	}
	fake := providerFunc(func(_ context.Context, req *ai.CompletionRequest) (*ai.Completion, error) {
		b.asked <- req
		return b.answer(req)
	})
	h, err := ai.New(map[string]ai.Provider{ai.DefaultProvider: ai.NewMock(), "fake": fake})
	require.NoError(t, err)
	b.handler = h
	return b
}

func (b *bundle) execute(t *testing.T, config string) (*step.Result, error) {
	t.Helper()
	action, err := b.handler.Compile(json.RawMessage(config))
	require.NoError(t, err)
	return action.Execute(t.Context(), request())
}

func request() *step.Request {
	return &step.Request{
		RunID:          "run-1",
		StepID:         "classify",
		Attempt:        1,
		IdempotencyKey: "run-1/classify/0",
		Now:            time.Date(2030, 1, 2, 15, 4, 5, 0, time.UTC),
		Scope: &expr.Scope{
			Input: map[string]any{
				"text":     "The export button is broken and shows an error since yesterday's update",
				"customer": "ACME",
			},
			Run: expr.RunInfo{ID: "run-1", StepID: "classify", Attempt: 1},
		},
	}
}

func TestNew(t *testing.T) {
	t.Parallel()

	_, err := ai.New(map[string]ai.Provider{"": ai.NewMock()})
	require.EqualError(t, err, "ai: provider with an empty name")
	_, err = ai.New(map[string]ai.Provider{"x": nil})
	require.EqualError(t, err, `ai: provider "x" is nil`)
	h, err := ai.New(nil)
	require.NoError(t, err)
	require.Empty(t, h.Providers())
	h, err = ai.New(map[string]ai.Provider{"b": ai.NewMock(), "a": &ai.Mock{}})
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, h.Providers())
}

func TestExecuteMockJSON(t *testing.T) {
	t.Parallel()
	b := setup(t)

	res, err := b.execute(t, `{
		"model": "triage-small",
		"system": "You triage tickets for {{ input.customer }}.",
		"prompt": "{{ input.text }}",
		"json": true,
		"maxTokens": 100,
		"temperature": 0
	}`)
	require.NoError(t, err)

	summary := "The export button is broken and shows an error since yesterday's update"
	out := res.Output.(map[string]any)
	require.Equal(t, "bug", out["label"])
	require.Equal(t, summary, out["summary"])
	require.Equal(t, map[string]any{"label": "bug", "summary": summary, "confidence": 0.9}, out["json"])
	require.JSONEq(t, `{"label": "bug", "summary": "`+summary+`", "confidence": 0.9}`, out["text"].(string))
	require.Equal(t, "triage-small", out["model"])
	require.Equal(t, "mock", out["provider"])
	require.Equal(t, map[string]any{"inputTokens": 17, "outputTokens": 12}, out["usage"])

	input, err := json.Marshal(res.Input)
	require.NoError(t, err)
	require.JSONEq(t, `{
		"provider": "mock", "model": "triage-small", "json": true, "maxTokens": 100, "temperature": 0,
		"system": "You triage tickets for ACME.",
		"messages": [{"role": "user", "content": "`+summary+`"}]
	}`, string(input))
}

func TestExecuteMockText(t *testing.T) {
	t.Parallel()
	b := setup(t)

	res, err := b.execute(t, `{"model": "m", "prompt": "Please refund my last invoice"}`)
	require.NoError(t, err)
	out := res.Output.(map[string]any)
	require.Equal(t, "This looks like a billing message: Please refund my last invoice", out["text"])
	require.NotContains(t, out, "json")
	require.Equal(t, "billing", out["label"], "the structured answer's label is lifted without json")
	require.Equal(t, "Please refund my last invoice", out["summary"])
}

func TestExecuteRendersMessages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.answer = func(*ai.CompletionRequest) (*ai.Completion, error) {
		return &ai.Completion{Text: "ok", Model: "fake-1-2030", Usage: ai.Usage{InputTokens: 9, OutputTokens: 1}}, nil
	}

	res, err := b.execute(t, `{
		"provider": "fake",
		"model": "fake-1",
		"messages": [
			{"role": "system", "content": "Be brief."},
			{"role": "user", "content": "Ticket from {{ input.customer }}"},
			{"role": "assistant", "content": "Noted."},
			{"role": "user", "content": "{{ input.text }}"}
		]
	}`)
	require.NoError(t, err)
	asked := <-b.asked
	require.Equal(t, &ai.CompletionRequest{
		Model: "fake-1",
		Messages: []ai.Message{
			{Role: "system", Content: "Be brief."},
			{Role: "user", Content: "Ticket from ACME"},
			{Role: "assistant", Content: "Noted."},
			{Role: "user", Content: "The export button is broken and shows an error since yesterday's update"},
		},
	}, asked)
	require.Equal(t, map[string]any{
		"text":     "ok",
		"model":    "fake-1-2030",
		"provider": "fake",
		"usage":    map[string]any{"inputTokens": 9, "outputTokens": 1},
	}, res.Output)
}

func TestExecuteJSONAnswers(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name      string
		answer    *ai.Completion
		wantJSON  any
		wantLabel any // nil: absent
		wantErr   string
	}{
		{"provider parsed", &ai.Completion{Text: "ignored", JSON: map[string]any{"label": "x", "summary": 3.0}}, map[string]any{"label": "x", "summary": 3.0}, "x", ""},
		{"text parsed", &ai.Completion{Text: ` {"label": "y", "extra": [1]} `}, map[string]any{"label": "y", "extra": []any{1.0}}, "y", ""},
		{"array answer", &ai.Completion{Text: `["a"]`}, []any{"a"}, nil, ""},
		{"invalid JSON is retried", &ai.Completion{Text: "Sure! Here it is: {"}, nil, nil, "ai fake m: answer is not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.answer = func(*ai.CompletionRequest) (*ai.Completion, error) { return tt.answer, nil }
			res, err := b.execute(t, `{"provider": "fake", "model": "m", "prompt": "p", "json": true}`)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.False(t, step.IsPermanent(err))
				return
			}
			require.NoError(t, err)
			out := res.Output.(map[string]any)
			require.Equal(t, tt.wantJSON, out["json"])
			require.Equal(t, tt.wantLabel, out["label"])
			require.NotContains(t, out, "summary", "non-string summary is not copied")
			require.True(t, (<-b.asked).JSON)
		})
	}
}

func TestExecuteProviderErrors(t *testing.T) {
	t.Parallel()

	boom := errors.New("boom")
	tests := []struct {
		name          string
		err           error
		answer        *ai.Completion
		wantPermanent bool
		wantAfter     time.Duration
		wantErr       string
	}{
		{name: "plain is retryable", err: boom, wantErr: "ai fake m: boom"},
		{name: "permanent", err: step.Permanent(boom), wantPermanent: true, wantErr: "ai fake m: boom"},
		{name: "retry after", err: step.RetryAfter(time.Minute, boom), wantAfter: time.Minute, wantErr: "ai fake m: boom"},
		{name: "no completion", wantErr: "ai fake m: provider returned no completion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.answer = func(*ai.CompletionRequest) (*ai.Completion, error) { return tt.answer, tt.err }
			res, err := b.execute(t, `{"provider": "fake", "model": "m", "prompt": "p"}`)
			require.Nil(t, res)
			require.EqualError(t, err, tt.wantErr)
			require.Equal(t, tt.wantPermanent, step.IsPermanent(err))
			after, _ := step.RetryAfterDelay(err)
			require.Equal(t, tt.wantAfter, after)
			if tt.err != nil {
				require.ErrorIs(t, err, boom)
			}
		})
	}
}

func TestExecuteRenderErrorsArePermanent(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		config string
		want   string
	}{
		{"prompt", `{"model": "m", "prompt": "{{ input.text.x }}"}`, `ai message 0: evaluate "input.text.x"`},
		{"message", `{"model": "m", "messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "{{ input.a.b }}"}]}`, `ai message 1: evaluate "input.a.b"`},
		{"system", `{"model": "m", "prompt": "p", "system": "{{ input.a.b }}"}`, `ai system: evaluate "input.a.b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			res, err := b.execute(t, tt.config)
			require.Nil(t, res)
			require.True(t, step.IsPermanent(err), "%v", err)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestCompileInvalid(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		config string
		want   []string
	}{
		{"empty", `{}`, []string{"/model: is required", "/prompt: is required (or set messages)"}},
		{"unknown field", `{"model": "m", "prompt": "p", "temp": 1}`, []string{
			"/temp: unknown field (known: provider, model, system, prompt, messages, json, maxTokens, temperature)",
		}},
		{"unknown provider", `{"provider": "openai", "model": "m", "prompt": "p"}`, []string{`/provider: unknown provider "openai" (known: fake, mock)`}},
		{"empty provider", `{"provider": "", "model": "m", "prompt": "p"}`, []string{`/provider: unknown provider "" (known: fake, mock)`}},
		{"provider not a string", `{"provider": 1, "model": "m", "prompt": "p"}`, []string{"/provider: must be a string"}},
		{"model not a string", `{"model": 1, "prompt": "p"}`, []string{"/model: must be a string"}},
		{"model empty", `{"model": " ", "prompt": "p"}`, []string{"/model: must not be empty"}},
		{"prompt and messages", `{"model": "m", "prompt": "p", "messages": [{"role": "user", "content": "c"}]}`, []string{
			"/messages: cannot be combined with prompt",
		}},
		{"prompt not a string", `{"model": "m", "prompt": ["p"]}`, []string{"/prompt: must be a string"}},
		{"prompt empty", `{"model": "m", "prompt": ""}`, []string{"/prompt: must not be empty"}},
		{"prompt bad template", `{"model": "m", "prompt": "Classify {{ input. }}"}`, []string{`/prompt: compile "input."`}},
		{"system not a string", `{"model": "m", "prompt": "p", "system": {}}`, []string{"/system: must be a string"}},
		{"system empty", `{"model": "m", "prompt": "p", "system": ""}`, []string{"/system: must not be empty"}},
		{"system bad template", `{"model": "m", "prompt": "p", "system": "{{"}`, []string{"/system: unclosed {{"}},
		{"messages not an array", `{"model": "m", "messages": {"role": "user"}}`, []string{"/messages: must be an array"}},
		{"messages empty", `{"model": "m", "messages": []}`, []string{"/messages: must hold at least one message"}},
		{"message problems", `{"model": "m", "messages": [
			"hi",
			{"role": "bot", "content": "x", "name": "n"},
			{},
			{"role": 1, "content": 2},
			{"role": "user", "content": "{{ run.nope }}"}
		]}`, []string{
			"/messages/0: must be an object",
			"/messages/0/role: is required",
			"/messages/0/content: is required",
			"/messages/1/name: unknown field (known: role, content)",
			`/messages/1/role: must be one of system, user, assistant, not "bot"`,
			"/messages/2/role: is required",
			"/messages/2/content: is required",
			"/messages/3/role: must be a string",
			"/messages/3/content: must be a string",
			`/messages/4/content: compile "run.nope"`,
		}},
		{"json not a boolean", `{"model": "m", "prompt": "p", "json": "yes"}`, []string{"/json: must be a boolean"}},
		{"maxTokens not an integer", `{"model": "m", "prompt": "p", "maxTokens": 1.5}`, []string{"/maxTokens: must be an integer"}},
		{"maxTokens zero", `{"model": "m", "prompt": "p", "maxTokens": 0}`, []string{"/maxTokens: must be positive, not 0"}},
		{"temperature not a number", `{"model": "m", "prompt": "p", "temperature": "hot"}`, []string{"/temperature: must be a number"}},
		{"temperature too high", `{"model": "m", "prompt": "p", "temperature": 2.5}`, []string{"/temperature: must be between 0 and 2, not 2.5"}},
		{"temperature negative", `{"model": "m", "prompt": "p", "temperature": -0.1}`, []string{"/temperature: must be between 0 and 2, not -0.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			action, err := setup(t).handler.Compile(json.RawMessage(tt.config))
			require.Nil(t, action)
			steptest.RequireInvalid(t, err, "invalid ai config", tt.want...)
		})
	}
}

func TestCompileDefaultProviderMustBeRegistered(t *testing.T) {
	t.Parallel()
	h, err := ai.New(map[string]ai.Provider{"openai": ai.NewMock()})
	require.NoError(t, err)
	_, err = h.Compile(json.RawMessage(`{"model": "m", "prompt": "p"}`))
	steptest.RequireInvalid(t, err, "invalid ai config", `/provider: unknown provider "mock" (known: openai)`)
}
