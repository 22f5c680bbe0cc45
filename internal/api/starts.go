package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sluicehq/sluice/internal/engine"
)

// idempotencyKeyDoc documents the Idempotency-Key header.
const idempotencyKeyDoc = "The Idempotency-Key header is required (400 without it). It deduplicates starts: the same key with the same body returns the run " +
	"the first request created (200, Idempotent-Replayed: true); the same key with a different body is " +
	"rejected (422). Keys are scoped to the webhook key or workflow id. At most 255 bytes."

type webhookInput struct {
	Key            string `path:"key" example:"ai-triage" doc:"The webhook key of an enabled workflow."`
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" example:"order-1234" doc:"Required. Deduplicates starts; see the operation description."`
	RawBody        []byte `contentType:"application/json" doc:"Any JSON value; it becomes the run's input."`
}

type instanceStartInput struct {
	ID             string `path:"id" example:"ai-triage-flow" doc:"Workflow id."`
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" example:"order-1234" doc:"Required. Deduplicates starts; see the operation description."`
	RawBody        []byte `contentType:"application/json" doc:"Any JSON value; it becomes the run's input."`
}

// StartResult answers a start request.
type StartResult struct {
	InstanceID      string `json:"instanceId" doc:"The run's id; poll GET /api/instances/{instanceId}."`
	WorkflowID      string `json:"workflowId" example:"ai-triage-flow"`
	WorkflowVersion int    `json:"workflowVersion" example:"1"`
	Status          string `json:"status" example:"pending" doc:"The run's status when this response was written."`
}

type startOutput struct {
	Status   int
	Replayed string `header:"Idempotent-Replayed" doc:"\"true\" when the response is the run an earlier request with the same Idempotency-Key created."`
	Body     StartResult
}

func (s *Server) registerStarts() {
	huma.Register(s.api, rawJSONOp(huma.Operation{
		OperationID:   "trigger-webhook",
		Method:        http.MethodPost,
		Path:          "/api/webhooks/{key}",
		Summary:       "Start a run through a webhook",
		Description:   "Starts a run of the enabled workflow whose trigger has this webhook key. The response is sent once the run is durably stored. " + idempotencyKeyDoc,
		Tags:          []string{"Webhooks"},
		DefaultStatus: http.StatusAccepted,
		Errors:        []int{http.StatusBadRequest, http.StatusNotFound, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity},
	}), func(ctx context.Context, in *webhookInput) (*startOutput, error) {
		return s.start(ctx, &engine.StartParams{TriggerKey: in.Key, IdempotencyKey: in.IdempotencyKey, Input: in.RawBody})
	})
	s.documentRawJSON("/api/webhooks/{key}", http.MethodPost, nil, "Idempotency-Key")

	huma.Register(s.api, rawJSONOp(huma.Operation{
		OperationID:   "start-instance",
		Method:        http.MethodPost,
		Path:          "/api/workflows/{id}/instances",
		Summary:       "Start a run by workflow id",
		Description:   "Starts a run of the latest version of an enabled workflow, whatever its trigger. " + idempotencyKeyDoc,
		Tags:          []string{"Instances"},
		DefaultStatus: http.StatusAccepted,
		Errors:        []int{http.StatusBadRequest, http.StatusNotFound, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity},
	}), func(ctx context.Context, in *instanceStartInput) (*startOutput, error) {
		return s.start(ctx, &engine.StartParams{WorkflowID: in.ID, IdempotencyKey: in.IdempotencyKey, Input: in.RawBody})
	})
	s.documentRawJSON("/api/workflows/{id}/instances", http.MethodPost, nil, "Idempotency-Key")
}

// start checks the request and starts (or finds) the run.
func (s *Server) start(ctx context.Context, p *engine.StartParams) (*startOutput, error) {
	if p.IdempotencyKey == "" {
		return nil, s.fail(ctx, badRequest("the Idempotency-Key header is required",
			FieldError{Path: "header.Idempotency-Key", Message: "required header is missing"}))
	}
	if err := checkJSON(p.Input); err != nil {
		return nil, s.fail(ctx, err)
	}
	run, existing, err := s.engine.Start(ctx, p)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	out := &startOutput{
		Status: http.StatusAccepted,
		Body: StartResult{
			InstanceID:      run.ID,
			WorkflowID:      run.WorkflowID,
			WorkflowVersion: run.WorkflowVersion,
			Status:          string(run.Status),
		},
	}
	if existing {
		out.Status = http.StatusOK
		out.Replayed = "true"
	}
	return out, nil
}

// checkJSON answers 400 unless body is one JSON value (an empty body is
// null).
func checkJSON(body []byte) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if !json.Valid(body) {
		var v any
		err := json.Unmarshal(body, &v)
		msg := "body is not valid JSON"
		if err != nil {
			msg += ": " + err.Error()
		}
		return badRequest(msg, FieldError{Path: "body", Message: msg})
	}
	return nil
}
