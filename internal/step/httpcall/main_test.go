package httpcall_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/internal/expr"
	"github.com/sluicehq/sluice/internal/step"
	"github.com/sluicehq/sluice/internal/step/httpcall"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// now is the engine clock in every request.
var now = time.Date(2030, 1, 2, 15, 4, 5, 0, time.UTC)

// received is what the test server saw.
type received struct {
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	Body     string
}

type bundle struct {
	srv     *httptest.Server
	handler *httpcall.Handler
	got     chan received
}

// setup starts a server that records each request and answers with
// respond, and an http handler whose client talks to it.
func setup(t *testing.T, respond http.HandlerFunc) *bundle {
	t.Helper()
	b := &bundle{got: make(chan received, 8)}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		b.got <- received{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header, Body: string(body)}
		respond(w, r)
	}))
	t.Cleanup(b.srv.Close)
	b.handler = httpcall.New(httpcall.Config{Client: b.srv.Client(), UserAgent: "sluice/test"})
	return b
}

// respond answers with a fixed status, headers and body.
func respond(status int, body string, headerKV ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(headerKV); i += 2 {
			w.Header().Set(headerKV[i], headerKV[i+1])
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// compile compiles config after replacing $URL with the server's URL.
func (b *bundle) compile(t *testing.T, config string) step.Action {
	t.Helper()
	action, err := b.handler.Compile(json.RawMessage(strings.ReplaceAll(config, "$URL", b.srv.URL)))
	require.NoError(t, err)
	return action
}

// execute compiles config and runs it once with request().
func (b *bundle) execute(t *testing.T, config string) (*step.Result, error) {
	t.Helper()
	return b.compile(t, config).Execute(t.Context(), request())
}

// last returns the request the server received.
func (b *bundle) last(t *testing.T) received {
	t.Helper()
	select {
	case r := <-b.got:
		return r
	default:
		require.FailNow(t, "the server received no request")
		return received{}
	}
}

func request() *step.Request {
	return &step.Request{
		RunID:          "run-1",
		StepID:         "call",
		Attempt:        1,
		IdempotencyKey: "run-1/call/0",
		Now:            now,
		Scope: &expr.Scope{
			Input: map[string]any{
				"id":    "T-42",
				"token": "s3cret",
				"text":  "hello there",
				"tags":  []any{"a", "b"},
				"n":     3.0,
			},
			Steps: map[string]any{"classify": map[string]any{"label": "billing", "summary": "double charge"}},
			Run:   expr.RunInfo{ID: "run-1", StepID: "call", Attempt: 1, IdempotencyKey: "run-1/call/0"},
		},
	}
}
