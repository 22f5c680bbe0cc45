// Package storetest is the conformance suite of workflow.Store: every
// implementation (SQLite, PostgreSQL) runs it from a short test, and any
// change to the interface extends it first.
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) workflow.Store {
//			s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "sluice.db"), sqlite.Config{})
//			require.NoError(t, err)
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// Time is a fixed fake clock passed through the params; nothing sleeps.
//
// Besides the contract documented on workflow.Store, the suite pins these
// choices, which every implementation must share:
//   - times round-trip with microsecond precision; JSON documents round-trip
//     as equal JSON (PostgreSQL may store jsonb);
//   - RunStart: Steps is {} for a new run; a run whose workflow version does
//     not exist is ENOTFOUND; runs without an IdempotencyKey are never
//     deduplicated;
//   - RunCheckpoint, RunExtendLease and RunRelease apply only to a running
//     run: once its holder parked (pending, waiting) or finished it, the old
//     token is stale (ELEASELOST) even though no one claimed the run since;
//   - a claim of a waiting or pending run keeps Attempt (only an expired
//     lease counts as an attempt); a release records no step execution;
//   - completed, dead-lettered and cancelled runs get FinishedAt; a cancelled
//     run's Error is the reason;
//   - page sizes follow store.PageLimit (0 is 50, above 1000 is 1000,
//     negative is EINVALID); an unknown status filter or a foreign cursor is
//     EINVALID; OutboxList with an empty Status lists every status.
package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/workflow"
)

// Run runs the conformance suite. newStore must return a fresh, empty,
// migrated store for each call and arrange its Close with t.Cleanup. Every
// subtest runs in parallel with its own store.
func Run(t *testing.T, newStore func(t *testing.T) workflow.Store) {
	t.Helper()
	groups := []struct {
		name  string
		tests map[string]func(t *testing.T, b *bundle)
	}{
		{"Workflow", workflowTests},
		{"RunStart", runStartTests},
		{"RunList", runListTests},
		{"RunClaim", runClaimTests},
		{"RunCheckpoint", checkpointTests},
		{"RunLease", leaseTests},
		{"RunCancel", cancelTests},
		{"RunReplay", replayTests},
		{"RoundTrip", roundTripTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for name, test := range g.tests {
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					test(t, setup(t, newStore))
				})
			}
		})
	}
}

// t0 is the fake clock's start: microsecond precision, which every store
// must keep exactly.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 678901000, time.UTC)

// leaseFor is the lease of every claim in the suite.
const leaseFor = time.Minute

// bundle is one subtest's fixture: a fresh store with one workflow
// ("wf-a", trigger "hook-a").
type bundle struct {
	ctx   context.Context
	store workflow.Store
	wf    *workflow.WorkflowVersion
}

func setup(t *testing.T, newStore func(t *testing.T) workflow.Store) *bundle {
	t.Helper()
	b := &bundle{ctx: t.Context(), store: newStore(t)}
	b.wf = b.putWorkflow(t, "wf-a", "hook-a", "hash-1")
	return b
}

// at returns the fake clock at t0+d.
func at(d time.Duration) time.Time { return t0.Add(d) }

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func definition(id, triggerKey, hash string) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(
		`{"id":%q,"trigger":{"type":"webhook","key":%q},"startAt":"step-1","steps":[{"id":"step-1","type":"http","rev":%q},{"id":"step-2","type":"ai"}]}`,
		id, triggerKey, hash))
}

func (b *bundle) putParams(id, triggerKey, hash string) *workflow.WorkflowPutParams {
	return &workflow.WorkflowPutParams{
		ID: id, Name: "Workflow " + id, TriggerType: workflow.TriggerWebhook, TriggerKey: triggerKey,
		Definition: definition(id, triggerKey, hash), Hash: hash, Now: t0,
	}
}

func (b *bundle) putWorkflow(t *testing.T, id, triggerKey, hash string) *workflow.WorkflowVersion {
	t.Helper()
	v, _, err := b.store.WorkflowPut(b.ctx, b.putParams(id, triggerKey, hash))
	require.NoError(t, err)
	return v
}

// startParams returns the params of a new run of wf-a, due at now, with a
// unique idempotency key; edit them before calling RunStart.
func (b *bundle) startParams(now time.Time) *workflow.RunStartParams {
	return &workflow.RunStartParams{
		ID: newID(), WorkflowID: b.wf.WorkflowID, WorkflowVersion: b.wf.Version, StartStepID: "step-1",
		TriggerKey: "hook-a", IdempotencyKey: newID(), RequestHash: "request-hash",
		Input: json.RawMessage(`{"n":1}`), Now: now,
	}
}

func (b *bundle) start(t *testing.T, p *workflow.RunStartParams) *workflow.Run {
	t.Helper()
	run, existing, err := b.store.RunStart(b.ctx, p)
	require.NoError(t, err)
	require.False(t, existing)
	return run
}

// startAt starts a run due at now.
func (b *bundle) startAt(t *testing.T, now time.Time) *workflow.Run {
	t.Helper()
	return b.start(t, b.startParams(now))
}

func (b *bundle) claim(t *testing.T, owner string, now time.Time, limit int) []*workflow.Run {
	t.Helper()
	runs, err := b.store.RunClaim(b.ctx, &workflow.RunClaimParams{
		Owner: owner, Limit: limit, LeaseFor: leaseFor, Now: now, NewExecutionID: newID,
	})
	require.NoError(t, err)
	return runs
}

// claimOne claims exactly one run.
func (b *bundle) claimOne(t *testing.T, owner string, now time.Time) *workflow.Run {
	t.Helper()
	runs := b.claim(t, owner, now, 1)
	require.Len(t, runs, 1)
	return runs[0]
}

// startClaimed starts a run at t0 and claims it at t0 as "worker-1".
func (b *bundle) startClaimed(t *testing.T) *workflow.Run {
	t.Helper()
	run := b.startAt(t, t0)
	claimed := b.claimOne(t, "worker-1", t0)
	require.Equal(t, run.ID, claimed.ID)
	return claimed
}

// execution returns a step execution of run's current step.
func execution(run *workflow.Run, status workflow.StepStatus, started, finished time.Time) *workflow.StepExecution {
	e := &workflow.StepExecution{
		ID: newID(), RunID: run.ID, Generation: run.Generation, StepID: run.CurrentStepID, StepType: "http",
		Attempt: run.Attempt, Status: status, Input: json.RawMessage(`{"url":"http://example.test"}`),
		IdempotencyKey: fmt.Sprintf("%s:%d:%s", run.ID, run.Generation, run.CurrentStepID),
		StartedAt:      started, FinishedAt: finished,
	}
	if status == workflow.StepCompleted {
		e.Output = json.RawMessage(`{"status":200}`)
	} else {
		e.Error = "boom"
	}
	return e
}

func (b *bundle) checkpoint(t *testing.T, p *workflow.RunCheckpointParams) {
	t.Helper()
	require.NoError(t, b.store.RunCheckpoint(b.ctx, p))
}

// complete checkpoints a claimed run straight to completed.
func (b *bundle) complete(t *testing.T, run *workflow.Run, now time.Time) {
	t.Helper()
	b.checkpoint(t, &workflow.RunCheckpointParams{
		RunID: run.ID, LeaseToken: run.LeaseToken, Now: now,
		Execution: execution(run, workflow.StepCompleted, now, now),
		Status:    workflow.RunCompleted, CurrentStepID: run.CurrentStepID, Attempt: run.Attempt,
		Steps: json.RawMessage(`{"step-1":{"status":200}}`), Output: json.RawMessage(`{"status":200}`),
	})
}

// deadLetter checkpoints a claimed run to dead_lettered and returns its dead
// letter.
func (b *bundle) deadLetter(t *testing.T, run *workflow.Run, now time.Time) *workflow.DeadLetter {
	t.Helper()
	d := &workflow.DeadLetter{
		ID: newID(), RunID: run.ID, Generation: run.Generation, WorkflowID: run.WorkflowID,
		WorkflowVersion: run.WorkflowVersion, StepID: run.CurrentStepID, StepType: "http",
		Reason: workflow.DeadLetterExhausted, Attempts: run.Attempt, LastError: "boom",
		Input: run.Input, CreatedAt: now,
	}
	b.checkpoint(t, &workflow.RunCheckpointParams{
		RunID: run.ID, LeaseToken: run.LeaseToken, Now: now,
		Execution: execution(run, workflow.StepFailed, now, now),
		Status:    workflow.RunDeadLettered, CurrentStepID: run.CurrentStepID, Attempt: run.Attempt,
		Steps: run.Steps, Error: "boom", DeadLetter: d,
	})
	return d
}

func (b *bundle) get(t *testing.T, id string) *workflow.Run {
	t.Helper()
	run, err := b.store.RunGet(b.ctx, id)
	require.NoError(t, err)
	return run
}

func (b *bundle) executions(t *testing.T, runID string) []*workflow.StepExecution {
	t.Helper()
	list, err := b.store.StepExecutionList(b.ctx, runID)
	require.NoError(t, err)
	return list
}

func (b *bundle) outbox(t *testing.T, status workflow.OutboxStatus) []*workflow.OutboxMessage {
	t.Helper()
	list, err := b.store.OutboxList(b.ctx, &workflow.OutboxListParams{Status: status, Limit: 100})
	require.NoError(t, err)
	return list
}

func (b *bundle) nextDue(t *testing.T) (time.Time, bool) {
	t.Helper()
	due, ok, err := b.store.RunNextDue(b.ctx)
	require.NoError(t, err)
	return due, ok
}

// requireCode requires err to carry the domain error code.
func requireCode(t *testing.T, err error, code string) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, workflow.ErrorCode(err), "error: %v", err)
}

// requireTime requires got to be the same instant as want.
func requireTime(t *testing.T, want, got time.Time) {
	t.Helper()
	require.True(t, want.Equal(got), "want time %s, got %s", want, got)
}

// requireTimePtr requires got to be set and the same instant as want.
func requireTimePtr(t *testing.T, want time.Time, got *time.Time) {
	t.Helper()
	require.NotNil(t, got, "want time %s, got nil", want)
	requireTime(t, want, *got)
}

// requireJSON requires got to be the same JSON document as want (nil for
// none).
func requireJSON(t *testing.T, want string, got json.RawMessage) {
	t.Helper()
	if want == "" {
		require.Nil(t, got)
		return
	}
	require.JSONEq(t, want, string(got))
}

// requireSameRun requires two reads of a run to agree on every field.
func requireSameRun(t *testing.T, want, got *workflow.Run) {
	t.Helper()
	require.Equal(t, want.ID, got.ID)
	require.Equal(t, want.WorkflowID, got.WorkflowID)
	require.Equal(t, want.WorkflowVersion, got.WorkflowVersion)
	require.Equal(t, want.Status, got.Status)
	require.Equal(t, want.CurrentStepID, got.CurrentStepID)
	require.Equal(t, want.Attempt, got.Attempt)
	require.Equal(t, want.Generation, got.Generation)
	require.Equal(t, want.Error, got.Error)
	require.Equal(t, want.TriggerKey, got.TriggerKey)
	require.Equal(t, want.IdempotencyKey, got.IdempotencyKey)
	require.Equal(t, want.RequestHash, got.RequestHash)
	require.Equal(t, want.LeaseOwner, got.LeaseOwner)
	require.Equal(t, want.LeaseToken, got.LeaseToken)
	for _, j := range []struct{ want, got json.RawMessage }{
		{want.Input, got.Input}, {want.Steps, got.Steps}, {want.Output, got.Output},
	} {
		requireJSON(t, string(j.want), j.got)
	}
	for _, p := range []struct{ want, got *time.Time }{
		{want.DueAt, got.DueAt}, {want.StartedAt, got.StartedAt}, {want.FinishedAt, got.FinishedAt},
	} {
		if p.want == nil {
			require.Nil(t, p.got)
		} else {
			requireTimePtr(t, *p.want, p.got)
		}
	}
	requireTime(t, want.CreatedAt, got.CreatedAt)
	requireTime(t, want.UpdatedAt, got.UpdatedAt)
}
