package api

import (
	"encoding/json"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sluicehq/sluice/internal/dsl"
)

// definitionSchemaName is the OpenAPI component of the workflow DSL
// document; its $defs become components prefixed with the same name.
const definitionSchemaName = "WorkflowDefinition"

// registerDefinitionSchema adds the DSL's JSON Schema (dsl.Schema) to the
// OpenAPI components and returns a reference to it. huma.Schema has no
// field for some of the keywords the DSL schema uses (if/then,
// dependentSchemas, const), so each schema is carried verbatim in
// Extensions, which huma writes inline; only $ref targets are rewritten
// from #/$defs/X to #/components/schemas/WorkflowDefinitionX.
func (s *Server) registerDefinitionSchema() *huma.Schema {
	var root map[string]any
	if err := json.Unmarshal(dsl.Schema(), &root); err != nil {
		// The DSL schema is generated from static types; if it cannot be
		// read, describe the body loosely rather than fail start-up.
		return &huma.Schema{Type: huma.TypeObject, Description: "A workflow definition in the Sluice JSON DSL (see docs/dsl.md)."}
	}
	components := s.api.OpenAPI().Components.Schemas.Map()
	defs, _ := root["$defs"].(map[string]any)
	for name, def := range defs {
		ext, ok := rewriteRefs(def).(map[string]any)
		if !ok {
			continue // every $defs entry is an object schema
		}
		components[definitionSchemaName+name] = &huma.Schema{Extensions: ext}
	}
	delete(root, "$defs")
	delete(root, "$schema")
	rootExt, _ := rewriteRefs(root).(map[string]any) // root is an object
	components[definitionSchemaName] = &huma.Schema{Extensions: rootExt}
	return &huma.Schema{Ref: "#/components/schemas/" + definitionSchemaName}
}

// rewriteRefs returns v with every "$ref": "#/$defs/X" pointing at the
// matching OpenAPI component.
func rewriteRefs(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			if ref, ok := val.(string); ok && k == "$ref" {
				if name, found := strings.CutPrefix(ref, "#/$defs/"); found {
					val = "#/components/schemas/" + definitionSchemaName + name
				}
			}
			out[k] = rewriteRefs(val)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, val := range t {
			out[i] = rewriteRefs(val)
		}
		return out
	default:
		return v
	}
}
