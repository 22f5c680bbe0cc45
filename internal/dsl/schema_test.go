package dsl_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/dsl"
)

var update = flag.Bool("update", false, "rewrite golden files (docs/dsl.schema.json)")

// goldenSchema is the committed copy of dsl.Schema().
var goldenSchema = filepath.Join("..", "..", "docs", "dsl.schema.json")

func TestSchemaGolden(t *testing.T) {
	t.Parallel()
	got := dsl.Schema()
	require.True(t, json.Valid(got))
	if *update {
		require.NoError(t, os.WriteFile(goldenSchema, got, 0o644))
	}
	want, err := os.ReadFile(goldenSchema)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got),
		"docs/dsl.schema.json is stale: run go test ./internal/dsl -run TestSchemaGolden -update")
}

// compileSchema compiles dsl.Schema() with the draft 2020-12 validator,
// which also checks the schema against its meta-schema.
func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(dsl.Schema()))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	require.NoError(t, c.AddResource("dsl.schema.json", doc))
	sch, err := c.Compile("dsl.schema.json")
	require.NoError(t, err)
	return sch
}

func validate(t *testing.T, sch *jsonschema.Schema, doc string) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(doc))
	require.NoError(t, err)
	return sch.Validate(v)
}

func TestSchema_Accepts(t *testing.T) {
	t.Parallel()
	sch := compileSchema(t)
	for name, doc := range map[string]string{
		"example":       exampleDoc,
		"minimal":       wf(``, delay("a", "")),
		"until":         wf(``, `{"id":"a","type":"delay","config":{"until":"{{ input.at }}"}}`),
		"custom type":   wf(``, `{"id":"a","type":"custom","config":{"anything":[1]}}`),
		"ai messages":   wf(``, `{"id":"a","type":"ai","config":{"messages":[{"role":"user","content":"hi"}],"json":true,"maxTokens":50}}`),
		"http extras":   wf(``, `{"id":"a","type":"http","config":{"url":"https://x","retryOn":[409],"timeout":"5s","newOption":true}}`),
		"branches":      wf(``, cond("a", `,"onTrue":"b","onFalse":"b"`), delay("b", "")),
		"manual":        wf(`"trigger":{"type":"manual"},`, delay("a", "")),
		"full defaults": wf(`"defaults":{"retry":{"maxAttempts":100,"initialInterval":"1.5s","multiplier":1,"maxInterval":"1h30m","jitter":0},"timeout":"24h"},`, delay("a", "")),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			require.NoError(t, validate(t, sch, doc))
			if name != "custom type" { // not in the test registry
				mustCompile(t, doc) // Compile agrees with the schema
			}
		})
	}
}

func TestSchema_Rejects(t *testing.T) {
	t.Parallel()
	sch := compileSchema(t)
	for name, doc := range map[string]string{
		"unknown field":        wf(`"nam":"x",`, delay("a", "")),
		"unknown step field":   wf(``, delay("a", `,"nxt":"b"`)),
		"missing id":           `{"startAt":"a","steps":[` + delay("a", "") + `]}`,
		"bad id":               `{"id":"-w","startAt":"a","steps":[` + delay("a", "") + `]}`,
		"no steps":             `{"id":"w","startAt":"a","steps":[]}`,
		"missing startAt":      `{"id":"w","steps":[` + delay("a", "") + `]}`,
		"missing step type":    wf(``, `{"id":"a"}`),
		"bad duration":         wf(``, delay("a", `,"timeout":"10"`)),
		"maxAttempts 0":        wf(``, delay("a", `,"retry":{"maxAttempts":0}`)),
		"jitter above 1":       wf(``, delay("a", `,"retry":{"jitter":1.5}`)),
		"webhook without key":  wf(`"trigger":{"type":"webhook"},`, delay("a", "")),
		"manual with key":      wf(`"trigger":{"type":"manual","key":"k"},`, delay("a", "")),
		"unknown trigger type": wf(`"trigger":{"type":"cron"},`, delay("a", "")),
		"next and onTrue":      wf(``, cond("a", `,"next":"b","onTrue":"b"`), delay("b", "")),
		"config not an object": wf(``, `{"id":"a","type":"delay","config":"1s"}`),
		"delay with both":      wf(``, `{"id":"a","type":"delay","config":{"duration":"1s","until":"x"}}`),
		"http without url":     wf(``, `{"id":"a","type":"http","config":{"method":"GET"}}`),
		"condition number":     wf(``, `{"id":"a","type":"condition","config":{"expression":1}}`),
		"ai without prompt":    wf(``, `{"id":"a","type":"ai","config":{"model":"m"}}`),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			require.Error(t, validate(t, sch, doc))
		})
	}
}

// TestDocsExamples keeps the JSON examples of docs/dsl.md honest: whole
// documents must compile, step snippets must match the schema.
func TestDocsExamples(t *testing.T) {
	t.Parallel()
	md, err := os.ReadFile(filepath.Join("..", "..", "docs", "dsl.md"))
	require.NoError(t, err)
	sch := compileSchema(t)
	blocks := strings.Split(string(md), "```json\n")[1:]
	require.NotEmpty(t, blocks)
	var docs, snippets int
	for _, block := range blocks {
		block = block[:strings.Index(block, "```")]
		dec := json.NewDecoder(strings.NewReader(block))
		for dec.More() {
			var v any
			require.NoError(t, dec.Decode(&v), "invalid JSON in docs/dsl.md:\n%s", block)
			obj, ok := v.(map[string]any)
			if !ok {
				continue // the validation error listing
			}
			raw, err := json.Marshal(obj)
			require.NoError(t, err)
			if _, isDoc := obj["steps"]; isDoc {
				docs++
				require.NoError(t, validate(t, sch, string(raw)))
				mustCompile(t, string(raw))
				continue
			}
			snippets++
			doc := `{"id":"w","startAt":` + mustJSON(t, obj["id"]) + `,"steps":[` + string(raw) + `]}`
			require.NoError(t, validate(t, sch, doc), "step snippet: %s", raw)
		}
	}
	require.Equal(t, 1, docs)
	require.Equal(t, 6, snippets)
}
