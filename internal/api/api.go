// Package api is Sluice's HTTP adapter: the REST API, webhooks, health
// checks, the OpenAPI 3.1 document and an embedded Swagger UI. It is built
// with huma on net/http. It is the only package where domain error codes
// become HTTP statuses (see statusOf).
package api

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/swaggest/swgui/v5emb"

	"github.com/sluicehq/sluice/internal/engine"
	"github.com/sluicehq/sluice/internal/workflow"
)

// Engine is what the API needs from the workflow engine; *engine.Engine
// implements it.
type Engine interface {
	ValidateWorkflow(raw []byte) error
	PutWorkflow(ctx context.Context, raw []byte) (*workflow.WorkflowVersion, bool, error)
	DisableWorkflow(ctx context.Context, workflowID string) error
	Start(ctx context.Context, p *engine.StartParams) (*workflow.Run, bool, error)
	Cancel(ctx context.Context, runID, reason string) (*workflow.Run, error)
	Replay(ctx context.Context, p *engine.ReplayParams) (*workflow.Run, error)
	ReplayDeadLetter(ctx context.Context, deadLetterID string, from workflow.ReplayFrom, input json.RawMessage, requestedBy string) (*workflow.Run, error)
	Store() workflow.Store
}

var _ Engine = (*engine.Engine)(nil)

// DefaultMaxBodyBytes is the default request body limit (1 MiB).
const DefaultMaxBodyBytes = 1 << 20

// Config configures the HTTP API.
type Config struct {
	// Engine starts, cancels and replays runs and answers queries. Required.
	Engine Engine
	// Logger receives the access log and internal errors. Defaults to
	// slog.Default().
	Logger *slog.Logger
	// MaxBodyBytes is the largest request body accepted; larger bodies get
	// 413. Defaults to DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Version is reported in the OpenAPI document. Defaults to "dev".
	Version string
}

// Server is the HTTP API as an http.Handler.
type Server struct {
	engine  Engine
	store   workflow.Store
	log     *slog.Logger
	maxBody int64
	api     huma.API
	handler http.Handler
}

// New builds the API. It panics only on programming errors in the route
// table (huma validates it at registration).
func New(cfg Config) (*Server, error) {
	if cfg.Engine == nil {
		return nil, errors.New("api: Config.Engine is required")
	}
	installErrorConstructor()
	s := &Server{
		engine:  cfg.Engine,
		store:   cfg.Engine.Store(),
		log:     cmp.Or(cfg.Logger, slog.Default()),
		maxBody: cmp.Or(cfg.MaxBodyBytes, DefaultMaxBodyBytes),
	}
	mux := http.NewServeMux()
	hc := huma.DefaultConfig("Sluice API", cmp.Or(cfg.Version, "dev"))
	hc.Info.Description = "Sluice is a durable workflow engine. This API defines workflows, " +
		"starts runs (webhooks or by workflow id), inspects runs and their step executions, " +
		"cancels and replays runs, and lists dead letters and outbox messages. " +
		"Errors are RFC 9457 problem documents (application/problem+json)."
	hc.DocsPath = ""     // Swagger UI is served from embedded assets at /swagger.
	hc.SchemasPath = ""  // No $schema links in responses.
	hc.CreateHooks = nil // Responses are plain JSON without $schema.
	hc.OpenAPIPath = "/openapi"
	hc.Tags = []*huma.Tag{
		{Name: "Webhooks", Description: "Start runs from external systems."},
		{Name: "Workflows", Description: "Create, read, validate and disable workflow definitions."},
		{Name: "Instances", Description: "Start, inspect, cancel and replay runs (workflow instances)."},
		{Name: "Dead letters", Description: "Runs whose step failed for good, and their replay."},
		{Name: "Outbox", Description: "Messages written by queue_publish steps."},
		{Name: "Health", Description: "Liveness and readiness probes."},
	}
	s.api = humago.New(mux, hc)

	s.registerStarts()
	s.registerWorkflows()
	s.registerInstances()
	s.registerDeadLetters()
	s.registerHealth()

	swagger := v5emb.New("Sluice API", "/openapi.json", "/swagger/")
	mux.Handle("GET /swagger/", swagger)
	mux.Handle("GET /swagger", http.RedirectHandler("/swagger/", http.StatusMovedPermanently))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		p := newProblem(http.StatusNotFound, workflow.ENOTFOUND, "no such endpoint: "+r.Method+" "+r.URL.Path)
		p.Instance = requestURN(RequestID(r.Context()))
		writeProblem(w, p)
	})

	s.handler = middleware(mux, s.log, s.maxBody)
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// OpenAPI returns the OpenAPI 3.1 document as JSON.
func (s *Server) OpenAPI() ([]byte, error) { return json.Marshal(s.api.OpenAPI()) }

// fail converts err into the problem the handler returns.
func (s *Server) fail(ctx context.Context, err error) error { return problemFrom(ctx, s.log, err) }

// op fills defaults shared by every operation: the body limit is enforced
// by the middleware (http.MaxBytesReader), so huma's own is off.
func op(o huma.Operation) huma.Operation {
	o.MaxBodyBytes = -1
	return o
}

// rawJSONOp is op for operations whose RawBody is any JSON value, checked
// by the handler: huma would validate it as a string.
func rawJSONOp(o huma.Operation) huma.Operation {
	o = op(o)
	o.SkipValidateBody = true
	return o
}

// operation returns a registered operation of the OpenAPI document.
func (s *Server) operation(path, method string) *huma.Operation {
	item := s.api.OpenAPI().Paths[path]
	if item == nil {
		panic("api: no path " + path)
	}
	var o *huma.Operation
	switch method {
	case http.MethodPost:
		o = item.Post
	case http.MethodPut:
		o = item.Put
	}
	if o == nil {
		panic("api: no operation " + method + " " + path)
	}
	return o
}

// documentRawJSON fixes the OpenAPI description of a raw-body operation:
// the body is a JSON document described by schema (nil: any JSON value), and
// the listed headers are required (the handler checks them itself, to
// answer 400 where huma would answer 422).
func (s *Server) documentRawJSON(path, method string, schema *huma.Schema, requiredHeaders ...string) {
	o := s.operation(path, method)
	if schema == nil {
		schema = &huma.Schema{Description: "Any JSON value."}
	}
	o.RequestBody.Content = map[string]*huma.MediaType{"application/json": {Schema: schema}}
	for _, p := range o.Parameters {
		for _, h := range requiredHeaders {
			if p.In == "header" && p.Name == h {
				p.Required = true
			}
		}
	}
}
