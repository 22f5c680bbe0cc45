package step

import (
	"fmt"
	"sort"
)

// Registry maps step type names to handlers. The wiring fills it; nothing
// registers itself.
type Registry struct {
	handlers map[string]Handler
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{handlers: map[string]Handler{}} }

// Register adds a handler for a step type. It fails on an empty name, a nil
// handler or a duplicate.
func (r *Registry) Register(stepType string, h Handler) error {
	if stepType == "" {
		return fmt.Errorf("register step handler: empty type")
	}
	if h == nil {
		return fmt.Errorf("register step handler %q: nil handler", stepType)
	}
	if _, dup := r.handlers[stepType]; dup {
		return fmt.Errorf("register step handler %q: already registered", stepType)
	}
	r.handlers[stepType] = h
	return nil
}

// Lookup returns the handler of a step type.
func (r *Registry) Lookup(stepType string) (Handler, bool) {
	h, ok := r.handlers[stepType]
	return h, ok
}

// Types returns the registered type names, sorted.
func (r *Registry) Types() []string {
	out := make([]string, 0, len(r.handlers))
	for t := range r.handlers {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}
