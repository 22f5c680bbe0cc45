package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sluicehq/sluice/internal/workflow"
)

// readyTimeout bounds the readiness probe's database ping.
const readyTimeout = 2 * time.Second

// Health answers the probes.
type Health struct {
	Status string `json:"status" example:"ok" doc:"ok (healthz) or ready (readyz)."`
}

type healthOutput struct{ Body Health }

func (s *Server) registerHealth() {
	huma.Register(s.api, op(huma.Operation{
		OperationID: "healthz",
		Method:      http.MethodGet,
		Path:        "/healthz",
		Summary:     "Liveness probe",
		Description: "200 while the process serves HTTP. It does not check the database; see /readyz.",
		Tags:        []string{"Health"},
	}), func(context.Context, *struct{}) (*healthOutput, error) {
		return &healthOutput{Body: Health{Status: "ok"}}, nil
	})

	huma.Register(s.api, op(huma.Operation{
		OperationID: "readyz",
		Method:      http.MethodGet,
		Path:        "/readyz",
		Summary:     "Readiness probe",
		Description: "200 when the database answers a ping within 2s, else 503.",
		Tags:        []string{"Health"},
		Errors:      []int{http.StatusServiceUnavailable},
	}), func(ctx context.Context, _ *struct{}) (*healthOutput, error) {
		pctx, cancel := context.WithTimeout(ctx, readyTimeout)
		defer cancel()
		if err := s.store.Ping(pctx); err != nil {
			s.log.WarnContext(ctx, "readiness ping failed", "request_id", RequestID(ctx), "err", err)
			return nil, s.fail(ctx, workflow.Errorf(workflow.EUNAVAILABLE, "database is not reachable"))
		}
		return &healthOutput{Body: Health{Status: "ready"}}, nil
	})
}
