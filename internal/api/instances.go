package api

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sluicehq/sluice/internal/dsl"
	"github.com/sluicehq/sluice/internal/engine"
	"github.com/sluicehq/sluice/internal/workflow"
)

type instanceListInput struct {
	WorkflowID string `query:"workflowId" example:"ai-triage-flow" doc:"Only runs of this workflow."`
	Status     string `query:"status" enum:"pending,running,waiting,completed,dead_lettered,cancelled" doc:"Only runs in this status."`
	Limit      int    `query:"limit" minimum:"1" maximum:"1000" default:"50" doc:"Page size."`
	Cursor     string `query:"cursor" doc:"nextCursor of the previous page."`
}

// InstanceList is one page of runs.
type InstanceList struct {
	Items      []Instance `json:"items" doc:"Runs, newest first."`
	NextCursor string     `json:"nextCursor,omitempty" doc:"Pass as ?cursor= for the next page; absent on the last page."`
}

type instanceListOutput struct{ Body InstanceList }

type instanceIDInput struct {
	ID string `path:"id" doc:"Run id."`
}

type instanceOutput struct{ Body Instance }

type instanceDetailOutput struct{ Body InstanceDetail }

// ReplayRequest asks for a replay.
type ReplayRequest struct {
	From  string          `json:"from" enum:"start,failed_step" doc:"start re-runs every step; failed_step re-runs the step the run stopped at, keeping the outputs of the steps before it."`
	Input json.RawMessage `json:"input,omitempty" doc:"Replaces the run's input when present (any JSON value)."`
}

type instanceReplayInput struct {
	ID   string `path:"id" doc:"Run id."`
	Body ReplayRequest
}

func (s *Server) registerInstances() {
	huma.Register(s.api, op(huma.Operation{
		OperationID: "list-instances",
		Method:      http.MethodGet,
		Path:        "/api/instances",
		Summary:     "List runs",
		Description: "Lists runs newest first, one page at a time.",
		Tags:        []string{"Instances"},
	}), func(ctx context.Context, in *instanceListInput) (*instanceListOutput, error) {
		page, err := s.store.RunList(ctx, &workflow.RunListParams{
			WorkflowID: in.WorkflowID,
			Status:     workflow.RunStatus(in.Status),
			Limit:      in.Limit,
			Cursor:     in.Cursor,
		})
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		out := &instanceListOutput{Body: InstanceList{Items: make([]Instance, 0, len(page.Runs)), NextCursor: page.NextCursor}}
		for _, r := range page.Runs {
			out.Body.Items = append(out.Body.Items, instanceOut(r))
		}
		return out, nil
	})

	huma.Register(s.api, op(huma.Operation{
		OperationID: "get-instance",
		Method:      http.MethodGet,
		Path:        "/api/instances/{id}",
		Summary:     "Get a run",
		Description: "Returns a run with every step execution (all generations) and its replay history.",
		Tags:        []string{"Instances"},
		Errors:      []int{http.StatusNotFound},
	}), func(ctx context.Context, in *instanceIDInput) (*instanceDetailOutput, error) {
		run, err := s.store.RunGet(ctx, in.ID)
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		execs, err := s.store.StepExecutionList(ctx, in.ID)
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		replays, err := s.store.ReplayList(ctx, in.ID)
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		s.fillStepTypes(ctx, run, execs)
		d := InstanceDetail{Instance: instanceOut(run), Steps: make([]StepExecution, 0, len(execs)), Replays: make([]Replay, 0, len(replays))}
		for _, e := range execs {
			d.Steps = append(d.Steps, stepOut(e))
		}
		for _, r := range replays {
			d.Replays = append(d.Replays, replayOut(r))
		}
		return &instanceDetailOutput{Body: d}, nil
	})

	huma.Register(s.api, op(huma.Operation{
		OperationID: "cancel-instance",
		Method:      http.MethodPost,
		Path:        "/api/instances/{id}/cancel",
		Summary:     "Cancel a run",
		Description: "Cancels a pending, waiting or running run; a step running now is told through its context and its result is discarded. 409 when the run is already completed, dead-lettered or cancelled.",
		Tags:        []string{"Instances"},
		Errors:      []int{http.StatusNotFound, http.StatusConflict},
	}), func(ctx context.Context, in *instanceIDInput) (*instanceOutput, error) {
		run, err := s.engine.Cancel(ctx, in.ID, "cancelled through the API")
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		return &instanceOutput{Body: instanceOut(run)}, nil
	})

	huma.Register(s.api, op(huma.Operation{
		OperationID: "replay-instance",
		Method:      http.MethodPost,
		Path:        "/api/instances/{id}/replay",
		Summary:     "Replay a run",
		Description: "Restarts a completed, dead-lettered or cancelled run as a new generation, optionally with a new input. " +
			"409 when the run is not terminal, or for from=failed_step on a completed run.",
		Tags:   []string{"Instances"},
		Errors: []int{http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity},
	}), func(ctx context.Context, in *instanceReplayInput) (*instanceOutput, error) {
		run, err := s.engine.Replay(ctx, &engine.ReplayParams{
			RunID:       in.ID,
			From:        workflow.ReplayFrom(in.Body.From),
			Input:       in.Body.Input,
			RequestedBy: "api:" + RequestID(ctx),
		})
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		return &instanceOutput{Body: instanceOut(run)}, nil
	})
}

// fillStepTypes names the type of step executions recorded without one (the
// store records interrupted attempts at claim time, without reading the
// definition): from another execution of the same step, else from the run's
// workflow version.
func (s *Server) fillStepTypes(ctx context.Context, run *workflow.Run, execs []*workflow.StepExecution) {
	types := map[string]string{}
	missing := false
	for _, e := range execs {
		if e.StepType != "" {
			types[e.StepID] = e.StepType
		} else {
			missing = true
		}
	}
	if !missing {
		return
	}
	loaded := false
	for _, e := range execs {
		if e.StepType != "" {
			continue
		}
		if _, ok := types[e.StepID]; !ok && !loaded {
			s.stepTypesFromDefinition(ctx, run, types) // read the definition once at most
			loaded = true
		}
		e.StepType = types[e.StepID]
	}
}

func (s *Server) stepTypesFromDefinition(ctx context.Context, run *workflow.Run, types map[string]string) {
	v, err := s.store.WorkflowGet(ctx, &workflow.WorkflowGetParams{ID: run.WorkflowID, Version: run.WorkflowVersion})
	if err != nil {
		return
	}
	doc, err := dsl.Parse(v.Definition)
	if err != nil {
		return
	}
	for _, st := range doc.Steps {
		if _, ok := types[st.ID]; !ok {
			types[st.ID] = st.Type
		}
	}
}
