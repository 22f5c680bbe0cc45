package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/workflow"
)

var leaseTests = map[string]func(t *testing.T, b *bundle){
	"Extend": func(t *testing.T, b *bundle) {
		run := b.startClaimed(t)
		require.NoError(t, b.store.RunExtendLease(b.ctx, &workflow.RunLeaseParams{
			RunID: run.ID, LeaseToken: run.LeaseToken, Until: at(5 * time.Minute), Now: at(30 * time.Second),
		}))
		got := b.get(t, run.ID)
		requireTimePtr(t, at(5*time.Minute), got.DueAt)
		require.Equal(t, "worker-1", got.LeaseOwner)
		require.Equal(t, run.LeaseToken, got.LeaseToken)
		require.Empty(t, b.claim(t, "worker-2", at(2*time.Minute), 10))
		again := b.claimOne(t, "worker-2", at(5*time.Minute))
		require.Equal(t, run.ID, again.ID)

		err := b.store.RunExtendLease(b.ctx, &workflow.RunLeaseParams{
			RunID: run.ID, LeaseToken: run.LeaseToken, Until: at(time.Hour), Now: at(5 * time.Minute),
		})
		requireCode(t, err, workflow.ELEASELOST)
		requireTimePtr(t, at(6*time.Minute), b.get(t, run.ID).DueAt)
	},
	"Release": func(t *testing.T, b *bundle) {
		run := b.startClaimed(t)
		require.NoError(t, b.store.RunRelease(b.ctx, &workflow.RunLeaseParams{
			RunID: run.ID, LeaseToken: run.LeaseToken, Now: at(10 * time.Second),
		}))
		got := b.get(t, run.ID)
		require.Equal(t, workflow.RunPending, got.Status)
		require.Empty(t, got.LeaseOwner)
		require.Equal(t, 1, got.Attempt)
		requireTimePtr(t, at(10*time.Second), got.DueAt)

		// Releasing twice, or after someone else claimed it, is a lost lease.
		err := b.store.RunRelease(b.ctx, &workflow.RunLeaseParams{
			RunID: run.ID, LeaseToken: run.LeaseToken, Now: at(10 * time.Second),
		})
		requireCode(t, err, workflow.ELEASELOST)
		again := b.claimOne(t, "worker-2", at(10*time.Second))
		require.Equal(t, 1, again.Attempt) // a release is no lost attempt
		require.Equal(t, int64(2), again.LeaseToken)
		require.Empty(t, b.executions(t, run.ID))
		err = b.store.RunRelease(b.ctx, &workflow.RunLeaseParams{
			RunID: run.ID, LeaseToken: run.LeaseToken, Now: at(11 * time.Second),
		})
		requireCode(t, err, workflow.ELEASELOST)
		require.Equal(t, workflow.RunRunning, b.get(t, run.ID).Status)
	},
	"ReleaseRetryWaits": func(t *testing.T, b *bundle) {
		run := b.startClaimed(t)
		b.checkpoint(t, &workflow.RunCheckpointParams{
			RunID: run.ID, LeaseToken: run.LeaseToken, Now: at(time.Second),
			Execution: execution(run, workflow.StepFailed, t0, at(time.Second)),
			Status:    workflow.RunRunning, CurrentStepID: "step-1", Attempt: 2, Error: "boom",
			LeaseUntil: at(time.Minute),
		})
		require.NoError(t, b.store.RunRelease(b.ctx, &workflow.RunLeaseParams{
			RunID: run.ID, LeaseToken: run.LeaseToken, Now: at(2 * time.Second),
		}))
		got := b.get(t, run.ID)
		require.Equal(t, workflow.RunWaiting, got.Status)
		require.Equal(t, 2, got.Attempt)
		requireTimePtr(t, at(2*time.Second), got.DueAt)
	},
}

var cancelTests = map[string]func(t *testing.T, b *bundle){
	"Pending": func(t *testing.T, b *bundle) {
		run := b.startAt(t, t0)
		got, err := b.store.RunCancel(b.ctx, &workflow.RunCancelParams{RunID: run.ID, Reason: "by alice", Now: at(time.Second)})
		require.NoError(t, err)
		require.Equal(t, workflow.RunCancelled, got.Status)
		require.Equal(t, "by alice", got.Error)
		require.Equal(t, int64(1), got.LeaseToken)
		require.Nil(t, got.DueAt)
		requireTimePtr(t, at(time.Second), got.FinishedAt)
		requireSameRun(t, got, b.get(t, run.ID))
		require.Empty(t, b.claim(t, "worker-1", at(time.Hour), 10))
		_, ok := b.nextDue(t)
		require.False(t, ok)
	},
	"Waiting": func(t *testing.T, b *bundle) {
		run := b.startAt(t, at(time.Hour))
		got, err := b.store.RunCancel(b.ctx, &workflow.RunCancelParams{RunID: run.ID, Now: at(time.Second)})
		require.NoError(t, err)
		require.Equal(t, workflow.RunCancelled, got.Status)
		require.Nil(t, got.DueAt)
	},
	"RunningFencesHolder": func(t *testing.T, b *bundle) {
		run := b.startClaimed(t)
		got, err := b.store.RunCancel(b.ctx, &workflow.RunCancelParams{RunID: run.ID, Now: at(time.Second)})
		require.NoError(t, err)
		require.Equal(t, workflow.RunCancelled, got.Status)
		require.Equal(t, run.LeaseToken+1, got.LeaseToken)
		require.Nil(t, got.DueAt)

		err = b.store.RunCheckpoint(b.ctx, &workflow.RunCheckpointParams{
			RunID: run.ID, LeaseToken: run.LeaseToken, Now: at(2 * time.Second),
			Execution: execution(run, workflow.StepCompleted, t0, at(2*time.Second)),
			Status:    workflow.RunCompleted, CurrentStepID: "step-1", Attempt: 1,
		})
		requireCode(t, err, workflow.ELEASELOST)
		err = b.store.RunExtendLease(b.ctx, &workflow.RunLeaseParams{
			RunID: run.ID, LeaseToken: run.LeaseToken, Until: at(time.Hour), Now: at(2 * time.Second),
		})
		requireCode(t, err, workflow.ELEASELOST)
		require.Empty(t, b.executions(t, run.ID))
		require.Equal(t, workflow.RunCancelled, b.get(t, run.ID).Status)
	},
	"TerminalConflicts": func(t *testing.T, b *bundle) {
		run := b.startClaimed(t)
		b.complete(t, run, at(time.Second))
		_, err := b.store.RunCancel(b.ctx, &workflow.RunCancelParams{RunID: run.ID, Now: at(2 * time.Second)})
		requireCode(t, err, workflow.ECONFLICT)

		other := b.startAt(t, t0)
		_, err = b.store.RunCancel(b.ctx, &workflow.RunCancelParams{RunID: other.ID, Now: at(time.Second)})
		require.NoError(t, err)
		_, err = b.store.RunCancel(b.ctx, &workflow.RunCancelParams{RunID: other.ID, Now: at(time.Second)})
		requireCode(t, err, workflow.ECONFLICT)
	},
	"NotFound": func(t *testing.T, b *bundle) {
		_, err := b.store.RunCancel(b.ctx, &workflow.RunCancelParams{RunID: newID(), Now: t0})
		requireCode(t, err, workflow.ENOTFOUND)
	},
}

// twoStepDeadLetter runs a run through step-1 (completed) and dead-letters
// it at step-2. It returns the run as dead-lettered and its dead letter.
func (b *bundle) twoStepDeadLetter(t *testing.T) (*workflow.Run, *workflow.DeadLetter) {
	t.Helper()
	run := b.startClaimed(t)
	b.checkpoint(t, &workflow.RunCheckpointParams{
		RunID: run.ID, LeaseToken: run.LeaseToken, Now: at(time.Second),
		Execution: execution(run, workflow.StepCompleted, t0, at(time.Second)),
		Status:    workflow.RunRunning, CurrentStepID: "step-2", Attempt: 1,
		Steps: json.RawMessage(`{"step-1":{"status":200}}`), LeaseUntil: at(time.Minute),
	})
	d := b.deadLetter(t, b.get(t, run.ID), at(2*time.Second))
	return b.get(t, run.ID), d
}

var replayTests = map[string]func(t *testing.T, b *bundle){
	"FromStart": func(t *testing.T, b *bundle) {
		run, d := b.twoStepDeadLetter(t)
		replayID := newID()
		now := at(time.Hour)
		got, err := b.store.RunReplay(b.ctx, &workflow.RunReplayParams{
			RunID: run.ID, From: workflow.ReplayFromStart, StartStepID: "step-1",
			RequestedBy: "alice", ReplayID: replayID, Now: now,
		})
		require.NoError(t, err)
		require.Equal(t, workflow.RunPending, got.Status)
		require.Equal(t, "step-1", got.CurrentStepID)
		require.Equal(t, 1, got.Attempt)
		require.Equal(t, 1, got.Generation)
		require.Equal(t, run.LeaseToken+1, got.LeaseToken)
		require.Empty(t, got.Error)
		require.Empty(t, got.LeaseOwner)
		requireJSON(t, "", got.Output)
		requireJSON(t, `{}`, got.Steps)
		requireJSON(t, `{"n":1}`, got.Input)
		requireTimePtr(t, now, got.DueAt)
		require.Nil(t, got.FinishedAt)
		requireSameRun(t, got, b.get(t, run.ID))

		replays, err := b.store.ReplayList(b.ctx, run.ID)
		require.NoError(t, err)
		require.Len(t, replays, 1)
		r := replays[0]
		require.Equal(t, replayID, r.ID)
		require.Equal(t, run.ID, r.RunID)
		require.Equal(t, 1, r.Generation)
		require.Equal(t, workflow.ReplayFromStart, r.From)
		require.Equal(t, "step-1", r.StepID)
		require.Equal(t, workflow.RunDeadLettered, r.PreviousStatus)
		require.False(t, r.InputReplaced)
		require.Equal(t, "alice", r.RequestedBy)
		requireTime(t, now, r.CreatedAt)

		dl, err := b.store.DeadLetterGet(b.ctx, d.ID)
		require.NoError(t, err)
		requireTimePtr(t, now, dl.ReplayedAt)

		// The new generation runs; the old generation's executions stay.
		claimed := b.claimOne(t, "worker-2", now)
		require.Equal(t, run.LeaseToken+2, claimed.LeaseToken)
		require.Equal(t, 1, claimed.Attempt)
		b.complete(t, claimed, now.Add(time.Second))
		execs := b.executions(t, run.ID)
		require.Len(t, execs, 3)
		require.Equal(t, []int{0, 0, 1}, []int{execs[0].Generation, execs[1].Generation, execs[2].Generation})
		require.Equal(t, []string{"step-1", "step-2", "step-1"}, []string{execs[0].StepID, execs[1].StepID, execs[2].StepID})
	},
	"FromFailedStepWithNewInput": func(t *testing.T, b *bundle) {
		run, _ := b.twoStepDeadLetter(t)
		got, err := b.store.RunReplay(b.ctx, &workflow.RunReplayParams{
			RunID: run.ID, From: workflow.ReplayFromFailedStep, Input: json.RawMessage(`{"n":2}`),
			RequestedBy: "deadletter:x", ReplayID: newID(), Now: at(time.Hour),
		})
		require.NoError(t, err)
		require.Equal(t, workflow.RunPending, got.Status)
		require.Equal(t, "step-2", got.CurrentStepID)
		require.Equal(t, 1, got.Generation)
		require.Equal(t, 1, got.Attempt)
		requireJSON(t, `{"step-1":{"status":200}}`, got.Steps)
		requireJSON(t, `{"n":2}`, got.Input)
		requireSameRun(t, got, b.get(t, run.ID))

		replays, err := b.store.ReplayList(b.ctx, run.ID)
		require.NoError(t, err)
		require.Len(t, replays, 1)
		require.Equal(t, workflow.ReplayFromFailedStep, replays[0].From)
		require.Equal(t, "step-2", replays[0].StepID)
		require.True(t, replays[0].InputReplaced)

		// Replaying again after it failed once more: generation 2, oldest first.
		claimed := b.claimOne(t, "worker-1", at(time.Hour))
		b.deadLetter(t, claimed, at(time.Hour+time.Second))
		got, err = b.store.RunReplay(b.ctx, &workflow.RunReplayParams{
			RunID: run.ID, From: workflow.ReplayFromFailedStep, ReplayID: newID(), Now: at(2 * time.Hour),
		})
		require.NoError(t, err)
		require.Equal(t, 2, got.Generation)
		requireJSON(t, `{"n":2}`, got.Input)
		replays, err = b.store.ReplayList(b.ctx, run.ID)
		require.NoError(t, err)
		require.Len(t, replays, 2)
		require.Equal(t, []int{1, 2}, []int{replays[0].Generation, replays[1].Generation})
		require.False(t, replays[1].InputReplaced)
		dls, err := b.store.DeadLetterList(b.ctx, &workflow.DeadLetterListParams{})
		require.NoError(t, err)
		require.Len(t, dls, 2)
		for _, d := range dls {
			require.NotNil(t, d.ReplayedAt)
		}
	},
	"CompletedFromFailedStepConflicts": func(t *testing.T, b *bundle) {
		run := b.startClaimed(t)
		b.complete(t, run, at(time.Second))
		_, err := b.store.RunReplay(b.ctx, &workflow.RunReplayParams{
			RunID: run.ID, From: workflow.ReplayFromFailedStep, ReplayID: newID(), Now: at(time.Minute),
		})
		requireCode(t, err, workflow.ECONFLICT)
		replays, err := b.store.ReplayList(b.ctx, run.ID)
		require.NoError(t, err)
		require.Empty(t, replays)

		got, err := b.store.RunReplay(b.ctx, &workflow.RunReplayParams{
			RunID: run.ID, From: workflow.ReplayFromStart, StartStepID: "step-1", ReplayID: newID(), Now: at(time.Minute),
		})
		require.NoError(t, err)
		require.Equal(t, workflow.RunPending, got.Status)
		requireJSON(t, "", got.Output)
	},
	"CancelledFromFailedStep": func(t *testing.T, b *bundle) {
		run := b.startAt(t, t0)
		_, err := b.store.RunCancel(b.ctx, &workflow.RunCancelParams{RunID: run.ID, Now: t0})
		require.NoError(t, err)
		got, err := b.store.RunReplay(b.ctx, &workflow.RunReplayParams{
			RunID: run.ID, From: workflow.ReplayFromFailedStep, ReplayID: newID(), Now: at(time.Minute),
		})
		require.NoError(t, err)
		require.Equal(t, workflow.RunPending, got.Status)
		require.Equal(t, int64(2), got.LeaseToken)
		replays, err := b.store.ReplayList(b.ctx, run.ID)
		require.NoError(t, err)
		require.Len(t, replays, 1)
		require.Equal(t, workflow.RunCancelled, replays[0].PreviousStatus)
	},
	"NotTerminalConflicts": func(t *testing.T, b *bundle) {
		running := b.startAt(t, at(-2*time.Second))
		require.Equal(t, running.ID, b.claimOne(t, "worker-1", at(-2*time.Second)).ID)
		waiting := b.startAt(t, at(-time.Second))
		claimed := b.claimOne(t, "worker-1", at(-time.Second))
		require.Equal(t, waiting.ID, claimed.ID)
		b.checkpoint(t, &workflow.RunCheckpointParams{
			RunID: waiting.ID, LeaseToken: claimed.LeaseToken, Now: t0, Status: workflow.RunWaiting,
			CurrentStepID: "step-1", Attempt: 2, NextRunAt: at(time.Hour),
		})
		pending := b.startAt(t, t0)
		for _, id := range []string{pending.ID, waiting.ID, running.ID} {
			for _, from := range []workflow.ReplayFrom{workflow.ReplayFromStart, workflow.ReplayFromFailedStep} {
				_, err := b.store.RunReplay(b.ctx, &workflow.RunReplayParams{
					RunID: id, From: from, StartStepID: "step-1", ReplayID: newID(), Now: at(time.Minute),
				})
				requireCode(t, err, workflow.ECONFLICT)
			}
		}
	},
	"NotFound": func(t *testing.T, b *bundle) {
		_, err := b.store.RunReplay(b.ctx, &workflow.RunReplayParams{
			RunID: newID(), From: workflow.ReplayFromStart, StartStepID: "step-1", ReplayID: newID(), Now: t0,
		})
		requireCode(t, err, workflow.ENOTFOUND)
	},
}
