package cli

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// outbox returns the outbox messages of one run.
func (b *bundle) outbox(runID string) []map[string]any {
	b.t.Helper()
	r := b.do(http.MethodGet, "/api/outbox", nil)
	requireStatus(b.t, r, http.StatusOK)
	var out []map[string]any
	for _, it := range r.JSON(b.t)["items"].([]any) {
		m := it.(map[string]any)
		if m["instanceId"] == runID {
			out = append(out, m)
		}
	}
	return out
}

// stepOutput returns the output of the last execution of a step.
func stepOutput(run map[string]any, stepID string) map[string]any {
	var out map[string]any
	for _, s := range run["steps"].([]any) {
		m := s.(map[string]any)
		if m["stepId"] == stepID && m["status"] == "completed" {
			out, _ = m["output"].(map[string]any)
		}
	}
	return out
}

func TestSeedWorkflowsAreInstalled(t *testing.T) {
	t.Parallel()
	b := setup(t)

	r := b.do(http.MethodGet, "/api/workflows", nil)
	requireStatus(t, r, http.StatusOK)
	got := map[string]string{}
	for _, it := range r.JSON(t)["items"].([]any) {
		w := it.(map[string]any)
		require.Equal(t, true, w["enabled"])
		require.EqualValues(t, 1, w["version"])
		got[w["workflowId"].(string)] = w["triggerKey"].(string)
	}
	require.Equal(t, map[string]string{
		"ai-triage-flow":   "ai-triage",
		"delayed-followup": "delayed-followup",
		"flaky-demo":       "flaky-demo",
	}, got)
}

func TestSeedAITriage(t *testing.T) {
	t.Parallel()
	b := setup(t)

	big := b.start("ai-triage", "ticket-1", map[string]any{
		"ticketId": "T-1", "subject": "Refund please", "body": "I was charged twice on my invoice.", "amount": 250,
	})
	small := b.start("ai-triage", "ticket-2", map[string]any{
		"ticketId": "T-2", "subject": "Login", "body": "How do I reset my password?", "amount": 20,
	})

	run := b.waitStatus(big, "completed")
	require.Equal(t, []string{"classify", "route", "escalate"}, stepIDs(run))
	require.Equal(t, "billing", stepOutput(run, "classify")["label"])
	require.Equal(t, true, stepOutput(run, "route")["result"])
	msgs := b.outbox(big)
	require.Len(t, msgs, 1)
	require.Equal(t, "sluice.events", msgs[0]["exchange"])
	require.Equal(t, "ticket.escalated", msgs[0]["routingKey"])
	msg := msgs[0]["message"].(map[string]any)
	require.Equal(t, "T-1", msg["ticketId"])
	require.EqualValues(t, 250, msg["amount"])
	require.Equal(t, "billing", msg["label"])

	run = b.waitStatus(small, "completed")
	require.Equal(t, []string{"classify", "route", "file"}, stepIDs(run))
	require.Equal(t, "question", stepOutput(run, "classify")["label"])
	msgs = b.outbox(small)
	require.Len(t, msgs, 1)
	require.Equal(t, "ticket.triaged", msgs[0]["routingKey"])

	// No amount at all is not an escalation.
	none := b.start("ai-triage", "ticket-3", map[string]any{"subject": "Great product, thanks"})
	run = b.waitStatus(none, "completed")
	require.Equal(t, "file", run["currentStepId"])
}

func TestSeedDelayedFollowup(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.start("delayed-followup", "f-1", map[string]any{"customer": "ada"})
	b.waitStatus(id, "waiting")
	run := b.waitStatus(id, "completed")
	require.Equal(t, []string{"wait", "follow-up"}, stepIDs(run))
	msgs := b.outbox(id)
	require.Len(t, msgs, 1)
	require.Equal(t, "followup.due", msgs[0]["routingKey"])
	require.Equal(t, map[string]any{"customer": "ada"}, msgs[0]["message"].(map[string]any)["request"])
}

func TestSeedFlakyDemoDeadLetterAndReplay(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.start("flaky-demo", "flaky-1", map[string]any{"text": "[[fail]] my invoice is wrong"})
	run := b.waitStatus(id, "dead_lettered")
	require.Equal(t, "summarise", run["currentStepId"])
	require.Len(t, run["steps"], 2, "two attempts")

	r := b.do(http.MethodGet, "/api/deadletters?workflowId=flaky-demo", nil)
	requireStatus(t, r, http.StatusOK)
	items := r.JSON(t)["items"].([]any)
	require.Len(t, items, 1)
	dl := items[0].(map[string]any)
	require.Equal(t, "retries_exhausted", dl["reason"])
	require.EqualValues(t, 2, dl["attempts"])
	require.Contains(t, dl["lastError"], "injected failure")

	r = b.do(http.MethodPost, "/api/deadletters/"+dl["id"].(string)+"/replay",
		map[string]any{"from": "start", "input": map[string]any{"text": "my invoice is wrong"}})
	requireStatus(t, r, http.StatusOK)
	run = b.waitStatus(id, "completed")
	require.Equal(t, "billing", stepOutput(run, "summarise")["label"])
	require.Len(t, b.outbox(id), 1)
}

func TestSeedInstallIsIdempotent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	requireStatus(t, b.do(http.MethodDelete, "/api/workflows/flaky-demo", nil), http.StatusNoContent)
	cfg := b.srv.cfg
	require.NoError(t, b.srv.Close())

	again := startServer(t, cfg, b.dbPath)
	r := again.do(http.MethodGet, "/api/workflows", nil)
	requireStatus(t, r, http.StatusOK)
	for _, it := range r.JSON(t)["items"].([]any) {
		w := it.(map[string]any)
		require.EqualValues(t, 1, w["latestVersion"], "restart created no new version of %s", w["workflowId"])
		require.Equal(t, w["workflowId"] != "flaky-demo", w["enabled"], "a deleted seed stays deleted: %s", w["workflowId"])
	}
}
