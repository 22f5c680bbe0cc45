package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/internal/testenv"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitTimeout bounds every wait on the server.
const waitTimeout = 15 * time.Second

// eventually polls cond until it holds, failing the test after waitTimeout.
func eventually(t *testing.T, cond func() bool, msgAndArgs ...any) {
	t.Helper()
	testenv.Eventually(t, waitTimeout, cond, msgAndArgs...)
}

// bundle is a running server and a client for it.
type bundle struct {
	t      *testing.T
	srv    *Server
	url    string
	dbPath string
	client *http.Client
}

// setup starts a real server on 127.0.0.1:0 with a fresh SQLite database
// in t.TempDir(). opts adjust the config.
func setup(t *testing.T, opts ...func(*ServerConfig)) *bundle {
	t.Helper()
	dbPath := filepath.Join(t.TempDir(), "sluice.db")
	cfg := ServerConfig{
		Addr:            "127.0.0.1:0",
		DatabaseURL:     "sqlite:" + dbPath,
		Logger:          testLogger(t),
		PollInterval:    50 * time.Millisecond,
		ShutdownTimeout: 5 * time.Second,
	}
	for _, o := range opts {
		o(&cfg)
	}
	return startServer(t, cfg, dbPath)
}

// startServer opens a server with cfg and closes it when the test ends.
func startServer(t *testing.T, cfg ServerConfig, dbPath string) *bundle {
	t.Helper()
	srv := NewServer(cfg)
	require.NoError(t, srv.Open(context.Background()))
	transport := &http.Transport{}
	b := &bundle{t: t, srv: srv, url: srv.URL(), dbPath: dbPath, client: &http.Client{Transport: transport, Timeout: 10 * time.Second}}
	t.Cleanup(func() {
		transport.CloseIdleConnections()
		require.NoError(t, srv.Close())
	})
	return b
}

// testLogger writes the server log to the test log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// response is a read HTTP response.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a map.
func (r *response) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m), "body: %s", r.Body)
	return m
}

// do sends a request. body is sent as is when it is a string or []byte,
// else JSON-encoded; nil sends no body. headers are name, value pairs.
func (b *bundle) do(method, path string, body any, headers ...string) *response {
	b.t.Helper()
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(v)
	case []byte:
		rd = bytes.NewReader(v)
	default:
		raw, err := json.Marshal(v)
		require.NoError(b.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, b.url+path, rd)
	require.NoError(b.t, err)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := b.client.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

// requireStatus fails unless r has the given status.
func requireStatus(t *testing.T, r *response, status int) {
	t.Helper()
	require.Equal(t, status, r.Status, "body: %s", r.Body)
}

// requireProblem fails unless r is a problem+json document with status.
func requireProblem(t *testing.T, r *response, status int) map[string]any {
	t.Helper()
	requireStatus(t, r, status)
	require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"), "body: %s", r.Body)
	p := r.JSON(t)
	require.EqualValues(t, status, p["status"])
	require.NotEmpty(t, p["title"])
	require.NotEmpty(t, p["detail"])
	return p
}

// problemPaths returns the paths of a problem's errors.
func problemPaths(p map[string]any) []string {
	var out []string
	errs, _ := p["errors"].([]any)
	for _, e := range errs {
		m, _ := e.(map[string]any)
		path, _ := m["path"].(string)
		out = append(out, path)
	}
	return out
}

// trigger posts a webhook and returns the response.
func (b *bundle) trigger(key, idempotencyKey string, body any) *response {
	b.t.Helper()
	return b.do(http.MethodPost, "/api/webhooks/"+key, body, "Idempotency-Key", idempotencyKey)
}

// start triggers a webhook, requires 202 and returns the instance id.
func (b *bundle) start(key, idempotencyKey string, body any) string {
	b.t.Helper()
	r := b.trigger(key, idempotencyKey, body)
	requireStatus(b.t, r, http.StatusAccepted)
	id, _ := r.JSON(b.t)["instanceId"].(string)
	require.NotEmpty(b.t, id)
	return id
}

// instance returns GET /api/instances/{id}.
func (b *bundle) instance(id string) map[string]any {
	b.t.Helper()
	r := b.do(http.MethodGet, "/api/instances/"+id, nil)
	requireStatus(b.t, r, http.StatusOK)
	return r.JSON(b.t)
}

// waitStatus waits until the run has the given status and returns it.
func (b *bundle) waitStatus(id, status string) map[string]any {
	b.t.Helper()
	var last map[string]any
	eventually(b.t, func() bool {
		last = b.instance(id)
		return last["status"] == status
	}, "run %s to become %s", id, status)
	return last
}

// putWorkflow stores a definition and requires wantStatus.
func (b *bundle) putWorkflow(def map[string]any, wantStatus int) map[string]any {
	b.t.Helper()
	r := b.do(http.MethodPut, "/api/workflows/"+def["id"].(string), def)
	requireStatus(b.t, r, wantStatus)
	return r.JSON(b.t)
}

// syncBuffer is a bytes.Buffer safe for concurrent writes and reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}
