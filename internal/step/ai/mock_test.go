package ai_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/step"
	"github.com/sluicehq/sluice/internal/step/ai"
)

func complete(t *testing.T, req *ai.CompletionRequest) *ai.Completion {
	t.Helper()
	comp, err := ai.NewMock().Complete(t.Context(), req)
	require.NoError(t, err)
	return comp
}

func user(text string) []ai.Message { return []ai.Message{{Role: ai.RoleUser, Content: text}} }

func TestMockLabels(t *testing.T) {
	t.Parallel()

	tests := []struct {
		prompt string
		want   string
	}{
		{"Production is DOWN for all customers", "urgent"},
		{"URGENT: the app crashed", "urgent"},
		{"The app crashes when I open settings", "bug"},
		{"Got an exception: NullPointer", "bug"},
		{"I was charged twice, please refund", "billing"},
		{"Where can I find my invoices", "billing"},
		{"How do I export my data", "question"},
		{"Is there a dark mode?", "question"},
		{"I love the new dashboard", "feedback"},
		{"Feature request: dark mode", "feedback"},
	}
	for _, tt := range tests {
		t.Run(tt.prompt, func(t *testing.T) {
			t.Parallel()
			comp := complete(t, &ai.CompletionRequest{Model: "m", Messages: user(tt.prompt), JSON: true})
			require.Equal(t, tt.want, comp.JSON.(map[string]any)["label"])
			require.InDelta(t, 0.9, comp.JSON.(map[string]any)["confidence"], 1e-9)
		})
	}

	t.Run("whole words only", func(t *testing.T) {
		t.Parallel()
		// "download" is not "down", "bugfix" not "bug": the hash decides.
		comp := complete(t, &ai.CompletionRequest{Model: "m", Messages: user("Download the bugfix"), JSON: true})
		require.InDelta(t, 0.5, comp.JSON.(map[string]any)["confidence"], 1e-9)
	})
}

func TestMockDeterministic(t *testing.T) {
	t.Parallel()

	req := &ai.CompletionRequest{Model: "m", Messages: user("Lorem ipsum dolor sit amet"), JSON: true}
	first := complete(t, req)
	for range 20 {
		require.Equal(t, first, complete(t, req))
	}
	require.InDelta(t, 0.5, first.JSON.(map[string]any)["confidence"], 1e-9, "no keyword: hash fallback")

	// The fallback depends on the model too, and spreads over all labels.
	seen := map[string]bool{}
	for i := range 200 {
		comp := complete(t, &ai.CompletionRequest{Model: fmt.Sprint("m", i), Messages: user("Lorem ipsum"), JSON: true})
		seen[comp.JSON.(map[string]any)["label"].(string)] = true
	}
	require.Len(t, seen, 5)
}

func TestMockAnswer(t *testing.T) {
	t.Parallel()

	prompt := "one two three four five six seven eight nine ten eleven twelve thirteen"
	req := &ai.CompletionRequest{
		Model:    "mock-large",
		System:   "Classify the ticket.",
		Messages: []ai.Message{{Role: ai.RoleSystem, Content: "ignored for the label"}, {Role: ai.RoleUser, Content: prompt}},
		JSON:     true,
	}
	comp := complete(t, req)
	require.Equal(t, "mock-large", comp.Model)
	obj := comp.JSON.(map[string]any)
	require.Equal(t, "one two three four five six seven eight nine ten eleven twelve...", obj["summary"])
	var fromText map[string]any
	require.NoError(t, json.Unmarshal([]byte(comp.Text), &fromText))
	require.Equal(t, obj, fromText)
	require.Equal(t, ai.Usage{InputTokens: 3 + 4 + 13, OutputTokens: 12}, comp.Usage)

	req.JSON = false
	comp = complete(t, req)
	require.Equal(t, obj, comp.JSON, "the mock always returns its structured answer")
	require.Equal(t, fmt.Sprintf("This looks like a %s message: %s", obj["label"], obj["summary"]), comp.Text)

	// Without user messages, every message is the prompt.
	comp = complete(t, &ai.CompletionRequest{Model: "m", Messages: []ai.Message{{Role: ai.RoleAssistant, Content: "refund issued"}}, JSON: true})
	require.Equal(t, "billing", comp.JSON.(map[string]any)["label"])
	require.Equal(t, "refund issued", comp.JSON.(map[string]any)["summary"])
}

func TestMockFailureInjection(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name          string
		req           *ai.CompletionRequest
		wantErr       error
		wantPermanent bool
	}{
		{"fail", &ai.CompletionRequest{Messages: user("please [[fail]] now")}, ai.ErrInjected, false},
		{"fail permanent", &ai.CompletionRequest{Messages: user("[[fail-permanent]]")}, ai.ErrInjectedPermanent, true},
		{"in system prompt", &ai.CompletionRequest{System: "[[fail]]", Messages: user("hi")}, ai.ErrInjected, false},
		{"in a later message", &ai.CompletionRequest{Messages: []ai.Message{
			{Role: ai.RoleUser, Content: "hi"}, {Role: ai.RoleAssistant, Content: "x [[fail-permanent]]"},
		}}, ai.ErrInjectedPermanent, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			comp, err := ai.NewMock().Complete(t.Context(), tt.req)
			require.Nil(t, comp)
			require.ErrorIs(t, err, tt.wantErr)
			require.Equal(t, tt.wantPermanent, step.IsPermanent(err))
		})
	}

	t.Run("through the handler", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, err := b.execute(t, `{"model": "m", "prompt": "{{ input.customer }} [[fail]]"}`)
		require.EqualError(t, err, "ai mock m: mock provider: injected failure")
		require.False(t, step.IsPermanent(err))
		_, err = b.execute(t, `{"model": "m", "prompt": "[[fail-permanent]] {{ input.customer }}"}`)
		require.EqualError(t, err, "ai mock m: mock provider: injected permanent failure")
		require.True(t, step.IsPermanent(err))
	})
}

func TestMockCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := ai.NewMock().Complete(ctx, &ai.CompletionRequest{Messages: user("hi")})
	require.ErrorIs(t, err, context.Canceled)
}

// The mock gives demos a stable classification without a network.
func ExampleMock() {
	h, err := ai.New(map[string]ai.Provider{ai.DefaultProvider: ai.NewMock()})
	if err != nil {
		panic(err)
	}
	action, err := h.Compile([]byte(`{"model": "demo", "prompt": "{{ input.text }}", "json": true}`))
	if err != nil {
		panic(err)
	}
	req := request()
	res, err := action.Execute(context.Background(), req)
	if err != nil {
		panic(err)
	}
	out := res.Output.(map[string]any)
	fmt.Println(out["label"])
	fmt.Println(out["summary"])
	// Output:
	// bug
	// The export button is broken and shows an error since yesterday's update
}
