package api

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sluicehq/sluice/internal/workflow"
)

type deadLetterListInput struct {
	WorkflowID string `query:"workflowId" example:"flaky-demo" doc:"Only dead letters of this workflow."`
	Limit      int    `query:"limit" minimum:"1" maximum:"1000" default:"100" doc:"Maximum number of dead letters."`
}

// DeadLetterList lists dead letters.
type DeadLetterList struct {
	Items []DeadLetter `json:"items" doc:"Dead letters, newest first."`
}

type deadLetterListOutput struct{ Body DeadLetterList }

// DeadLetterReplayRequest asks for the replay of a dead letter's run.
type DeadLetterReplayRequest struct {
	From  string          `json:"from" enum:"start,failed_step" default:"failed_step" required:"false" doc:"Where to restart; defaults to failed_step."`
	Input json.RawMessage `json:"input,omitempty" doc:"Replaces the run's input when present (any JSON value)."`
}

type deadLetterReplayInput struct {
	ID   string `path:"id" doc:"Dead letter id."`
	Body *DeadLetterReplayRequest
}

type outboxListInput struct {
	Status string `query:"status" enum:"pending,sent,failed" doc:"Only messages in this delivery status."`
	Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"100" doc:"Maximum number of messages."`
}

// OutboxList lists outbox messages.
type OutboxList struct {
	Items []OutboxMessage `json:"items" doc:"Messages, oldest first."`
}

type outboxListOutput struct{ Body OutboxList }

func (s *Server) registerDeadLetters() {
	huma.Register(s.api, op(huma.Operation{
		OperationID: "list-dead-letters",
		Method:      http.MethodGet,
		Path:        "/api/deadletters",
		Summary:     "List dead letters",
		Description: "Lists runs whose step failed for good (retries exhausted or a non-retryable error), newest first.",
		Tags:        []string{"Dead letters"},
	}), func(ctx context.Context, in *deadLetterListInput) (*deadLetterListOutput, error) {
		dls, err := s.store.DeadLetterList(ctx, &workflow.DeadLetterListParams{WorkflowID: in.WorkflowID, Limit: in.Limit})
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		out := &deadLetterListOutput{Body: DeadLetterList{Items: make([]DeadLetter, 0, len(dls))}}
		for _, d := range dls {
			out.Body.Items = append(out.Body.Items, deadLetterOut(d))
		}
		return out, nil
	})

	huma.Register(s.api, op(huma.Operation{
		OperationID: "replay-dead-letter",
		Method:      http.MethodPost,
		Path:        "/api/deadletters/{id}/replay",
		Summary:     "Replay a dead letter",
		Description: "Replays the dead letter's run as a new generation, optionally with a new input. 409 when the dead letter was already replayed.",
		Tags:        []string{"Dead letters"},
		Errors:      []int{http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity},
	}), func(ctx context.Context, in *deadLetterReplayInput) (*instanceOutput, error) {
		run, err := s.replayDeadLetter(ctx, in)
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		return &instanceOutput{Body: instanceOut(run)}, nil
	})

	huma.Register(s.api, op(huma.Operation{
		OperationID: "list-outbox",
		Method:      http.MethodGet,
		Path:        "/api/outbox",
		Summary:     "List outbox messages",
		Description: "Lists messages written by queue_publish steps in their step's transaction, oldest first, with their delivery status.",
		Tags:        []string{"Outbox"},
	}), func(ctx context.Context, in *outboxListInput) (*outboxListOutput, error) {
		msgs, err := s.store.OutboxList(ctx, &workflow.OutboxListParams{Status: workflow.OutboxStatus(in.Status), Limit: in.Limit})
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		out := &outboxListOutput{Body: OutboxList{Items: make([]OutboxMessage, 0, len(msgs))}}
		for _, m := range msgs {
			out.Body.Items = append(out.Body.Items, outboxOut(m))
		}
		return out, nil
	})
}

// replayDeadLetter replays a dead letter's run through the engine, with the
// request's replacement input if it has one.
func (s *Server) replayDeadLetter(ctx context.Context, in *deadLetterReplayInput) (*workflow.Run, error) {
	body := in.Body
	if body == nil {
		body = &DeadLetterReplayRequest{}
	}
	from := workflow.ReplayFrom(body.From)
	if from == "" {
		from = workflow.ReplayFromFailedStep
	}
	return s.engine.ReplayDeadLetter(ctx, in.ID, from, body.Input, "deadletter:"+in.ID)
}
