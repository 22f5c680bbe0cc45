package sqlite

import (
	"context"
	"encoding/json"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/workflow"
)

// holdWriter blocks the writer goroutine inside an op until the returned
// function is called, so that the writes queued meanwhile form one batch.
func holdWriter(t *testing.T, s *Store) (release func()) {
	t.Helper()
	entered, unblock, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- s.write(context.Background(), "hold", func(*wtx) error {
			close(entered)
			<-unblock
			return nil
		})
	}()
	<-entered
	return func() {
		close(unblock)
		require.NoError(t, <-done)
	}
}

// waitQueued waits until n writes are queued.
func waitQueued(s *Store, n int) {
	for len(s.queue) < n {
		runtime.Gosched()
	}
}

// TestBatchIsolatesFailures runs successful and failing writes in one batch:
// the failures (stale leases, a reused idempotency key, a duplicate id) roll
// back alone and every other write commits.
func TestBatchIsolatesFailures(t *testing.T) {
	t.Parallel()
	s := openTest(t, Config{})
	putWorkflow(t, s)
	ctx := t.Context()
	now := time.Now()
	for range 20 {
		_, _, err := s.RunStart(ctx, startParams(now))
		require.NoError(t, err)
	}
	runs, err := s.RunClaim(ctx, &workflow.RunClaimParams{Owner: "w", Limit: 20, LeaseFor: time.Minute, Now: now})
	require.NoError(t, err)
	require.Len(t, runs, 20)
	dup := startParams(now)
	_, _, err = s.RunStart(ctx, dup)
	require.NoError(t, err)

	release := holdWriter(t, s)
	var (
		wg      sync.WaitGroup
		results = make([]error, len(runs))
		startOK = make([]bool, 3)
		startEr = make([]error, 3)
	)
	for i, run := range runs {
		token := run.LeaseToken
		if i%2 == 1 {
			token-- // stale
		}
		wg.Go(func() {
			results[i] = s.RunCheckpoint(ctx, &workflow.RunCheckpointParams{
				RunID: run.ID, LeaseToken: token, Now: now, Status: workflow.RunCompleted,
				CurrentStepID: "s1", Attempt: 1,
				Execution: &workflow.StepExecution{ID: newID(), RunID: run.ID, StepID: "s1", Attempt: 1,
					Status: workflow.StepCompleted, StartedAt: now, FinishedAt: now},
				Outbox: []*workflow.OutboxMessage{{ID: newID(), RunID: run.ID, StepID: "s1",
					Message: json.RawMessage(`{}`)}},
			})
		})
	}
	// A reused key with another request, the same request again, a new run
	// reusing an existing run id.
	reused, same, dupID := startParams(now), startParams(now), startParams(now)
	reused.IdempotencyKey, reused.RequestHash = dup.IdempotencyKey, "other"
	same.IdempotencyKey = dup.IdempotencyKey
	dupID.ID = runs[0].ID
	for i, p := range []*workflow.RunStartParams{reused, same, dupID} {
		wg.Go(func() {
			var existing bool
			_, existing, startEr[i] = s.RunStart(ctx, p)
			startOK[i] = existing
		})
	}
	waitQueued(s, len(runs)+3)
	release()
	wg.Wait()

	for i, run := range runs {
		got, err := s.RunGet(ctx, run.ID)
		require.NoError(t, err)
		execs, err := s.StepExecutionList(ctx, run.ID)
		require.NoError(t, err)
		if i%2 == 0 {
			require.NoError(t, results[i])
			require.Equal(t, workflow.RunCompleted, got.Status)
			require.Len(t, execs, 1)
		} else {
			require.Equal(t, workflow.ELEASELOST, workflow.ErrorCode(results[i]), "%v", results[i])
			require.Equal(t, workflow.RunRunning, got.Status)
			require.Empty(t, execs)
		}
	}
	outbox, err := s.OutboxList(ctx, &workflow.OutboxListParams{Status: workflow.OutboxPending})
	require.NoError(t, err)
	require.Len(t, outbox, len(runs)/2)
	require.Equal(t, workflow.EIDEMPOTENCY, workflow.ErrorCode(startEr[0]))
	require.NoError(t, startEr[1])
	require.True(t, startOK[1])
	require.Equal(t, workflow.ECONFLICT, workflow.ErrorCode(startEr[2]))
	page, err := s.RunList(ctx, &workflow.RunListParams{Limit: 100})
	require.NoError(t, err)
	require.Len(t, page.Runs, 21)
}

// TestQueuedWriteSkippedAfterCancel checks that a write whose caller gave up
// while it was queued is not applied.
func TestQueuedWriteSkippedAfterCancel(t *testing.T) {
	t.Parallel()
	s := openTest(t, Config{})
	putWorkflow(t, s)
	release := holdWriter(t, s)
	ctx, cancel := context.WithCancel(t.Context())
	p := startParams(time.Now())
	errc := make(chan error, 1)
	go func() {
		_, _, err := s.RunStart(ctx, p)
		errc <- err
	}()
	waitQueued(s, 1)
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)
	release()
	_, err := s.RunGet(t.Context(), p.ID)
	require.Equal(t, workflow.ENOTFOUND, workflow.ErrorCode(err))
}
