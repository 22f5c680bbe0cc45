package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/workflow"
)

var workflowTests = map[string]func(t *testing.T, b *bundle){
	"PutNew": func(t *testing.T, b *bundle) {
		p := b.putParams("wf-new", "hook-new", "h1")
		v, created, err := b.store.WorkflowPut(b.ctx, p)
		require.NoError(t, err)
		require.True(t, created)
		require.Equal(t, "wf-new", v.WorkflowID)
		require.Equal(t, 1, v.Version)
		require.Equal(t, 1, v.LatestVersion)
		require.Equal(t, p.Name, v.Name)
		require.Equal(t, workflow.TriggerWebhook, v.TriggerType)
		require.Equal(t, "hook-new", v.TriggerKey)
		require.Equal(t, "h1", v.Hash)
		require.True(t, v.Enabled)
		requireJSON(t, string(p.Definition), v.Definition)
		requireTime(t, t0, v.CreatedAt)

		got, err := b.store.WorkflowGet(b.ctx, &workflow.WorkflowGetParams{ID: "wf-new"})
		require.NoError(t, err)
		require.Equal(t, v.Version, got.Version)
		require.Equal(t, v.Hash, got.Hash)
		require.Equal(t, v.Name, got.Name)
		require.True(t, got.Enabled)
		requireJSON(t, string(p.Definition), got.Definition)
		requireTime(t, t0, got.CreatedAt)
	},
	"PutUnchangedKeepsVersion": func(t *testing.T, b *bundle) {
		p := b.putParams("wf-a", "hook-a", "hash-1")
		p.Now = at(time.Hour)
		v, created, err := b.store.WorkflowPut(b.ctx, p)
		require.NoError(t, err)
		require.False(t, created)
		require.Equal(t, 1, v.Version)
		require.Equal(t, 1, v.LatestVersion)
		requireTime(t, t0, v.CreatedAt)
	},
	"PutChangedAddsVersion": func(t *testing.T, b *bundle) {
		p := b.putParams("wf-a", "hook-a", "hash-2")
		p.Name = "Renamed"
		p.Now = at(time.Hour)
		v, created, err := b.store.WorkflowPut(b.ctx, p)
		require.NoError(t, err)
		require.True(t, created)
		require.Equal(t, 2, v.Version)
		require.Equal(t, 2, v.LatestVersion)
		require.Equal(t, "Renamed", v.Name)
		requireTime(t, at(time.Hour), v.CreatedAt)

		latest, err := b.store.WorkflowGet(b.ctx, &workflow.WorkflowGetParams{ID: "wf-a"})
		require.NoError(t, err)
		require.Equal(t, 2, latest.Version)
		require.Equal(t, "hash-2", latest.Hash)
		requireJSON(t, string(p.Definition), latest.Definition)

		first, err := b.store.WorkflowGet(b.ctx, &workflow.WorkflowGetParams{ID: "wf-a", Version: 1})
		require.NoError(t, err)
		require.Equal(t, 1, first.Version)
		require.Equal(t, 2, first.LatestVersion)
		require.Equal(t, "hash-1", first.Hash)
		require.Equal(t, "Workflow wf-a", first.Name)
		requireJSON(t, string(definition("wf-a", "hook-a", "hash-1")), first.Definition)

		// Going back to the first definition is a change too.
		p = b.putParams("wf-a", "hook-a", "hash-1")
		v, created, err = b.store.WorkflowPut(b.ctx, p)
		require.NoError(t, err)
		require.True(t, created)
		require.Equal(t, 3, v.Version)
	},
	"GetNotFound": func(t *testing.T, b *bundle) {
		_, err := b.store.WorkflowGet(b.ctx, &workflow.WorkflowGetParams{ID: "nope"})
		requireCode(t, err, workflow.ENOTFOUND)
		_, err = b.store.WorkflowGet(b.ctx, &workflow.WorkflowGetParams{ID: "nope", Version: 1})
		requireCode(t, err, workflow.ENOTFOUND)
		_, err = b.store.WorkflowGet(b.ctx, &workflow.WorkflowGetParams{ID: "wf-a", Version: 2})
		requireCode(t, err, workflow.ENOTFOUND)
		_, err = b.store.WorkflowGetByTrigger(b.ctx, "nope")
		requireCode(t, err, workflow.ENOTFOUND)
	},
	"GetByTrigger": func(t *testing.T, b *bundle) {
		b.putWorkflow(t, "wf-a", "hook-a", "hash-2")
		b.putWorkflow(t, "wf-manual", "", "h1")
		v, err := b.store.WorkflowGetByTrigger(b.ctx, "hook-a")
		require.NoError(t, err)
		require.Equal(t, "wf-a", v.WorkflowID)
		require.Equal(t, 2, v.Version)
		_, err = b.store.WorkflowGetByTrigger(b.ctx, "")
		requireCode(t, err, workflow.ENOTFOUND)
	},
	"List": func(t *testing.T, b *bundle) {
		b.putWorkflow(t, "wf-c", "hook-c", "h1")
		b.putWorkflow(t, "wf-b", "hook-b", "h1")
		b.putWorkflow(t, "wf-b", "hook-b", "h2")
		require.NoError(t, b.store.WorkflowDisable(b.ctx, &workflow.WorkflowDisableParams{ID: "wf-c", Now: t0}))
		list, err := b.store.WorkflowList(b.ctx)
		require.NoError(t, err)
		require.Len(t, list, 3)
		var ids []string
		for _, v := range list {
			ids = append(ids, v.WorkflowID)
		}
		require.Equal(t, []string{"wf-a", "wf-b", "wf-c"}, ids)
		require.Equal(t, 2, list[1].Version)
		require.Equal(t, "h2", list[1].Hash)
		require.True(t, list[0].Enabled)
		require.False(t, list[2].Enabled)
	},
	"DisableAndReEnable": func(t *testing.T, b *bundle) {
		require.NoError(t, b.store.WorkflowDisable(b.ctx, &workflow.WorkflowDisableParams{ID: "wf-a", Now: at(time.Minute)}))
		_, err := b.store.WorkflowGetByTrigger(b.ctx, "hook-a")
		requireCode(t, err, workflow.ENOTFOUND)

		v, err := b.store.WorkflowGet(b.ctx, &workflow.WorkflowGetParams{ID: "wf-a"})
		require.NoError(t, err)
		require.False(t, v.Enabled)
		require.Equal(t, 1, v.Version)

		// Disabling twice is fine.
		require.NoError(t, b.store.WorkflowDisable(b.ctx, &workflow.WorkflowDisableParams{ID: "wf-a", Now: at(time.Minute)}))

		// Re-putting the unchanged definition re-enables without a new version.
		v, created, err := b.store.WorkflowPut(b.ctx, b.putParams("wf-a", "hook-a", "hash-1"))
		require.NoError(t, err)
		require.False(t, created)
		require.True(t, v.Enabled)
		require.Equal(t, 1, v.Version)
		v, err = b.store.WorkflowGetByTrigger(b.ctx, "hook-a")
		require.NoError(t, err)
		require.Equal(t, "wf-a", v.WorkflowID)

		// Re-putting a changed definition re-enables with a new version.
		require.NoError(t, b.store.WorkflowDisable(b.ctx, &workflow.WorkflowDisableParams{ID: "wf-a", Now: at(time.Minute)}))
		v, created, err = b.store.WorkflowPut(b.ctx, b.putParams("wf-a", "hook-a", "hash-2"))
		require.NoError(t, err)
		require.True(t, created)
		require.True(t, v.Enabled)
		require.Equal(t, 2, v.Version)
	},
	"DisableNotFound": func(t *testing.T, b *bundle) {
		err := b.store.WorkflowDisable(b.ctx, &workflow.WorkflowDisableParams{ID: "nope", Now: t0})
		requireCode(t, err, workflow.ENOTFOUND)
	},
	"TriggerKeyConflict": func(t *testing.T, b *bundle) {
		_, _, err := b.store.WorkflowPut(b.ctx, b.putParams("wf-b", "hook-a", "h1"))
		requireCode(t, err, workflow.ECONFLICT)
		_, err = b.store.WorkflowGet(b.ctx, &workflow.WorkflowGetParams{ID: "wf-b"})
		requireCode(t, err, workflow.ENOTFOUND)

		// Once wf-a is disabled, its key is free ...
		require.NoError(t, b.store.WorkflowDisable(b.ctx, &workflow.WorkflowDisableParams{ID: "wf-a", Now: t0}))
		v := b.putWorkflow(t, "wf-b", "hook-a", "h1")
		require.Equal(t, "wf-b", v.WorkflowID)
		got, err := b.store.WorkflowGetByTrigger(b.ctx, "hook-a")
		require.NoError(t, err)
		require.Equal(t, "wf-b", got.WorkflowID)

		// ... and wf-a cannot take it back while wf-b holds it.
		_, _, err = b.store.WorkflowPut(b.ctx, b.putParams("wf-a", "hook-a", "hash-1"))
		requireCode(t, err, workflow.ECONFLICT)
		_, _, err = b.store.WorkflowPut(b.ctx, b.putParams("wf-a", "hook-a", "hash-2"))
		requireCode(t, err, workflow.ECONFLICT)

		// Manual workflows (no key) never conflict.
		b.putWorkflow(t, "wf-m1", "", "h1")
		b.putWorkflow(t, "wf-m2", "", "h1")
	},
}
