package dsl

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/internal/expr"
	"github.com/sluicehq/sluice/internal/step"
	"github.com/sluicehq/sluice/internal/workflow"
)

// compileSteps compiles every step whose type is registered, recording
// invalid configs and step references in ps.p. The error is non-nil only
// when a handler fails for another reason than an invalid config.
func compileSteps(ps *parsed, reg *step.Registry) (map[string]step.Action, error) {
	actions := make(map[string]step.Action, len(ps.doc.Steps))
	var stepNodes []*node
	if sn := ps.tree.root.get("steps"); sn != nil {
		stepNodes = sn.items
	}
	for i, s := range ps.doc.Steps {
		path := stepPath(i)
		configOK := !ps.p.at(path + "/config")
		if configOK && i < len(stepNodes) {
			checkStepRefs(ps, i, stepNodes[i].get("config"))
		}
		if s.Type == "" || ps.p.at(path+"/type") {
			continue
		}
		h, ok := reg.Lookup(s.Type)
		if !ok {
			ps.p.add(path+"/type", "unknown step type %q (%s)", s.Type, knownTypes(reg))
			continue
		}
		if !configOK {
			continue
		}
		action, err := h.Compile(configOrEmpty(s.Config))
		if err != nil {
			var we *workflow.Error
			if !errors.As(err, &we) || we.Code != workflow.EINVALID {
				return nil, fmt.Errorf("compile step %q (%s) of type %q: %w", s.ID, path, s.Type, err)
			}
			if len(we.Fields) == 0 {
				ps.p.add(path+"/config", "%s", we.Message)
			}
			for _, f := range we.Fields {
				sub := f.Path
				if sub != "" && !strings.HasPrefix(sub, "/") {
					sub = "/" + sub
				}
				ps.p.add(path+"/config"+sub, "%s", f.Message)
			}
			continue
		}
		if action == nil {
			return nil, fmt.Errorf("compile step %q (%s): handler of type %q returned no action", s.ID, path, s.Type)
		}
		actions[s.ID] = action
	}
	return actions, nil
}

// knownTypes lists the registered step types for messages.
func knownTypes(reg *step.Registry) string {
	types := reg.Types()
	if len(types) == 0 {
		return "no step types are registered"
	}
	return "known: " + strings.Join(types, ", ")
}

// checkStepRefs finds every steps.X named by a {{ }} template in the config
// of step i (and by a condition step's expression) and checks that X is a
// step that can run before step i. Templates that do not compile are left
// to the handler to report.
func checkStepRefs(ps *parsed, i int, config *node) {
	if config == nil {
		return
	}
	s := ps.doc.Steps[i]
	base := stepPath(i) + "/config"
	check := func(path string, refs []string) {
		for _, ref := range refs {
			_, known := ps.g.index[ref]
			switch {
			case !known:
				ps.p.add(path, "references unknown step %q", ref)
			case ps.g.complete && ps.g.reachable[s.ID] && !ps.g.precedes(ref, s.ID):
				ps.p.add(path, "references step %q, which never runs before step %q", ref, s.ID)
			}
		}
	}
	walkStrings(config, base, func(path, str string) {
		if !strings.Contains(str, "{{") {
			return
		}
		if t, err := expr.CompileTemplateString(str); err == nil {
			check(path, t.StepRefs())
		}
	})
	if s.Type == workflow.StepTypeCondition {
		if e := config.get("expression"); e != nil && e.kind == kindString && !strings.Contains(e.str, "{{") {
			if prog, err := expr.Compile(e.str); err == nil {
				check(base+"/expression", prog.StepRefs())
			}
		}
	}
}

// walkStrings calls fn with the JSON pointer and value of every string in n.
func walkStrings(n *node, path string, fn func(path, s string)) {
	switch n.kind {
	case kindString:
		fn(path, n.str)
	case kindObject:
		for _, m := range n.members {
			walkStrings(m.val, path+"/"+escapePointer(m.key), fn)
		}
	case kindArray:
		for i, it := range n.items {
			walkStrings(it, fmt.Sprintf("%s/%d", path, i), fn)
		}
	}
}
