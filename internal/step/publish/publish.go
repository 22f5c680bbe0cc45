// Package publish implements the "queue_publish" step type: it renders a
// message and hands it to the engine as an outbox row, written in the same
// transaction as the step's result. The relay delivers it to the broker
// later, so a publish is never lost and never sent for a step that did not
// commit.
//
// Config:
//
//	{
//	  "exchange": "tickets",                          // optional; "" is the default exchange
//	  "routingKey": "ticket.{{ steps.classify.output.label }}",
//	  "message": {"ticket": "{{ input.id }}", "label": "{{ steps.classify.output.label }}"},
//	  "headers": {"x-source": "sluice"}               // optional, string templates
//	}
//
// The message is any JSON value whose strings may be templates; it is sent
// JSON-encoded. Its message id is the step's idempotency key, so consumers
// can drop duplicates. Output: {"messageId", "exchange", "routingKey"}.
package publish

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sluicehq/sluice/internal/expr"
	"github.com/sluicehq/sluice/internal/step"
	"github.com/sluicehq/sluice/internal/step/stepconfig"
	"github.com/sluicehq/sluice/internal/workflow"
)

// maxNameBytes is AMQP's limit on exchange names and routing keys
// (shortstr).
const maxNameBytes = 255

// Handler compiles queue_publish step configs. It is stateless.
type Handler struct{}

// New returns a queue_publish step handler.
func New() *Handler { return &Handler{} }

// Compile implements step.Handler.
func (h *Handler) Compile(config json.RawMessage) (step.Action, error) {
	var d stepconfig.Decoder
	cfg := d.Object("", config, "exchange", "routingKey", "message", "headers")
	a := &action{}
	if ex, ok := cfg.String("exchange"); ok {
		if len(ex) > maxNameBytes {
			d.Add("/exchange", "must be at most %d bytes", maxNameBytes)
		}
		a.exchange = ex
	}
	if cfg.Required("routingKey") {
		tmpl, src, ok := cfg.TemplateString("routingKey")
		if ok && stepconfig.IsLiteral(src) && len(src) > maxNameBytes {
			d.Add("/routingKey", "must be at most %d bytes", maxNameBytes)
		}
		a.routingKey = tmpl
	}
	if cfg.Required("message") {
		a.message, _ = cfg.Template("message")
	}
	if headers, ok := cfg.TemplateMap("headers"); ok {
		for name := range headers {
			if name == "" {
				d.Add("/headers/", "header name must not be empty")
			}
		}
		a.headers = headers
	}
	if err := d.Err("invalid queue_publish config"); err != nil {
		return nil, err
	}
	return a, nil
}

type action struct {
	exchange   string
	routingKey *expr.Template
	message    *expr.Template
	headers    map[string]*expr.Template
}

// Execute renders the message into an outbox row. Render errors fail the
// step permanently: they would recur on every attempt.
func (a *action) Execute(_ context.Context, req *step.Request) (*step.Result, error) {
	key, err := a.routingKey.RenderString(req.Scope)
	if err != nil {
		return nil, step.Permanentf("queue_publish routingKey: %w", err)
	}
	if len(key) > maxNameBytes {
		return nil, step.Permanentf("queue_publish routingKey: %d bytes exceed the limit of %d", len(key), maxNameBytes)
	}
	msg, err := a.message.Render(req.Scope)
	if err != nil {
		return nil, step.Permanentf("queue_publish message: %w", err)
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return nil, step.Permanentf("queue_publish message: encode JSON: %w", err)
	}
	headers, err := a.renderHeaders(req.Scope)
	if err != nil {
		return nil, step.Permanent(err)
	}
	return &step.Result{
		Input: map[string]any{
			"exchange":   a.exchange,
			"routingKey": key,
			"message":    json.RawMessage(body),
			"headers":    headers,
		},
		Output: map[string]any{
			"messageId":  req.IdempotencyKey,
			"exchange":   a.exchange,
			"routingKey": key,
		},
		Outbox: []*workflow.OutboxMessage{{
			Exchange:   a.exchange,
			RoutingKey: key,
			Message:    body,
			Headers:    headers,
			MessageID:  req.IdempotencyKey,
		}},
	}, nil
}

// renderHeaders renders the header templates; nil when there are none.
func (a *action) renderHeaders(s *expr.Scope) (map[string]string, error) {
	if len(a.headers) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(a.headers))
	for name, t := range a.headers {
		v, err := t.RenderString(s)
		if err != nil {
			return nil, fmt.Errorf("queue_publish header %q: %w", name, err)
		}
		out[name] = v
	}
	return out, nil
}
