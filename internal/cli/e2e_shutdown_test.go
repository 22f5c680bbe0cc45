package cli

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestServeCommand runs `sluice serve` as the binary would, finds the port
// in its log, and stops it through its context (the signal).
func TestServeCommand(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	db := filepath.Join(t.TempDir(), "serve.db")
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--database-url", "sqlite:" + db,
			"--log-format", "json", "--poll-interval", "100ms"}, &stdout, &stderr)
	}()

	var addr string
	eventually(t, func() bool {
		for _, line := range strings.Split(stderr.String(), "\n") {
			var rec struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "sluice listening" {
				addr = rec.Addr
				return true
			}
		}
		return false
	}, "the listening address in the log")

	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	b := &bundle{t: t, url: "http://" + addr, client: &http.Client{Transport: transport}}
	requireStatus(t, b.do(http.MethodGet, "/healthz", nil), http.StatusOK)
	id := b.start("ai-triage", "serve-1", map[string]any{"subject": "hello", "amount": 1})
	b.waitStatus(id, "completed")
	transport.CloseIdleConnections()

	cancel()
	select {
	case code := <-done:
		require.Equal(t, 0, code, stderr.String())
	case <-time.After(waitTimeout):
		t.Fatal("serve did not stop")
	}
	require.Contains(t, stderr.String(), `"msg":"sluice stopped"`)
	require.Contains(t, stderr.String(), `"msg":"http request"`, "access log")
}

// blockingEndpoint is an HTTP endpoint that an http step calls; it blocks
// each request until released (or until the request is cancelled).
type blockingEndpoint struct {
	srv      *httptest.Server
	calls    atomic.Int32
	inFlight atomic.Int32
	block    atomic.Bool
	entered  chan struct{}
	release  chan struct{}
}

func newBlockingEndpoint(t *testing.T) *blockingEndpoint {
	e := &blockingEndpoint{entered: make(chan struct{}, 16), release: make(chan struct{})}
	e.block.Store(true)
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.calls.Add(1)
		e.inFlight.Add(1)
		defer e.inFlight.Add(-1)
		// Reading the body lets the server notice a client that gives up.
		_, _ = io.Copy(io.Discard, r.Body)
		if e.block.Load() {
			e.entered <- struct{}{}
			select {
			case <-e.release:
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok": true}`))
	}))
	t.Cleanup(e.srv.Close)
	return e
}

// httpWorkflow calls url, then publishes a message.
func httpWorkflow(id, url string) map[string]any {
	return map[string]any{
		"id":      id,
		"trigger": map[string]any{"type": "webhook", "key": id},
		"startAt": "call",
		"steps": []any{
			map[string]any{"id": "call", "type": "http", "config": map[string]any{"method": "POST", "url": url, "body": "{{ input }}"},
				"timeout": "1m", "retry": map[string]any{"maxAttempts": 5, "initialInterval": "50ms"}, "next": "done"},
			map[string]any{"id": "done", "type": "queue_publish", "config": map[string]any{"routingKey": "done", "message": "{{ steps.call.output.body }}"}},
		},
	}
}

// waitEntered waits until the endpoint received a request.
func (e *blockingEndpoint) waitEntered(t *testing.T) {
	t.Helper()
	select {
	case <-e.entered:
	case <-time.After(waitTimeout):
		t.Fatal("the http step never called the endpoint")
	}
}

// refusesConnections reports whether nothing listens on addr any more.
func refusesConnections(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return true
	}
	_ = c.Close()
	return false
}

func TestGracefulShutdownLetsRunningStepFinish(t *testing.T) {
	t.Parallel()
	ep := newBlockingEndpoint(t)
	b := setup(t, func(c *ServerConfig) { c.NoSeed = true; c.ShutdownTimeout = waitTimeout })
	b.putWorkflow(httpWorkflow("slow-call", ep.srv.URL), http.StatusCreated)
	id := b.start("slow-call", "g-1", map[string]any{"n": 1})
	ep.waitEntered(t)
	require.Equal(t, "running", b.instance(id)["status"])
	p := requireProblem(t, b.do(http.MethodPost, "/api/instances/"+id+"/replay", map[string]any{"from": "start"}), http.StatusConflict)
	require.Equal(t, "conflict", p["code"], "a running run cannot be replayed")

	closed := make(chan error, 1)
	go func() { closed <- b.srv.Close() }()
	// The API stops accepting connections while the step still runs.
	eventually(t, func() bool { return refusesConnections(b.srv.Addr()) }, "the listener to close")
	select {
	case err := <-closed:
		t.Fatalf("Close returned before the running step finished: %v", err)
	default:
	}
	close(ep.release)
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(waitTimeout):
		t.Fatal("Close did not return after the step finished")
	}

	again := startServer(t, b.srv.cfg, b.dbPath)
	run := again.waitStatus(id, "completed")
	require.Equal(t, []string{"call", "done"}, stepIDs(run), "the step finished during shutdown and was not run again")
	require.EqualValues(t, 1, ep.calls.Load())
}

func TestShutdownDeadlineReleasesRunningStep(t *testing.T) {
	t.Parallel()
	ep := newBlockingEndpoint(t)
	// The lease (10 min) is far longer than the test's wait: the run can
	// only complete on the second server if the first released it.
	b := setup(t, func(c *ServerConfig) {
		c.NoSeed, c.ShutdownTimeout, c.LeaseFor = true, 300*time.Millisecond, 10*time.Minute
	})
	b.putWorkflow(httpWorkflow("stuck-call", ep.srv.URL), http.StatusCreated)
	id := b.start("stuck-call", "d-1", map[string]any{"n": 1})
	ep.waitEntered(t)

	start := time.Now()
	require.NoError(t, b.srv.Close())
	require.Less(t, time.Since(start), 5*time.Second, "Close honours the shutdown timeout")

	ep.block.Store(false)
	again := startServer(t, b.srv.cfg, b.dbPath)
	run := again.waitStatus(id, "completed")
	require.Equal(t, "done", run["currentStepId"])
	require.GreaterOrEqual(t, ep.calls.Load(), int32(2), "the interrupted call ran again")
}

func TestCancelRunningRun(t *testing.T) {
	t.Parallel()
	ep := newBlockingEndpoint(t)
	b := setup(t, func(c *ServerConfig) { c.NoSeed = true })
	b.putWorkflow(httpWorkflow("cancel-running", ep.srv.URL), http.StatusCreated)
	id := b.start("cancel-running", "cr-1", map[string]any{"n": 1})
	ep.waitEntered(t)

	r := b.do(http.MethodPost, "/api/instances/"+id+"/cancel", nil)
	requireStatus(t, r, http.StatusOK)
	require.Equal(t, "cancelled", r.JSON(t)["status"])

	// The step is told through its context: the endpoint sees the request
	// go away, and the run stays cancelled.
	eventually(t, func() bool {
		run := b.instance(id)
		if run["status"] != "cancelled" {
			t.Fatalf("run became %v after cancel", run["status"])
		}
		return ep.inFlight.Load() == 0
	}, "the running call to be abandoned")
	run := b.instance(id)
	require.Equal(t, "cancelled", run["status"])
	require.Empty(t, b.outbox(id), "a cancelled run publishes nothing")
}
