package sqlite

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/internal/store/storetest"
	"github.com/sluicehq/sluice/internal/workflow"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// openTest opens a store in a temp dir, closed when the test ends.
func openTest(tb testing.TB, cfg Config) *Store {
	tb.Helper()
	s, err := Open(context.Background(), filepath.Join(tb.TempDir(), "sluice.db"), cfg)
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, s.Close()) })
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) workflow.Store { return openTest(t, Config{}) })
}

// TestConformanceNoBatching runs the suite with group commit reduced to one
// write per transaction.
func TestConformanceNoBatching(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) workflow.Store { return openTest(t, Config{MaxBatch: 1}) })
}

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sluice.db")
	s, err := Open(t.Context(), path, Config{})
	require.NoError(t, err)
	require.NoError(t, s.Migrate(t.Context()))
	require.NoError(t, s.Close())

	// Reopening an up-to-date database without migrating works.
	s, err = Open(t.Context(), path, Config{SkipMigrations: true})
	require.NoError(t, err)
	require.NoError(t, s.Ping(t.Context()))
	require.NoError(t, s.Close())
}

func TestOpenUnmigratedThenMigrate(t *testing.T) {
	t.Parallel()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "sluice.db"), Config{SkipMigrations: true})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	_, err = s.RunGet(t.Context(), "r")
	require.Equal(t, workflow.EUNAVAILABLE, workflow.ErrorCode(err), "%v", err)
	require.Contains(t, workflow.ErrorMessage(err), "sluice migrate")
	_, _, err = s.WorkflowPut(t.Context(), &workflow.WorkflowPutParams{
		ID: "wf", Definition: json.RawMessage(`{}`), Hash: "h", Now: time.Now(),
	})
	require.Equal(t, workflow.EUNAVAILABLE, workflow.ErrorCode(err), "%v", err)

	require.NoError(t, s.Migrate(t.Context()))
	putWorkflow(t, s)
	p := startParams(time.Now())
	_, _, err = s.RunStart(t.Context(), p)
	require.NoError(t, err)
	_, err = s.RunGet(t.Context(), p.ID)
	require.NoError(t, err)
}

func TestOpenInvalid(t *testing.T) {
	t.Parallel()
	_, err := Open(t.Context(), "", Config{})
	require.Equal(t, workflow.EINVALID, workflow.ErrorCode(err))
	_, err = Open(t.Context(), filepath.Join(t.TempDir(), "a?b"), Config{})
	require.Equal(t, workflow.EINVALID, workflow.ErrorCode(err))
	_, err = Open(t.Context(), filepath.Join(t.TempDir(), "sluice.db"), Config{MaxBatch: -1})
	require.Equal(t, workflow.EINVALID, workflow.ErrorCode(err))
	_, err = Open(t.Context(), filepath.Join(t.TempDir(), "missing", "sluice.db"), Config{})
	require.Equal(t, workflow.EUNAVAILABLE, workflow.ErrorCode(err), "%v", err)
}

func TestClosed(t *testing.T) {
	t.Parallel()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "sluice.db"), Config{})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	require.Equal(t, workflow.EUNAVAILABLE, workflow.ErrorCode(s.Ping(t.Context())))
	_, _, err = s.RunStart(t.Context(), &workflow.RunStartParams{ID: "r", WorkflowID: "w"})
	require.Equal(t, workflow.EUNAVAILABLE, workflow.ErrorCode(err))
	_, err = s.RunGet(t.Context(), "r")
	require.Equal(t, workflow.EUNAVAILABLE, workflow.ErrorCode(err), "%v", err)
}

// TestCloseWhileWriting closes the store under concurrent writers: every call
// returns, with a result or EUNAVAILABLE, and no goroutine is left behind.
func TestCloseWhileWriting(t *testing.T) {
	t.Parallel()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "sluice.db"), Config{})
	require.NoError(t, err)
	putWorkflow(t, s)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for {
				_, _, err := s.RunStart(context.Background(), startParams(time.Now()))
				if err != nil {
					if workflow.ErrorCode(err) != workflow.EUNAVAILABLE {
						t.Errorf("unexpected error: %v", err)
					}
					return
				}
			}
		})
	}
	// Let some writes through before closing.
	for {
		page, err := s.RunList(t.Context(), &workflow.RunListParams{Limit: 100})
		require.NoError(t, err)
		if len(page.Runs) >= 100 {
			break
		}
	}
	require.NoError(t, s.Close())
	wg.Wait()
}

func TestCallerContextCancelled(t *testing.T) {
	t.Parallel()
	s := openTest(t, Config{})
	putWorkflow(t, s)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	p := startParams(time.Now())
	_, _, err := s.RunStart(ctx, p)
	require.ErrorIs(t, err, context.Canceled)
	_, err = s.RunGet(t.Context(), p.ID)
	require.Equal(t, workflow.ENOTFOUND, workflow.ErrorCode(err))
}

// TestJSONExactBytes checks that SQLite keeps JSON documents byte for byte
// (the suite only requires equal JSON, which PostgreSQL jsonb also gives).
func TestJSONExactBytes(t *testing.T) {
	t.Parallel()
	s := openTest(t, Config{})
	putWorkflow(t, s)
	p := startParams(time.Now())
	p.Input = json.RawMessage("{ \"b\" : 1,\n  \"a\": [ 1.50, \"\\u00e9\" ] }")
	_, _, err := s.RunStart(t.Context(), p)
	require.NoError(t, err)
	run, err := s.RunGet(t.Context(), p.ID)
	require.NoError(t, err)
	require.Equal(t, string(p.Input), string(run.Input))
}

func TestErrorsAreWrapped(t *testing.T) {
	t.Parallel()
	s := openTest(t, Config{})
	_, err := s.RunGet(t.Context(), "nope")
	require.Equal(t, workflow.ENOTFOUND, workflow.ErrorCode(err))
	require.Contains(t, err.Error(), "sqlite: get run")
	require.Equal(t, "run nope not found", workflow.ErrorMessage(err))
}

func putWorkflow(tb testing.TB, s *Store) {
	tb.Helper()
	_, _, err := s.WorkflowPut(context.Background(), &workflow.WorkflowPutParams{
		ID: "wf", Name: "wf", TriggerType: workflow.TriggerWebhook, TriggerKey: "hook",
		Definition: json.RawMessage(`{"id":"wf"}`), Hash: "h", Now: time.Now(),
	})
	require.NoError(tb, err)
}

func startParams(now time.Time) *workflow.RunStartParams {
	return &workflow.RunStartParams{
		ID: newID(), WorkflowID: "wf", WorkflowVersion: 1, StartStepID: "s1", TriggerKey: "hook",
		IdempotencyKey: newID(), RequestHash: "h", Input: json.RawMessage(`{"ticket":{"id":42,"text":"printer on fire"}}`),
		Now: now,
	}
}

func TestExclusiveOpenLocksOutOtherProcesses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sluice.db")
	first, err := Open(ctx, path, Config{Exclusive: true})
	require.NoError(t, err)

	_, err = Open(ctx, path, Config{Exclusive: true})
	require.Equal(t, workflow.ECONFLICT, workflow.ErrorCode(err), "%v", err)
	require.ErrorContains(t, err, "in use by another sluice process")

	shared, err := Open(ctx, path, Config{})
	require.NoError(t, err, "tools that do not run workflows (migrate, workflows apply) still open it")
	require.NoError(t, shared.Close())

	require.NoError(t, first.Close())
	again, err := Open(ctx, path, Config{Exclusive: true})
	require.NoError(t, err, "closing releases the lock")
	require.NoError(t, again.Close())
}
