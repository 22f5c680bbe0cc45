package ai

import "context"

// Provider is a language model backend (OpenAI, Anthropic, a local model,
// the mock). Implementations must be safe for concurrent use.
type Provider interface {
	// Complete asks the model for one completion. Errors steer the step
	// like any action error: wrap a failure that will not fix itself (bad
	// request, unknown model, auth) with step.Permanent, a rate limit with
	// step.RetryAfter when the backend says how long to wait, and return
	// others (network, 5xx, overload) plain, to be retried per policy.
	Complete(ctx context.Context, req *CompletionRequest) (*Completion, error)
}

// CompletionRequest is one rendered request to a provider.
type CompletionRequest struct {
	// Model names the provider's model, e.g. "gpt-4o-mini".
	Model string
	// System is the system prompt; empty for none.
	System string
	// Messages is the conversation, oldest first; at least one.
	Messages []Message
	// JSON asks for a JSON object as the answer.
	JSON bool
	// MaxTokens bounds the answer; 0 leaves it to the provider.
	MaxTokens int
	// Temperature (0..2) sets randomness; nil leaves it to the provider.
	Temperature *float64
}

// Message roles.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Message is one turn of a conversation.
type Message struct {
	// Role is RoleSystem, RoleUser or RoleAssistant.
	Role string `json:"role"`
	// Content is the rendered text.
	Content string `json:"content"`
}

// Completion is a provider's answer.
type Completion struct {
	// Text is the answer as the model wrote it.
	Text string
	// JSON is a structured answer, if the provider has one (the mock
	// always does). When JSON was requested and this is nil, the handler
	// parses Text. Its string "label" and "summary" fields are lifted into
	// the step output either way.
	JSON any
	// Model is the model that answered (providers may resolve aliases);
	// empty means the requested one.
	Model string
	// Usage counts tokens.
	Usage Usage
}

// Usage counts the tokens of one completion.
type Usage struct {
	InputTokens  int
	OutputTokens int
}
