// Package condition implements the "condition" step type: it evaluates a
// boolean expression over the run's input and earlier steps' outputs and
// branches to the step's onTrue or onFalse successor.
//
// Config:
//
//	{"expression": "input.amount > 100 && steps.classify.output.label == 'billing'"}
//
// Output: {"result": true|false}.
package condition

import (
	"context"
	"encoding/json"

	"github.com/sluicehq/sluice/internal/expr"
	"github.com/sluicehq/sluice/internal/step"
	"github.com/sluicehq/sluice/internal/step/stepconfig"
)

// Handler compiles condition step configs. It is stateless.
type Handler struct{}

// New returns a condition step handler.
func New() *Handler { return &Handler{} }

// Compile implements step.Handler. The expression is compiled once, so a
// syntax error or a misspelled variable (run.atempt) is a validation error
// at "/expression".
func (h *Handler) Compile(config json.RawMessage) (step.Action, error) {
	var d stepconfig.Decoder
	cfg := d.Object("", config, "expression")
	var prog *expr.Program
	if cfg.Required("expression") {
		if src, ok := cfg.String("expression"); ok {
			p, err := expr.Compile(src)
			switch {
			case src == "":
				d.Add("/expression", "must not be empty")
			case err != nil:
				d.Add("/expression", "%v", err)
			default:
				prog = p
			}
		}
	}
	if err := d.Err("invalid condition config"); err != nil {
		return nil, err
	}
	return &action{prog: prog}, nil
}

type action struct {
	prog *expr.Program
}

// Execute evaluates the expression. An evaluation error, or a result that
// is not a boolean, fails the step permanently: the same input would fail
// the same way on every attempt.
func (a *action) Execute(_ context.Context, req *step.Request) (*step.Result, error) {
	b, err := a.prog.EvalBool(req.Scope)
	if err != nil {
		return nil, step.Permanentf("condition: %w", err)
	}
	return &step.Result{
		Input:  map[string]any{"expression": a.prog.Source()},
		Output: map[string]any{"result": b},
		Branch: &b,
	}, nil
}
