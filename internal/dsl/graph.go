package dsl

import (
	"slices"
	"strconv"
	"strings"
)

// graph is the step graph of a document: which step owns each id, the
// successor edges between them and which steps can run before which.
type graph struct {
	doc *Document
	// index maps a step id to the index of the step that owns it (the
	// first one that declares it with a valid id).
	index map[string]int
	// reachable holds the steps reachable from startAt.
	reachable map[string]bool
	// complete is true when every successor names a step, ids are unique
	// and valid and there is no cycle, so that ancestry is exact.
	complete bool
	// ancestors memoizes the steps that can run before a step.
	ancestors map[string]map[string]bool
}

// edge is one successor field of a step.
type edge struct {
	field, target string
}

// edges returns the successor fields that s sets, in document order.
func edges(s StepDoc) []edge {
	var out []edge
	for _, e := range []edge{{"next", s.Next}, {"onTrue", s.OnTrue}, {"onFalse", s.OnFalse}} {
		if e.target != "" {
			out = append(out, e)
		}
	}
	return out
}

func stepPath(i int) string { return "/steps/" + strconv.Itoa(i) }

// checkGraph checks step ids, startAt and successors, and reports cycles and
// unreachable steps.
func checkGraph(doc *Document, p *problems) *graph {
	g := &graph{doc: doc, index: map[string]int{}, reachable: map[string]bool{}, complete: true}
	for i, s := range doc.Steps {
		path := stepPath(i) + "/id"
		if s.ID == "" || p.at(path) {
			g.complete = false
			continue
		}
		if first, dup := g.index[s.ID]; dup {
			p.add(path, "duplicate step id %q (first used by %s)", s.ID, stepPath(first))
			g.complete = false
			continue
		}
		g.index[s.ID] = i
	}
	for i, s := range doc.Steps {
		for _, e := range edges(s) {
			path := stepPath(i) + "/" + e.field
			if _, ok := g.index[e.target]; !ok && !p.at(path) {
				p.add(path, "%q names no step: %q", e.field, e.target)
				g.complete = false
			}
		}
	}
	switch _, ok := g.index[doc.StartAt]; {
	case p.at("/startAt"):
		g.complete = false
	case doc.StartAt == "":
		p.add("/startAt", "startAt is required: name the first step")
		g.complete = false
	case !ok && p.exactlyAt("/steps"):
		g.complete = false
	case !ok:
		p.add("/startAt", "%q names no step: %q", "startAt", doc.StartAt)
		g.complete = false
	}
	g.checkCycles(p)
	if _, ok := g.index[doc.StartAt]; ok {
		g.walk(doc.StartAt)
		for i, s := range doc.Steps {
			if owner, ok := g.index[s.ID]; ok && owner == i && !g.reachable[s.ID] {
				p.add(stepPath(i), "step %q is not reachable from startAt %q", s.ID, doc.StartAt)
			}
		}
	}
	return g
}

// successors returns the edges of the step owning id whose targets exist.
func (g *graph) successors(id string) (int, []edge) {
	i := g.index[id]
	var out []edge
	for _, e := range edges(g.doc.Steps[i]) {
		if _, ok := g.index[e.target]; ok {
			out = append(out, e)
		}
	}
	return i, out
}

// walk marks every step reachable from id.
func (g *graph) walk(id string) {
	if g.reachable[id] {
		return
	}
	g.reachable[id] = true
	_, succ := g.successors(id)
	for _, e := range succ {
		g.walk(e.target)
	}
}

// checkCycles reports every successor field that closes a cycle, searching
// from startAt first and then from each step in document order.
func (g *graph) checkCycles(p *problems) {
	const (
		unseen = iota
		onStack
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(id string)
	visit = func(id string) {
		state[id] = onStack
		stack = append(stack, id)
		i, succ := g.successors(id)
		for _, e := range succ {
			switch state[e.target] {
			case unseen:
				visit(e.target)
			case onStack:
				cycle := append(slices.Clone(stack[slices.Index(stack, e.target):]), e.target)
				p.add(stepPath(i)+"/"+e.field, "cycle through steps %s: runs must end, so steps cannot repeat",
					strings.Join(cycle, " → "))
				g.complete = false
			}
		}
		stack = stack[:len(stack)-1]
		state[id] = done
	}
	if _, ok := g.index[g.doc.StartAt]; ok {
		visit(g.doc.StartAt)
	}
	for _, s := range g.doc.Steps {
		if _, ok := g.index[s.ID]; ok && state[s.ID] == unseen {
			visit(s.ID)
		}
	}
}

// precedes reports whether step x can complete before step y runs, that is
// whether x is an ancestor of y. It is only meaningful for complete graphs.
func (g *graph) precedes(x, y string) bool {
	if g.ancestors == nil {
		g.ancestors = map[string]map[string]bool{}
		preds := map[string][]string{}
		for id := range g.index {
			_, succ := g.successors(id)
			for _, e := range succ {
				preds[e.target] = append(preds[e.target], id)
			}
		}
		var collect func(id string) map[string]bool
		collect = func(id string) map[string]bool {
			if a, ok := g.ancestors[id]; ok {
				return a
			}
			a := map[string]bool{}
			g.ancestors[id] = a
			for _, pr := range preds[id] {
				a[pr] = true
				for anc := range collect(pr) {
					a[anc] = true
				}
			}
			return a
		}
		for id := range g.index {
			collect(id)
		}
	}
	return g.ancestors[y][x]
}
