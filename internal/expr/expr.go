// Package expr is Sluice's one expression language, used by condition steps
// and by {{ }} templates in step configs. It is expr-lang/expr evaluated over
// three variables:
//
//   - input: the trigger body (any JSON value)
//   - steps: steps.<id>.output is the recorded output of a completed step
//   - run: run.id, run.workflowId, run.workflowVersion, run.stepId,
//     run.attempt, run.generation, run.idempotencyKey
//
// Expressions are compiled once, when a definition is saved, so that a typo
// in a variable name is a validation error rather than a runtime one.
package expr

import (
	"fmt"
	"sort"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
)

// maxNodes bounds the size of one expression.
const maxNodes = 2000

// RunInfo is the "run" variable.
type RunInfo struct {
	ID              string `expr:"id" json:"id"`
	WorkflowID      string `expr:"workflowId" json:"workflowId"`
	WorkflowVersion int    `expr:"workflowVersion" json:"workflowVersion"`
	StepID          string `expr:"stepId" json:"stepId"`
	Attempt         int    `expr:"attempt" json:"attempt"`
	Generation      int    `expr:"generation" json:"generation"`
	IdempotencyKey  string `expr:"idempotencyKey" json:"idempotencyKey"`
}

// Scope holds the values an expression is evaluated against. It is not safe
// for concurrent use.
type Scope struct {
	// Input is the decoded trigger body.
	Input any
	// Steps maps a completed step's id to its decoded output.
	Steps map[string]any
	// Run describes the run and the current attempt.
	Run RunInfo

	env *environment
}

// environment is what programs are compiled against and run with: input and
// steps are dynamic, run is typed so that run.atempt is a compile error.
type environment struct {
	Input any            `expr:"input"`
	Steps map[string]any `expr:"steps"`
	Run   RunInfo        `expr:"run"`
}

// environment returns the evaluation environment of s, built once.
func (s *Scope) environment() *environment {
	if s.env == nil {
		steps := make(map[string]any, len(s.Steps))
		for id, out := range s.Steps {
			steps[id] = map[string]any{"output": out}
		}
		s.env = &environment{Input: s.Input, Steps: steps, Run: s.Run}
	}
	return s.env
}

// Reset drops the cached environment after Input, Steps or Run changed.
func (s *Scope) Reset() { s.env = nil }

// Program is a compiled expression, safe for concurrent use.
type Program struct {
	src      string
	program  *vm.Program
	stepRefs []string
}

// Compile compiles an expression such as `input.amount > 100`.
func Compile(src string) (*Program, error) {
	p, err := expr.Compile(src, expr.Env(environment{}), expr.MaxNodes(maxNodes))
	if err != nil {
		return nil, fmt.Errorf("compile %q: %w", src, err)
	}
	return &Program{src: src, program: p, stepRefs: collectStepRefs(p.Node())}, nil
}

// Source returns the expression text.
func (p *Program) Source() string { return p.src }

// StepRefs returns the ids X of every steps.X the expression names, sorted
// and unique, so callers can check that they name real steps.
func (p *Program) StepRefs() []string { return p.stepRefs }

// Eval evaluates the expression.
func (p *Program) Eval(s *Scope) (any, error) {
	v, err := expr.Run(p.program, s.environment())
	if err != nil {
		return nil, fmt.Errorf("evaluate %q: %w", p.src, err)
	}
	return v, nil
}

// EvalBool evaluates the expression and requires a boolean result.
func (p *Program) EvalBool(s *Scope) (bool, error) {
	v, err := p.Eval(s)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("evaluate %q: result is %T, not a boolean", p.src, v)
	}
	return b, nil
}

type stepRefVisitor struct{ refs map[string]bool }

func (v *stepRefVisitor) Visit(node *ast.Node) {
	m, ok := (*node).(*ast.MemberNode)
	if !ok {
		return
	}
	id, ok := m.Node.(*ast.IdentifierNode)
	if !ok || id.Value != "steps" {
		return
	}
	if prop, ok := m.Property.(*ast.StringNode); ok {
		v.refs[prop.Value] = true
	}
}

func collectStepRefs(root ast.Node) []string {
	v := &stepRefVisitor{refs: map[string]bool{}}
	ast.Walk(&root, v)
	out := make([]string, 0, len(v.refs))
	for r := range v.refs {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}
