package dsl_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/dsl"
	"github.com/sluicehq/sluice/internal/workflow"
)

// wf returns a document with id "w", startAt "a", the given extra top-level
// fields (a JSON fragment ending with a comma, or "") and steps.
func wf(extra string, steps ...string) string {
	return `{"id":"w",` + extra + `"startAt":"a","steps":[` + strings.Join(steps, ",") + `]}`
}

// delay returns a valid delay step with extra fields (a JSON fragment
// starting with a comma, or "").
func delay(id, extra string) string {
	return `{"id":"` + id + `","type":"delay","config":{"duration":"1s"}` + extra + `}`
}

// fe builds an expected field error.
func fe(path, msg string) workflow.FieldError { return workflow.FieldError{Path: path, Message: msg} }

type invalidCase struct {
	name string
	doc  string
	want []workflow.FieldError
}

// runInvalid compiles every case and requires exactly the expected fields,
// in order.
func runInvalid(t *testing.T, cases []invalidCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, compileFields(t, tc.doc))
		})
	}
}

func TestCompile_Syntax(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"trailing comma", `{"id": "w",}`, `invalid JSON at byte offset 12: invalid character '}' looking for beginning of object key string`},
		{"empty", ``, `invalid JSON at byte offset 0: unexpected end of JSON input`},
		{"trailing data", `{} x`, `invalid JSON at byte offset 4: invalid character 'x' after top-level value`},
		{"truncated", `{"id": "w"`, `invalid JSON at byte offset 10: unexpected end of JSON input`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, []workflow.FieldError{fe("", tc.want)}, compileFields(t, tc.doc))
		})
	}
}

func TestCompile_Structure(t *testing.T) {
	t.Parallel()
	runInvalid(t, []invalidCase{
		{"not an object", `[1]`, []workflow.FieldError{fe("", "the definition must be an object, not an array")}},
		{"null", ` null `, []workflow.FieldError{fe("", "the definition must be an object, not null")}},
		{"unknown top-level field with suggestion", wf(`"nam":"x",`, delay("a", "")),
			[]workflow.FieldError{fe("/nam", `unknown field "nam" in the definition; did you mean "name"?`)}},
		{"unknown top-level field", wf(`"owner":"x",`, delay("a", "")),
			[]workflow.FieldError{fe("/owner", `unknown field "owner" in the definition (allowed: id, name, description, trigger, startAt, defaults, steps)`)}},
		{"unknown step field", wf(``, delay("a", `,"nxt":"b"`)),
			[]workflow.FieldError{fe("/steps/0/nxt", `unknown field "nxt" in a step; did you mean "next"?`)}},
		{"escaped unknown field", wf(``, delay("a", `,"a/b~c":1`)),
			[]workflow.FieldError{fe("/steps/0/a~1b~0c", `unknown field "a/b~c" in a step (allowed: id, type, config, next, onTrue, onFalse, retry, timeout)`)}},
		{"duplicate field", `{"id":"w","id":"v","startAt":"a","steps":[` + delay("a", "") + `]}`,
			[]workflow.FieldError{fe("/id", `duplicate field "id" in the definition`)}},
		{"wrong types", `{"id":7,"name":true,"description":[],"startAt":"a","steps":{}}`, []workflow.FieldError{
			fe("/id", "id must be a string, not a number"),
			fe("/name", "name must be a string, not a boolean"),
			fe("/description", "description must be a string, not an array"),
			fe("/steps", "steps must be an array, not an object"),
		}},
		{"step not an object", wf(``, `"a"`), []workflow.FieldError{
			fe("/startAt", `"startAt" names no step: "a"`),
			fe("/steps/0", "a step must be an object, not a string"),
		}},
		{"unknown trigger field", wf(`"trigger":{"type":"manual","kee":"x"},`, delay("a", "")),
			[]workflow.FieldError{fe("/trigger/kee", `unknown field "kee" in trigger; did you mean "key"?`)}},
		{"unknown retry field", wf(``, delay("a", `,"retry":{"attempts":3}`)),
			[]workflow.FieldError{fe("/steps/0/retry/attempts", `unknown field "attempts" in retry; did you mean "maxAttempts"?`)}},
		{"unknown defaults field", wf(`"defaults":{"timeout":"1s","retries":{}},`, delay("a", "")),
			[]workflow.FieldError{fe("/defaults/retries", `unknown field "retries" in defaults; did you mean "retry"?`)}},
		{"defaults not an object", wf(`"defaults":[],`, delay("a", "")),
			[]workflow.FieldError{fe("/defaults", "defaults must be an object, not an array")}},
		{"config not an object", wf(``, `{"id":"a","type":"delay","config":"1s"}`),
			[]workflow.FieldError{fe("/steps/0/config", "config must be an object, not a string")}},
	})
}

func TestCompile_NullIsAbsent(t *testing.T) {
	t.Parallel()
	c := mustCompile(t, `{"id":"w","name":null,"trigger":null,"startAt":"a","defaults":null,"steps":[
		{"id":"a","type":"http","config":{"url":"https://x"},"next":null,"retry":null,"timeout":null}]}`)
	require.Equal(t, "w", c.Definition.Name)
	require.Equal(t, workflow.TriggerManual, c.Definition.Trigger.Type)
	require.Empty(t, c.Definition.Steps[0].Next)
}

func TestCompile_IDsAndTrigger(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 129)
	runInvalid(t, []invalidCase{
		{"missing id", `{"startAt":"a","steps":[` + delay("a", "") + `]}`,
			[]workflow.FieldError{fe("/id", "id is required")}},
		{"empty id", `{"id":"","startAt":"a","steps":[` + delay("a", "") + `]}`,
			[]workflow.FieldError{fe("/id", "id is required")}},
		{"bad id", `{"id":"-w","startAt":"a","steps":[` + delay("a", "") + `]}`,
			[]workflow.FieldError{fe("/id", `id "-w" is invalid: use 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit`)}},
		{"long id", `{"id":"` + long + `","startAt":"a","steps":[` + delay("a", "") + `]}`,
			[]workflow.FieldError{fe("/id", `id "`+long+`" is invalid: use 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit`)}},
		{"webhook without key", wf(`"trigger":{"type":"webhook"},`, delay("a", "")),
			[]workflow.FieldError{fe("/trigger/key", "webhook key is required")}},
		{"bad webhook key", wf(`"trigger":{"type":"webhook","key":"a b"},`, delay("a", "")),
			[]workflow.FieldError{fe("/trigger/key", `webhook key "a b" is invalid: use 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit`)}},
		{"manual with key", wf(`"trigger":{"type":"manual","key":"k"},`, delay("a", "")),
			[]workflow.FieldError{fe("/trigger/key", `a manual trigger takes no key; use type "webhook" to start runs from a webhook`)}},
		{"unknown trigger type", wf(`"trigger":{"type":"cron"},`, delay("a", "")),
			[]workflow.FieldError{fe("/trigger/type", `unknown trigger type "cron" (known: manual, webhook)`)}},
		{"trigger without type", wf(`"trigger":{},`, delay("a", "")),
			[]workflow.FieldError{fe("/trigger/type", "trigger type is required (webhook or manual)")}},
		{"trigger not an object", wf(`"trigger":"webhook",`, delay("a", "")),
			[]workflow.FieldError{fe("/trigger", "trigger must be an object, not a string")}},
		{"missing step id", wf(``, delay("a", ""), `{"type":"delay","config":{"duration":"1s"}}`),
			[]workflow.FieldError{fe("/steps/1/id", "step id is required")}},
		{"bad step id", wf(``, delay("a", `,"next":"b c"`), delay("b c", "")), []workflow.FieldError{
			fe("/steps/0/next", `"next" names no step: "b c"`),
			fe("/steps/1/id", `step id "b c" is invalid: use 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit`),
		}},
	})
}

func TestCompile_Triggers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, extra string
		want        workflow.Trigger
	}{
		{"omitted is manual", ``, workflow.Trigger{Type: workflow.TriggerManual}},
		{"manual", `"trigger":{"type":"manual"},`, workflow.Trigger{Type: workflow.TriggerManual}},
		{"webhook", `"trigger":{"type":"webhook","key":"in.bound_1-x"},`, workflow.Trigger{Type: workflow.TriggerWebhook, Key: "in.bound_1-x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := mustCompile(t, wf(tc.extra, delay("a", "")))
			require.Equal(t, tc.want, c.Definition.Trigger)
		})
	}
}

func TestCompile_DurationsAndRetry(t *testing.T) {
	t.Parallel()
	runInvalid(t, []invalidCase{
		{"timeout not a duration", wf(``, delay("a", `,"timeout":"10"`)),
			[]workflow.FieldError{fe("/steps/0/timeout", `timeout "10" is not a duration such as "500ms", "10s" or "1h"`)}},
		{"timeout zero", wf(``, delay("a", `,"timeout":"0s"`)),
			[]workflow.FieldError{fe("/steps/0/timeout", `timeout must be greater than zero, not "0s"`)}},
		{"timeout negative", wf(``, delay("a", `,"timeout":"-1s"`)),
			[]workflow.FieldError{fe("/steps/0/timeout", `timeout must be greater than zero, not "-1s"`)}},
		{"timeout over 24h", wf(``, delay("a", `,"timeout":"24h1s"`)),
			[]workflow.FieldError{fe("/steps/0/timeout", `timeout "24h1s" exceeds the maximum of 24h`)}},
		{"timeout not a string", wf(``, delay("a", `,"timeout":30`)),
			[]workflow.FieldError{fe("/steps/0/timeout", `timeout must be a string, not a number`)}},
		{"defaults timeout", wf(`"defaults":{"timeout":"forever"},`, delay("a", "")),
			[]workflow.FieldError{fe("/defaults/timeout", `timeout "forever" is not a duration such as "500ms", "10s" or "1h"`)}},
		{"retry ranges", wf(``, delay("a", `,"retry":{"maxAttempts":0,"initialInterval":"fast","multiplier":0.5,"maxInterval":"0ms","jitter":1.5}`)),
			[]workflow.FieldError{
				fe("/steps/0/retry/maxAttempts", "maxAttempts must be between 1 and 100, not 0"),
				fe("/steps/0/retry/initialInterval", `initialInterval "fast" is not a duration such as "500ms", "10s" or "1h"`),
				fe("/steps/0/retry/multiplier", "multiplier must be between 1 and 100, not 0.5"),
				fe("/steps/0/retry/maxInterval", `maxInterval must be greater than zero, not "0ms"`),
				fe("/steps/0/retry/jitter", "jitter must be between 0 and 1, not 1.5"),
			}},
		{"retry upper bounds", wf(``, delay("a", `,"retry":{"maxAttempts":101,"multiplier":100.5,"jitter":-0.1}`)),
			[]workflow.FieldError{
				fe("/steps/0/retry/maxAttempts", "maxAttempts must be between 1 and 100, not 101"),
				fe("/steps/0/retry/multiplier", "multiplier must be between 1 and 100, not 100.5"),
				fe("/steps/0/retry/jitter", "jitter must be between 0 and 1, not -0.1"),
			}},
		{"retry types", wf(``, delay("a", `,"retry":{"maxAttempts":2.5,"multiplier":"2","jitter":true}`)),
			[]workflow.FieldError{
				fe("/steps/0/retry/maxAttempts", "maxAttempts must be an integer, not 2.5"),
				fe("/steps/0/retry/multiplier", "multiplier must be a number, not a string"),
				fe("/steps/0/retry/jitter", "jitter must be a number, not a boolean"),
			}},
		{"maxInterval below initialInterval", wf(``, delay("a", `,"retry":{"initialInterval":"2s","maxInterval":"1s"}`)),
			[]workflow.FieldError{fe("/steps/0/retry/maxInterval", "maxInterval 1s is shorter than initialInterval 2s")}},
		{"maxInterval below inherited initialInterval", wf(`"defaults":{"retry":{"initialInterval":"5s"}},`, delay("a", `,"retry":{"maxInterval":"2s"}`)),
			[]workflow.FieldError{fe("/steps/0/retry/maxInterval", "maxInterval 2s is shorter than the inherited initialInterval 5s")}},
		{"initialInterval above inherited maxInterval", wf(``, delay("a", `,"retry":{"initialInterval":"2m"}`)),
			[]workflow.FieldError{fe("/steps/0/retry/initialInterval", "initialInterval 2m exceeds the inherited maxInterval 1m")}},
		{"defaults retry checked once", wf(`"defaults":{"retry":{"initialInterval":"2m"}},`, delay("a", `,"retry":{"maxAttempts":2}`)),
			[]workflow.FieldError{fe("/defaults/retry/initialInterval", "initialInterval 2m exceeds the inherited maxInterval 1m")}},
		{"retry not an object", wf(``, delay("a", `,"retry":3`)),
			[]workflow.FieldError{fe("/steps/0/retry", "retry must be an object, not a number")}},
	})
}

func TestParse(t *testing.T) {
	t.Parallel()

	doc, err := dsl.Parse([]byte(wf(``, `{"id":"a","type":"custom","config":{"x":1}}`)))
	require.NoError(t, err, "Parse does not check step types")
	require.Equal(t, "w", doc.ID)
	require.Equal(t, "custom", doc.Steps[0].Type)
	require.JSONEq(t, `{"x":1}`, string(doc.Steps[0].Config))

	_, err = dsl.Parse([]byte(wf(``, delay("a", `,"next":"b"`))))
	require.Equal(t, []workflow.FieldError{fe("/steps/0/next", `"next" names no step: "b"`)}, workflow.ErrorFields(err))
}
