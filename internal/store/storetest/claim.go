package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/workflow"
)

var runClaimTests = map[string]func(t *testing.T, b *bundle){
	"OnlyDue": func(t *testing.T, b *bundle) {
		due := b.startAt(t, t0)
		b.startAt(t, at(10*time.Minute))
		runs := b.claim(t, "worker-1", at(time.Minute), 10)
		require.Len(t, runs, 1)
		require.Equal(t, due.ID, runs[0].ID)
		require.Empty(t, b.claim(t, "worker-1", at(time.Minute), 10))
	},
	"NothingDue": func(t *testing.T, b *bundle) {
		require.Empty(t, b.claim(t, "worker-1", t0, 10))
	},
	"LimitAndOldestDueFirst": func(t *testing.T, b *bundle) {
		// Started in the opposite order of their due times, so that id order
		// and due order differ.
		var want []string
		for i := 5; i >= 1; i-- {
			run := b.startAt(t, at(time.Duration(i)*time.Second))
			want = append([]string{run.ID}, want...)
		}
		runs := b.claim(t, "worker-1", at(time.Minute), 3)
		require.Len(t, runs, 3)
		for i, r := range runs {
			require.Equal(t, want[i], r.ID, "claim %d", i)
		}
		runs = b.claim(t, "worker-2", at(time.Minute), 3)
		require.Len(t, runs, 2)
		require.Equal(t, want[3], runs[0].ID)
		require.Equal(t, want[4], runs[1].ID)
	},
	"ClaimedState": func(t *testing.T, b *bundle) {
		run := b.startAt(t, t0)
		now := at(time.Second)
		claimed := b.claimOne(t, "worker-1", now)
		require.Equal(t, run.ID, claimed.ID)
		require.Equal(t, workflow.RunRunning, claimed.Status)
		require.Equal(t, "worker-1", claimed.LeaseOwner)
		require.Equal(t, int64(1), claimed.LeaseToken)
		require.Equal(t, 1, claimed.Attempt)
		require.Equal(t, "step-1", claimed.CurrentStepID)
		requireTimePtr(t, now.Add(leaseFor), claimed.DueAt)
		requireTimePtr(t, now, claimed.StartedAt)
		requireTime(t, now, claimed.UpdatedAt)
		requireTime(t, t0, claimed.CreatedAt)
		requireJSON(t, `{"n":1}`, claimed.Input)
		requireSameRun(t, claimed, b.get(t, run.ID))
		require.Empty(t, b.executions(t, run.ID))

		due, ok := b.nextDue(t)
		require.True(t, ok)
		requireTime(t, now.Add(leaseFor), due)
	},
	"ExpireLeasesOfOneOwner": func(t *testing.T, b *bundle) {
		mine := b.startClaimed(t) // worker-1 at t0
		b.startAt(t, t0)
		theirs := b.claimOne(t, "worker-2", t0)
		b.startAt(t, t0) // pending: not touched
		n, err := b.store.RunExpireLeases(b.ctx, &workflow.RunExpireLeasesParams{Owner: "worker-1", Now: at(time.Second)})
		require.NoError(t, err)
		require.Equal(t, 1, n)
		requireTimePtr(t, at(time.Second), b.get(t, mine.ID).DueAt)
		requireTimePtr(t, t0.Add(leaseFor), b.get(t, theirs.ID).DueAt)

		runs := b.claim(t, "worker-1", at(time.Second), 10)
		ids := []string{runs[0].ID, runs[1].ID}
		require.Contains(t, ids, mine.ID, "the expired run is claimable at once")
		for _, r := range runs {
			if r.ID == mine.ID {
				require.Equal(t, 2, r.Attempt)
				require.Greater(t, r.LeaseToken, mine.LeaseToken)
			}
		}
		execs := b.executions(t, mine.ID)
		require.Len(t, execs, 1)
		require.Equal(t, workflow.StepInterrupted, execs[0].Status)
		requireTime(t, t0, execs[0].StartedAt)
	},
	"ExpireLeasesOfEveryOwner": func(t *testing.T, b *bundle) {
		b.startClaimed(t)
		b.startAt(t, t0)
		b.claimOne(t, "worker-2", t0)
		waiting := b.startAt(t, at(time.Hour))
		n, err := b.store.RunExpireLeases(b.ctx, &workflow.RunExpireLeasesParams{Now: at(time.Second)})
		require.NoError(t, err)
		require.Equal(t, 2, n)
		n, err = b.store.RunExpireLeases(b.ctx, &workflow.RunExpireLeasesParams{Now: at(time.Second)})
		require.NoError(t, err)
		require.Equal(t, 0, n, "leases that already expired are not counted again")
		require.Len(t, b.claim(t, "worker-3", at(time.Second), 10), 2)
		requireTimePtr(t, at(time.Hour), b.get(t, waiting.ID).DueAt) // not running: untouched
	},
	"NotReclaimableBeforeExpiry": func(t *testing.T, b *bundle) {
		b.startClaimed(t)
		require.Empty(t, b.claim(t, "worker-2", at(leaseFor-time.Microsecond), 10))
	},
	"ExpiredLeaseReclaimed": func(t *testing.T, b *bundle) {
		first := b.startClaimed(t)
		var execID string
		runs, err := b.store.RunClaim(b.ctx, &workflow.RunClaimParams{
			Owner: "worker-2", Limit: 10, LeaseFor: leaseFor, Now: at(leaseFor),
			NewExecutionID: func() string { execID = newID(); return execID },
		})
		require.NoError(t, err)
		require.Len(t, runs, 1)
		again := runs[0]
		require.Equal(t, first.ID, again.ID)
		require.Equal(t, workflow.RunRunning, again.Status)
		require.Equal(t, "worker-2", again.LeaseOwner)
		require.Equal(t, int64(2), again.LeaseToken)
		require.Equal(t, 2, again.Attempt)
		require.Equal(t, "step-1", again.CurrentStepID)
		requireTimePtr(t, at(2*leaseFor), again.DueAt)
		requireTimePtr(t, t0, again.StartedAt) // the first claim
		requireSameRun(t, again, b.get(t, first.ID))

		execs := b.executions(t, first.ID)
		require.Len(t, execs, 1)
		e := execs[0]
		require.Equal(t, execID, e.ID)
		require.Equal(t, first.ID, e.RunID)
		require.Equal(t, workflow.StepInterrupted, e.Status)
		require.Equal(t, "step-1", e.StepID)
		require.Equal(t, 1, e.Attempt)
		require.Equal(t, 0, e.Generation)
		require.Equal(t, workflow.StepIdempotencyKey(first.ID, 0, "step-1"), e.IdempotencyKey, "the key the lost attempt was given")
		require.Contains(t, e.Error, "worker-1")
		requireTime(t, at(leaseFor), e.FinishedAt)
	},
	"FencingStaleToken": func(t *testing.T, b *bundle) {
		first := b.startClaimed(t)
		second := b.claimOne(t, "worker-2", at(leaseFor))
		stale := &workflow.RunCheckpointParams{
			RunID: first.ID, LeaseToken: first.LeaseToken, Now: at(leaseFor + time.Second),
			Execution: execution(first, workflow.StepCompleted, t0, at(leaseFor)),
			Status:    workflow.RunRunning, CurrentStepID: "step-2", Attempt: 1,
			Steps:      json.RawMessage(`{"step-1":{}}`),
			LeaseUntil: at(10 * time.Minute),
			Outbox: []*workflow.OutboxMessage{{
				ID: newID(), RunID: first.ID, StepID: "step-1", Exchange: "x", RoutingKey: "k",
				Message: json.RawMessage(`{}`), MessageID: "m", Status: workflow.OutboxPending,
			}},
		}
		requireCode(t, b.store.RunCheckpoint(b.ctx, stale), workflow.ELEASELOST)
		stale.Status, stale.DeadLetter = workflow.RunDeadLettered, &workflow.DeadLetter{
			ID: newID(), RunID: first.ID, WorkflowID: "wf-a", WorkflowVersion: 1, StepID: "step-1",
			Reason: workflow.DeadLetterNonRetryable, Attempts: 1, LastError: "boom",
		}
		requireCode(t, b.store.RunCheckpoint(b.ctx, stale), workflow.ELEASELOST)

		// Nothing of the stale checkpoints was written.
		execs := b.executions(t, first.ID)
		require.Len(t, execs, 1)
		require.Equal(t, workflow.StepInterrupted, execs[0].Status)
		require.Empty(t, b.outbox(t, workflow.OutboxPending))
		dls, err := b.store.DeadLetterList(b.ctx, &workflow.DeadLetterListParams{})
		require.NoError(t, err)
		require.Empty(t, dls)
		_, err = b.store.DeadLetterGet(b.ctx, stale.DeadLetter.ID)
		requireCode(t, err, workflow.ENOTFOUND)
		requireSameRun(t, second, b.get(t, first.ID))

		// The current holder checkpoints fine.
		b.complete(t, second, at(leaseFor+2*time.Second))
		require.Equal(t, workflow.RunCompleted, b.get(t, first.ID).Status)
	},
	"TerminalNotClaimable": func(t *testing.T, b *bundle) {
		run := b.startClaimed(t)
		b.complete(t, run, at(time.Second))
		require.Empty(t, b.claim(t, "worker-2", at(24*time.Hour), 10))
		_, ok := b.nextDue(t)
		require.False(t, ok)
	},
	"NextDueEarliest": func(t *testing.T, b *bundle) {
		_, ok := b.nextDue(t)
		require.False(t, ok)
		b.startAt(t, at(5*time.Minute))
		b.startAt(t, at(time.Minute))
		b.startAt(t, at(3*time.Minute))
		due, ok := b.nextDue(t)
		require.True(t, ok)
		requireTime(t, at(time.Minute), due)
	},
}

var checkpointTests = map[string]func(t *testing.T, b *bundle){
	"RunningKeepsLease": func(t *testing.T, b *bundle) {
		run := b.startClaimed(t)
		e := execution(run, workflow.StepCompleted, t0, at(time.Second))
		b.checkpoint(t, &workflow.RunCheckpointParams{
			RunID: run.ID, LeaseToken: run.LeaseToken, Now: at(time.Second), Execution: e,
			Status: workflow.RunRunning, CurrentStepID: "step-2", Attempt: 1,
			Steps: json.RawMessage(`{"step-1":{"status":200}}`), LeaseUntil: at(5 * time.Minute),
		})
		got := b.get(t, run.ID)
		require.Equal(t, workflow.RunRunning, got.Status)
		require.Equal(t, "step-2", got.CurrentStepID)
		require.Equal(t, "worker-1", got.LeaseOwner)
		require.Equal(t, run.LeaseToken, got.LeaseToken)
		requireTimePtr(t, at(5*time.Minute), got.DueAt)
		requireTime(t, at(time.Second), got.UpdatedAt)
		require.Nil(t, got.FinishedAt)
		requireJSON(t, `{"step-1":{"status":200}}`, got.Steps)
		execs := b.executions(t, run.ID)
		require.Len(t, execs, 1)
		requireSameExecution(t, e, execs[0])

		// The lease is still held: no one else claims it, the holder goes on.
		require.Empty(t, b.claim(t, "worker-2", at(4*time.Minute), 10))
		b.complete(t, got, at(2*time.Second))
		got = b.get(t, run.ID)
		require.Equal(t, workflow.RunCompleted, got.Status)
		require.Nil(t, got.DueAt)
		requireTimePtr(t, at(2*time.Second), got.FinishedAt)
		requireJSON(t, `{"status":200}`, got.Output)
		require.Len(t, b.executions(t, run.ID), 2)
		require.Equal(t, "step-2", b.executions(t, run.ID)[1].StepID)
	},
	"WaitingIsATimer": func(t *testing.T, b *bundle) {
		run := b.startClaimed(t)
		b.checkpoint(t, &workflow.RunCheckpointParams{
			RunID: run.ID, LeaseToken: run.LeaseToken, Now: at(time.Second),
			Execution: execution(run, workflow.StepFailed, t0, at(time.Second)),
			Status:    workflow.RunWaiting, CurrentStepID: "step-1", Attempt: 2, Error: "boom",
			Steps: run.Steps, NextRunAt: at(10 * time.Minute),
		})
		got := b.get(t, run.ID)
		require.Equal(t, workflow.RunWaiting, got.Status)
		require.Equal(t, 2, got.Attempt)
		require.Equal(t, "boom", got.Error)
		require.Empty(t, got.LeaseOwner)
		requireTimePtr(t, at(10*time.Minute), got.DueAt)
		due, ok := b.nextDue(t)
		require.True(t, ok)
		requireTime(t, at(10*time.Minute), due)

		// The parked run is no longer the worker's.
		err := b.store.RunCheckpoint(b.ctx, &workflow.RunCheckpointParams{
			RunID: run.ID, LeaseToken: run.LeaseToken, Now: at(2 * time.Second),
			Status: workflow.RunCompleted, CurrentStepID: "step-1", Attempt: 2,
		})
		requireCode(t, err, workflow.ELEASELOST)

		require.Empty(t, b.claim(t, "worker-2", at(10*time.Minute-time.Microsecond), 10))
		again := b.claimOne(t, "worker-2", at(10*time.Minute))
		require.Equal(t, 2, again.Attempt) // a timer is not a lost lease
		require.Equal(t, int64(2), again.LeaseToken)
		require.Len(t, b.executions(t, run.ID), 1)
	},
	"PendingDueNow": func(t *testing.T, b *bundle) {
		run := b.startClaimed(t)
		b.checkpoint(t, &workflow.RunCheckpointParams{
			RunID: run.ID, LeaseToken: run.LeaseToken, Now: at(time.Second),
			Execution: execution(run, workflow.StepCompleted, t0, at(time.Second)),
			Status:    workflow.RunPending, CurrentStepID: "step-2", Attempt: 1,
			Steps: json.RawMessage(`{"step-1":{}}`),
		})
		got := b.get(t, run.ID)
		require.Equal(t, workflow.RunPending, got.Status)
		require.Empty(t, got.LeaseOwner)
		requireTimePtr(t, at(time.Second), got.DueAt)
		again := b.claimOne(t, "worker-2", at(time.Second))
		require.Equal(t, "step-2", again.CurrentStepID)
	},
	"Outbox": func(t *testing.T, b *bundle) {
		run := b.startClaimed(t)
		msgs := []*workflow.OutboxMessage{
			{ID: newID(), RunID: run.ID, StepID: "step-1", Exchange: "events", RoutingKey: "ticket.created",
				Message: json.RawMessage(`{"id":1,"tags":["a"]}`), Headers: map[string]string{"x-run": run.ID, "x-n": "1"},
				MessageID: "idem-1", Status: workflow.OutboxPending, CreatedAt: at(time.Second)},
			{ID: newID(), RunID: run.ID, StepID: "step-1", Exchange: "events", RoutingKey: "ticket.audit",
				Message: json.RawMessage(`"plain"`), MessageID: "idem-2", Status: workflow.OutboxPending,
				CreatedAt: at(time.Second)},
		}
		b.checkpoint(t, &workflow.RunCheckpointParams{
			RunID: run.ID, LeaseToken: run.LeaseToken, Now: at(time.Second),
			Execution: execution(run, workflow.StepCompleted, t0, at(time.Second)),
			Status:    workflow.RunCompleted, CurrentStepID: "step-1", Attempt: 1,
			Steps: json.RawMessage(`{"step-1":{}}`), Outbox: msgs,
		})
		got := b.outbox(t, workflow.OutboxPending)
		require.Len(t, got, 2)
		for i, m := range got {
			want := msgs[i]
			require.Equal(t, want.ID, m.ID)
			require.Equal(t, want.RunID, m.RunID)
			require.Equal(t, want.StepID, m.StepID)
			require.Equal(t, want.Exchange, m.Exchange)
			require.Equal(t, want.RoutingKey, m.RoutingKey)
			requireJSON(t, string(want.Message), m.Message)
			require.Len(t, m.Headers, len(want.Headers))
			for k, v := range want.Headers {
				require.Equal(t, v, m.Headers[k])
			}
			require.Equal(t, want.MessageID, m.MessageID)
			require.Equal(t, workflow.OutboxPending, m.Status)
			require.Zero(t, m.Attempts)
			require.Empty(t, m.LastError)
			requireTime(t, at(time.Second), m.CreatedAt)
			require.Nil(t, m.SentAt)
		}
		require.Empty(t, b.outbox(t, workflow.OutboxSent))
		all, err := b.store.OutboxList(b.ctx, &workflow.OutboxListParams{})
		require.NoError(t, err)
		require.Len(t, all, 2)
	},
	"DeadLettered": func(t *testing.T, b *bundle) {
		b.putWorkflow(t, "wf-b", "hook-b", "h1")
		run := b.startClaimed(t)
		d := b.deadLetter(t, run, at(time.Second))
		got := b.get(t, run.ID)
		require.Equal(t, workflow.RunDeadLettered, got.Status)
		require.Equal(t, "boom", got.Error)
		require.Nil(t, got.DueAt)
		require.Empty(t, got.LeaseOwner)
		requireTimePtr(t, at(time.Second), got.FinishedAt)

		dl, err := b.store.DeadLetterGet(b.ctx, d.ID)
		require.NoError(t, err)
		require.Equal(t, d.ID, dl.ID)
		require.Equal(t, run.ID, dl.RunID)
		require.Equal(t, 0, dl.Generation)
		require.Equal(t, "wf-a", dl.WorkflowID)
		require.Equal(t, 1, dl.WorkflowVersion)
		require.Equal(t, "step-1", dl.StepID)
		require.Equal(t, "http", dl.StepType)
		require.Equal(t, workflow.DeadLetterExhausted, dl.Reason)
		require.Equal(t, 1, dl.Attempts)
		require.Equal(t, "boom", dl.LastError)
		requireJSON(t, `{"n":1}`, dl.Input)
		requireTime(t, at(time.Second), dl.CreatedAt)
		require.Nil(t, dl.ReplayedAt)

		// A second dead letter, of wf-b and later: newest first, filterable.
		p := b.startParams(at(time.Minute))
		p.WorkflowID, p.TriggerKey = "wf-b", "hook-b"
		b.start(t, p)
		d2 := b.deadLetter(t, b.claimOne(t, "worker-1", at(time.Minute)), at(2*time.Minute))
		list, err := b.store.DeadLetterList(b.ctx, &workflow.DeadLetterListParams{})
		require.NoError(t, err)
		require.Len(t, list, 2)
		require.Equal(t, d2.ID, list[0].ID)
		require.Equal(t, d.ID, list[1].ID)
		list, err = b.store.DeadLetterList(b.ctx, &workflow.DeadLetterListParams{WorkflowID: "wf-a"})
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.Equal(t, d.ID, list[0].ID)
		list, err = b.store.DeadLetterList(b.ctx, &workflow.DeadLetterListParams{Limit: 1})
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.Equal(t, d2.ID, list[0].ID)
	},
}
