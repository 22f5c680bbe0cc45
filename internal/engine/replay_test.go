package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/engine"
	"github.com/sluicehq/sluice/internal/step"
	"github.com/sluicehq/sluice/internal/workflow"
)

// failingB sets up a two-step workflow whose step b fails for good until
// fixed is set.
func failingB(t *testing.T, b *bundle, fixed *atomic.Bool) *workflow.Run {
	t.Helper()
	b.put(t, chain("replayable", map[string]any{"id": "a"}, map[string]any{"id": "b"}))
	b.probe.on("a", func(_ context.Context, req *step.Request) (*step.Result, error) {
		return &step.Result{Output: map[string]any{"seen": req.Scope.Input}}, nil
	})
	b.probe.on("b", func(_ context.Context, req *step.Request) (*step.Result, error) {
		if !fixed.Load() {
			return nil, step.Permanentf("b is broken")
		}
		return &step.Result{Output: map[string]any{"fromA": req.Scope.Steps["a"]}}, nil
	})
	run := b.start(t, "replayable", `{"v": 1}`)
	b.waitStatus(t, run.ID, workflow.RunDeadLettered)
	return run
}

func TestReplayFromFailedStepReusesEarlierOutputs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var fixed atomic.Bool
	run := failingB(t, b, &fixed)
	fixed.Store(true)

	replayed, err := b.engine.Replay(context.Background(), &engine.ReplayParams{RunID: run.ID, From: workflow.ReplayFromFailedStep, RequestedBy: "alice"})
	require.NoError(t, err)
	require.Equal(t, 1, replayed.Generation)
	require.Equal(t, "b", replayed.CurrentStepID)
	done := b.waitStatus(t, run.ID, workflow.RunCompleted)
	require.Equal(t, 1, done.Generation)
	require.JSONEq(t, `{"fromA": {"seen": {"v": 1}}}`, string(done.Output))

	require.Len(t, b.probe.requests("a"), 1, "step a is not re-executed")
	bReqs := b.probe.requests("b")
	require.Len(t, bReqs, 2)
	require.NotEqual(t, bReqs[0].IdempotencyKey, bReqs[1].IdempotencyKey, "a replay gets a new idempotency key")

	execs := b.executions(t, run.ID)
	require.Len(t, execs, 3, "history keeps the first generation")
	require.Equal(t, 0, execs[1].Generation)
	require.Equal(t, workflow.StepFailed, execs[1].Status)
	require.Equal(t, 1, execs[2].Generation)

	replays, err := b.store.ReplayList(context.Background(), run.ID)
	require.NoError(t, err)
	require.Len(t, replays, 1)
	require.Equal(t, "alice", replays[0].RequestedBy)
	require.Equal(t, workflow.ReplayFromFailedStep, replays[0].From)
	require.Equal(t, workflow.RunDeadLettered, replays[0].PreviousStatus)

	dls, err := b.store.DeadLetterList(context.Background(), &workflow.DeadLetterListParams{WorkflowID: "replayable"})
	require.NoError(t, err)
	require.NotNil(t, dls[0].ReplayedAt)
	_, err = b.engine.ReplayDeadLetter(context.Background(), dls[0].ID, workflow.ReplayFromStart, nil, "bob")
	require.Equal(t, workflow.ECONFLICT, workflow.ErrorCode(err), "a dead letter is replayed once")
}

func TestReplayFromStartWithNewInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var fixed atomic.Bool
	run := failingB(t, b, &fixed)
	fixed.Store(true)
	dls, err := b.store.DeadLetterList(context.Background(), &workflow.DeadLetterListParams{WorkflowID: "replayable"})
	require.NoError(t, err)

	_, err = b.engine.Replay(context.Background(), &engine.ReplayParams{RunID: run.ID, From: workflow.ReplayFromStart, Input: json.RawMessage(`{"v": 2}`)})
	require.NoError(t, err)
	done := b.waitStatus(t, run.ID, workflow.RunCompleted)
	require.JSONEq(t, `{"fromA": {"seen": {"v": 2}}}`, string(done.Output))
	require.JSONEq(t, `{"v": 2}`, string(done.Input))
	require.Len(t, b.probe.requests("a"), 2, "from start re-runs every step")

	dl, err := b.store.DeadLetterGet(context.Background(), dls[0].ID)
	require.NoError(t, err)
	require.NotNil(t, dl.ReplayedAt, "replaying the run resolves its dead letter")
}

func TestReplayRules(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.put(t, chain("ok", map[string]any{"id": "a"}))
	run := b.start(t, "ok", `{}`)
	b.waitStatus(t, run.ID, workflow.RunCompleted)

	_, err := b.engine.Replay(ctx, &engine.ReplayParams{RunID: run.ID, From: workflow.ReplayFromFailedStep})
	require.Equal(t, workflow.ECONFLICT, workflow.ErrorCode(err), "a completed run has no failed step")
	_, err = b.engine.Replay(ctx, &engine.ReplayParams{RunID: run.ID, From: "middle"})
	require.Equal(t, workflow.EINVALID, workflow.ErrorCode(err))
	_, err = b.engine.Replay(ctx, &engine.ReplayParams{RunID: "no-such-run", From: workflow.ReplayFromStart})
	require.Equal(t, workflow.ENOTFOUND, workflow.ErrorCode(err))
	_, err = b.engine.Replay(ctx, &engine.ReplayParams{RunID: run.ID, From: workflow.ReplayFromStart, Input: json.RawMessage(`{`)})
	require.Equal(t, workflow.EINVALID, workflow.ErrorCode(err))

	_, err = b.engine.Replay(ctx, &engine.ReplayParams{RunID: run.ID, From: workflow.ReplayFromStart})
	require.NoError(t, err)
	done := b.waitFor(t, run.ID, "second generation completed", func(r *workflow.Run) bool {
		return r.Generation == 1 && r.Status == workflow.RunCompleted
	})
	require.NotNil(t, done.FinishedAt)
}

func TestCancelRunningStepIsToldThroughContext(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.put(t, chain("blocking", map[string]any{"id": "a"}, map[string]any{"id": "b"}))
	entered := make(chan struct{})
	released := make(chan error, 1)
	b.probe.on("a", func(ctx context.Context, _ *step.Request) (*step.Result, error) {
		close(entered)
		<-ctx.Done()
		released <- ctx.Err()
		return nil, ctx.Err()
	})
	run := b.start(t, "blocking", `{}`)
	<-entered
	cancelled, err := b.engine.Cancel(context.Background(), run.ID, "changed my mind")
	require.NoError(t, err)
	require.Equal(t, workflow.RunCancelled, cancelled.Status)
	require.ErrorIs(t, <-released, context.Canceled)

	_, err = b.engine.Cancel(context.Background(), run.ID, "again")
	require.Equal(t, workflow.ECONFLICT, workflow.ErrorCode(err))
	_, err = b.engine.Cancel(context.Background(), "nope", "")
	require.Equal(t, workflow.ENOTFOUND, workflow.ErrorCode(err))

	// Nothing ran after the cancel, and the run stays cancelled.
	stored := b.waitStatus(t, run.ID, workflow.RunCancelled)
	require.Nil(t, stored.DueAt)
	require.Empty(t, b.probe.requests("b"))
}

func TestCancelledRunCanBeReplayedFromItsStep(t *testing.T) {
	t.Parallel()
	b := setup(t)
	slow := map[string]any{"maxAttempts": 2, "initialInterval": "1h", "multiplier": 1, "maxInterval": "1h", "jitter": 0}
	b.put(t, chain("parked", map[string]any{"id": "a"}, map[string]any{"id": "b", "retry": slow}))
	var calls atomic.Int32
	b.probe.on("b", func(context.Context, *step.Request) (*step.Result, error) {
		if calls.Add(1) == 1 {
			return nil, errors.New("try later")
		}
		return &step.Result{Output: "done"}, nil
	})
	run := b.start(t, "parked", `{}`)
	b.waitStatus(t, run.ID, workflow.RunWaiting)
	_, err := b.engine.Cancel(context.Background(), run.ID, "")
	require.NoError(t, err)
	_, err = b.engine.Replay(context.Background(), &engine.ReplayParams{RunID: run.ID, From: workflow.ReplayFromFailedStep})
	require.NoError(t, err)
	b.waitStatus(t, run.ID, workflow.RunCompleted)
	require.Len(t, b.probe.requests("a"), 1)
}
