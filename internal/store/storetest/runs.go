package storetest

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/workflow"
)

var runStartTests = map[string]func(t *testing.T, b *bundle){
	"New": func(t *testing.T, b *bundle) {
		p := b.startParams(at(time.Second))
		run, existing, err := b.store.RunStart(b.ctx, p)
		require.NoError(t, err)
		require.False(t, existing)
		require.Equal(t, p.ID, run.ID)
		require.Equal(t, "wf-a", run.WorkflowID)
		require.Equal(t, 1, run.WorkflowVersion)
		require.Equal(t, workflow.RunPending, run.Status)
		require.Equal(t, "step-1", run.CurrentStepID)
		require.Equal(t, 1, run.Attempt)
		require.Equal(t, 0, run.Generation)
		require.Equal(t, "hook-a", run.TriggerKey)
		require.Equal(t, p.IdempotencyKey, run.IdempotencyKey)
		require.Equal(t, "request-hash", run.RequestHash)
		require.Empty(t, run.LeaseOwner)
		require.Zero(t, run.LeaseToken)
		require.Empty(t, run.Error)
		requireJSON(t, `{"n":1}`, run.Input)
		requireJSON(t, `{}`, run.Steps)
		requireJSON(t, "", run.Output)
		requireTimePtr(t, at(time.Second), run.DueAt)
		requireTime(t, at(time.Second), run.CreatedAt)
		requireTime(t, at(time.Second), run.UpdatedAt)
		require.Nil(t, run.StartedAt)
		require.Nil(t, run.FinishedAt)

		requireSameRun(t, run, b.get(t, run.ID))
		due, ok := b.nextDue(t)
		require.True(t, ok)
		requireTime(t, at(time.Second), due)
	},
	"DuplicateSameRequest": func(t *testing.T, b *bundle) {
		p := b.startParams(t0)
		first := b.start(t, p)

		again := b.startParams(at(time.Minute))
		again.IdempotencyKey = p.IdempotencyKey
		run, existing, err := b.store.RunStart(b.ctx, again)
		require.NoError(t, err)
		require.True(t, existing)
		requireSameRun(t, first, run)

		page, err := b.store.RunList(b.ctx, &workflow.RunListParams{})
		require.NoError(t, err)
		require.Len(t, page.Runs, 1)
	},
	"DuplicateDifferentRequest": func(t *testing.T, b *bundle) {
		p := b.startParams(t0)
		b.start(t, p)
		again := b.startParams(t0)
		again.IdempotencyKey = p.IdempotencyKey
		again.RequestHash = "other-hash"
		_, _, err := b.store.RunStart(b.ctx, again)
		requireCode(t, err, workflow.EIDEMPOTENCY)
		_, err = b.store.RunGet(b.ctx, again.ID)
		requireCode(t, err, workflow.ENOTFOUND)
	},
	"KeyScopedByTrigger": func(t *testing.T, b *bundle) {
		p := b.startParams(t0)
		b.start(t, p)
		other := b.startParams(t0)
		other.IdempotencyKey = p.IdempotencyKey
		other.TriggerKey = "manual:wf-a"
		run := b.start(t, other)
		require.Equal(t, other.ID, run.ID)
	},
	"NoKeyNoDedup": func(t *testing.T, b *bundle) {
		for range 3 {
			p := b.startParams(t0)
			p.IdempotencyKey = ""
			b.start(t, p)
		}
		page, err := b.store.RunList(b.ctx, &workflow.RunListParams{})
		require.NoError(t, err)
		require.Len(t, page.Runs, 3)
	},
	"UnknownWorkflow": func(t *testing.T, b *bundle) {
		p := b.startParams(t0)
		p.WorkflowVersion = 7
		_, _, err := b.store.RunStart(b.ctx, p)
		requireCode(t, err, workflow.ENOTFOUND)
		p = b.startParams(t0)
		p.WorkflowID = "nope"
		_, _, err = b.store.RunStart(b.ctx, p)
		requireCode(t, err, workflow.ENOTFOUND)
	},
	"ConcurrentSameKey": func(t *testing.T, b *bundle) {
		const n = 50
		key := newID()
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			ids      = map[string]int{}
			created  int
			failures []error
		)
		for range n {
			wg.Go(func() {
				p := b.startParams(t0)
				p.IdempotencyKey = key
				run, existing, err := b.store.RunStart(b.ctx, p)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					failures = append(failures, err)
					return
				}
				ids[run.ID]++
				if !existing {
					created++
				}
			})
		}
		wg.Wait()
		require.Empty(t, failures)
		require.Equal(t, 1, created)
		require.Len(t, ids, 1)
		page, err := b.store.RunList(b.ctx, &workflow.RunListParams{})
		require.NoError(t, err)
		require.Len(t, page.Runs, 1)
	},
	"GetNotFound": func(t *testing.T, b *bundle) {
		_, err := b.store.RunGet(b.ctx, newID())
		requireCode(t, err, workflow.ENOTFOUND)
		_, err = b.store.DeadLetterGet(b.ctx, newID())
		requireCode(t, err, workflow.ENOTFOUND)
		execs, err := b.store.StepExecutionList(b.ctx, newID())
		require.NoError(t, err)
		require.Empty(t, execs)
		replays, err := b.store.ReplayList(b.ctx, newID())
		require.NoError(t, err)
		require.Empty(t, replays)
	},
}

var runListTests = map[string]func(t *testing.T, b *bundle){
	"PaginationWithFilters": func(t *testing.T, b *bundle) {
		b.putWorkflow(t, "wf-b", "hook-b", "h1")
		b.putWorkflow(t, "wf-c", "hook-c", "h1")
		var wantA, wantARunning, wantC []string // newest first
		for i := range 40 {
			p := b.startParams(t0)
			switch i % 4 {
			case 0:
				p.WorkflowID, p.TriggerKey = "wf-b", "hook-b"
			case 1:
				p.WorkflowID, p.TriggerKey = "wf-c", "hook-c"
			}
			run := b.start(t, p)
			switch p.WorkflowID {
			case "wf-a":
				wantA = append([]string{run.ID}, wantA...)
			case "wf-c":
				wantC = append([]string{run.ID}, wantC...)
			}
		}
		// Claim the 8 oldest runs (any workflow) so that statuses differ.
		for _, r := range b.claim(t, "worker-1", t0, 8) {
			if r.WorkflowID == "wf-a" {
				wantARunning = append([]string{r.ID}, wantARunning...)
			}
		}
		require.Len(t, wantA, 20)
		require.Len(t, wantARunning, 4)
		require.Len(t, wantC, 10)

		// list pages through the runs with the given filter and counts the
		// pages. Between pages it starts a pending wf-a run: newer than the
		// cursor, it must not show on later pages.
		list := func(p workflow.RunListParams) (ids []string, pages int) {
			seen := map[string]bool{}
			var extra []string
			defer func() { wantA = append(extra, wantA...) }()
			for {
				require.Less(t, pages, 100)
				page, err := b.store.RunList(b.ctx, &p)
				require.NoError(t, err)
				pages++
				require.LessOrEqual(t, len(page.Runs), p.Limit)
				for _, r := range page.Runs {
					require.False(t, seen[r.ID], "run %s listed twice", r.ID)
					seen[r.ID] = true
					ids = append(ids, r.ID)
					if p.WorkflowID != "" {
						require.Equal(t, p.WorkflowID, r.WorkflowID)
					}
					if p.Status != "" {
						require.Equal(t, p.Status, r.Status)
					}
				}
				if page.NextCursor == "" {
					return ids, pages
				}
				require.Len(t, page.Runs, p.Limit)
				extra = append([]string{b.startAt(t, t0).ID}, extra...)
				p.Cursor = page.NextCursor
			}
		}
		ids, pages := list(workflow.RunListParams{WorkflowID: "wf-a", Limit: 3})
		require.Equal(t, wantA[6:], ids) // the 6 runs started between its 7 pages are newer
		require.Equal(t, 7, pages)
		ids, _ = list(workflow.RunListParams{WorkflowID: "wf-a", Status: workflow.RunRunning, Limit: 1})
		require.Equal(t, wantARunning, ids)
		// An exact multiple of the page size ends without an empty page.
		ids, pages = list(workflow.RunListParams{WorkflowID: "wf-c", Limit: 5})
		require.Equal(t, wantC, ids)
		require.Equal(t, 2, pages)
		ids, _ = list(workflow.RunListParams{WorkflowID: "wf-a", Limit: 1000})
		require.Equal(t, wantA, ids)
		ids, pages = list(workflow.RunListParams{WorkflowID: "wf-none", Limit: 5})
		require.Empty(t, ids)
		require.Equal(t, 1, pages)
		ids, _ = list(workflow.RunListParams{Status: workflow.RunCompleted, Limit: 5})
		require.Empty(t, ids)
	},
	"DefaultAndMaxLimit": func(t *testing.T, b *bundle) {
		for range 55 {
			b.startAt(t, t0)
		}
		page, err := b.store.RunList(b.ctx, &workflow.RunListParams{})
		require.NoError(t, err)
		require.Len(t, page.Runs, 50)
		require.NotEmpty(t, page.NextCursor)
		page, err = b.store.RunList(b.ctx, &workflow.RunListParams{Limit: 5000})
		require.NoError(t, err)
		require.Len(t, page.Runs, 55)
		require.Empty(t, page.NextCursor)
	},
	"InvalidParams": func(t *testing.T, b *bundle) {
		b.startAt(t, t0)
		for _, c := range []string{"not a cursor", "!!!", "eA"} {
			_, err := b.store.RunList(b.ctx, &workflow.RunListParams{Cursor: c})
			requireCode(t, err, workflow.EINVALID)
		}
		_, err := b.store.RunList(b.ctx, &workflow.RunListParams{Status: "bogus"})
		requireCode(t, err, workflow.EINVALID)
		_, err = b.store.RunList(b.ctx, &workflow.RunListParams{Limit: -1})
		requireCode(t, err, workflow.EINVALID)
		_, err = b.store.OutboxList(b.ctx, &workflow.OutboxListParams{Status: "bogus"})
		requireCode(t, err, workflow.EINVALID)
	},
}

var roundTripTests = map[string]func(t *testing.T, b *bundle){
	"JSONAndTimes": func(t *testing.T, b *bundle) {
		const input = `{"text":"héllo ☃ \"quoted\" \\ \u0000","big":12345678901234567890,` +
			`"float":2.5e-7,"list":[1,null,true,{"k":[]}],"empty":{}}`
		now := t0.Add(123 * time.Microsecond)
		p := b.startParams(now)
		p.Input = json.RawMessage(input)
		run := b.start(t, p)
		got := b.get(t, run.ID)
		requireJSON(t, input, got.Input)
		requireTime(t, now, got.CreatedAt)
		requireTimePtr(t, now, got.DueAt)

		claimAt := now.Add(time.Microsecond)
		claimed := b.claimOne(t, "worker-1", claimAt)
		requireTimePtr(t, claimAt, claimed.StartedAt)
		requireTimePtr(t, claimAt.Add(leaseFor), claimed.DueAt)

		e := execution(claimed, workflow.StepCompleted, claimAt.Add(7*time.Microsecond), claimAt.Add(time.Second+9*time.Microsecond))
		e.Output = json.RawMessage(input)
		finish := claimAt.Add(2 * time.Second)
		b.checkpoint(t, &workflow.RunCheckpointParams{
			RunID: run.ID, LeaseToken: claimed.LeaseToken, Now: finish, Execution: e,
			Status: workflow.RunCompleted, CurrentStepID: "step-1", Attempt: 1,
			Steps: json.RawMessage(`{"step-1":` + input + `}`), Output: json.RawMessage(input),
		})
		got = b.get(t, run.ID)
		requireJSON(t, `{"step-1":`+input+`}`, got.Steps)
		requireJSON(t, input, got.Output)
		requireTimePtr(t, finish, got.FinishedAt)
		requireTime(t, finish, got.UpdatedAt)
		requireTimePtr(t, claimAt, got.StartedAt)

		execs := b.executions(t, run.ID)
		require.Len(t, execs, 1)
		requireSameExecution(t, e, execs[0])
	},
}

// requireSameExecution requires two step executions to agree on every field.
func requireSameExecution(t *testing.T, want, got *workflow.StepExecution) {
	t.Helper()
	require.Equal(t, want.ID, got.ID)
	require.Equal(t, want.RunID, got.RunID)
	require.Equal(t, want.Generation, got.Generation)
	require.Equal(t, want.StepID, got.StepID)
	require.Equal(t, want.StepType, got.StepType)
	require.Equal(t, want.Attempt, got.Attempt)
	require.Equal(t, want.Status, got.Status)
	require.Equal(t, want.Error, got.Error)
	require.Equal(t, want.IdempotencyKey, got.IdempotencyKey)
	requireJSON(t, string(want.Input), got.Input)
	requireJSON(t, string(want.Output), got.Output)
	requireTime(t, want.StartedAt, got.StartedAt)
	requireTime(t, want.FinishedAt, got.FinishedAt)
}
