package cli

// Workflow definition factories for the end-to-end tests.

// delayWorkflow waits duration, then publishes one message.
func delayWorkflow(id, key, duration string) map[string]any {
	return map[string]any{
		"id":      id,
		"name":    "Delay " + duration,
		"trigger": map[string]any{"type": "webhook", "key": key},
		"startAt": "wait",
		"steps": []any{
			map[string]any{"id": "wait", "type": "delay", "config": map[string]any{"duration": duration}, "next": "announce"},
			map[string]any{"id": "announce", "type": "queue_publish", "config": map[string]any{
				"exchange":   "test",
				"routingKey": "waited",
				"message":    map[string]any{"input": "{{ input }}"},
			}},
		},
	}
}

// branchWorkflow is a manual workflow: a condition on input.n routes to one
// of two publish steps.
func branchWorkflow(id string) map[string]any {
	return map[string]any{
		"id":      id,
		"trigger": map[string]any{"type": "manual"},
		"startAt": "check",
		"steps": []any{
			map[string]any{"id": "check", "type": "condition", "config": map[string]any{"expression": "input.n > 10"}, "onTrue": "big", "onFalse": "small"},
			map[string]any{"id": "big", "type": "queue_publish", "config": map[string]any{"routingKey": "big", "message": "{{ input.n }}"}},
			map[string]any{"id": "small", "type": "queue_publish", "config": map[string]any{"routingKey": "small", "message": "{{ input.n }}"}},
		},
	}
}

// invalidWorkflow has several problems at once.
func invalidWorkflow(id string) map[string]any {
	return map[string]any{
		"id":      id,
		"trigger": map[string]any{"type": "webhook"},
		"startAt": "missing",
		"steps": []any{
			map[string]any{"id": "a", "type": "no_such_type", "next": "nowhere"},
			map[string]any{"id": "b", "type": "delay", "config": map[string]any{"duration": "soon"}},
		},
	}
}
