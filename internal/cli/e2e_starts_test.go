package cli

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWebhookStart(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.putWorkflow(delayWorkflow("hook-wf", "hook", "1h"), http.StatusCreated)

	t.Run("accepted", func(t *testing.T) {
		r := b.trigger("hook", "key-accepted", map[string]any{"order": 1})
		requireStatus(t, r, http.StatusAccepted)
		require.Empty(t, r.Header.Get("Idempotent-Replayed"))
		body := r.JSON(t)
		require.NotEmpty(t, body["instanceId"])
		require.Equal(t, "hook-wf", body["workflowId"])
		require.EqualValues(t, 1, body["workflowVersion"])
		require.Equal(t, "pending", body["status"])

		run := b.instance(body["instanceId"].(string))
		require.Equal(t, map[string]any{"order": float64(1)}, run["input"])
	})

	t.Run("same key and body replays the first response", func(t *testing.T) {
		first := b.trigger("hook", "key-dup", `{"a": 1, "b": [1,2]}`)
		requireStatus(t, first, http.StatusAccepted)
		// Same JSON with different layout is the same request.
		again := b.trigger("hook", "key-dup", `{"a":1,"b":[1,2]}`)
		requireStatus(t, again, http.StatusOK)
		require.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
		require.Equal(t, first.JSON(t)["instanceId"], again.JSON(t)["instanceId"])
	})

	t.Run("same key different body is 422", func(t *testing.T) {
		requireStatus(t, b.trigger("hook", "key-mismatch", map[string]any{"v": 1}), http.StatusAccepted)
		p := requireProblem(t, b.trigger("hook", "key-mismatch", map[string]any{"v": 2}), http.StatusUnprocessableEntity)
		require.Equal(t, "idempotency_mismatch", p["code"])
	})

	t.Run("missing Idempotency-Key is 400", func(t *testing.T) {
		r := b.do(http.MethodPost, "/api/webhooks/hook", map[string]any{"v": 1})
		p := requireProblem(t, r, http.StatusBadRequest)
		require.Contains(t, p["detail"], "Idempotency-Key")
	})

	t.Run("invalid JSON is 400", func(t *testing.T) {
		p := requireProblem(t, b.trigger("hook", "key-bad-json", `{"v": `), http.StatusBadRequest)
		require.Contains(t, p["detail"], "not valid JSON")
	})

	t.Run("empty body is 400", func(t *testing.T) {
		requireProblem(t, b.do(http.MethodPost, "/api/webhooks/hook", nil, "Idempotency-Key", "key-empty"), http.StatusBadRequest)
	})

	t.Run("any JSON value is accepted", func(t *testing.T) {
		for i, body := range []string{`"text"`, `42`, `[1,2]`, `null`, `true`} {
			r := b.trigger("hook", "key-any-"+string(rune('a'+i)), body)
			requireStatus(t, r, http.StatusAccepted)
		}
	})

	t.Run("unknown webhook key is 404", func(t *testing.T) {
		p := requireProblem(t, b.trigger("no-such-hook", "k", map[string]any{}), http.StatusNotFound)
		require.Equal(t, "not_found", p["code"])
	})

	t.Run("too long Idempotency-Key is 422", func(t *testing.T) {
		requireProblem(t, b.trigger("hook", strings.Repeat("k", 256), map[string]any{}), http.StatusUnprocessableEntity)
	})
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *ServerConfig) { c.MaxBodyBytes = 1024 })
	b.putWorkflow(delayWorkflow("limit-wf", "limit", "1h"), http.StatusCreated)

	// A body of exactly the limit is accepted.
	exact := `"` + strings.Repeat("x", 1024-2) + `"`
	requireStatus(t, b.trigger("limit", "exact", exact), http.StatusAccepted)

	over := `"` + strings.Repeat("x", 1024) + `"`
	p := requireProblem(t, b.trigger("limit", "over", over), http.StatusRequestEntityTooLarge)
	require.Contains(t, p["detail"], "1024")

	// The limit applies to every endpoint.
	requireProblem(t, b.do(http.MethodPost, "/api/workflows/validate", over), http.StatusRequestEntityTooLarge)
}

func TestStartByWorkflowID(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *ServerConfig) { c.NoSeed = true })
	b.putWorkflow(branchWorkflow("branchy"), http.StatusCreated)

	start := func(key string, body any) *response {
		return b.do(http.MethodPost, "/api/workflows/branchy/instances", body, "Idempotency-Key", key)
	}
	r := start("k1", map[string]any{"n": 50})
	requireStatus(t, r, http.StatusAccepted)
	bigID := r.JSON(t)["instanceId"].(string)

	again := start("k1", map[string]any{"n": 50})
	requireStatus(t, again, http.StatusOK)
	require.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
	require.Equal(t, bigID, again.JSON(t)["instanceId"])

	requireProblem(t, start("k1", map[string]any{"n": 1}), http.StatusUnprocessableEntity)
	requireProblem(t, b.do(http.MethodPost, "/api/workflows/branchy/instances", map[string]any{}), http.StatusBadRequest)
	requireProblem(t, start("k2", "{nope"), http.StatusBadRequest)
	requireProblem(t, b.do(http.MethodPost, "/api/workflows/nope/instances", map[string]any{}, "Idempotency-Key", "k"), http.StatusNotFound)

	r = start("k3", map[string]any{"n": 5})
	requireStatus(t, r, http.StatusAccepted)
	smallID := r.JSON(t)["instanceId"].(string)

	big := b.waitStatus(bigID, "completed")
	small := b.waitStatus(smallID, "completed")
	require.Equal(t, "big", big["currentStepId"])
	require.Equal(t, "small", small["currentStepId"])
	require.Equal(t, []string{"check", "big"}, stepIDs(big))
	require.Equal(t, []string{"check", "small"}, stepIDs(small))

	// A manual workflow has no webhook.
	requireProblem(t, b.trigger("branchy", "k", map[string]any{}), http.StatusNotFound)
}

// stepIDs lists the step ids of a run's step executions.
func stepIDs(run map[string]any) []string {
	var out []string
	steps, _ := run["steps"].([]any)
	for _, s := range steps {
		out = append(out, s.(map[string]any)["stepId"].(string))
	}
	return out
}
