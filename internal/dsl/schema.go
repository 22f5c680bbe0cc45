package dsl

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"sync"

	"github.com/invopop/jsonschema"

	"github.com/sluicehq/sluice/internal/workflow"
)

// durationPattern matches the Go duration strings the DSL accepts ("500ms",
// "1h30m"); time.ParseDuration has the final say.
const durationPattern = `^([0-9]*\.?[0-9]+(ns|us|µs|μs|ms|s|m|h))+$`

// Schema returns the JSON Schema (draft 2020-12) of the DSL, generated from
// Document, with a description of the config of every built-in step type.
// The schema helps editors; Compile remains the authority (it also checks
// references between steps, cycles and each handler's own rules).
func Schema() []byte { return bytes.Clone(schemaOnce()) }

var schemaOnce = sync.OnceValue(func() []byte {
	b, err := json.MarshalIndent(buildSchema(), "", "  ")
	if err != nil {
		panic("dsl: encode JSON Schema: " + err.Error()) // static types: cannot happen
	}
	return append(b, '\n')
})

func buildSchema() *jsonschema.Schema {
	r := &jsonschema.Reflector{
		ExpandedStruct: true,
		Anonymous:      true,
		Namer:          func(t reflect.Type) string { return strings.TrimSuffix(t.Name(), "Doc") },
	}
	s := r.Reflect(&Document{})
	s.Title = "Sluice workflow definition"
	s.Description = "A workflow of steps run one after another from startAt. Reference: docs/dsl.md."
	prop(s, "id").Pattern = idPattern.String()
	prop(s, "startAt").Pattern = idPattern.String()
	prop(s, "steps").MinItems = ptr(uint64(1))

	trigger := s.Definitions["Trigger"]
	prop(trigger, "key").Pattern = idPattern.String()
	trigger.AllOf = []*jsonschema.Schema{
		{
			If:   typeIs(workflow.TriggerWebhook),
			Then: &jsonschema.Schema{Required: []string{"key"}},
		},
		{
			If:   typeIs(workflow.TriggerManual),
			Then: &jsonschema.Schema{Not: &jsonschema.Schema{Required: []string{"key"}}},
		},
	}

	prop(s.Definitions["Defaults"], "timeout").Pattern = durationPattern
	retry := s.Definitions["Retry"]
	prop(retry, "initialInterval").Pattern = durationPattern
	prop(retry, "maxInterval").Pattern = durationPattern

	st := s.Definitions["Step"]
	for _, name := range []string{"id", "next", "onTrue", "onFalse"} {
		prop(st, name).Pattern = idPattern.String()
	}
	prop(st, "timeout").Pattern = durationPattern
	prop(st, "config").Type = "object"
	prop(st, "type").Examples = []any{
		workflow.StepTypeAI, workflow.StepTypeCondition, workflow.StepTypeDelay,
		workflow.StepTypeHTTP, workflow.StepTypeQueuePublish,
	}
	st.DependentSchemas = map[string]*jsonschema.Schema{
		"next": {Not: &jsonschema.Schema{AnyOf: []*jsonschema.Schema{
			{Required: []string{"onTrue"}},
			{Required: []string{"onFalse"}},
		}}},
	}
	for _, c := range stepConfigs() {
		then := &jsonschema.Schema{Properties: jsonschema.NewProperties()}
		then.Properties.Set("config", c.schema)
		st.AllOf = append(st.AllOf, &jsonschema.Schema{If: typeIs(c.stepType), Then: then})
	}
	return s
}

// prop returns the schema of a property that the Document types declare.
func prop(s *jsonschema.Schema, name string) *jsonschema.Schema {
	p, ok := s.Properties.Get(name)
	if !ok {
		panic("dsl: schema has no property " + name) // a typo in this file
	}
	return p
}

// typeIs is the schema of an object whose "type" is t.
func typeIs(t string) *jsonschema.Schema {
	props := jsonschema.NewProperties()
	props.Set("type", &jsonschema.Schema{Const: t})
	return &jsonschema.Schema{Properties: props, Required: []string{"type"}}
}

func ptr[T any](v T) *T { return &v }

// stepConfig is the documented config of one built-in step type.
type stepConfig struct {
	stepType string
	schema   *jsonschema.Schema
}

// stepConfigs describes the config of the built-in step types. The schemas
// allow extra properties: each handler validates its own config, so the
// editor help must not reject what a newer handler accepts.
func stepConfigs() []stepConfig {
	r := &jsonschema.Reflector{DoNotReference: true, Anonymous: true, AllowAdditionalProperties: true}
	reflectConfig := func(v any, description string) *jsonschema.Schema {
		s := r.Reflect(v)
		s.Version = ""
		s.Description = description
		return s
	}
	delay := reflectConfig(&delayConfigDoc{}, "Parks the run as waiting for a duration or until a time. Output: {until}.")
	delay.OneOf = []*jsonschema.Schema{{Required: []string{"duration"}}, {Required: []string{"until"}}}
	prop(delay, "duration").Pattern = durationPattern
	ai := reflectConfig(&aiConfigDoc{}, "Calls a language model. Output: {text, label, summary, json?, model, provider, usage: {inputTokens, outputTokens}}.")
	ai.AnyOf = []*jsonschema.Schema{{Required: []string{"prompt"}}, {Required: []string{"messages"}}}
	http := reflectConfig(&httpConfigDoc{}, "Sends an HTTP request. Output: {status, headers, body}.")
	prop(http, "timeout").Pattern = durationPattern
	return []stepConfig{
		{workflow.StepTypeAI, ai},
		{workflow.StepTypeCondition, reflectConfig(&conditionConfigDoc{}, "Chooses onTrue or onFalse. Output: {result}.")},
		{workflow.StepTypeDelay, delay},
		{workflow.StepTypeHTTP, http},
		{workflow.StepTypeQueuePublish, reflectConfig(&queuePublishConfigDoc{}, "Publishes a message through the outbox, in the step's transaction. Output: {messageId, exchange, routingKey}.")},
	}
}

// The types below only document step configs in the schema; the handlers
// in internal/step/* define and validate the real ones.

type httpConfigDoc struct {
	Method           string            `json:"method,omitempty" jsonschema_description:"HTTP method. Defaults to GET."`
	URL              string            `json:"url" jsonschema_description:"Request URL (template)."`
	Headers          map[string]string `json:"headers,omitempty" jsonschema_description:"Request headers (templates). Idempotency-Key defaults to the step's idempotency key."`
	Query            map[string]string `json:"query,omitempty" jsonschema_description:"Query parameters (templates)."`
	Body             any               `json:"body,omitempty" jsonschema_description:"Request body (any JSON template): a string is sent as is, other values JSON-encoded."`
	Timeout          string            `json:"timeout,omitempty" jsonschema_description:"Timeout of the request, a Go duration no longer than the step timeout."`
	RetryOn          []int             `json:"retryOn,omitempty" jsonschema_description:"Extra 4xx status codes to retry (5xx, 429 and network errors always are)."`
	MaxResponseBytes int               `json:"maxResponseBytes,omitempty" jsonschema:"minimum=1" jsonschema_description:"Largest response body read. Defaults to 1 MiB."`
}

type conditionConfigDoc struct {
	Expression string `json:"expression" jsonschema_description:"Boolean expression over input, steps and run, e.g. input.amount > 100."`
}

type delayConfigDoc struct {
	Duration string `json:"duration,omitempty" jsonschema_description:"How long to wait, a Go duration. Exactly one of duration and until."`
	Until    string `json:"until,omitempty" jsonschema_description:"Template yielding an RFC 3339 timestamp to wait for. Exactly one of duration and until."`
}

type aiConfigDoc struct {
	Provider    string         `json:"provider,omitempty" jsonschema_description:"Model provider. Defaults to mock (deterministic and offline)."`
	Model       string         `json:"model,omitempty" jsonschema_description:"Model name."`
	Prompt      string         `json:"prompt,omitempty" jsonschema_description:"User prompt (template). Either prompt or messages."`
	Messages    []aiMessageDoc `json:"messages,omitempty" jsonschema_description:"Chat messages. Either prompt or messages."`
	System      string         `json:"system,omitempty" jsonschema_description:"Optional system prompt (template)."`
	JSON        bool           `json:"json,omitempty" jsonschema_description:"Ask the model for JSON output, returned parsed as output.json."`
	MaxTokens   int            `json:"maxTokens,omitempty" jsonschema:"minimum=1" jsonschema_description:"Largest number of tokens to generate."`
	Temperature float64        `json:"temperature,omitempty" jsonschema:"minimum=0" jsonschema_description:"Sampling temperature."`
}

type aiMessageDoc struct {
	Role    string `json:"role" jsonschema_description:"Message role, e.g. user or assistant."`
	Content string `json:"content" jsonschema_description:"Message text (template)."`
}

type queuePublishConfigDoc struct {
	Exchange   string            `json:"exchange,omitempty" jsonschema_description:"Exchange to publish to."`
	RoutingKey string            `json:"routingKey,omitempty" jsonschema_description:"Routing key (template)."`
	Message    any               `json:"message,omitempty" jsonschema_description:"Message body (any JSON template)."`
	Headers    map[string]string `json:"headers,omitempty" jsonschema_description:"Message headers (templates)."`
}
