package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/engine"
	"github.com/sluicehq/sluice/internal/step"
	"github.com/sluicehq/sluice/internal/workflow"
)

func TestRunCompletesAndPassesOutputs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.put(t, chain("flow", map[string]any{"id": "a"}, map[string]any{"id": "b"}))
	b.probe.on("a", func(_ context.Context, req *step.Request) (*step.Result, error) {
		return &step.Result{Output: map[string]any{"label": "bug", "n": 3}}, nil
	})

	run := b.start(t, "flow", `{"ticket": "T-1"}`)
	require.Equal(t, workflow.RunPending, run.Status)
	require.Equal(t, "a", run.CurrentStepID)
	done := b.waitStatus(t, run.ID, workflow.RunCompleted)

	require.Equal(t, "b", done.CurrentStepID)
	require.NotNil(t, done.FinishedAt)
	require.Nil(t, done.DueAt)
	require.JSONEq(t, `{"step":"b","attempt":1}`, string(done.Output))
	require.JSONEq(t, `{"a":{"label":"bug","n":3},"b":{"step":"b","attempt":1}}`, string(done.Steps))

	reqB := b.probe.requests("b")
	require.Len(t, reqB, 1)
	require.Equal(t, map[string]any{"output": map[string]any{"label": "bug", "n": 3.0}}["output"], reqB[0].Scope.Steps["a"])
	require.Equal(t, map[string]any{"ticket": "T-1"}, reqB[0].Scope.Input)
	require.Equal(t, run.ID, reqB[0].Scope.Run.ID)
	require.NotEmpty(t, reqB[0].IdempotencyKey)
	require.NotEqual(t, b.probe.requests("a")[0].IdempotencyKey, reqB[0].IdempotencyKey)

	execs := b.executions(t, run.ID)
	require.Len(t, execs, 2)
	for i, id := range []string{"a", "b"} {
		require.Equal(t, id, execs[i].StepID)
		require.Equal(t, workflow.StepCompleted, execs[i].Status)
		require.Equal(t, 1, execs[i].Attempt)
		require.Equal(t, "probe", execs[i].StepType)
	}
}

func TestStartIsIdempotent(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *setupOptions) { o.noRun = true })
	b.put(t, map[string]any{"id": "hook", "trigger": map[string]any{"type": "webhook", "key": "hook-key"},
		"startAt": "a", "steps": []any{map[string]any{"id": "a", "type": "probe"}}})
	ctx := context.Background()
	start := func(key, input string) (*workflow.Run, bool, error) {
		return b.engine.Start(ctx, &engine.StartParams{TriggerKey: "hook-key", IdempotencyKey: key, Input: json.RawMessage(input)})
	}

	first, existing, err := start("k1", `{"a": 1}`)
	require.NoError(t, err)
	require.False(t, existing)

	again, existing, err := start("k1", "{\"a\":1}\n") // same document, other whitespace
	require.NoError(t, err)
	require.True(t, existing)
	require.Equal(t, first.ID, again.ID)

	_, _, err = start("k1", `{"a": 2}`)
	require.Equal(t, workflow.EIDEMPOTENCY, workflow.ErrorCode(err))

	other, existing, err := start("k2", `{"a": 1}`)
	require.NoError(t, err)
	require.False(t, existing)
	require.NotEqual(t, first.ID, other.ID)

	// The same key through another trigger is another request.
	byID, existing, err := b.engine.Start(ctx, &engine.StartParams{WorkflowID: "hook", IdempotencyKey: "k1", Input: json.RawMessage(`{"a": 9}`)})
	require.NoError(t, err)
	require.False(t, existing)
	require.NotEqual(t, first.ID, byID.ID)

	_, _, err = b.engine.Start(ctx, &engine.StartParams{TriggerKey: "nope", IdempotencyKey: "k"})
	require.Equal(t, workflow.ENOTFOUND, workflow.ErrorCode(err))
	_, _, err = start("k3", `{not json`)
	require.Equal(t, workflow.EINVALID, workflow.ErrorCode(err))
	_, _, err = start("", `{}`)
	require.Equal(t, workflow.EINVALID, workflow.ErrorCode(err))

	require.NoError(t, b.engine.DisableWorkflow(ctx, "hook"))
	_, _, err = start("k4", `{}`)
	require.Equal(t, workflow.ENOTFOUND, workflow.ErrorCode(err))
	_, _, err = b.engine.Start(ctx, &engine.StartParams{WorkflowID: "hook", IdempotencyKey: "k5"})
	require.Equal(t, workflow.ENOTFOUND, workflow.ErrorCode(err))
}

func TestRetryWaitsDurablyWithBackoff(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.put(t, chain("flaky", map[string]any{"id": "a", "retry": fastRetry(3)}))
	b.probe.on("a", func(_ context.Context, req *step.Request) (*step.Result, error) {
		if req.Attempt < 3 {
			return nil, errors.New("downstream unavailable")
		}
		return &step.Result{Output: "ok"}, nil
	})
	run := b.start(t, "flaky", `null`)
	b.waitStatus(t, run.ID, workflow.RunCompleted)

	execs := b.executions(t, run.ID)
	require.Len(t, execs, 3)
	for i, want := range []workflow.StepStatus{workflow.StepFailed, workflow.StepFailed, workflow.StepCompleted} {
		require.Equal(t, want, execs[i].Status)
		require.Equal(t, i+1, execs[i].Attempt)
	}
	require.Equal(t, "downstream unavailable", execs[0].Error)
	// Backoff (random fixed at 0.5, i.e. no jitter): 10ms, then 20ms.
	require.GreaterOrEqual(t, execs[1].StartedAt.Sub(execs[0].FinishedAt), 10*time.Millisecond)
	require.GreaterOrEqual(t, execs[2].StartedAt.Sub(execs[1].FinishedAt), 20*time.Millisecond)
	keys := b.probe.requests("a")
	require.Equal(t, keys[0].IdempotencyKey, keys[1].IdempotencyKey, "retries keep the step's idempotency key")
	require.Equal(t, keys[0].IdempotencyKey, keys[2].IdempotencyKey)
}

func TestRetryParksRunAsWaitingUntilBackoffEnds(t *testing.T) {
	t.Parallel()
	b := setup(t)
	slow := map[string]any{"maxAttempts": 2, "initialInterval": "1h", "multiplier": 1, "maxInterval": "1h", "jitter": 0}
	b.put(t, chain("slow-retry", map[string]any{"id": "a", "retry": slow}))
	b.probe.on("a", func(context.Context, *step.Request) (*step.Result, error) { return nil, errors.New("boom") })
	run := b.start(t, "slow-retry", `{}`)
	waiting := b.waitStatus(t, run.ID, workflow.RunWaiting)
	require.Equal(t, 2, waiting.Attempt)
	require.Equal(t, "boom", waiting.Error)
	require.NotNil(t, waiting.DueAt)
	exec := b.executions(t, run.ID)[0]
	require.WithinDuration(t, exec.FinishedAt.Add(time.Hour), *waiting.DueAt, time.Second)
	require.Empty(t, waiting.LeaseOwner)
}

func TestRetryAfterOverridesShorterBackoff(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.put(t, chain("ra", map[string]any{"id": "a", "retry": fastRetry(2)}))
	b.probe.on("a", func(context.Context, *step.Request) (*step.Result, error) {
		return nil, step.RetryAfter(time.Hour, errors.New("429 too many requests"))
	})
	run := b.start(t, "ra", `{}`)
	waiting := b.waitStatus(t, run.ID, workflow.RunWaiting)
	exec := b.executions(t, run.ID)[0]
	require.WithinDuration(t, exec.FinishedAt.Add(time.Hour), *waiting.DueAt, time.Second)
}

func TestPermanentFailureDeadLettersAtOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.put(t, chain("perm", map[string]any{"id": "a"}, map[string]any{"id": "b", "retry": fastRetry(5)}))
	b.probe.on("b", func(context.Context, *step.Request) (*step.Result, error) {
		return nil, step.Permanentf("HTTP 400: bad request")
	})
	run := b.start(t, "perm", `{"x": 1}`)
	dead := b.waitStatus(t, run.ID, workflow.RunDeadLettered)
	require.Equal(t, "b", dead.CurrentStepID)
	require.Equal(t, "HTTP 400: bad request", dead.Error)
	require.Len(t, b.probe.requests("b"), 1)

	dls, err := b.store.DeadLetterList(context.Background(), &workflow.DeadLetterListParams{WorkflowID: "perm"})
	require.NoError(t, err)
	require.Len(t, dls, 1)
	dl := dls[0]
	require.Equal(t, run.ID, dl.RunID)
	require.Equal(t, "b", dl.StepID)
	require.Equal(t, "probe", dl.StepType)
	require.Equal(t, workflow.DeadLetterNonRetryable, dl.Reason)
	require.Equal(t, 1, dl.Attempts)
	require.Equal(t, "HTTP 400: bad request", dl.LastError)
	require.JSONEq(t, `{"x": 1}`, string(dl.Input))
}

func TestExhaustedRetriesDeadLetter(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.put(t, chain("always-fails", map[string]any{"id": "a", "retry": fastRetry(3)}))
	b.probe.on("a", func(context.Context, *step.Request) (*step.Result, error) { return nil, errors.New("still down") })
	run := b.start(t, "always-fails", `{}`)
	b.waitStatus(t, run.ID, workflow.RunDeadLettered)
	execs := b.executions(t, run.ID)
	require.Len(t, execs, 3)
	dls, err := b.store.DeadLetterList(context.Background(), &workflow.DeadLetterListParams{WorkflowID: "always-fails"})
	require.NoError(t, err)
	require.Len(t, dls, 1)
	require.Equal(t, workflow.DeadLetterExhausted, dls[0].Reason)
	require.Equal(t, 3, dls[0].Attempts)
	require.Equal(t, "still down", dls[0].LastError)
}

func TestStepTimeoutCountsAsFailedAttempt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.put(t, chain("slow", map[string]any{"id": "a", "timeout": "50ms", "retry": fastRetry(2)}))
	b.probe.on("a", func(ctx context.Context, req *step.Request) (*step.Result, error) {
		if req.Attempt == 1 {
			<-ctx.Done() // a handler that honours its context
			return nil, ctx.Err()
		}
		return &step.Result{Output: "fast enough"}, nil
	})
	run := b.start(t, "slow", `{}`)
	b.waitStatus(t, run.ID, workflow.RunCompleted)
	execs := b.executions(t, run.ID)
	require.Len(t, execs, 2)
	require.Equal(t, workflow.StepFailed, execs[0].Status)
	require.Contains(t, execs[0].Error, "timed out after 50ms")
	require.GreaterOrEqual(t, execs[0].FinishedAt.Sub(execs[0].StartedAt), 50*time.Millisecond)
}
