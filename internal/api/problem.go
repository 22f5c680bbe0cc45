package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sluicehq/sluice/internal/workflow"
)

// Problem is an RFC 9457 problem details document, the body of every error
// response (Content-Type application/problem+json).
type Problem struct {
	Type     string       `json:"type,omitempty" format:"uri" doc:"A URI reference naming the problem type; about:blank when the status says it all."`
	Title    string       `json:"title" example:"Unprocessable Entity" doc:"A short summary of the problem type (the status text)."`
	Status   int          `json:"status" example:"422" doc:"The HTTP status code."`
	Detail   string       `json:"detail,omitempty" example:"invalid workflow definition" doc:"What went wrong in this occurrence, in plain words."`
	Instance string       `json:"instance,omitempty" doc:"Identifies this occurrence: urn:sluice:request:<request id>, the X-Request-Id of the response."`
	Code     string       `json:"code,omitempty" enum:"not_found,conflict,invalid,idempotency_mismatch,unavailable,internal,bad_request,too_large" doc:"Machine-readable problem code."`
	Errors   []FieldError `json:"errors,omitempty" doc:"Every problem found in the request, each located by a JSON pointer into the request body (e.g. /steps/2/retry/maxAttempts) or by a parameter location (e.g. query.limit)."`
}

// FieldError is one located problem in a request.
type FieldError struct {
	Path    string `json:"path" example:"/steps/0/type" doc:"Where the problem is: a JSON pointer into the request body, or a parameter location such as query.limit."`
	Message string `json:"message" example:"unknown step type \"htp\"" doc:"What is wrong there."`
}

// Error implements error.
func (p *Problem) Error() string { return p.Detail }

// GetStatus implements huma.StatusError.
func (p *Problem) GetStatus() int { return p.Status }

// ContentType implements huma.ContentTypeFilter: problems are
// application/problem+json.
func (p *Problem) ContentType(ct string) string {
	if ct == "application/json" {
		return "application/problem+json"
	}
	return ct
}

// Extra problem codes for failures that have no domain error code.
const (
	codeBadRequest = "bad_request"
	codeTooLarge   = "too_large"
)

// newProblem returns a problem with the given status, code and detail.
func newProblem(status int, code, detail string, fields ...FieldError) *Problem {
	return &Problem{
		Type:   "about:blank",
		Title:  http.StatusText(status),
		Status: status,
		Detail: detail,
		Code:   code,
		Errors: fields,
	}
}

// badRequest is a 400 problem.
func badRequest(detail string, fields ...FieldError) *Problem {
	return newProblem(http.StatusBadRequest, codeBadRequest, detail, fields...)
}

// statusOf maps a domain error code to an HTTP status. It is the only place
// in Sluice where error codes become statuses.
func statusOf(code string) int {
	switch code {
	case workflow.ENOTFOUND:
		return http.StatusNotFound
	case workflow.ECONFLICT:
		return http.StatusConflict
	case workflow.EINVALID, workflow.EIDEMPOTENCY:
		return http.StatusUnprocessableEntity
	case workflow.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// problemFrom converts an error returned by the engine or the store into a
// problem. Internal errors are logged with the request id and answered with
// a generic message, never the error text.
func problemFrom(ctx context.Context, log *slog.Logger, err error) *Problem {
	p := problemOf(ctx, log, err)
	if p.Instance == "" && RequestID(ctx) != "" {
		p.Instance = requestURN(RequestID(ctx))
	}
	return p
}

func problemOf(ctx context.Context, log *slog.Logger, err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	code := workflow.ErrorCode(err)
	status := statusOf(code)
	if status == http.StatusInternalServerError {
		log.ErrorContext(ctx, "internal error", "request_id", RequestID(ctx), "err", err)
		return newProblem(status, workflow.EINTERNAL, "internal error; see the server log for request "+RequestID(ctx))
	}
	if status == http.StatusServiceUnavailable {
		log.WarnContext(ctx, "dependency unavailable", "request_id", RequestID(ctx), "err", err)
	}
	fe := workflow.ErrorFields(err)
	fields := make([]FieldError, 0, len(fe))
	for _, f := range fe {
		fields = append(fields, FieldError{Path: f.Path, Message: f.Message})
	}
	return newProblem(status, code, workflow.ErrorMessage(err), fields...)
}

// hooksOnce installs huma's error constructor once per process: every error
// huma itself produces (parameter validation, unreadable bodies) becomes a
// Problem too.
var hooksOnce sync.Once

func installErrorConstructor() {
	hooksOnce.Do(func() {
		huma.NewError = humaError
		huma.NewErrorWithContext = func(hctx huma.Context, status int, msg string, errs ...error) huma.StatusError {
			p, ok := humaError(status, msg, errs...).(*Problem)
			if ok && hctx != nil {
				if id := RequestID(hctx.Context()); id != "" {
					p.Instance = requestURN(id)
				}
			}
			return p
		}
	})
}

// humaError builds the Problem for an error detected by huma.
func humaError(status int, msg string, errs ...error) huma.StatusError {
	var fields []FieldError
	for _, err := range errs {
		if err == nil {
			continue
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return newProblem(http.StatusRequestEntityTooLarge, codeTooLarge,
				fmt.Sprintf("request body is larger than %d bytes", mbe.Limit))
		}
		var d huma.ErrorDetailer
		if errors.As(err, &d) {
			detail := d.ErrorDetail()
			fields = append(fields, FieldError{Path: detail.Location, Message: detail.Message})
			continue
		}
		fields = append(fields, FieldError{Message: err.Error()})
	}
	code := ""
	switch {
	case status == http.StatusRequestEntityTooLarge:
		code = codeTooLarge
	case status == http.StatusUnprocessableEntity:
		code = workflow.EINVALID
	case status >= 500:
		code = workflow.EINTERNAL
	case status >= 400:
		code = codeBadRequest
	}
	if msg == "validation failed" && len(fields) > 0 {
		msg = "invalid request: " + fieldSummary(fields)
	}
	return newProblem(status, code, msg, fields...)
}

// fieldSummary joins field errors for a one-line detail.
func fieldSummary(fields []FieldError) string {
	parts := make([]string, 0, len(fields))
	for _, f := range fields {
		if f.Path == "" {
			parts = append(parts, f.Message)
			continue
		}
		parts = append(parts, f.Path+": "+f.Message)
	}
	return strings.Join(parts, "; ")
}

func requestURN(id string) string { return "urn:sluice:request:" + id }
