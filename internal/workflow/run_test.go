package workflow_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/workflow"
)

func TestStepIdempotencyKeyIsAVersion5UUID(t *testing.T) {
	t.Parallel()
	key := workflow.StepIdempotencyKey("run-1", 0, "call")
	want := uuid.NewSHA1(uuid.NameSpaceURL, []byte("sluice:run-1:0:call")).String()
	require.Equal(t, want, key)
	require.Equal(t, key, workflow.StepIdempotencyKey("run-1", 0, "call"), "stable across attempts and restarts")
	require.NotEqual(t, key, workflow.StepIdempotencyKey("run-1", 1, "call"), "new after a replay")
	require.NotEqual(t, key, workflow.StepIdempotencyKey("run-1", 0, "other"))
	require.NotEqual(t, key, workflow.StepIdempotencyKey("run-2", 0, "call"))
}

func TestRunStatusPredicates(t *testing.T) {
	t.Parallel()
	terminal := map[workflow.RunStatus]bool{workflow.RunCompleted: true, workflow.RunDeadLettered: true, workflow.RunCancelled: true}
	require.Len(t, workflow.RunStatuses, 6)
	for _, s := range workflow.RunStatuses {
		require.True(t, s.Valid())
		require.Equal(t, terminal[s], s.Terminal(), s)
		require.Equal(t, terminal[s], s.Replayable(), s)
		require.Equal(t, !terminal[s], s.Cancellable(), s)
	}
	require.False(t, workflow.RunStatus("paused").Valid())
}
