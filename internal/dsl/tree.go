package dsl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// kind is the JSON type of a node.
type kind int

const (
	kindNull kind = iota
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
)

// String names the kind as a JSON Schema type name.
func (k kind) String() string {
	switch k {
	case kindBool:
		return "a boolean"
	case kindNumber:
		return "a number"
	case kindString:
		return "a string"
	case kindArray:
		return "an array"
	case kindObject:
		return "an object"
	default:
		return "null"
	}
}

// node is one value of a JSON document with its byte offset, so that
// problems can be reported and sorted in order of appearance. Unlike a
// decoded map, objects keep their members in order, duplicates included.
type node struct {
	kind    kind
	off     int
	raw     json.RawMessage
	members []member // kindObject
	items   []*node  // kindArray
	str     string   // kindString
	num     json.Number
}

// member is one key of an object.
type member struct {
	key string
	val *node
}

// get returns the first member named key, or nil when there is none or it
// is null: in the DSL, null is the same as leaving a field out.
func (n *node) get(key string) *node {
	if n == nil || n.kind != kindObject {
		return nil
	}
	for _, m := range n.members {
		if m.key == key {
			if m.val.kind == kindNull {
				return nil
			}
			return m.val
		}
	}
	return nil
}

// tree is a parsed document plus the offset of every path in it.
type tree struct {
	root    *node
	offsets map[string]int
}

// parseTree parses raw, which must be one JSON value, in one pass. A syntax
// error is returned as a *json.SyntaxError carrying the byte offset.
func parseTree(raw []byte) (*tree, error) {
	var probe any
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	t := &tree{offsets: map[string]int{}}
	root, err := t.build(dec, raw, "")
	if err != nil {
		return nil, fmt.Errorf("parse document: %w", err)
	}
	t.root = root
	return t, nil
}

// build reads the next value from dec, found at path. raw is the whole
// document, which dec reads.
func (t *tree) build(dec *json.Decoder, raw []byte, path string) (*node, error) {
	start := skipSeparators(raw, int(dec.InputOffset()))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	n := &node{off: start}
	if _, seen := t.offsets[path]; !seen {
		t.offsets[path] = start
	}
	switch v := tok.(type) {
	case json.Delim:
		n.kind = kindArray
		if v == '{' {
			n.kind = kindObject
		}
		for i := 0; dec.More(); i++ {
			if n.kind == kindArray {
				child, err := t.build(dec, raw, path+"/"+strconv.Itoa(i))
				if err != nil {
					return nil, err
				}
				n.items = append(n.items, child)
				continue
			}
			keyTok, err := dec.Token()
			if err != nil {
				return nil, err
			}
			key, _ := keyTok.(string)
			child, err := t.build(dec, raw, path+"/"+escapePointer(key))
			if err != nil {
				return nil, err
			}
			n.members = append(n.members, member{key: key, val: child})
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
	case string:
		n.kind, n.str = kindString, v
	case json.Number:
		n.kind, n.num = kindNumber, v
	case bool:
		n.kind = kindBool
	default:
		n.kind = kindNull
	}
	n.raw = raw[start:dec.InputOffset()]
	return n, nil
}

// skipSeparators returns the offset of the first byte at or after i that is
// not whitespace, ':' or ',': where the decoder's next value starts.
func skipSeparators(raw []byte, i int) int {
	for i < len(raw) && strings.IndexByte(" \t\r\n:,", raw[i]) >= 0 {
		i++
	}
	return i
}

// offset returns the offset of the longest prefix of path that exists in
// the document, so that a problem about a missing field sorts with its
// parent.
func (t *tree) offset(path string) int {
	for {
		if off, ok := t.offsets[path]; ok {
			return off
		}
		i := strings.LastIndexByte(path, '/')
		if i < 0 {
			return 0
		}
		path = path[:i]
	}
}

// escapePointer escapes one JSON pointer reference token (RFC 6901).
func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
