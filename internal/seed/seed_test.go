package seed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/workflow"
)

// The seeds are validated against the real step registry and run end to
// end by the tests of internal/cli. These tests cover Install's policy.

func TestWorkflows(t *testing.T) {
	t.Parallel()
	ws, err := Workflows()
	require.NoError(t, err)
	var names []string
	for _, w := range ws {
		names = append(names, w.Name)
		var doc struct {
			ID string `json:"id"`
		}
		require.NoError(t, json.Unmarshal(w.Definition, &doc), w.Name)
		require.Equal(t, w.Name, doc.ID+".json", "file name matches the workflow id")
	}
	require.Equal(t, []string{"ai-triage-flow.json", "delayed-followup.json", "flaky-demo.json"}, names)
}

// fakeStore is the installer's store; the embedded nil Store panics on
// anything Install should not call.
type fakeStore struct {
	workflow.Store
	f *fakeInstaller
}

func (s fakeStore) WorkflowGet(ctx context.Context, p *workflow.WorkflowGetParams) (*workflow.WorkflowVersion, error) {
	return s.f.workflowGet(ctx, p)
}

// fakeInstaller records puts.
type fakeInstaller struct {
	existing map[string]*workflow.WorkflowVersion
	getErr   error
	putErr   map[string]error
	put      []string
}

func (f *fakeInstaller) Store() workflow.Store { return fakeStore{f: f} }

func (f *fakeInstaller) workflowGet(_ context.Context, p *workflow.WorkflowGetParams) (*workflow.WorkflowVersion, error) {
	if f.getErr != nil {
		return nil, f.getErr
	}
	if v, ok := f.existing[p.ID]; ok {
		return v, nil
	}
	return nil, workflow.Errorf(workflow.ENOTFOUND, "workflow %s not found", p.ID)
}

func (f *fakeInstaller) PutWorkflow(_ context.Context, raw []byte) (*workflow.WorkflowVersion, bool, error) {
	id, err := workflowID(raw)
	if err != nil {
		return nil, false, err
	}
	if err := f.putErr[id]; err != nil {
		return nil, false, err
	}
	f.put = append(f.put, id)
	return &workflow.WorkflowVersion{WorkflowID: id, Version: 1}, true, nil
}

func TestInstall(t *testing.T) {
	t.Parallel()

	t.Run("installs every seed", func(t *testing.T) {
		f := &fakeInstaller{}
		require.NoError(t, Install(context.Background(), f, slog.New(slog.DiscardHandler)))
		require.Equal(t, []string{"ai-triage-flow", "delayed-followup", "flaky-demo"}, f.put)
	})

	t.Run("a deleted seed stays deleted", func(t *testing.T) {
		f := &fakeInstaller{existing: map[string]*workflow.WorkflowVersion{"flaky-demo": {WorkflowID: "flaky-demo", Enabled: false}}}
		require.NoError(t, Install(context.Background(), f, slog.New(slog.DiscardHandler)))
		require.Equal(t, []string{"ai-triage-flow", "delayed-followup"}, f.put)
	})

	t.Run("a seed that conflicts is skipped with a warning", func(t *testing.T) {
		var log bytes.Buffer
		f := &fakeInstaller{putErr: map[string]error{"ai-triage-flow": workflow.Errorf(workflow.ECONFLICT, "trigger key ai-triage is used by mine")}}
		require.NoError(t, Install(context.Background(), f, slog.New(slog.NewTextHandler(&log, nil))))
		require.Equal(t, []string{"delayed-followup", "flaky-demo"}, f.put)
		require.Contains(t, log.String(), "seed workflow skipped")
		require.Contains(t, log.String(), "ai-triage is used by mine")
	})

	t.Run("database failures are returned", func(t *testing.T) {
		f := &fakeInstaller{getErr: workflow.Errorf(workflow.EUNAVAILABLE, "database is locked")}
		err := Install(context.Background(), f, slog.New(slog.DiscardHandler))
		require.True(t, workflow.IsCode(err, workflow.EUNAVAILABLE), "%v", err)

		f = &fakeInstaller{putErr: map[string]error{"delayed-followup": errors.New("disk full")}}
		require.ErrorContains(t, Install(context.Background(), f, slog.New(slog.DiscardHandler)), "disk full")
	})
}
