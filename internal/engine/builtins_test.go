package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/step"
	"github.com/sluicehq/sluice/internal/step/ai"
	"github.com/sluicehq/sluice/internal/step/condition"
	"github.com/sluicehq/sluice/internal/step/delay"
	"github.com/sluicehq/sluice/internal/step/httpcall"
	"github.com/sluicehq/sluice/internal/step/publish"
	"github.com/sluicehq/sluice/internal/workflow"
)

// registerBuiltins registers the real step handlers that need no network.
func registerBuiltins(t testing.TB, reg *step.Registry) {
	t.Helper()
	require.NoError(t, reg.Register(workflow.StepTypeCondition, condition.New()))
	require.NoError(t, reg.Register(workflow.StepTypeDelay, delay.New()))
	require.NoError(t, reg.Register(workflow.StepTypeQueuePublish, publish.New()))
	require.NoError(t, reg.Register(workflow.StepTypeHTTP, httpcall.New(httpcall.Config{})))
	aiHandler, err := ai.New(map[string]ai.Provider{ai.DefaultProvider: ai.NewMock()})
	require.NoError(t, err)
	require.NoError(t, reg.Register(workflow.StepTypeAI, aiHandler))
}

func branching() map[string]any {
	return map[string]any{
		"id": "branch", "startAt": "route",
		"steps": []any{
			map[string]any{"id": "route", "type": "condition", "config": map[string]any{"expression": "input.amount > 100"}, "onTrue": "big", "onFalse": "small"},
			map[string]any{"id": "big", "type": "probe"},
			map[string]any{"id": "small", "type": "probe"},
		},
	}
}

func TestConditionFollowsTheBranch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.put(t, branching())
	big := b.start(t, "branch", `{"amount": 150}`)
	small := b.start(t, "branch", `{"amount": 5}`)
	doneBig := b.waitStatus(t, big.ID, workflow.RunCompleted)
	doneSmall := b.waitStatus(t, small.ID, workflow.RunCompleted)
	require.Equal(t, "big", doneBig.CurrentStepID)
	require.Equal(t, "small", doneSmall.CurrentStepID)
	require.JSONEq(t, `{"result": true}`, string(b.executions(t, big.ID)[0].Output))
	require.JSONEq(t, `{"result": false}`, string(b.executions(t, small.ID)[0].Output))
}

func TestConditionErrorDeadLetters(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.put(t, branching())
	run := b.start(t, "branch", `{"amount": "lots"}`) // string > int does not evaluate
	dead := b.waitStatus(t, run.ID, workflow.RunDeadLettered)
	require.Equal(t, "route", dead.CurrentStepID)
	require.NotEmpty(t, dead.Error)
}

func TestDelayParksTheRunAsWaiting(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.put(t, chain("delayed",
		map[string]any{"id": "wait", "type": "delay", "config": map[string]any{"duration": "1h"}},
		map[string]any{"id": "after"}))
	run := b.start(t, "delayed", `{}`)
	waiting := b.waitStatus(t, run.ID, workflow.RunWaiting)
	require.Equal(t, "after", waiting.CurrentStepID, "the delay is done; its successor is due later")
	require.Empty(t, waiting.LeaseOwner, "a waiting run holds no lease")
	exec := b.executions(t, run.ID)[0]
	require.WithinDuration(t, exec.FinishedAt.Add(time.Hour), *waiting.DueAt, time.Second)
	require.Empty(t, b.probe.requests("after"))
}

func TestShortDelayCompletes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.put(t, chain("short-delay",
		map[string]any{"id": "wait", "type": "delay", "config": map[string]any{"duration": "30ms"}},
		map[string]any{"id": "after"}))
	run := b.start(t, "short-delay", `{}`)
	b.waitStatus(t, run.ID, workflow.RunCompleted)
	execs := b.executions(t, run.ID)
	require.Len(t, execs, 2)
	require.GreaterOrEqual(t, execs[1].StartedAt.Sub(execs[0].FinishedAt), 30*time.Millisecond)
}

func TestQueuePublishWritesOutboxInTheStepTransaction(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.put(t, chain("pub", map[string]any{"id": "publish", "type": "queue_publish", "config": map[string]any{
		"exchange": "sluice.events", "routingKey": "ticket.{{ input.kind }}", "message": map[string]any{"ticket": "{{ input.ticket }}"},
	}}))
	run := b.start(t, "pub", `{"kind": "escalated", "ticket": "T-9"}`)
	b.waitStatus(t, run.ID, workflow.RunCompleted)

	msgs, err := b.store.OutboxList(context.Background(), &workflow.OutboxListParams{Status: workflow.OutboxPending})
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	m := msgs[0]
	require.Equal(t, run.ID, m.RunID)
	require.Equal(t, "publish", m.StepID)
	require.Equal(t, "sluice.events", m.Exchange)
	require.Equal(t, "ticket.escalated", m.RoutingKey)
	require.JSONEq(t, `{"ticket": "T-9"}`, string(m.Message))
	exec := b.executions(t, run.ID)[0]
	require.Equal(t, exec.IdempotencyKey, m.MessageID, "the message id is the step's idempotency key")
}

func TestDelayThatEndsTheRunWaitsBeforeCompleting(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.put(t, chain("trailing-delay",
		map[string]any{"id": "work"},
		map[string]any{"id": "cooldown", "type": "delay", "config": map[string]any{"duration": "40ms"}}))
	run := b.start(t, "trailing-delay", `{}`)
	waiting := b.waitStatus(t, run.ID, workflow.RunWaiting)
	require.Empty(t, waiting.CurrentStepID, "no step is left to run, only the wait")
	done := b.waitStatus(t, run.ID, workflow.RunCompleted)
	execs := b.executions(t, run.ID)
	require.Len(t, execs, 2)
	require.GreaterOrEqual(t, done.FinishedAt.Sub(execs[1].FinishedAt), 40*time.Millisecond, "completed only after the delay")
	require.JSONEq(t, string(execs[1].Output), string(done.Output), "the run's output is the delay's")
}
