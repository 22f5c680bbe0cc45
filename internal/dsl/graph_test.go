package dsl_test

import (
	"testing"

	"github.com/sluicehq/sluice/internal/workflow"
)

// cond returns a valid condition step with extra fields.
func cond(id, extra string) string {
	return `{"id":"` + id + `","type":"condition","config":{"expression":"input.ok"}` + extra + `}`
}

func TestCompile_Steps(t *testing.T) {
	t.Parallel()
	runInvalid(t, []invalidCase{
		{"steps missing", `{"id":"w","startAt":"a"}`,
			[]workflow.FieldError{fe("/steps", "steps is required: list at least one step")}},
		{"steps empty", `{"id":"w","startAt":"a","steps":[]}`,
			[]workflow.FieldError{fe("/steps", "steps must list at least one step")}},
		{"duplicate step id", wf(``, delay("a", `,"next":"b"`), delay("b", ""), delay("a", "")),
			[]workflow.FieldError{fe("/steps/2/id", `duplicate step id "a" (first used by /steps/0)`)}},
		{"missing type", wf(``, `{"id":"a"}`),
			[]workflow.FieldError{fe("/steps/0/type", "step type is required")}},
		{"type not a string", wf(``, `{"id":"a","type":1}`),
			[]workflow.FieldError{fe("/steps/0/type", "step type must be a string, not a number")}},
		{"unknown type", wf(``, `{"id":"a","type":"htp","config":{"url":"https://x"}}`),
			[]workflow.FieldError{fe("/steps/0/type", `unknown step type "htp" (known: ai, condition, delay, http, queue_publish)`)}},
	})
}

func TestCompile_StartAt(t *testing.T) {
	t.Parallel()
	runInvalid(t, []invalidCase{
		{"missing", `{"id":"w","steps":[` + delay("a", "") + `]}`,
			[]workflow.FieldError{fe("/startAt", "startAt is required: name the first step")}},
		{"empty", `{"id":"w","startAt":"","steps":[` + delay("a", "") + `]}`,
			[]workflow.FieldError{fe("/startAt", "startAt is required: name the first step")}},
		{"names no step", `{"id":"w","startAt":"b","steps":[` + delay("a", "") + `]}`,
			[]workflow.FieldError{fe("/startAt", `"startAt" names no step: "b"`)}},
		{"not a string", `{"id":"w","startAt":0,"steps":[` + delay("a", "") + `]}`,
			[]workflow.FieldError{fe("/startAt", "startAt must be a string, not a number")}},
	})
}

func TestCompile_Successors(t *testing.T) {
	t.Parallel()
	runInvalid(t, []invalidCase{
		{"next names no step", wf(``, delay("a", `,"next":"rout"`), delay("route", "")), []workflow.FieldError{
			fe("/steps/0/next", `"next" names no step: "rout"`),
			fe("/steps/1", `step "route" is not reachable from startAt "a"`),
		}},
		{"branches name no step", wf(``, cond("a", `,"onTrue":"yes","onFalse":"no"`)), []workflow.FieldError{
			fe("/steps/0/onTrue", `"onTrue" names no step: "yes"`),
			fe("/steps/0/onFalse", `"onFalse" names no step: "no"`),
		}},
		{"empty next", wf(``, delay("a", `,"next":""`)),
			[]workflow.FieldError{fe("/steps/0/next", `"next" must name a step; leave it out to end the run`)}},
		{"next with onTrue", wf(``, `{"id":"a","type":"custom","next":"b","onTrue":"b"}`, delay("b", "")), []workflow.FieldError{
			fe("/steps/0/type", `unknown step type "custom" (known: ai, condition, delay, http, queue_publish)`),
			fe("/steps/0/next", `a step has either "next" or "onTrue"/"onFalse", not both`),
		}},
		{"next with onFalse", wf(``, cond("a", `,"onFalse":"b","next":"b"`), delay("b", "")),
			[]workflow.FieldError{fe("/steps/0/next", `a step has either "next" or "onTrue"/"onFalse", not both`)}},
		{"condition with next", wf(``, cond("a", `,"next":"b"`), delay("b", "")),
			[]workflow.FieldError{fe("/steps/0/next", `a condition step continues with "onTrue"/"onFalse"; "next" would never be followed`)}},
		{"http with onTrue", wf(``, `{"id":"a","type":"http","config":{"url":"https://x"},"onTrue":"b"}`, delay("b", "")),
			[]workflow.FieldError{fe("/steps/0/onTrue", `only condition steps branch; a http step continues with "next"`)}},
		{"delay with onFalse", wf(``, delay("a", `,"onFalse":"b"`), delay("b", "")),
			[]workflow.FieldError{fe("/steps/0/onFalse", `only condition steps branch; a delay step continues with "next"`)}},
	})
}

func TestCompile_Graph(t *testing.T) {
	t.Parallel()
	runInvalid(t, []invalidCase{
		{"self loop", wf(``, delay("a", `,"next":"a"`)), []workflow.FieldError{
			fe("/steps/0/next", "cycle through steps a → a: runs must end, so steps cannot repeat"),
		}},
		{"two-step cycle", wf(``, delay("a", `,"next":"b"`), delay("b", `,"next":"a"`)), []workflow.FieldError{
			fe("/steps/1/next", "cycle through steps a → b → a: runs must end, so steps cannot repeat"),
		}},
		{"cycle through a branch", wf(``, delay("a", `,"next":"b"`), cond("b", `,"onTrue":"c","onFalse":"d"`), delay("c", ""), delay("d", `,"next":"b"`)),
			[]workflow.FieldError{fe("/steps/3/next", "cycle through steps b → d → b: runs must end, so steps cannot repeat")}},
		{"unreachable cycle", wf(``, delay("a", ""), delay("b", `,"next":"c"`), delay("c", `,"next":"b"`)), []workflow.FieldError{
			fe("/steps/1", `step "b" is not reachable from startAt "a"`),
			fe("/steps/2", `step "c" is not reachable from startAt "a"`),
			fe("/steps/2/next", "cycle through steps b → c → b: runs must end, so steps cannot repeat"),
		}},
		{"unreachable step", wf(``, delay("a", `,"next":"c"`), delay("b", ""), delay("c", "")),
			[]workflow.FieldError{fe("/steps/1", `step "b" is not reachable from startAt "a"`)}},
		{"unreachable only from an unreachable step", wf(``, delay("a", ""), delay("b", `,"next":"c"`), delay("c", "")), []workflow.FieldError{
			fe("/steps/1", `step "b" is not reachable from startAt "a"`),
			fe("/steps/2", `step "c" is not reachable from startAt "a"`),
		}},
	})
}

func TestCompile_GraphValid(t *testing.T) {
	t.Parallel()
	for name, doc := range map[string]string{
		"diamond":             wf(``, cond("a", `,"onTrue":"b","onFalse":"c"`), delay("b", `,"next":"d"`), delay("c", `,"next":"d"`), delay("d", "")),
		"start in the middle": `{"id":"w","startAt":"s","steps":[` + delay("e", "") + `,` + delay("s", `,"next":"e"`) + `]}`,
		"open branches":       wf(``, cond("a", "")),
		"single step":         wf(``, delay("a", "")),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			mustCompile(t, doc)
		})
	}
}
