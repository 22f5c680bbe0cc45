package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sluicehq/sluice/internal/workflow"
)

type workflowPutInput struct {
	ID      string `path:"id" example:"ai-triage-flow" doc:"Workflow id; must equal the definition's id."`
	RawBody []byte `contentType:"application/json" doc:"The workflow definition (DSL document)."`
}

// WorkflowSaved answers PUT /api/workflows/{id}.
type WorkflowSaved struct {
	Workflow
	Created bool `json:"created" doc:"True when this request stored a new version (201); false when the definition was unchanged (200)."`
}

type workflowPutOutput struct {
	Status int
	Body   WorkflowSaved
}

type workflowIDInput struct {
	ID string `path:"id" example:"ai-triage-flow" doc:"Workflow id."`
}

type workflowGetInput struct {
	ID      string `path:"id" example:"ai-triage-flow" doc:"Workflow id."`
	Version int    `query:"version" minimum:"0" doc:"A version number; omitted or 0 means the latest."`
}

type workflowOutput struct{ Body Workflow }

// WorkflowList lists workflows.
type WorkflowList struct {
	Items []Workflow `json:"items" doc:"The latest version of every workflow, disabled ones included, ordered by id."`
}

type workflowListOutput struct{ Body WorkflowList }

type rawBodyInput struct {
	RawBody []byte `contentType:"application/json" doc:"The workflow definition (DSL document)."`
}

// Validation answers a valid definition.
type Validation struct {
	Valid bool `json:"valid" doc:"Always true; invalid definitions get a 422 problem listing every error."`
}

type validationOutput struct{ Body Validation }

const invalidDoc = " An invalid definition gets 422 with every problem in errors[], each with a JSON pointer path."

func (s *Server) registerWorkflows() {
	definition := s.registerDefinitionSchema()
	huma.Register(s.api, rawJSONOp(huma.Operation{
		OperationID: "put-workflow",
		Method:      http.MethodPut,
		Path:        "/api/workflows/{id}",
		Summary:     "Create or update a workflow",
		Description: "Stores the definition as the workflow's next version and enables its trigger. " +
			"201 when a new version was created, 200 when the definition equals the latest version (nothing stored). " +
			"The id in the path must equal the definition's id." + invalidDoc,
		Tags:   []string{"Workflows"},
		Errors: []int{http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity},
	}), s.putWorkflow)
	s.documentRawJSON("/api/workflows/{id}", http.MethodPut, definition)

	huma.Register(s.api, rawJSONOp(huma.Operation{
		OperationID: "validate-workflow",
		Method:      http.MethodPost,
		Path:        "/api/workflows/validate",
		Summary:     "Validate a workflow definition",
		Description: "Checks a definition against the DSL and the registered step types without storing it." + invalidDoc,
		Tags:        []string{"Workflows"},
		Errors:      []int{http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity},
	}), func(ctx context.Context, in *rawBodyInput) (*validationOutput, error) {
		if err := checkJSON(in.RawBody); err != nil {
			return nil, s.fail(ctx, err)
		}
		if err := s.engine.ValidateWorkflow(in.RawBody); err != nil {
			return nil, s.fail(ctx, err)
		}
		return &validationOutput{Body: Validation{Valid: true}}, nil
	})
	s.documentRawJSON("/api/workflows/validate", http.MethodPost, definition)

	huma.Register(s.api, op(huma.Operation{
		OperationID: "list-workflows",
		Method:      http.MethodGet,
		Path:        "/api/workflows",
		Summary:     "List workflows",
		Tags:        []string{"Workflows"},
	}), func(ctx context.Context, _ *struct{}) (*workflowListOutput, error) {
		vs, err := s.store.WorkflowList(ctx)
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		out := &workflowListOutput{Body: WorkflowList{Items: make([]Workflow, 0, len(vs))}}
		for _, v := range vs {
			out.Body.Items = append(out.Body.Items, workflowOut(v, false))
		}
		return out, nil
	})

	huma.Register(s.api, op(huma.Operation{
		OperationID: "get-workflow",
		Method:      http.MethodGet,
		Path:        "/api/workflows/{id}",
		Summary:     "Get a workflow",
		Description: "Returns the latest version of a workflow, or the version given by ?version=N, with its definition.",
		Tags:        []string{"Workflows"},
		Errors:      []int{http.StatusNotFound},
	}), func(ctx context.Context, in *workflowGetInput) (*workflowOutput, error) {
		v, err := s.store.WorkflowGet(ctx, &workflow.WorkflowGetParams{ID: in.ID, Version: in.Version})
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		return &workflowOutput{Body: workflowOut(v, true)}, nil
	})

	huma.Register(s.api, op(huma.Operation{
		OperationID:   "delete-workflow",
		Method:        http.MethodDelete,
		Path:          "/api/workflows/{id}",
		Summary:       "Disable a workflow",
		Description:   "Disables the workflow's trigger: new starts get 404. Versions and runs are kept; running runs continue. PUT the workflow again to re-enable it.",
		Tags:          []string{"Workflows"},
		DefaultStatus: http.StatusNoContent,
		Errors:        []int{http.StatusNotFound},
	}), func(ctx context.Context, in *workflowIDInput) (*struct{}, error) {
		if err := s.engine.DisableWorkflow(ctx, in.ID); err != nil {
			return nil, s.fail(ctx, err)
		}
		return nil, nil
	})
}

// putWorkflow stores a definition after checking that the path and body ids
// agree.
func (s *Server) putWorkflow(ctx context.Context, in *workflowPutInput) (*workflowPutOutput, error) {
	if err := checkJSON(in.RawBody); err != nil {
		return nil, s.fail(ctx, err)
	}
	var head struct {
		ID *string `json:"id"`
	}
	_ = json.Unmarshal(in.RawBody, &head) // not an object: the DSL reports it
	if head.ID != nil && *head.ID != in.ID {
		mismatch := workflow.FieldError{Path: "/id", Message: fmt.Sprintf("must equal the id in the URL path %q, got %q", in.ID, *head.ID)}
		fields := []workflow.FieldError{mismatch}
		fields = append(fields, workflow.ErrorFields(s.engine.ValidateWorkflow(in.RawBody))...)
		return nil, s.fail(ctx, workflow.Invalid("invalid workflow definition", fields...))
	}
	v, created, err := s.engine.PutWorkflow(ctx, in.RawBody)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	out := &workflowPutOutput{Status: http.StatusOK, Body: WorkflowSaved{Workflow: workflowOut(v, true), Created: created}}
	if created {
		out.Status = http.StatusCreated
	}
	return out, nil
}
