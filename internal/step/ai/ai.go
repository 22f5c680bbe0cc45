// Package ai implements the "ai" step type: it renders a prompt, asks a
// language model Provider for a completion and records the answer.
//
// Config:
//
//	{
//	  "provider": "mock",                      // default "mock"; must be registered
//	  "model": "triage-small",                 // required
//	  "system": "You triage support tickets.", // optional template
//	  "prompt": "Classify: {{ input.text }}",  // template; or "messages" (not both)
//	  "messages": [{"role": "user", "content": "{{ input.text }}"}],  // roles: system, user, assistant
//	  "json": true,                            // ask for a JSON object
//	  "maxTokens": 256,                        // optional, > 0
//	  "temperature": 0.2                       // optional, 0..2
//	}
//
// Output: {"text", "model", "provider", "usage": {"inputTokens",
// "outputTokens"}}, plus, when json is true, "json" (the parsed answer) and,
// for convenience, "label" and "summary" when that object has such string
// fields. An answer that should be JSON but does not parse is retried.
//
// Providers are given to New by the wiring; the package includes Mock, a
// deterministic offline provider for tests and demos.
package ai

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/internal/expr"
	"github.com/sluicehq/sluice/internal/step"
	"github.com/sluicehq/sluice/internal/step/stepconfig"
)

// DefaultProvider is the provider of a step that names none.
const DefaultProvider = "mock"

// Handler compiles ai step configs against a fixed set of providers.
type Handler struct {
	providers map[string]Provider
}

// New returns an ai step handler that serves the given providers, keyed by
// the name steps use in "provider" (register Mock as DefaultProvider to
// serve steps that name none). It fails on an empty name or a nil provider.
func New(providers map[string]Provider) (*Handler, error) {
	h := &Handler{providers: make(map[string]Provider, len(providers))}
	for name, p := range providers {
		if name == "" {
			return nil, fmt.Errorf("ai: provider with an empty name")
		}
		if p == nil {
			return nil, fmt.Errorf("ai: provider %q is nil", name)
		}
		h.providers[name] = p
	}
	return h, nil
}

// Providers returns the registered provider names, sorted.
func (h *Handler) Providers() []string { return slices.Sorted(maps.Keys(h.providers)) }

// action is one compiled ai step, safe for concurrent use.
type action struct {
	providerName string
	provider     Provider
	model        string
	system       *expr.Template // nil: none
	messages     []compiledMessage
	json         bool
	maxTokens    int
	temperature  *float64
}

type compiledMessage struct {
	role    string
	content *expr.Template
}

// Compile implements step.Handler.
func (h *Handler) Compile(config json.RawMessage) (step.Action, error) {
	var d stepconfig.Decoder
	cfg := d.Object("", config,
		"provider", "model", "system", "prompt", "messages", "json", "maxTokens", "temperature")
	a := &action{providerName: DefaultProvider}

	name, ok := cfg.String("provider")
	if ok {
		a.providerName = name
	}
	if ok || !cfg.Has("provider") { // else the type error is recorded
		if a.provider = h.providers[a.providerName]; a.provider == nil {
			d.Add("/provider", "unknown provider %q (known: %s)", a.providerName, strings.Join(h.Providers(), ", "))
		}
	}
	if cfg.Required("model") {
		if m, ok := cfg.String("model"); ok {
			if strings.TrimSpace(m) == "" {
				d.Add("/model", "must not be empty")
			}
			a.model = m
		}
	}
	if cfg.Has("system") {
		a.system = nonEmptyTemplate(&d, cfg, "system")
	}
	switch {
	case cfg.Has("prompt") && cfg.Has("messages"):
		d.Add("/messages", "cannot be combined with prompt: set exactly one")
	case cfg.Has("prompt"):
		a.messages = []compiledMessage{{role: RoleUser, content: nonEmptyTemplate(&d, cfg, "prompt")}}
	case cfg.Has("messages"):
		a.messages = compileMessages(&d, cfg)
	default:
		d.Add("/prompt", "is required (or set messages)")
	}
	a.json, _ = cfg.Bool("json")
	if n, ok := cfg.Int("maxTokens"); ok {
		if n < 1 {
			d.Add("/maxTokens", "must be positive, not %d", n)
		}
		a.maxTokens = n
	}
	if t, ok := cfg.Float("temperature"); ok {
		if t < 0 || t > 2 {
			d.Add("/temperature", "must be between 0 and 2, not %v", t)
		}
		a.temperature = &t
	}
	if err := d.Err("invalid ai config"); err != nil {
		return nil, err
	}
	return a, nil
}

// nonEmptyTemplate compiles a string template that must not be empty.
func nonEmptyTemplate(d *stepconfig.Decoder, cfg *stepconfig.Object, key string) *expr.Template {
	tmpl, src, ok := cfg.TemplateString(key)
	if ok && strings.TrimSpace(src) == "" {
		d.Add(cfg.Path(key), "must not be empty")
	}
	return tmpl
}

// compileMessages compiles a non-empty array of {role, content} objects.
func compileMessages(d *stepconfig.Decoder, cfg *stepconfig.Object) []compiledMessage {
	items, ok := cfg.Array("messages")
	if !ok {
		return nil
	}
	if len(items) == 0 {
		d.Add("/messages", "must hold at least one message")
	}
	roles := []string{RoleSystem, RoleUser, RoleAssistant}
	out := make([]compiledMessage, 0, len(items))
	for i, raw := range items {
		msg := d.Object(fmt.Sprintf("/messages/%d", i), raw, "role", "content")
		var m compiledMessage
		if msg.Required("role") {
			if role, ok := msg.String("role"); ok {
				if !slices.Contains(roles, role) {
					d.Add(msg.Path("role"), "must be one of %s, not %q", strings.Join(roles, ", "), role)
				}
				m.role = role
			}
		}
		if msg.Required("content") {
			m.content = nonEmptyTemplate(d, msg, "content")
		}
		out = append(out, m)
	}
	return out
}
