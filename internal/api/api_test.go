package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/internal/engine"
	"github.com/sluicehq/sluice/internal/workflow"
)

// The end-to-end tests of the API run the real server in internal/cli.
// These tests cover what a real engine cannot easily produce: failing
// dependencies.

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeStore fails every query it does not override (the embedded nil
// interface panics), so that a test states exactly what it uses.
type fakeStore struct {
	workflow.Store
	pingErr error
	getErr  error
}

func (s *fakeStore) Ping(context.Context) error { return s.pingErr }

func (s *fakeStore) RunGet(context.Context, string) (*workflow.Run, error) { return nil, s.getErr }

// fakeEngine answers Start with startErr.
type fakeEngine struct {
	store    *fakeStore
	startErr error
	started  *engine.StartParams
}

func (e *fakeEngine) ValidateWorkflow([]byte) error { return nil }
func (e *fakeEngine) PutWorkflow(context.Context, []byte) (*workflow.WorkflowVersion, bool, error) {
	return nil, false, errors.New("not implemented")
}
func (e *fakeEngine) DisableWorkflow(context.Context, string) error { return nil }
func (e *fakeEngine) Start(_ context.Context, p *engine.StartParams) (*workflow.Run, bool, error) {
	e.started = p
	if e.startErr != nil {
		return nil, false, e.startErr
	}
	return &workflow.Run{ID: "run-1", WorkflowID: "wf", WorkflowVersion: 3, Status: workflow.RunPending}, false, nil
}
func (e *fakeEngine) Cancel(context.Context, string, string) (*workflow.Run, error) {
	return nil, errors.New("not implemented")
}
func (e *fakeEngine) Replay(context.Context, *engine.ReplayParams) (*workflow.Run, error) {
	return nil, errors.New("not implemented")
}
func (e *fakeEngine) ReplayDeadLetter(context.Context, string, workflow.ReplayFrom, json.RawMessage, string) (*workflow.Run, error) {
	return nil, errors.New("not implemented")
}
func (e *fakeEngine) Store() workflow.Store { return e.store }

type testBundle struct {
	engine *fakeEngine
	server *Server
	log    *bytes.Buffer
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	fe := &fakeEngine{store: &fakeStore{}}
	var log bytes.Buffer
	s, err := New(Config{Engine: fe, Logger: slog.New(slog.NewTextHandler(&log, nil)), MaxBodyBytes: 64})
	require.NoError(t, err)
	return &testBundle{engine: fe, server: s, log: &log}
}

func (b *testBundle) do(t *testing.T, method, path, body string, headers ...string) (*http.Response, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	b.server.ServeHTTP(rec, req)
	resp := rec.Result()
	var m map[string]any
	if rec.Body.Len() > 0 {
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &m), rec.Body.String())
	}
	return resp, m
}

func TestNewRequiresEngine(t *testing.T) {
	t.Parallel()
	_, err := New(Config{})
	require.Error(t, err)
}

func TestStatusOfEveryCode(t *testing.T) {
	t.Parallel()
	for code, status := range map[string]int{
		workflow.ENOTFOUND:    http.StatusNotFound,
		workflow.ECONFLICT:    http.StatusConflict,
		workflow.EINVALID:     http.StatusUnprocessableEntity,
		workflow.EIDEMPOTENCY: http.StatusUnprocessableEntity,
		workflow.EUNAVAILABLE: http.StatusServiceUnavailable,
		workflow.ELEASELOST:   http.StatusInternalServerError,
		workflow.EINTERNAL:    http.StatusInternalServerError,
		"":                    http.StatusInternalServerError,
	} {
		require.Equal(t, status, statusOf(code), code)
	}
}

func TestInternalErrorsAreLoggedNotLeaked(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.engine.startErr = errors.New("disk on fire at /var/lib/secret")
	resp, p := b.do(t, http.MethodPost, "/api/webhooks/k", `{}`, "Idempotency-Key", "1", "X-Request-Id", "req-42")
	require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	require.Equal(t, "internal", p["code"])
	require.NotContains(t, p["detail"], "disk on fire")
	require.Contains(t, p["detail"], "req-42")
	require.Contains(t, b.log.String(), "disk on fire")
	require.Contains(t, b.log.String(), "req-42")
}

func TestUnavailableIs503(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.engine.startErr = workflow.Errorf(workflow.EUNAVAILABLE, "database is locked")
	resp, p := b.do(t, http.MethodPost, "/api/webhooks/k", `{}`, "Idempotency-Key", "1")
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Equal(t, "unavailable", p["code"])

	b.engine.store.pingErr = errors.New("connection refused")
	resp, p = b.do(t, http.MethodGet, "/readyz", "")
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Equal(t, "database is not reachable", p["detail"])
	require.Contains(t, b.log.String(), "connection refused")

	resp, _ = b.do(t, http.MethodGet, "/healthz", "")
	require.Equal(t, http.StatusOK, resp.StatusCode, "liveness does not depend on the database")
}

func TestStartPassesTheRawBody(t *testing.T) {
	t.Parallel()
	b := setup(t)
	resp, body := b.do(t, http.MethodPost, "/api/workflows/wf/instances", ` [1, "two"] `, "Idempotency-Key", "abc")
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	require.Equal(t, map[string]any{"instanceId": "run-1", "workflowId": "wf", "workflowVersion": float64(3), "status": "pending"}, body)
	require.Equal(t, "wf", b.engine.started.WorkflowID)
	require.Equal(t, "abc", b.engine.started.IdempotencyKey)
	require.JSONEq(t, `[1, "two"]`, string(b.engine.started.Input))
}

func TestInvalidDomainErrorListsFields(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.engine.startErr = workflow.Invalid("invalid start request",
		workflow.FieldError{Path: "/a", Message: "bad a"}, workflow.FieldError{Path: "/b", Message: "bad b"})
	resp, p := b.do(t, http.MethodPost, "/api/webhooks/k", `{}`, "Idempotency-Key", "1")
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Equal(t, []any{
		map[string]any{"path": "/a", "message": "bad a"},
		map[string]any{"path": "/b", "message": "bad b"},
	}, p["errors"])
}

func TestBodyLimitOnRawBody(t *testing.T) {
	t.Parallel()
	b := setup(t)
	resp, p := b.do(t, http.MethodPost, "/api/webhooks/k", `"`+strings.Repeat("x", 100)+`"`, "Idempotency-Key", "1")
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	require.Equal(t, "too_large", p["code"])
	require.Nil(t, b.engine.started)
}

func TestPanicsBecome500(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// The fake store panics on queries it does not implement.
	resp, p := b.do(t, http.MethodGet, "/api/deadletters", "")
	require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	require.Equal(t, "internal", p["code"])
	require.Contains(t, b.log.String(), "panic serving request")
}

func TestOpenAPIExport(t *testing.T) {
	t.Parallel()
	b := setup(t)
	raw, err := b.server.OpenAPI()
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(raw, &doc))
	require.Equal(t, "3.1.0", doc["openapi"])
}

func TestCurlFormContentTypeIsTakenAsJSON(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// curl -d sends application/x-www-form-urlencoded unless told otherwise.
	resp, body := b.do(t, http.MethodPost, "/api/instances/run-1/replay", `{"from":"start"}`, "Content-Type", "application/x-www-form-urlencoded")
	require.NotEqual(t, http.StatusUnsupportedMediaType, resp.StatusCode, body)
	resp, body = b.do(t, http.MethodPost, "/api/workflows/validate", `{"id":"x"}`, "Content-Type", "application/x-www-form-urlencoded")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	resp, body = b.do(t, http.MethodPost, "/api/workflows/validate", `{"id":"x"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
}
