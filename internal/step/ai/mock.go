package ai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"unicode"

	"github.com/sluicehq/sluice/internal/step"
)

// Labels the mock chooses from, in the order its keyword rules are tried.
const (
	LabelUrgent   = "urgent"
	LabelBug      = "bug"
	LabelBilling  = "billing"
	LabelQuestion = "question"
	LabelFeedback = "feedback"
)

// Failure markers: a prompt (any message or the system prompt) holding
// one makes the mock fail, so that tests and demos can exercise retries
// and dead letters.
const (
	// FailMarker makes every attempt fail with a retryable error
	// (ErrInjected).
	FailMarker = "[[fail]]"
	// FailPermanentMarker makes the attempt fail permanently
	// (ErrInjectedPermanent, wrapped with step.Permanent).
	FailPermanentMarker = "[[fail-permanent]]"
)

var (
	// ErrInjected is the mock's retryable failure.
	ErrInjected = errors.New("mock provider: injected failure")
	// ErrInjectedPermanent is the mock's permanent failure.
	ErrInjectedPermanent = errors.New("mock provider: injected permanent failure")
)

// summaryWords is how many words of the prompt the mock's summary keeps.
const summaryWords = 12

// mockRules map keywords (whole words, any case) to labels, tried in order.
var mockRules = []struct {
	label string
	words []string
}{
	{LabelUrgent, []string{"urgent", "asap", "emergency", "outage", "down", "critical", "immediately"}},
	{LabelBug, []string{"bug", "bugs", "error", "errors", "crash", "crashes", "crashed", "broken", "exception", "fails", "failing", "failed"}},
	{LabelBilling, []string{"billing", "bill", "billed", "invoice", "invoices", "charge", "charged", "refund", "payment", "payments", "subscription", "price", "pricing"}},
	{LabelQuestion, []string{"how", "what", "why", "where", "question"}},
	{LabelFeedback, []string{"feedback", "love", "great", "awesome", "suggest", "suggestion", "feature", "wish", "thanks"}},
}

// mockLabels is the label set, for the hash fallback.
var mockLabels = []string{LabelBug, LabelBilling, LabelQuestion, LabelUrgent, LabelFeedback}

// Mock is a deterministic, offline Provider for tests, demos and local
// development. Its answer depends only on the prompt and the model:
//
//   - The prompt is the text of the user messages (all messages if there
//     is none); the system prompt does not count.
//   - label: the first keyword rule that matches a word of the prompt
//     (urgent, bug, billing, question, feedback; a "?" also means
//     question), else one of the five chosen by a hash of model and prompt.
//   - summary: the first 12 words of the prompt ("..." when cut).
//   - confidence: 0.9 for a keyword match, 0.5 for the hash fallback.
//   - JSON: always the object {"confidence", "label", "summary"}, so that
//     label and summary are in the step output even without "json": true.
//   - Text: with JSON requested, that object encoded; otherwise the
//     sentence "This looks like a <label> message: <summary>".
//   - Usage: words in the system prompt and all messages in, words of Text
//     out. MaxTokens and Temperature are ignored.
//
// Failure injection: a FailPermanentMarker anywhere in the system prompt or
// a message fails permanently; a FailMarker fails with a retryable error on
// every attempt. The zero value is ready to use.
type Mock struct{}

// NewMock returns the mock provider.
func NewMock() *Mock { return &Mock{} }

// Complete implements Provider.
func (m *Mock) Complete(ctx context.Context, req *CompletionRequest) (*Completion, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("mock provider: %w", err)
	}
	all := req.System
	for _, msg := range req.Messages {
		all += "\n" + msg.Content
	}
	switch {
	case strings.Contains(all, FailPermanentMarker):
		return nil, step.Permanent(ErrInjectedPermanent)
	case strings.Contains(all, FailMarker):
		return nil, ErrInjected
	}

	prompt := mockPrompt(req.Messages)
	label, confidence := mockLabel(req.Model, prompt)
	summary := mockSummary(prompt)
	obj := map[string]any{"label": label, "summary": summary, "confidence": confidence}
	comp := &Completion{Model: req.Model, JSON: obj}
	if req.JSON {
		text, err := json.Marshal(obj)
		if err != nil {
			return nil, fmt.Errorf("mock provider: encode answer: %w", err)
		}
		comp.Text = string(text)
	} else {
		comp.Text = fmt.Sprintf("This looks like a %s message: %s", label, summary)
	}
	comp.Usage = Usage{InputTokens: len(strings.Fields(all)), OutputTokens: len(strings.Fields(comp.Text))}
	return comp, nil
}

// mockPrompt joins the user messages, or all messages if none is a user's.
func mockPrompt(msgs []Message) string {
	var parts []string
	for _, m := range msgs {
		if m.Role == RoleUser {
			parts = append(parts, m.Content)
		}
	}
	if len(parts) == 0 {
		for _, m := range msgs {
			parts = append(parts, m.Content)
		}
	}
	return strings.Join(parts, "\n")
}

// mockLabel applies the keyword rules, then the hash fallback.
func mockLabel(model, prompt string) (string, float64) {
	words := strings.FieldsFunc(strings.ToLower(prompt), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	for _, rule := range mockRules {
		if slices.ContainsFunc(words, func(w string) bool { return slices.Contains(rule.words, w) }) ||
			rule.label == LabelQuestion && strings.Contains(prompt, "?") {
			return rule.label, 0.9
		}
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(model + "\x00" + prompt))
	return mockLabels[h.Sum32()%uint32(len(mockLabels))], 0.5
}

// mockSummary keeps the first summaryWords words of the prompt.
func mockSummary(prompt string) string {
	words := strings.Fields(prompt)
	if len(words) <= summaryWords {
		return strings.Join(words, " ")
	}
	return strings.Join(words[:summaryWords], " ") + "..."
}
