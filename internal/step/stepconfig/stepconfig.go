// Package stepconfig decodes step configs strictly and one field at a time,
// so that a handler's Compile can report every problem at once, each with a
// JSON pointer relative to the config (e.g. "/headers/X-Ticket").
//
// A handler creates a Decoder, opens the config with Decoder.Object naming
// the keys it knows (others are reported as unknown), reads fields with the
// Object methods, adds its own checks with Decoder.Add and finally returns
// Decoder.Err. A JSON null counts as an absent field, and an empty or null
// config as an empty object.
package stepconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/expr"
	"github.com/sluicehq/sluice/internal/workflow"
)

// Decoder collects the problems found while decoding one config. The zero
// value is ready to use.
type Decoder struct {
	fields []workflow.FieldError
}

// Add records a problem at path.
func (d *Decoder) Add(path, format string, args ...any) {
	d.fields = append(d.fields, workflow.FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

// Fields returns the problems recorded so far.
func (d *Decoder) Fields() []workflow.FieldError { return d.fields }

// Err returns nil if no problem was recorded, else a workflow.Invalid error
// with message (e.g. "invalid http config") listing every problem.
func (d *Decoder) Err(message string) error {
	if len(d.fields) == 0 {
		return nil
	}
	return workflow.Invalid(message, d.fields...)
}

// Object decodes raw, found at path, as a JSON object that may hold only
// the known keys; every other key is reported as unknown. Empty or null raw
// at the root (path "") is an empty object; elsewhere a non-object is
// reported and an empty Object returned, so that reading on is harmless.
func (d *Decoder) Object(path string, raw json.RawMessage, known ...string) *Object {
	o := &Object{d: d, path: path, fields: map[string]json.RawMessage{}}
	raw = bytes.TrimSpace(raw)
	if path == "" && (len(raw) == 0 || isNull(raw)) {
		return o
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		d.Add(path, "must be an object")
		return o
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		switch {
		case !slices.Contains(known, k):
			d.Add(o.Path(k), "unknown field (known: %s)", strings.Join(known, ", "))
		case !isNull(m[k]):
			o.fields[k] = m[k]
		}
	}
	return o
}

// Object is one JSON object of a config being decoded. Its getters return
// ok=false when the key is absent (or null) or when its value is invalid;
// in the latter case they have recorded the problem.
type Object struct {
	d      *Decoder
	path   string
	fields map[string]json.RawMessage
}

// Path returns the JSON pointer of key within o.
func (o *Object) Path(key string) string { return o.path + "/" + EscapePointer(key) }

// Has reports whether key is present and not null.
func (o *Object) Has(key string) bool {
	_, ok := o.fields[key]
	return ok
}

// Raw returns the undecoded value of key.
func (o *Object) Raw(key string) (json.RawMessage, bool) {
	raw, ok := o.fields[key]
	return raw, ok
}

// Required records "is required" for each absent key and reports whether
// all were present.
func (o *Object) Required(keys ...string) bool {
	all := true
	for _, k := range keys {
		if !o.Has(k) {
			o.d.Add(o.Path(k), "is required")
			all = false
		}
	}
	return all
}

// String returns key as a string.
func (o *Object) String(key string) (string, bool) {
	var s string
	ok := o.decode(key, &s, "must be a string")
	return s, ok
}

// Bool returns key as a boolean.
func (o *Object) Bool(key string) (bool, bool) {
	var b bool
	ok := o.decode(key, &b, "must be a boolean")
	return b, ok
}

// Float returns key as a number.
func (o *Object) Float(key string) (float64, bool) {
	var f float64
	ok := o.decode(key, &f, "must be a number")
	return f, ok
}

// Int returns key as an integer (a JSON number without a fraction or
// exponent).
func (o *Object) Int(key string) (int, bool) {
	raw, ok := o.fields[key]
	if !ok {
		return 0, false
	}
	return o.d.Int(o.Path(key), raw)
}

// Int decodes raw, found at path, as an integer (a JSON number without a
// fraction or exponent).
func (d *Decoder) Int(path string, raw json.RawMessage) (int, bool) {
	n, err := strconv.Atoi(string(bytes.TrimSpace(raw)))
	if err != nil {
		d.Add(path, "must be an integer")
		return 0, false
	}
	return n, true
}

// Duration returns key as a Go duration string such as "1m30s".
func (o *Object) Duration(key string) (time.Duration, bool) {
	const format = `must be a duration such as "30s" or "1h30m"`
	var s string
	if !o.decode(key, &s, format) {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		o.d.Add(o.Path(key), "%s, not %q", format, s)
		return 0, false
	}
	return d, true
}

// Array returns key as an array of undecoded items.
func (o *Object) Array(key string) ([]json.RawMessage, bool) {
	var items []json.RawMessage
	ok := o.decode(key, &items, "must be an array")
	return items, ok
}

// Object opens key as a nested object holding only the known keys.
func (o *Object) Object(key string, known ...string) (*Object, bool) {
	raw, ok := o.fields[key]
	if !ok {
		return nil, false
	}
	n := len(o.d.fields)
	obj := o.d.Object(o.Path(key), raw, known...)
	return obj, len(o.d.fields) == n
}

// Template compiles key, any JSON value, as a template. Every string that
// does not compile is reported at its own path.
func (o *Object) Template(key string) (*expr.Template, bool) {
	raw, ok := o.fields[key]
	if !ok {
		return nil, false
	}
	return o.d.Template(o.Path(key), raw)
}

// TemplateString compiles key, which must be a JSON string, as a template
// and also returns its source.
func (o *Object) TemplateString(key string) (*expr.Template, string, bool) {
	src, ok := o.String(key)
	if !ok {
		return nil, "", false
	}
	t, ok := o.d.compile(o.Path(key), src)
	return t, src, ok
}

// TemplateMap compiles key, an object whose values must be JSON strings, as
// one template per entry. Problems are reported in key order.
func (o *Object) TemplateMap(key string) (map[string]*expr.Template, bool) {
	var m map[string]json.RawMessage
	if !o.decode(key, &m, "must be an object") {
		return nil, false
	}
	out := make(map[string]*expr.Template, len(m))
	valid := true
	for _, k := range slices.Sorted(maps.Keys(m)) {
		raw := m[k]
		path := o.Path(key) + "/" + EscapePointer(k)
		var s string
		if err := json.Unmarshal(raw, &s); err != nil || isNull(raw) {
			o.d.Add(path, "must be a string")
			valid = false
			continue
		}
		t, ok := o.d.compile(path, s)
		if !ok {
			valid = false
			continue
		}
		out[k] = t
	}
	return out, valid
}

// Template compiles raw, any JSON value found at path, as a template. It
// compiles each string on its own first so that every bad placeholder is
// reported, not only the first.
func (d *Decoder) Template(path string, raw json.RawMessage) (*expr.Template, bool) {
	v, err := DecodeValue(raw)
	if err != nil {
		d.Add(path, "must be valid JSON: %v", err)
		return nil, false
	}
	valid := true
	walkStrings(v, "", func(ptr, s string) {
		if _, ok := d.compile(path+ptr, s); !ok {
			valid = false
		}
	})
	if !valid {
		return nil, false
	}
	t, err := expr.CompileTemplate(v)
	if err != nil { // not expected: every string compiled above
		d.addTemplateError(path, err)
		return nil, false
	}
	return t, true
}

// compile compiles one string template found at path.
func (d *Decoder) compile(path, src string) (*expr.Template, bool) {
	t, err := expr.CompileTemplateString(src)
	if err != nil {
		d.addTemplateError(path, err)
		return nil, false
	}
	return t, true
}

func (d *Decoder) addTemplateError(path string, err error) {
	var te *expr.TemplateError
	if errors.As(err, &te) {
		d.Add(path+te.Pointer, "%v", te.Err)
		return
	}
	d.Add(path, "%v", err)
}

// decode strictly decodes key into dst, recording msg at its path on a
// type mismatch.
func (o *Object) decode(key string, dst any, msg string) bool {
	raw, ok := o.fields[key]
	if !ok {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		o.d.Add(o.Path(key), "%s", msg)
		return false
	}
	return true
}

// DecodeValue decodes one JSON value into any, keeping numbers as
// json.Number so that literals such as large integers survive rendering
// unchanged.
func DecodeValue(raw json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode JSON value: %w", err)
	}
	return v, nil
}

// walkStrings calls fn with the JSON pointer (relative to v) and text of
// every string in v, in a stable order.
func walkStrings(v any, ptr string, fn func(ptr, s string)) {
	switch t := v.(type) {
	case string:
		fn(ptr, t)
	case []any:
		for i, item := range t {
			walkStrings(item, ptr+"/"+strconv.Itoa(i), fn)
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(t)) {
			walkStrings(t[k], ptr+"/"+EscapePointer(k), fn)
		}
	}
}

// EscapePointer escapes one JSON pointer reference token (RFC 6901).
func EscapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// IsLiteral reports whether a template source has no {{ }} placeholder, so
// that its value is known at compile time.
func IsLiteral(src string) bool { return !strings.Contains(src, "{{") }

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }
