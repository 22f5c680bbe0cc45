package publish_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/internal/expr"
	"github.com/sluicehq/sluice/internal/step"
	"github.com/sluicehq/sluice/internal/step/publish"
	"github.com/sluicehq/sluice/internal/step/steptest"
	"github.com/sluicehq/sluice/internal/workflow"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func request() *step.Request {
	return &step.Request{
		RunID:          "run-1",
		StepID:         "notify",
		Attempt:        2,
		IdempotencyKey: "run-1/notify/0",
		Scope: &expr.Scope{
			Input: map[string]any{"id": "T-42", "priority": 3.0, "big": json.Number("12345678901234567890")},
			Steps: map[string]any{"classify": map[string]any{"label": "billing", "summary": "double charge"}},
			Run:   expr.RunInfo{ID: "run-1", StepID: "notify", Attempt: 2, IdempotencyKey: "run-1/notify/0"},
		},
	}
}

func TestExecute(t *testing.T) {
	t.Parallel()

	action, err := publish.New().Compile(json.RawMessage(`{
		"exchange": "tickets",
		"routingKey": "ticket.{{ steps.classify.output.label }}",
		"message": {
			"ticket": "{{ input.id }}",
			"priority": "{{ input.priority }}",
			"big": "{{ input.big }}",
			"literal": 12345678901234567890,
			"tags": ["{{ steps.classify.output.label }}", true, null],
			"text": "Ticket {{ input.id }}: {{ steps.classify.output.summary }}"
		},
		"headers": {"x-source": "sluice", "x-run": "{{ run.id }}"}
	}`))
	require.NoError(t, err)

	res, err := action.Execute(t.Context(), request())
	require.NoError(t, err)

	wantMessage := `{"big":12345678901234567890,"literal":12345678901234567890,"priority":3,` +
		`"tags":["billing",true,null],"text":"Ticket T-42: double charge","ticket":"T-42"}`
	wantHeaders := map[string]string{"x-source": "sluice", "x-run": "run-1"}
	require.Len(t, res.Outbox, 1)
	msg := res.Outbox[0]
	require.Equal(t, "tickets", msg.Exchange)
	require.Equal(t, "ticket.billing", msg.RoutingKey)
	require.JSONEq(t, wantMessage, string(msg.Message))
	require.Equal(t, wantHeaders, msg.Headers)
	require.Equal(t, "run-1/notify/0", msg.MessageID)

	require.Equal(t, map[string]any{
		"messageId":  "run-1/notify/0",
		"exchange":   "tickets",
		"routingKey": "ticket.billing",
	}, res.Output)
	input, err := json.Marshal(res.Input)
	require.NoError(t, err)
	require.JSONEq(t, `{"exchange":"tickets","routingKey":"ticket.billing","message":`+wantMessage+
		`,"headers":{"x-source":"sluice","x-run":"run-1"}}`, string(input))
	require.Nil(t, res.Branch)
	require.True(t, res.WaitUntil.IsZero())
}

func TestExecuteDefaults(t *testing.T) {
	t.Parallel()

	// Default exchange, a scalar message, no headers.
	action, err := publish.New().Compile(json.RawMessage(`{"routingKey": "jobs", "message": "{{ input.id }}"}`))
	require.NoError(t, err)
	res, err := action.Execute(t.Context(), request())
	require.NoError(t, err)
	require.Len(t, res.Outbox, 1)
	require.Equal(t, &workflow.OutboxMessage{
		Exchange:   "",
		RoutingKey: "jobs",
		Message:    json.RawMessage(`"T-42"`),
		MessageID:  "run-1/notify/0",
	}, res.Outbox[0])
	require.Equal(t, map[string]any{"messageId": "run-1/notify/0", "exchange": "", "routingKey": "jobs"}, res.Output)
}

func TestExecuteErrorsArePermanent(t *testing.T) {
	t.Parallel()

	long := strings.Repeat("k", 256)
	tests := []struct {
		name   string
		config string
		want   string
	}{
		{"routing key render", `{"routingKey": "{{ input.id.x }}", "message": 1}`, `queue_publish routingKey: evaluate "input.id.x"`},
		{"routing key too long", `{"routingKey": "{{ input.id }}` + long + `", "message": 1}`, `queue_publish routingKey: 260 bytes exceed the limit of 255`},
		{"message render", `{"routingKey": "k", "message": {"a": ["{{ input.id > 1 }}"]}}`, `queue_publish message: evaluate "input.id > 1"`},
		{"header render", `{"routingKey": "k", "message": 1, "headers": {"h": "{{ input.nope.x }}"}}`, `queue_publish header "h": evaluate "input.nope.x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			action, err := publish.New().Compile(json.RawMessage(tt.config))
			require.NoError(t, err)
			res, err := action.Execute(t.Context(), request())
			require.Nil(t, res)
			require.True(t, step.IsPermanent(err), "%v", err)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestCompileInvalid(t *testing.T) {
	t.Parallel()

	long := strings.Repeat("x", 256)
	tests := []struct {
		name   string
		config string
		want   []string
	}{
		{"empty", `{}`, []string{"/routingKey: is required", "/message: is required"}},
		{"null message", `{"routingKey": "k", "message": null}`, []string{"/message: is required"}},
		{"exchange not a string", `{"exchange": 1, "routingKey": "k", "message": 1}`, []string{"/exchange: must be a string"}},
		{"exchange too long", `{"exchange": "` + long + `", "routingKey": "k", "message": 1}`, []string{"/exchange: must be at most 255 bytes"}},
		{"routing key not a string", `{"routingKey": ["k"], "message": 1}`, []string{"/routingKey: must be a string"}},
		{"routing key too long", `{"routingKey": "` + long + `", "message": 1}`, []string{"/routingKey: must be at most 255 bytes"}},
		{"routing key bad template", `{"routingKey": "{{ steps. }}", "message": 1}`, []string{`/routingKey: compile "steps."`}},
		{"message bad templates", `{"routingKey": "k", "message": {"ticket": "{{ input. }}", "list": ["ok", "{{ run.nope }}"], "a/b": "{{"}}`, []string{
			`/message/a~1b: unclosed {{`,
			`/message/list/1: compile "run.nope"`,
			`/message/ticket: compile "input."`,
		}},
		{"headers not an object", `{"routingKey": "k", "message": 1, "headers": ["a"]}`, []string{"/headers: must be an object"}},
		{"header not a string", `{"routingKey": "k", "message": 1, "headers": {"x-n": 1}}`, []string{"/headers/x-n: must be a string"}},
		{"header bad template", `{"routingKey": "k", "message": 1, "headers": {"X-Ticket": "{{ input. }}"}}`, []string{`/headers/X-Ticket: compile "input."`}},
		{"header empty name", `{"routingKey": "k", "message": 1, "headers": {"": "v"}}`, []string{"/headers/: header name must not be empty"}},
		{"unknown field", `{"routingKey": "k", "message": 1, "queue": "q"}`, []string{"/queue: unknown field (known: exchange, routingKey, message, headers)"}},
		{"everything wrong", `{"exchange": false, "routingKey": 1, "headers": 2, "x": 3}`, []string{
			"/x: unknown field",
			"/exchange: must be a string",
			"/routingKey: must be a string",
			"/message: is required",
			"/headers: must be an object",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			action, err := publish.New().Compile(json.RawMessage(tt.config))
			require.Nil(t, action)
			steptest.RequireInvalid(t, err, "invalid queue_publish config", tt.want...)
		})
	}
}
