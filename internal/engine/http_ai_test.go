package engine_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/workflow"
)

// downstream is an HTTP server that answers with the scripted statuses in
// order (then 200) and records the requests it got.
type downstream struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	keys     []string
	bodies   []string
}

func newDownstream(t *testing.T, statuses ...int) *downstream {
	d := &downstream{statuses: statuses}
	d.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		d.mu.Lock()
		d.keys = append(d.keys, r.Header.Get("Idempotency-Key"))
		d.bodies = append(d.bodies, string(body))
		status := http.StatusOK
		if len(d.statuses) > 0 {
			status, d.statuses = d.statuses[0], d.statuses[1:]
		}
		d.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"accepted": true}`)
	}))
	t.Cleanup(d.Close)
	return d
}

func (d *downstream) seen() (keys, bodies []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.keys...), append([]string(nil), d.bodies...)
}

func httpFlow(url string) map[string]any {
	return chain("http-flow",
		map[string]any{"id": "classify", "type": "ai", "config": map[string]any{"model": "mock-1", "prompt": "Classify: {{ input.ticket }}"}},
		map[string]any{"id": "call", "type": "http", "retry": fastRetry(3), "config": map[string]any{
			"method": "POST", "url": url,
			"body": map[string]any{"ticket": "{{ input.ticket }}", "label": "{{ steps.classify.output.label }}"}}})
}

func TestHTTPStepRetriesWithTheSameIdempotencyKey(t *testing.T) {
	t.Parallel()
	d := newDownstream(t, http.StatusServiceUnavailable, http.StatusInternalServerError)
	b := setup(t)
	b.put(t, httpFlow(d.URL))
	run := b.start(t, "http-flow", `{"ticket": "The app crashes with an error"}`)
	done := b.waitStatus(t, run.ID, workflow.RunCompleted)

	keys, bodies := d.seen()
	require.Len(t, keys, 3)
	require.NotEmpty(t, keys[0])
	require.Equal(t, keys[0], keys[1])
	require.Equal(t, keys[0], keys[2])
	require.JSONEq(t, `{"ticket": "The app crashes with an error", "label": "bug"}`, bodies[2])
	require.JSONEq(t, `{"accepted": true}`, string(extract(t, done.Output, "body")))
	execs := b.executions(t, run.ID)
	require.Len(t, execs, 4) // classify, call ×3
	require.Equal(t, keys[0], execs[1].IdempotencyKey)
}

func TestHTTPClientErrorDeadLettersWithoutRetry(t *testing.T) {
	t.Parallel()
	d := newDownstream(t, http.StatusBadRequest)
	b := setup(t)
	b.put(t, httpFlow(d.URL))
	run := b.start(t, "http-flow", `{"ticket": "refund my invoice"}`)
	dead := b.waitStatus(t, run.ID, workflow.RunDeadLettered)
	require.Equal(t, "call", dead.CurrentStepID)
	require.Contains(t, dead.Error, "400")
	keys, _ := d.seen()
	require.Len(t, keys, 1)
}

func TestAIStepFailureIsRetriedThenDeadLettered(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.put(t, chain("ai-fails", map[string]any{"id": "classify", "type": "ai", "retry": fastRetry(2),
		"config": map[string]any{"model": "mock-1", "prompt": "{{ input.text }}"}}))
	run := b.start(t, "ai-fails", `{"text": "please [[fail]]"}`)
	b.waitStatus(t, run.ID, workflow.RunDeadLettered)
	require.Len(t, b.executions(t, run.ID), 2)
}

func extract(t *testing.T, raw []byte, field string) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &m))
	return m[field]
}
