package dsl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/workflow"
)

// idPattern is what workflow ids, step ids and webhook keys look like.
var idPattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}$`)

// idRule explains idPattern in messages.
const idRule = "use 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit"

// MaxTimeout is the longest step timeout a definition may set.
const MaxTimeout = 24 * time.Hour

// Fields allowed in each object of the DSL, in canonical order.
var (
	documentFields = []string{"id", "name", "description", "trigger", "startAt", "defaults", "steps"}
	triggerFields  = []string{"type", "key"}
	defaultsFields = []string{"retry", "timeout"}
	stepFields     = []string{"id", "type", "config", "next", "onTrue", "onFalse", "retry", "timeout"}
	retryFields    = []string{"maxAttempts", "initialInterval", "multiplier", "maxInterval", "jitter"}
)

// parsed is a decoded document with what later checks need.
type parsed struct {
	doc  *Document
	tree *tree
	p    *problems
	g    *graph
}

// parse decodes raw into a Document, recording every problem that does not
// depend on step handlers. The error is non-nil only when raw is not a JSON
// object at all, and is then an EINVALID *workflow.Error.
func parse(raw []byte) (*parsed, error) {
	t, err := parseTree(raw)
	if err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, workflow.Invalid("invalid workflow definition: malformed JSON", workflow.FieldError{
				Path:    "",
				Message: fmt.Sprintf("invalid JSON at byte offset %d: %s", syn.Offset, syn.Error()),
			})
		}
		return nil, fmt.Errorf("parse workflow definition: %w", err)
	}
	ps := &parsed{doc: &Document{}, tree: t, p: &problems{}}
	d := decoder{p: ps.p}
	if !d.object(t.root, "", "the definition", documentFields) {
		return nil, ps.p.err(t)
	}
	d.document(t.root, ps.doc)
	ps.g = checkGraph(ps.doc, ps.p)
	return ps, nil
}

// decoder turns tree nodes into DSL types, recording problems.
type decoder struct{ p *problems }

// object reports whether n is an object, and reports its unknown and
// duplicate fields.
func (d decoder) object(n *node, path, what string, allowed []string) bool {
	if n.kind != kindObject {
		d.p.add(path, "%s must be an object, not %s", what, n.kind)
		return false
	}
	seen := map[string]bool{}
	for _, m := range n.members {
		mp := path + "/" + escapePointer(m.key)
		switch {
		case !slices.Contains(allowed, m.key):
			if s := suggest(m.key, allowed); s != "" {
				d.p.add(mp, "unknown field %q in %s; did you mean %q?", m.key, what, s)
			} else {
				d.p.add(mp, "unknown field %q in %s (allowed: %s)", m.key, what, strings.Join(allowed, ", "))
			}
		case seen[m.key]:
			d.p.add(mp, "duplicate field %q in %s", m.key, what)
		}
		seen[m.key] = true
	}
	return true
}

func (d decoder) document(n *node, doc *Document) {
	doc.ID = d.id(n.get("id"), "/id", "id", true)
	doc.Name = d.str(n.get("name"), "/name", "name")
	doc.Description = d.str(n.get("description"), "/description", "description")
	if tn := n.get("trigger"); tn != nil {
		doc.Trigger = d.trigger(tn)
	}
	doc.StartAt = d.str(n.get("startAt"), "/startAt", "startAt")
	if dn := n.get("defaults"); dn != nil && d.object(dn, "/defaults", "defaults", defaultsFields) {
		doc.Defaults = &DefaultsDoc{
			Retry:   d.retry(dn.get("retry"), "/defaults/retry"),
			Timeout: d.duration(dn.get("timeout"), "/defaults/timeout", "timeout", MaxTimeout),
		}
	}
	sn := n.get("steps")
	switch {
	case sn == nil:
		d.p.add("/steps", "steps is required: list at least one step")
	case sn.kind != kindArray:
		d.p.add("/steps", "steps must be an array, not %s", sn.kind)
	case len(sn.items) == 0:
		d.p.add("/steps", "steps must list at least one step")
	}
	if sn != nil {
		for i, item := range sn.items {
			doc.Steps = append(doc.Steps, d.step(item, "/steps/"+strconv.Itoa(i)))
		}
	}
	if doc.Defaults != nil {
		checkIntervals(d.p, "/defaults/retry", workflow.DefaultRetryPolicy, doc.Defaults.Retry)
	}
	base := defaultRetry(doc)
	for i := range doc.Steps {
		checkIntervals(d.p, "/steps/"+strconv.Itoa(i)+"/retry", base, doc.Steps[i].Retry)
	}
}

func (d decoder) trigger(n *node) TriggerDoc {
	var tr TriggerDoc
	if !d.object(n, "/trigger", "trigger", triggerFields) {
		return tr
	}
	tn := n.get("type")
	tr.Type = d.str(tn, "/trigger/type", "trigger type")
	switch {
	case tn == nil:
		d.p.add("/trigger/type", "trigger type is required (webhook or manual)")
	case tn.kind != kindString:
	case tr.Type == workflow.TriggerWebhook:
		tr.Key = d.id(n.get("key"), "/trigger/key", "webhook key", true)
	case tr.Type == workflow.TriggerManual:
		if n.get("key") != nil {
			d.p.add("/trigger/key", "a manual trigger takes no key; use type \"webhook\" to start runs from a webhook")
		}
	default:
		d.p.add("/trigger/type", "unknown trigger type %q (known: manual, webhook)", tr.Type)
	}
	return tr
}

func (d decoder) step(n *node, path string) StepDoc {
	var s StepDoc
	if !d.object(n, path, "a step", stepFields) {
		return s
	}
	s.ID = d.id(n.get("id"), path+"/id", "step id", true)
	s.Type = d.str(n.get("type"), path+"/type", "step type")
	if tn := n.get("type"); tn == nil || (tn.kind == kindString && tn.str == "") {
		d.p.add(path+"/type", "step type is required")
	}
	if cn := n.get("config"); cn != nil {
		if cn.kind != kindObject {
			d.p.add(path+"/config", "config must be an object, not %s", cn.kind)
		} else {
			s.Config = bytes.Clone(cn.raw)
		}
	}
	s.Next = d.successor(n.get("next"), path+"/next", "next")
	s.OnTrue = d.successor(n.get("onTrue"), path+"/onTrue", "onTrue")
	s.OnFalse = d.successor(n.get("onFalse"), path+"/onFalse", "onFalse")
	s.Retry = d.retry(n.get("retry"), path+"/retry")
	s.Timeout = d.duration(n.get("timeout"), path+"/timeout", "timeout", MaxTimeout)

	branches := n.get("onTrue") != nil || n.get("onFalse") != nil
	switch {
	case n.get("next") != nil && branches:
		d.p.add(path+"/next", `a step has either "next" or "onTrue"/"onFalse", not both`)
	case n.get("next") != nil && s.Type == workflow.StepTypeCondition:
		d.p.add(path+"/next", `a condition step continues with "onTrue"/"onFalse"; "next" would never be followed`)
	case branches && nonBranching[s.Type]:
		at := path + "/onTrue"
		if n.get("onTrue") == nil {
			at = path + "/onFalse"
		}
		d.p.add(at, `only condition steps branch; a %s step continues with "next"`, s.Type)
	}
	return s
}

// nonBranching are the built-in step types that never choose a branch, so
// onTrue/onFalse on them would never be followed.
var nonBranching = map[string]bool{
	workflow.StepTypeAI:           true,
	workflow.StepTypeHTTP:         true,
	workflow.StepTypeDelay:        true,
	workflow.StepTypeQueuePublish: true,
}

func (d decoder) successor(n *node, path, name string) string {
	s := d.str(n, path, name)
	if n != nil && n.kind == kindString && s == "" {
		d.p.add(path, "%q must name a step; leave it out to end the run", name)
	}
	return s
}

func (d decoder) retry(n *node, path string) *RetryDoc {
	if n == nil || !d.object(n, path, "retry", retryFields) {
		return nil
	}
	r := &RetryDoc{
		InitialInterval: d.duration(n.get("initialInterval"), path+"/initialInterval", "initialInterval", 0),
		MaxInterval:     d.duration(n.get("maxInterval"), path+"/maxInterval", "maxInterval", 0),
	}
	if v, ok := d.integer(n.get("maxAttempts"), path+"/maxAttempts", "maxAttempts", 1, 100); ok {
		r.MaxAttempts = &v
	}
	if v, ok := d.number(n.get("multiplier"), path+"/multiplier", "multiplier", 1, 100); ok {
		r.Multiplier = &v
	}
	if v, ok := d.number(n.get("jitter"), path+"/jitter", "jitter", 0, 1); ok {
		r.Jitter = &v
	}
	return r
}

// str returns n's string; a missing n is "".
func (d decoder) str(n *node, path, name string) string {
	if n == nil {
		return ""
	}
	if n.kind != kindString {
		d.p.add(path, "%s must be a string, not %s", name, n.kind)
		return ""
	}
	return n.str
}

// id returns n's string and checks it against idPattern.
func (d decoder) id(n *node, path, name string, required bool) string {
	s := d.str(n, path, name)
	switch {
	case n != nil && n.kind != kindString:
	case s == "":
		if required {
			d.p.add(path, "%s is required", name)
		}
	case !idPattern.MatchString(s):
		d.p.add(path, "%s %q is invalid: %s", name, s, idRule)
	}
	return s
}

// duration checks a Go duration string: > 0 and, when limit > 0, <= limit.
func (d decoder) duration(n *node, path, name string, limit time.Duration) string {
	s := d.str(n, path, name)
	if n == nil || n.kind != kindString {
		return s
	}
	v, err := time.ParseDuration(s)
	switch {
	case err != nil:
		d.p.add(path, `%s %q is not a duration such as "500ms", "10s" or "1h"`, name, s)
	case v <= 0:
		d.p.add(path, "%s must be greater than zero, not %q", name, s)
	case limit > 0 && v > limit:
		d.p.add(path, "%s %q exceeds the maximum of %s", name, s, formatDuration(limit))
	}
	return s
}

func (d decoder) integer(n *node, path, name string, lo, hi int) (int, bool) {
	if n == nil {
		return 0, false
	}
	if n.kind != kindNumber {
		d.p.add(path, "%s must be an integer, not %s", name, n.kind)
		return 0, false
	}
	v, err := strconv.Atoi(n.num.String())
	if err != nil {
		d.p.add(path, "%s must be an integer, not %s", name, n.num)
		return 0, false
	}
	if v < lo || v > hi {
		d.p.add(path, "%s must be between %d and %d, not %d", name, lo, hi, v)
	}
	return v, true
}

func (d decoder) number(n *node, path, name string, lo, hi float64) (float64, bool) {
	if n == nil {
		return 0, false
	}
	if n.kind != kindNumber {
		d.p.add(path, "%s must be a number, not %s", name, n.kind)
		return 0, false
	}
	v, err := n.num.Float64()
	if err != nil {
		d.p.add(path, "%s %s is out of range", name, n.num)
		return 0, false
	}
	if v < lo || v > hi {
		d.p.add(path, "%s must be between %g and %g, not %s", name, lo, hi, n.num)
	}
	return v, true
}

// formatDuration prints d without zero units ("24h", not "24h0m0s").
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
