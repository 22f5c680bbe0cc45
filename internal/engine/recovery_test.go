package engine_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/engine"
	"github.com/sluicehq/sluice/internal/step"
	"github.com/sluicehq/sluice/internal/workflow"
)

func TestExpiredLeaseIsTakenOverAndAccountedFor(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *setupOptions) { o.noRun = true })
	b.put(t, chain("recover", map[string]any{"id": "a"}, map[string]any{"id": "b"}))
	run := b.start(t, "recover", `{}`)

	// A worker that claims the run and dies without writing anything.
	ctx := context.Background()
	claimed, err := b.store.RunClaim(ctx, &workflow.RunClaimParams{
		Owner: "dead-worker", Limit: 1, LeaseFor: 200 * time.Millisecond, Now: time.Now(), NewExecutionID: func() string { return "exec-" + run.ID },
	})
	require.NoError(t, err)
	require.Len(t, claimed, 1)

	b.run(t, b.engine)
	done := b.waitStatus(t, run.ID, workflow.RunCompleted)
	require.Greater(t, done.LeaseToken, claimed[0].LeaseToken)

	execs := b.executions(t, run.ID)
	require.Len(t, execs, 3)
	require.Equal(t, workflow.StepInterrupted, execs[0].Status)
	require.Equal(t, "a", execs[0].StepID)
	require.Equal(t, 1, execs[0].Attempt)
	require.Contains(t, execs[0].Error, "dead-worker")
	require.Equal(t, workflow.StepCompleted, execs[1].Status)
	require.Equal(t, 2, execs[1].Attempt, "a crash re-run counts as an attempt")
}

func TestStepInterruptedMoreThanMaxAttemptsDeadLetters(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *setupOptions) { o.noRun = true })
	b.put(t, chain("poison", map[string]any{"id": "a", "retry": fastRetry(1)}))
	run := b.start(t, "poison", `{}`)
	ctx := context.Background()
	now := time.Now()
	for i := range 2 { // two claims by workers that die: attempt 1, then 2
		claimed, err := b.store.RunClaim(ctx, &workflow.RunClaimParams{
			Owner: "crasher", Limit: 1, LeaseFor: time.Millisecond, Now: now.Add(time.Duration(i) * time.Second),
			NewExecutionID: func() string { return run.ID + "-x" + string(rune('a'+i)) },
		})
		require.NoError(t, err)
		require.Len(t, claimed, 1)
	}
	b.run(t, b.engine)
	dead := b.waitStatus(t, run.ID, workflow.RunDeadLettered)
	require.Contains(t, dead.Error, "interrupted")
	require.Empty(t, b.probe.requests("a"), "the poison step is not run again")
}

func TestShutdownReleasesRunsForAnotherEngine(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *setupOptions) {
		o.noRun = true
		o.config = func(c *engine.Config) { c.ShutdownTimeout = 50 * time.Millisecond }
	})
	b.put(t, chain("long", map[string]any{"id": "a"}, map[string]any{"id": "b"}))
	entered := make(chan struct{}, 1)
	var calls atomic.Int32
	b.probe.on("a", func(ctx context.Context, req *step.Request) (*step.Result, error) {
		if calls.Add(1) == 1 {
			entered <- struct{}{}
			<-ctx.Done() // outlives the grace period
			return nil, ctx.Err()
		}
		return &step.Result{Output: "second engine"}, nil
	})
	stop := b.run(t, b.engine)
	run := b.start(t, "long", `{}`)
	<-entered
	stop()

	released, err := b.store.RunGet(context.Background(), run.ID)
	require.NoError(t, err)
	require.Equal(t, workflow.RunPending, released.Status, "the lease was given back, not left to expire")
	require.Empty(t, released.LeaseOwner)
	require.Empty(t, b.executions(t, run.ID), "an interrupted shutdown records no failure")

	next, err := engine.New(engine.Config{Store: b.store, Registry: registryWith(t, b.probe), Logger: slog.New(slog.DiscardHandler), PollInterval: 20 * time.Millisecond, Observer: b.observe})
	require.NoError(t, err)
	b.run(t, next)
	done := b.waitStatus(t, run.ID, workflow.RunCompleted)
	require.Equal(t, "b", done.CurrentStepID)
	reqs := b.probe.requests("a")
	require.Len(t, reqs, 2)
	require.Equal(t, 1, reqs[1].Attempt, "a released step is not a failed attempt")
	require.Equal(t, reqs[0].IdempotencyKey, reqs[1].IdempotencyKey)
}

func registryWith(t testing.TB, p *probe) *step.Registry {
	reg := step.NewRegistry()
	require.NoError(t, reg.Register("probe", p))
	registerBuiltins(t, reg)
	return reg
}

// extendSpy reports every successful lease extension.
type extendSpy struct {
	workflow.Store
	extended chan time.Time
}

func (s *extendSpy) RunExtendLease(ctx context.Context, p *workflow.RunLeaseParams) error {
	err := s.Store.RunExtendLease(ctx, p)
	if err == nil {
		select {
		case s.extended <- p.Until:
		default:
		}
	}
	return err
}

func TestLongStepKeepsItsLeaseAlive(t *testing.T) {
	t.Parallel()
	spy := &extendSpy{extended: make(chan time.Time, 16)}
	b := setup(t, func(o *setupOptions) {
		o.config = func(c *engine.Config) { c.LeaseFor = 150 * time.Millisecond }
		o.wrapStore = func(s workflow.Store) workflow.Store { spy.Store = s; return spy }
	})
	b.put(t, chain("long-step", map[string]any{"id": "a", "timeout": "10s"}))
	release := make(chan struct{})
	b.probe.on("a", func(ctx context.Context, _ *step.Request) (*step.Result, error) {
		select {
		case <-release:
			return &step.Result{Output: "done"}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	run := b.start(t, "long-step", `{}`)
	// Wait for extensions until the lease reaches well past its first
	// expiry: without them another claim would have taken the run over.
	var last time.Time
	for range 4 {
		last = <-spy.extended
	}
	stored, err := b.store.RunGet(context.Background(), run.ID)
	require.NoError(t, err)
	require.Equal(t, workflow.RunRunning, stored.Status)
	require.Greater(t, last.Sub(*stored.StartedAt), 300*time.Millisecond)
	close(release)
	b.waitStatus(t, run.ID, workflow.RunCompleted)
	execs := b.executions(t, run.ID)
	require.Len(t, execs, 1, "nobody took the run over while its step ran")
	require.Len(t, b.probe.requests("a"), 1)
}

func TestLostLeaseCancelsTheRunningStep(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *setupOptions) {
		o.config = func(c *engine.Config) { c.LeaseFor = 150 * time.Millisecond }
	})
	b.put(t, chain("stolen", map[string]any{"id": "a", "timeout": "10s"}))
	entered := make(chan struct{})
	stopped := make(chan error, 1)
	b.probe.on("a", func(ctx context.Context, _ *step.Request) (*step.Result, error) {
		close(entered)
		<-ctx.Done()
		stopped <- ctx.Err()
		return nil, ctx.Err()
	})
	run := b.start(t, "stolen", `{}`)
	<-entered
	// Another replica cancels the run: only the store knows.
	_, err := b.store.RunCancel(context.Background(), &workflow.RunCancelParams{RunID: run.ID, Now: time.Now()})
	require.NoError(t, err)
	require.ErrorIs(t, <-stopped, context.Canceled)
	b.waitStatus(t, run.ID, workflow.RunCancelled)
}

func TestSoleWorkerTakesOverOrphansAtStart(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *setupOptions) {
		o.noRun = true
		o.config = func(c *engine.Config) { c.SoleWorker = true }
	})
	b.put(t, chain("orphan", map[string]any{"id": "a"}))
	run := b.start(t, "orphan", `{}`)
	// A process that claimed the run for an hour, then died.
	claimed, err := b.store.RunClaim(context.Background(), &workflow.RunClaimParams{
		Owner: "crashed", Limit: 1, LeaseFor: time.Hour, Now: time.Now(), NewExecutionID: func() string { return "x-" + run.ID },
	})
	require.NoError(t, err)
	require.Len(t, claimed, 1)

	b.run(t, b.engine)
	b.waitStatus(t, run.ID, workflow.RunCompleted)
	execs := b.executions(t, run.ID)
	require.Len(t, execs, 2)
	require.Equal(t, workflow.StepInterrupted, execs[0].Status)
	require.Equal(t, workflow.StepCompleted, execs[1].Status)
}

func TestRestartUnderTheSameOwnerTakesOverItsRuns(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *setupOptions) {
		o.noRun = true
		o.config = func(c *engine.Config) { c.Owner = "pod-7" }
	})
	b.put(t, chain("same-owner", map[string]any{"id": "a"}))
	mine := b.start(t, "same-owner", `{}`)
	ctx := context.Background()
	_, err := b.store.RunClaim(ctx, &workflow.RunClaimParams{Owner: "pod-7", Limit: 1, LeaseFor: time.Hour, Now: time.Now()})
	require.NoError(t, err)
	theirs := b.start(t, "same-owner", `{}`)
	_, err = b.store.RunClaim(ctx, &workflow.RunClaimParams{Owner: "pod-8", Limit: 1, LeaseFor: time.Hour, Now: time.Now()})
	require.NoError(t, err)

	b.run(t, b.engine)
	b.waitStatus(t, mine.ID, workflow.RunCompleted)
	stillTheirs, err := b.store.RunGet(ctx, theirs.ID)
	require.NoError(t, err)
	require.Equal(t, workflow.RunRunning, stillTheirs.Status, "another live owner's lease is respected")
	require.Equal(t, "pod-8", stillTheirs.LeaseOwner)
}
