package dsl_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sluicehq/sluice/internal/dsl"
	"github.com/sluicehq/sluice/internal/step"
	"github.com/sluicehq/sluice/internal/workflow"
)

// exampleRegistry registers handlers that accept any config; the wiring
// registers the real ones.
func exampleRegistry() *step.Registry {
	accept := step.HandlerFunc(func(json.RawMessage) (step.Action, error) {
		return step.ActionFunc(func(context.Context, *step.Request) (*step.Result, error) {
			return &step.Result{}, nil
		}), nil
	})
	reg := step.NewRegistry()
	for _, typ := range []string{workflow.StepTypeHTTP, workflow.StepTypeDelay} {
		if err := reg.Register(typ, accept); err != nil {
			panic(err)
		}
	}
	return reg
}

func ExampleCompile() {
	doc := `{
	  "id": "notify",
	  "trigger": {"type": "webhook", "key": "orders"},
	  "startAt": "wait",
	  "defaults": {"retry": {"maxAttempts": 5}, "timeout": "10s"},
	  "steps": [
	    {"id": "wait", "type": "delay", "config": {"duration": "1m"}, "next": "post"},
	    {"id": "post", "type": "http", "timeout": "5s", "retry": {"initialInterval": "200ms"},
	     "config": {"method": "POST", "url": "https://hooks.example.com/{{ input.team }}"}}
	  ]
	}`
	c, err := dsl.Compile([]byte(doc), exampleRegistry())
	if err != nil {
		fmt.Println(err)
		return
	}
	def := c.Definition
	fmt.Printf("%s (%s), %s trigger %q\n", def.ID, def.Name, def.Trigger.Type, def.Trigger.Key)
	for _, s := range def.Steps {
		fmt.Printf("%s: %s, timeout %s, %d attempts from %s, next %q\n",
			s.ID, s.Type, s.Timeout, s.Retry.MaxAttempts, s.Retry.InitialInterval, s.Next)
	}
	fmt.Println(string(c.Canonical))
	// Output:
	// notify (notify), webhook trigger "orders"
	// wait: delay, timeout 10s, 5 attempts from 1s, next "post"
	// post: http, timeout 5s, 5 attempts from 200ms, next ""
	// {"id":"notify","trigger":{"type":"webhook","key":"orders"},"startAt":"wait","defaults":{"retry":{"maxAttempts":5},"timeout":"10s"},"steps":[{"id":"wait","type":"delay","config":{"duration":"1m"},"next":"post"},{"id":"post","type":"http","config":{"method":"POST","url":"https://hooks.example.com/{{ input.team }}"},"retry":{"initialInterval":"200ms"},"timeout":"5s"}]}
}

func ExampleCompile_invalid() {
	doc := `{
	  "id": "notify",
	  "startAt": "wait",
	  "steps": [
	    {"id": "wait", "type": "delay", "config": {"duration": "1m"}, "next": "pots"},
	    {"id": "post", "type": "htp", "timeout": "5", "config": {"url": "{{ steps.wiat.output }}"}}
	  ]
	}`
	_, err := dsl.Compile([]byte(doc), exampleRegistry())
	fmt.Println(workflow.ErrorMessage(err))
	for _, f := range workflow.ErrorFields(err) {
		fmt.Println(f)
	}
	// Output:
	// invalid workflow definition: 5 problems
	// /steps/0/next: "next" names no step: "pots"
	// /steps/1: step "post" is not reachable from startAt "wait"
	// /steps/1/type: unknown step type "htp" (known: delay, http)
	// /steps/1/timeout: timeout "5" is not a duration such as "500ms", "10s" or "1h"
	// /steps/1/config/url: references unknown step "wiat"
}
