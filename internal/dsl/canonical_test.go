package dsl_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCompile_Canonical(t *testing.T) {
	t.Parallel()
	c := mustCompile(t, `{
	  "steps": [{"config": {"url": "https://x?a=1&b=<2>", "method": "POST", "body": {"z": 1.50, "a": [1e2, 10]}},
	             "type": "http", "id": "a", "timeout": "5s", "retry": {"jitter": 0.10, "maxAttempts": 2}}],
	  "startAt": "a",
	  "id": "w"
	}`)
	require.Equal(t, //nolint:testifylint // the exact bytes are the point
		`{"id":"w","trigger":{"type":"manual"},"startAt":"a","steps":[{"id":"a","type":"http",`+
			`"config":{"body":{"a":[100,10],"z":1.5},"method":"POST","url":"https://x?a=1&b=<2>"},`+
			`"retry":{"maxAttempts":2,"jitter":0.1},"timeout":"5s"}]}`,
		string(c.Canonical))
	sum := sha256.Sum256(c.Canonical)
	require.Equal(t, hex.EncodeToString(sum[:]), c.Hash)
}

func TestCompile_CanonicalHash(t *testing.T) {
	t.Parallel()
	base := mustCompile(t, exampleDoc)

	same := map[string]string{
		"compact": `{"id":"ai-triage-flow","name":"AI ticket triage","trigger":{"type":"webhook","key":"ai-triage"},"startAt":"classify","defaults":{"retry":{"maxAttempts":5,"initialInterval":"500ms"},"timeout":"20s"},"steps":[{"id":"classify","type":"ai","config":{"provider":"mock","model":"mock-1","prompt":"Classify this ticket: {{ input.ticket }}"},"retry":{"maxAttempts":3,"initialInterval":"200ms","multiplier":2,"maxInterval":"10s","jitter":0.2},"timeout":"30s","next":"route"},{"id":"route","type":"condition","config":{"expression":"input.amount > 100"},"onTrue":"escalate"},{"id":"escalate","type":"http","config":{"method":"POST","url":"https://support.example.com/api/escalations","headers":{"X-Ticket":"{{ input.ticket }}"},"body":{"ticket":"{{ input.ticket }}","label":"{{ steps.classify.output.label }}"}},"next":"wait"},{"id":"wait","type":"delay","config":{"duration":"10s"},"next":"publish"},{"id":"publish","type":"queue_publish","config":{"exchange":"sluice.events","routingKey":"ticket.escalated","message":{"ticket":"{{ input.ticket }}"}}}]}`,
		"reordered keys and spelling": `{"steps":[
		  {"next":"route","timeout":"30s","retry":{"jitter":2e-1,"maxInterval":"10s","multiplier":2.0,"initialInterval":"200ms","maxAttempts":3},
		   "config":{"prompt":"Classify this ticket: {{ input.ticket }}","model":"mock-1","provider":"mock"},"type":"ai","id":"classify"},
		  {"onTrue":"escalate","config":{"expression":"input.amount \u003e 100"},"type":"condition","id":"route"},
		  {"next":"wait","config":{"body":{"label":"{{ steps.classify.output.label }}","ticket":"{{ input.ticket }}"},"headers":{"X-Ticket":"{{ input.ticket }}"},"url":"https://support.example.com/api/escalations","method":"POST"},"type":"http","id":"escalate"},
		  {"next":"publish","config":{"duration":"10s"},"type":"delay","id":"wait"},
		  {"config":{"message":{"ticket":"{{ input.ticket }}"},"routingKey":"ticket.escalated","exchange":"sluice.events"},"type":"queue_publish","id":"publish"}],
		 "defaults":{"timeout":"20s","retry":{"initialInterval":"500ms","maxAttempts":5}},
		 "startAt":"classify","trigger":{"key":"ai-triage","type":"webhook"},"name":"AI ticket triage","id":"ai-triage-flow"}`,
		"canonical form itself": string(base.Canonical),
	}
	for name, doc := range same {
		t.Run("same/"+name, func(t *testing.T) {
			t.Parallel()
			c := mustCompile(t, doc)
			require.Equal(t, string(base.Canonical), string(c.Canonical))
			require.Equal(t, base.Hash, c.Hash)
		})
	}

	changes := map[string][2]string{
		"name":           {`"name": "AI ticket triage"`, `"name": "AI ticket triage v2"`},
		"timeout":        {`"timeout": "30s"`, `"timeout": "31s"`},
		"config value":   {`"duration": "10s"`, `"duration": "11s"`},
		"config key":     {`"model": "mock-1"`, `"model": "mock-1", "temperature": 0`},
		"successor":      {`"onTrue": "escalate"`, `"onTrue": "escalate", "onFalse": "publish"`},
		"retry inherits": {`"retry": {"maxAttempts": 5, "initialInterval": "500ms"}, `, ``},
		"string case":    {`"mock-1"`, `"Mock-1"`},
	}
	for name, change := range changes {
		t.Run("different/"+name, func(t *testing.T) {
			t.Parallel()
			doc := replaceOnce(t, exampleDoc, change[0], change[1])
			c := mustCompile(t, doc)
			require.NotEqual(t, base.Hash, c.Hash)
		})
	}
}

func TestCompile_CanonicalDefaults(t *testing.T) {
	t.Parallel()
	// Spellings of "the default" that mean the same thing hash the same.
	for name, pair := range map[string][2]string{
		"manual trigger": {wf(``, delay("a", "")), wf(`"trigger":{"type":"manual"},`, delay("a", ""))},
		"empty config":   {wf(``, `{"id":"a","type":"ai"}`), wf(``, `{"id":"a","type":"ai","config":{}}`)},
		"null fields":    {wf(``, delay("a", "")), wf(`"name":null,`, delay("a", `,"next":null`))},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, mustCompile(t, pair[0]).Hash, mustCompile(t, pair[1]).Hash)
		})
	}
}

func replaceOnce(t *testing.T, s, old, repl string) string {
	t.Helper()
	i := strings.Index(s, old)
	require.GreaterOrEqual(t, i, 0, "%q not in document", old)
	return s[:i] + repl + s[i+len(old):]
}
