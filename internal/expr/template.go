package expr

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Template is a JSON value (object, array, string, number, bool, null) whose
// strings may hold {{ expression }} placeholders. A string that is exactly
// one placeholder renders to the expression's typed value; other strings
// render placeholders as text. Object keys are literal. Safe for concurrent
// use.
type Template struct {
	root node
	refs []string
}

// node is one compiled part of a template value.
type node interface {
	render(s *Scope) (any, error)
}

// CompileTemplate compiles a decoded JSON value (as produced by
// encoding/json into any). Errors name the JSON pointer of the bad string.
func CompileTemplate(v any) (*Template, error) {
	refs := map[string]bool{}
	n, err := compileNode(v, "", refs)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(refs))
	for r := range refs {
		out = append(out, r)
	}
	sort.Strings(out)
	return &Template{root: n, refs: out}, nil
}

// CompileTemplateString compiles one string template.
func CompileTemplateString(s string) (*Template, error) { return CompileTemplate(s) }

// Render evaluates every placeholder against s and returns a fresh value.
func (t *Template) Render(s *Scope) (any, error) { return t.root.render(s) }

// RenderString renders and formats the result as text (a JSON encoding for
// non-string values, "" for null).
func (t *Template) RenderString(s *Scope) (string, error) {
	v, err := t.Render(s)
	if err != nil {
		return "", err
	}
	return Stringify(v)
}

// StepRefs returns the step ids named as steps.X by any placeholder.
func (t *Template) StepRefs() []string { return t.refs }

// TemplateError locates a placeholder that does not compile.
type TemplateError struct {
	// Pointer is the JSON pointer of the string within the template value
	// ("" for the root).
	Pointer string
	Err     error
}

func (e *TemplateError) Error() string {
	if e.Pointer == "" {
		return e.Err.Error()
	}
	return e.Pointer + ": " + e.Err.Error()
}

func (e *TemplateError) Unwrap() error { return e.Err }

type literal struct{ v any }

func (l literal) render(*Scope) (any, error) { return l.v, nil }

type object struct {
	keys   []string
	values []node
}

func (o *object) render(s *Scope) (any, error) {
	out := make(map[string]any, len(o.keys))
	for i, k := range o.keys {
		v, err := o.values[i].render(s)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

type array struct{ items []node }

func (a *array) render(s *Scope) (any, error) {
	out := make([]any, len(a.items))
	for i, it := range a.items {
		v, err := it.render(s)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// whole is a string that is exactly one placeholder: typed result.
type whole struct{ p *Program }

func (w whole) render(s *Scope) (any, error) { return w.p.Eval(s) }

// interpolated is text with placeholders: string result.
type interpolated struct {
	texts []string   // len(progs)+1 literal pieces
	progs []*Program // placeholders between them
}

func (it *interpolated) render(s *Scope) (any, error) {
	var b strings.Builder
	for i, p := range it.progs {
		b.WriteString(it.texts[i])
		v, err := p.Eval(s)
		if err != nil {
			return nil, err
		}
		str, err := Stringify(v)
		if err != nil {
			return nil, err
		}
		b.WriteString(str)
	}
	b.WriteString(it.texts[len(it.progs)])
	return b.String(), nil
}

func compileNode(v any, ptr string, refs map[string]bool) (node, error) {
	switch t := v.(type) {
	case map[string]any:
		o := &object{}
		for k := range t {
			o.keys = append(o.keys, k)
		}
		sort.Strings(o.keys)
		for _, k := range o.keys {
			n, err := compileNode(t[k], ptr+"/"+escapePointer(k), refs)
			if err != nil {
				return nil, err
			}
			o.values = append(o.values, n)
		}
		return o, nil
	case []any:
		a := &array{}
		for i, item := range t {
			n, err := compileNode(item, ptr+"/"+strconv.Itoa(i), refs)
			if err != nil {
				return nil, err
			}
			a.items = append(a.items, n)
		}
		return a, nil
	case string:
		n, err := compileString(t, refs)
		if err != nil {
			return nil, &TemplateError{Pointer: ptr, Err: err}
		}
		return n, nil
	default:
		return literal{v: v}, nil
	}
}

func compileString(s string, refs map[string]bool) (node, error) {
	if !strings.Contains(s, "{{") {
		return literal{v: s}, nil
	}
	var texts []string
	var progs []*Program
	rest := s
	for {
		open := strings.Index(rest, "{{")
		if open < 0 {
			texts = append(texts, rest)
			break
		}
		closeAt := strings.Index(rest[open+2:], "}}")
		if closeAt < 0 {
			return nil, fmt.Errorf("unclosed {{ in %q", s)
		}
		src := strings.TrimSpace(rest[open+2 : open+2+closeAt])
		if src == "" {
			return nil, fmt.Errorf("empty {{ }} in %q", s)
		}
		p, err := Compile(src)
		if err != nil {
			return nil, err
		}
		for _, r := range p.StepRefs() {
			refs[r] = true
		}
		texts = append(texts, rest[:open])
		progs = append(progs, p)
		rest = rest[open+2+closeAt+2:]
	}
	if len(progs) == 1 && texts[0] == "" && texts[1] == "" {
		return whole{p: progs[0]}, nil
	}
	return &interpolated{texts: texts, progs: progs}, nil
}

// Stringify formats a rendered value as text: strings as they are, null as
// "", everything else as JSON.
func Stringify(v any) (string, error) {
	switch t := v.(type) {
	case nil:
		return "", nil
	case string:
		return t, nil
	case fmt.Stringer:
		return t.String(), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("format %T as text: %w", v, err)
	}
	return string(b), nil
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
