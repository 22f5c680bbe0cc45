package cli

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWorkflowLifecycle(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *ServerConfig) { c.NoSeed = true })

	def := delayWorkflow("life", "life-hook", "1h")
	created := b.putWorkflow(def, http.StatusCreated)
	require.Equal(t, "life", created["workflowId"])
	require.EqualValues(t, 1, created["version"])
	require.Equal(t, true, created["created"])
	require.Equal(t, "life-hook", created["triggerKey"])
	require.Equal(t, true, created["enabled"])

	unchanged := b.putWorkflow(def, http.StatusOK)
	require.Equal(t, false, unchanged["created"])
	require.EqualValues(t, 1, unchanged["version"])

	def["name"] = "Renamed"
	v2 := b.putWorkflow(def, http.StatusCreated)
	require.EqualValues(t, 2, v2["version"])

	r := b.do(http.MethodGet, "/api/workflows/life", nil)
	requireStatus(t, r, http.StatusOK)
	latest := r.JSON(t)
	require.EqualValues(t, 2, latest["version"])
	require.EqualValues(t, 2, latest["latestVersion"])
	require.Equal(t, "Renamed", latest["name"])
	require.Equal(t, "life", latest["definition"].(map[string]any)["id"])

	r = b.do(http.MethodGet, "/api/workflows/life?version=1", nil)
	requireStatus(t, r, http.StatusOK)
	require.EqualValues(t, 1, r.JSON(t)["version"])

	requireProblem(t, b.do(http.MethodGet, "/api/workflows/life?version=9", nil), http.StatusNotFound)
	requireProblem(t, b.do(http.MethodGet, "/api/workflows/nope", nil), http.StatusNotFound)
	requireProblem(t, b.do(http.MethodGet, "/api/workflows/life?version=x", nil), http.StatusUnprocessableEntity)

	r = b.do(http.MethodGet, "/api/workflows", nil)
	requireStatus(t, r, http.StatusOK)
	items := r.JSON(t)["items"].([]any)
	require.Len(t, items, 1)
	require.Equal(t, "life", items[0].(map[string]any)["workflowId"])
	require.NotContains(t, items[0], "definition")

	// A run started before the delete keeps going; new starts are refused.
	runID := b.start("life-hook", "before-delete", map[string]any{})
	r = b.do(http.MethodDelete, "/api/workflows/life", nil)
	requireStatus(t, r, http.StatusNoContent)
	require.Empty(t, r.Body)
	requireProblem(t, b.trigger("life-hook", "after-delete", map[string]any{}), http.StatusNotFound)
	requireProblem(t, b.do(http.MethodPost, "/api/workflows/life/instances", map[string]any{}, "Idempotency-Key", "x"), http.StatusNotFound)
	r = b.do(http.MethodGet, "/api/workflows/life", nil)
	requireStatus(t, r, http.StatusOK)
	require.Equal(t, false, r.JSON(t)["enabled"])
	require.NotEqual(t, "cancelled", b.instance(runID)["status"])

	requireProblem(t, b.do(http.MethodDelete, "/api/workflows/nope", nil), http.StatusNotFound)

	// PUT again re-enables it.
	b.putWorkflow(def, http.StatusOK)
	requireStatus(t, b.trigger("life-hook", "after-reenable", map[string]any{}), http.StatusAccepted)
}

func TestWorkflowValidation(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *ServerConfig) { c.NoSeed = true })

	t.Run("invalid definition lists every error", func(t *testing.T) {
		for _, path := range []string{"/api/workflows/broken", "/api/workflows/validate"} {
			method := http.MethodPut
			if path == "/api/workflows/validate" {
				method = http.MethodPost
			}
			p := requireProblem(t, b.do(method, path, invalidWorkflow("broken")), http.StatusUnprocessableEntity)
			require.Equal(t, "invalid", p["code"])
			paths := problemPaths(p)
			require.Subset(t, paths, []string{"/trigger/key", "/startAt", "/steps/0/type", "/steps/0/next", "/steps/1/config/duration"}, "%v", paths)
			for _, e := range p["errors"].([]any) {
				require.NotEmpty(t, e.(map[string]any)["message"])
			}
		}
		requireProblem(t, b.do(http.MethodGet, "/api/workflows/broken", nil), http.StatusNotFound)
	})

	t.Run("valid definition", func(t *testing.T) {
		r := b.do(http.MethodPost, "/api/workflows/validate", branchWorkflow("fine"))
		requireStatus(t, r, http.StatusOK)
		require.Equal(t, map[string]any{"valid": true}, r.JSON(t))
		requireProblem(t, b.do(http.MethodGet, "/api/workflows/fine", nil), http.StatusNotFound)
	})

	t.Run("path id must match body id", func(t *testing.T) {
		p := requireProblem(t, b.do(http.MethodPut, "/api/workflows/other", branchWorkflow("mine")), http.StatusUnprocessableEntity)
		require.Equal(t, []string{"/id"}, problemPaths(p))

		// The mismatch is reported along with the definition's own problems.
		p = requireProblem(t, b.do(http.MethodPut, "/api/workflows/other", invalidWorkflow("mine")), http.StatusUnprocessableEntity)
		paths := problemPaths(p)
		require.Contains(t, paths, "/id")
		require.Contains(t, paths, "/startAt")
	})

	t.Run("not JSON is 400", func(t *testing.T) {
		requireProblem(t, b.do(http.MethodPut, "/api/workflows/x", "{"), http.StatusBadRequest)
		requireProblem(t, b.do(http.MethodPost, "/api/workflows/validate", "nope"), http.StatusBadRequest)
	})

	t.Run("not an object is 422", func(t *testing.T) {
		requireProblem(t, b.do(http.MethodPut, "/api/workflows/x", "[1]"), http.StatusUnprocessableEntity)
	})

	t.Run("webhook key conflict is 409", func(t *testing.T) {
		b.putWorkflow(delayWorkflow("first", "shared-key", "1s"), http.StatusCreated)
		p := requireProblem(t, b.do(http.MethodPut, "/api/workflows/second", delayWorkflow("second", "shared-key", "1s")), http.StatusConflict)
		require.Equal(t, "conflict", p["code"])
	})
}
