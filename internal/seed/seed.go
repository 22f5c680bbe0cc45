// Package seed holds the demo workflows that `sluice serve` installs at
// start-up, so that a fresh installation has something to trigger:
//
//   - ai-triage-flow (webhook ai-triage): the mock AI provider classifies a
//     ticket, a condition on input.amount escalates large ones, and a
//     queue_publish step announces the outcome through the outbox.
//   - delayed-followup (webhook delayed-followup): waits two seconds
//     (durably: the run is parked in the database), then publishes a
//     follow-up message.
//   - flaky-demo (webhook flaky-demo): an AI step that fails when the input
//     asks it to, to see a dead letter and replay it with a corrected input.
//
// Every seed needs nothing outside the process: the AI provider is the mock,
// and published messages stay in the outbox when no broker is configured.
package seed

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"

	"github.com/sluicehq/sluice/internal/workflow"
)

//go:embed workflows/*.json
var files embed.FS

// Installer stores workflow definitions; *engine.Engine implements it.
type Installer interface {
	PutWorkflow(ctx context.Context, raw []byte) (*workflow.WorkflowVersion, bool, error)
	Store() workflow.Store
}

// Workflow is one seed definition.
type Workflow struct {
	// Name is the file name, e.g. "ai-triage-flow.json".
	Name string
	// Definition is the DSL document.
	Definition []byte
}

// Workflows returns the seed definitions, ordered by file name.
func Workflows() ([]Workflow, error) {
	names, err := fs.Glob(files, "workflows/*.json")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]Workflow, 0, len(names))
	for _, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out = append(out, Workflow{Name: path.Base(n), Definition: b})
	}
	return out, nil
}

// Install stores every seed definition through the engine. It is
// idempotent: an unchanged definition creates no new version. A seed
// workflow that was deleted (disabled) through the API stays deleted. A
// seed that cannot be installed (for example because another workflow
// already uses its webhook key) is logged and skipped; only database
// failures are returned.
func Install(ctx context.Context, inst Installer, log *slog.Logger) error {
	seeds, err := Workflows()
	if err != nil {
		return fmt.Errorf("read seed workflows: %w", err)
	}
	for _, s := range seeds {
		id, err := workflowID(s.Definition)
		if err != nil {
			return fmt.Errorf("seed %s: %w", s.Name, err)
		}
		existing, err := inst.Store().WorkflowGet(ctx, &workflow.WorkflowGetParams{ID: id})
		switch {
		case err == nil && !existing.Enabled:
			log.Info("seed workflow was deleted; not reinstalling", "workflow", id)
			continue
		case err != nil && !workflow.IsCode(err, workflow.ENOTFOUND):
			return fmt.Errorf("seed %s: %w", id, err)
		}
		v, created, err := inst.PutWorkflow(ctx, s.Definition)
		switch {
		case err == nil:
			log.Info("seed workflow installed", "workflow", v.WorkflowID, "version", v.Version, "created", created, "trigger", v.TriggerKey)
		case workflow.IsCode(err, workflow.ECONFLICT), workflow.IsCode(err, workflow.EINVALID):
			log.Warn("seed workflow skipped", "workflow", id, "err", err)
		default:
			return fmt.Errorf("seed %s: %w", id, err)
		}
	}
	return nil
}

// workflowID returns the id of a definition.
func workflowID(raw []byte) (string, error) {
	var head struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(raw, &head); err != nil || head.ID == "" {
		return "", fmt.Errorf("definition has no id")
	}
	return head.ID, nil
}
