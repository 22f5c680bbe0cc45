package dsl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/internal/workflow"
)

// canonicalJSON encodes doc compactly with a stable layout: document fields
// in the order of Document, config objects with sorted keys, numbers in
// shortest form, strings re-escaped, an omitted trigger written as manual
// and an empty config left out. Documents that differ only in layout, key
// order or number spelling therefore encode to the same bytes.
func canonicalJSON(doc *Document) ([]byte, error) {
	c := *doc
	if c.Trigger.Type == "" {
		c.Trigger.Type = workflow.TriggerManual
	}
	c.Steps = slices.Clone(doc.Steps)
	for i := range c.Steps {
		if len(c.Steps[i].Config) == 0 {
			continue
		}
		cfg, err := canonicalValue(c.Steps[i].Config)
		if err != nil {
			return nil, fmt.Errorf("canonicalize config of step %q: %w", c.Steps[i].ID, err)
		}
		if string(cfg) == "{}" {
			cfg = nil
		}
		c.Steps[i].Config = cfg
	}
	return marshalCompact(c)
}

// canonicalValue re-encodes one JSON value with sorted object keys and
// normalized numbers.
func canonicalValue(raw []byte) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	v, err := normalizeNumbers(v)
	if err != nil {
		return nil, err
	}
	return marshalCompact(v)
}

// normalizeNumbers rewrites non-integer number literals ("1.0", "1e2") in
// their shortest form; integer literals are kept so that large ids survive.
func normalizeNumbers(v any) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		for k, item := range t {
			n, err := normalizeNumbers(item)
			if err != nil {
				return nil, err
			}
			t[k] = n
		}
	case []any:
		for i, item := range t {
			n, err := normalizeNumbers(item)
			if err != nil {
				return nil, err
			}
			t[i] = n
		}
	case json.Number:
		if !strings.ContainsAny(t.String(), ".eE") {
			return t, nil
		}
		f, err := t.Float64()
		if err != nil {
			return nil, fmt.Errorf("number %s: %w", t, err)
		}
		return f, nil
	}
	return v, nil
}

// marshalCompact encodes v without HTML escaping and without the trailing
// newline of json.Encoder.
func marshalCompact(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode canonical JSON: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
