package cli

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestInstanceList(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *ServerConfig) { c.NoSeed = true })
	b.putWorkflow(delayWorkflow("list-a", "list-a", "1h"), http.StatusCreated)
	b.putWorkflow(branchWorkflow("list-b"), http.StatusCreated)

	var aIDs []string
	for i := range 5 {
		aIDs = append(aIDs, b.start("list-a", fmt.Sprint("a", i), map[string]any{"i": i}))
	}
	r := b.do(http.MethodPost, "/api/workflows/list-b/instances", map[string]any{"n": 1}, "Idempotency-Key", "b0")
	requireStatus(t, r, http.StatusAccepted)
	bID := r.JSON(t)["instanceId"].(string)
	b.waitStatus(bID, "completed")
	for _, id := range aIDs {
		b.waitStatus(id, "waiting")
	}

	list := func(query string) map[string]any {
		t.Helper()
		r := b.do(http.MethodGet, "/api/instances?"+query, nil)
		requireStatus(t, r, http.StatusOK)
		return r.JSON(t)
	}
	ids := func(page map[string]any) []string {
		var out []string
		for _, it := range page["items"].([]any) {
			out = append(out, it.(map[string]any)["id"].(string))
		}
		return out
	}

	all := list("")
	require.Len(t, all["items"], 6)
	require.Equal(t, bID, ids(all)[0], "newest first")

	require.Equal(t, []string{bID}, ids(list("status=completed")))
	require.Len(t, list("status=waiting")["items"], 5)
	require.Equal(t, []string{bID}, ids(list("workflowId=list-b")))
	require.Empty(t, list("workflowId=nope")["items"])

	// Pages of two walk every run of list-a exactly once, newest first.
	var walked []string
	cursor := ""
	for range 10 {
		page := list("workflowId=list-a&limit=2&cursor=" + url.QueryEscape(cursor))
		walked = append(walked, ids(page)...)
		next, _ := page["nextCursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	want := []string{aIDs[4], aIDs[3], aIDs[2], aIDs[1], aIDs[0]}
	require.Equal(t, want, walked)

	for _, q := range []string{"status=bogus", "limit=0", "limit=1001", "limit=x"} {
		requireProblem(t, b.do(http.MethodGet, "/api/instances?"+q, nil), http.StatusUnprocessableEntity)
	}
	p := b.do(http.MethodGet, "/api/instances?cursor=garbage", nil)
	require.Contains(t, []int{http.StatusBadRequest, http.StatusUnprocessableEntity}, p.Status, "body: %s", p.Body)

	requireProblem(t, b.do(http.MethodGet, "/api/instances/00000000-0000-0000-0000-000000000000", nil), http.StatusNotFound)
	requireProblem(t, b.do(http.MethodGet, "/api/instances/not-a-uuid", nil), http.StatusNotFound)
}

func TestCancelAndReplayConflicts(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *ServerConfig) { c.NoSeed = true })
	b.putWorkflow(delayWorkflow("cancel-wf", "cancel", "1h"), http.StatusCreated)

	id := b.start("cancel", "c1", map[string]any{"x": 1})
	waiting := b.waitStatus(id, "waiting")
	require.Equal(t, "announce", waiting["currentStepId"])

	// A run that is not terminal cannot be replayed.
	p := requireProblem(t, b.do(http.MethodPost, "/api/instances/"+id+"/replay", map[string]any{"from": "start"}), http.StatusConflict)
	require.Equal(t, "conflict", p["code"])

	r := b.do(http.MethodPost, "/api/instances/"+id+"/cancel", nil)
	requireStatus(t, r, http.StatusOK)
	require.Equal(t, "cancelled", r.JSON(t)["status"])
	run := b.instance(id)
	require.Equal(t, "cancelled", run["status"])
	require.NotNil(t, run["finishedAt"])

	requireProblem(t, b.do(http.MethodPost, "/api/instances/"+id+"/cancel", nil), http.StatusConflict)
	requireProblem(t, b.do(http.MethodPost, "/api/instances/nope/cancel", nil), http.StatusNotFound)
	requireProblem(t, b.do(http.MethodPost, "/api/instances/nope/replay", map[string]any{"from": "start"}), http.StatusNotFound)
	requireProblem(t, b.do(http.MethodPost, "/api/instances/"+id+"/replay", map[string]any{"from": "middle"}), http.StatusUnprocessableEntity)
	requireProblem(t, b.do(http.MethodPost, "/api/instances/"+id+"/replay", map[string]any{}), http.StatusUnprocessableEntity)

	// A cancelled run can be replayed; it waits again.
	r = b.do(http.MethodPost, "/api/instances/"+id+"/replay", map[string]any{"from": "start"})
	requireStatus(t, r, http.StatusOK)
	require.EqualValues(t, 1, r.JSON(t)["generation"])
	b.waitStatus(id, "waiting")
	run = b.instance(id)
	replays := run["replays"].([]any)
	require.Len(t, replays, 1)
	require.Equal(t, "start", replays[0].(map[string]any)["from"])
	require.Equal(t, "cancelled", replays[0].(map[string]any)["previousStatus"])
}

func TestDeadLetterAndReplay(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *ServerConfig) { c.NoSeed = true })
	b.putWorkflow(branchWorkflow("fragile"), http.StatusCreated)

	// "input.n > 10" cannot be evaluated on a string: the condition fails
	// permanently and the run is dead-lettered.
	r := b.do(http.MethodPost, "/api/workflows/fragile/instances", `"not a number"`, "Idempotency-Key", "dl-1")
	requireStatus(t, r, http.StatusAccepted)
	id := r.JSON(t)["instanceId"].(string)
	dead := b.waitStatus(id, "dead_lettered")
	require.NotEmpty(t, dead["error"])
	steps := dead["steps"].([]any)
	require.Len(t, steps, 1)
	require.Equal(t, "failed", steps[0].(map[string]any)["status"])

	r = b.do(http.MethodGet, "/api/deadletters?workflowId=fragile", nil)
	requireStatus(t, r, http.StatusOK)
	items := r.JSON(t)["items"].([]any)
	require.Len(t, items, 1)
	dl := items[0].(map[string]any)
	require.Equal(t, id, dl["instanceId"])
	require.Equal(t, "fragile", dl["workflowId"])
	require.Equal(t, "check", dl["stepId"])
	require.Equal(t, "non_retryable", dl["reason"])
	require.EqualValues(t, 1, dl["attempts"])
	require.NotEmpty(t, dl["lastError"])
	require.Equal(t, "not a number", dl["input"])
	require.Nil(t, dl["replayedAt"])
	dlID := dl["id"].(string)

	r = b.do(http.MethodGet, "/api/deadletters?workflowId=other", nil)
	requireStatus(t, r, http.StatusOK)
	require.Empty(t, r.JSON(t)["items"])

	// Replay with a corrected input: the run completes.
	r = b.do(http.MethodPost, "/api/deadletters/"+dlID+"/replay", map[string]any{"from": "failed_step", "input": map[string]any{"n": 99}})
	requireStatus(t, r, http.StatusOK)
	require.Equal(t, id, r.JSON(t)["id"])
	done := b.waitStatus(id, "completed")
	require.Equal(t, map[string]any{"n": float64(99)}, done["input"])
	require.Equal(t, "big", done["currentStepId"])
	require.EqualValues(t, 1, done["generation"])
	replays := done["replays"].([]any)
	require.Len(t, replays, 1)
	replay := replays[0].(map[string]any)
	require.Equal(t, true, replay["inputReplaced"])
	require.Equal(t, "dead_lettered", replay["previousStatus"])
	require.Equal(t, "deadletter:"+dlID, replay["requestedBy"])

	r = b.do(http.MethodGet, "/api/deadletters", nil)
	requireStatus(t, r, http.StatusOK)
	require.NotNil(t, r.JSON(t)["items"].([]any)[0].(map[string]any)["replayedAt"])

	// A dead letter is replayed once; a completed run cannot restart at its
	// failed step.
	requireProblem(t, b.do(http.MethodPost, "/api/deadletters/"+dlID+"/replay", map[string]any{"from": "start"}), http.StatusConflict)
	requireProblem(t, b.do(http.MethodPost, "/api/deadletters/"+dlID+"/replay", map[string]any{"input": 1}), http.StatusConflict)
	requireProblem(t, b.do(http.MethodPost, "/api/instances/"+id+"/replay", map[string]any{"from": "failed_step"}), http.StatusConflict)
	requireProblem(t, b.do(http.MethodPost, "/api/deadletters/nope/replay", nil), http.StatusNotFound)

	// The outbox holds the message of the "big" step.
	r = b.do(http.MethodGet, "/api/outbox?status=pending", nil)
	requireStatus(t, r, http.StatusOK)
	msgs := r.JSON(t)["items"].([]any)
	require.Len(t, msgs, 1)
	msg := msgs[0].(map[string]any)
	require.Equal(t, id, msg["instanceId"])
	require.Equal(t, "big", msg["routingKey"])
	require.EqualValues(t, 99, msg["message"])
	r = b.do(http.MethodGet, "/api/outbox?status=sent", nil)
	requireStatus(t, r, http.StatusOK)
	require.Empty(t, r.JSON(t)["items"])
	requireProblem(t, b.do(http.MethodGet, "/api/outbox?status=lost", nil), http.StatusUnprocessableEntity)
}

func TestReplayFromStartWithoutNewInput(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *ServerConfig) { c.NoSeed = true })
	b.putWorkflow(branchWorkflow("again"), http.StatusCreated)
	r := b.do(http.MethodPost, "/api/workflows/again/instances", map[string]any{"n": 1}, "Idempotency-Key", "x")
	requireStatus(t, r, http.StatusAccepted)
	id := r.JSON(t)["instanceId"].(string)
	b.waitStatus(id, "completed")

	requireStatus(t, b.do(http.MethodPost, "/api/instances/"+id+"/replay", map[string]any{"from": "start"}), http.StatusOK)
	eventually(t, func() bool {
		run := b.instance(id)
		return run["status"] == "completed" && run["generation"] == float64(1)
	})
	run := b.instance(id)
	require.Equal(t, []string{"check", "small", "check", "small"}, stepIDs(run))
	require.Equal(t, map[string]any{"n": float64(1)}, run["input"])
}

func TestRestartBetweenTriggerAndCompletion(t *testing.T) {
	t.Parallel()
	dbPath := t.TempDir() + "/restart.db"
	cfg := ServerConfig{
		Addr:            "127.0.0.1:0",
		DatabaseURL:     "sqlite:" + dbPath,
		Logger:          testLogger(t),
		PollInterval:    50 * time.Millisecond,
		ShutdownTimeout: 5 * time.Second,
		NoSeed:          true,
	}
	first := startServer(t, cfg, dbPath)
	first.putWorkflow(delayWorkflow("survivor", "survivor", "1s"), http.StatusCreated)
	id := first.start("survivor", "restart-1", map[string]any{"survive": true})
	first.waitStatus(id, "waiting")
	require.NoError(t, first.srv.Close())

	second := startServer(t, cfg, dbPath)
	done := second.waitStatus(id, "completed")
	require.Equal(t, []string{"wait", "announce"}, stepIDs(done))
	require.Equal(t, map[string]any{"survive": true}, done["input"])

	// The idempotency record survived too.
	r := second.trigger("survivor", "restart-1", map[string]any{"survive": true})
	requireStatus(t, r, http.StatusOK)
	require.Equal(t, id, r.JSON(t)["instanceId"])
}
