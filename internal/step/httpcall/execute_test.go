package httpcall_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/step"
	"github.com/sluicehq/sluice/internal/step/httpcall"
)

func TestExecuteJSON(t *testing.T) {
	t.Parallel()
	b := setup(t, respond(http.StatusCreated, `{"id": 7, "ok": true}`,
		"Content-Type", "application/json; charset=utf-8", "X-Trace", "abc"))

	res, err := b.execute(t, `{
		"method": "post",
		"url": "$URL/tickets/{{ input.id }}?src=sluice",
		"headers": {"Authorization": "Bearer {{ input.token }}", "X-Label": "{{ steps.classify.output.label }}"},
		"query": {"tag": "{{ input.tags[0] }}", "n": "{{ input.n }}", "src": "override"},
		"body": {"summary": "{{ steps.classify.output.summary }}", "tags": "{{ input.tags }}", "count": 12345678901234567890}
	}`)
	require.NoError(t, err)

	got := b.last(t)
	require.Equal(t, http.MethodPost, got.Method)
	require.Equal(t, "/tickets/T-42", got.Path)
	require.Equal(t, "n=3&src=override&tag=a", got.RawQuery)
	require.Equal(t, "Bearer s3cret", got.Header.Get("Authorization"))
	require.Equal(t, "billing", got.Header.Get("X-Label"))
	require.Equal(t, "run-1/call/0", got.Header.Get("Idempotency-Key"))
	require.Equal(t, "sluice/test", got.Header.Get("User-Agent"))
	require.Equal(t, "application/json", got.Header.Get("Content-Type"))
	require.JSONEq(t, `{"summary": "double charge", "tags": ["a", "b"], "count": 12345678901234567890}`, got.Body)

	require.Equal(t, 201, res.Output.(map[string]any)["status"])
	require.Equal(t, map[string]any{"id": 7.0, "ok": true}, res.Output.(map[string]any)["body"])
	headers := res.Output.(map[string]any)["headers"].(map[string]string)
	require.Equal(t, "abc", headers["X-Trace"])
	require.Equal(t, "application/json; charset=utf-8", headers["Content-Type"])

	input := res.Input.(map[string]any)
	require.Equal(t, "POST", input["method"])
	require.Equal(t, b.srv.URL+"/tickets/T-42?n=3&src=override&tag=a", input["url"])
	require.Equal(t, map[string]string{
		"Authorization":   "[redacted]",
		"X-Label":         "billing",
		"Idempotency-Key": "run-1/call/0",
		"User-Agent":      "sluice/test",
		"Content-Type":    "application/json",
	}, input["headers"])
	require.NotNil(t, input["body"])
	require.Nil(t, res.Branch)
	require.Empty(t, res.Outbox)
}

func TestExecuteText(t *testing.T) {
	t.Parallel()
	b := setup(t, respond(http.StatusOK, "pong\n", "Content-Type", "text/plain"))

	res, err := b.execute(t, `{"url": "$URL/ping"}`)
	require.NoError(t, err)
	got := b.last(t)
	require.Equal(t, http.MethodGet, got.Method)
	require.Empty(t, got.Body)
	require.Empty(t, got.Header.Get("Content-Type"))
	require.Equal(t, "pong\n", res.Output.(map[string]any)["body"])
	require.NotContains(t, res.Input.(map[string]any), "body")
}

func TestExecuteResponseBodies(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name        string
		contentType string
		body        string
		want        any
	}{
		{"problem+json is parsed", "application/problem+json", `{"title": "x"}`, map[string]any{"title": "x"}},
		{"JSON array", "application/json", `[1, "a"]`, []any{1.0, "a"}},
		{"invalid JSON stays text", "application/json", `{"oops`, `{"oops`},
		{"empty JSON body", "application/json", ``, ``},
		{"JSON without content type stays text", "", `{"a": 1}`, `{"a": 1}`},
		{"bad content type stays text", "application/json; =", `{}`, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header()["Content-Type"] = []string{tt.contentType}
				_, _ = io.WriteString(w, tt.body)
			})
			res, err := b.execute(t, `{"url": "$URL"}`)
			require.NoError(t, err)
			require.Equal(t, tt.want, res.Output.(map[string]any)["body"])
		})
	}
}

func TestExecuteRequestBodies(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name        string
		config      string
		wantType    string
		wantBody    string
		wantRecords any
	}{
		{"string body is text", `{"method": "POST", "url": "$URL", "body": "Ticket {{ input.id }}"}`,
			"text/plain; charset=utf-8", "Ticket T-42", "Ticket T-42"},
		{"string body keeps its content type", `{"method": "POST", "url": "$URL", "body": "{\"raw\": 1}", "headers": {"content-type": "application/json"}}`,
			"application/json", `{"raw": 1}`, `{"raw": 1}`},
		{"whole placeholder string is text", `{"method": "PUT", "url": "$URL", "body": "{{ input.text }}"}`,
			"text/plain; charset=utf-8", "hello there", "hello there"},
		{"whole placeholder array is JSON", `{"method": "PUT", "url": "$URL", "body": "{{ input.tags }}"}`,
			"application/json", `["a","b"]`, []any{"a", "b"}},
		{"number body is JSON", `{"method": "PATCH", "url": "$URL", "body": 5}`,
			"application/json", `5`, nil},
		{"JSON body with custom type", `{"method": "POST", "url": "$URL", "body": {"a": 1}, "headers": {"Content-Type": "application/vnd.x+json"}}`,
			"application/vnd.x+json", `{"a":1}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, respond(http.StatusNoContent, ""))
			res, err := b.execute(t, tt.config)
			require.NoError(t, err)
			got := b.last(t)
			require.Equal(t, tt.wantType, got.Header.Get("Content-Type"))
			require.Equal(t, tt.wantBody, got.Body)
			require.Equal(t, 204, res.Output.(map[string]any)["status"])
			if tt.wantRecords != nil {
				require.Equal(t, tt.wantRecords, res.Input.(map[string]any)["body"])
			}
		})
	}
}

func TestExecuteHeaderOverrides(t *testing.T) {
	t.Parallel()
	b := setup(t, respond(http.StatusOK, "ok"))

	res, err := b.execute(t, `{"url": "$URL", "method": "HEAD", "headers": {
		"idempotency-key": "mine-{{ run.id }}", "user-agent": "custom/1", "Cookie": "a=b", "X-Api-Key": "k"}}`)
	require.NoError(t, err)
	got := b.last(t)
	require.Equal(t, http.MethodHead, got.Method)
	require.Equal(t, []string{"mine-run-1"}, got.Header.Values("Idempotency-Key"))
	require.Equal(t, []string{"custom/1"}, got.Header.Values("User-Agent"))
	require.Equal(t, map[string]string{
		"Idempotency-Key": "mine-run-1",
		"User-Agent":      "custom/1",
		"Cookie":          "[redacted]",
		"X-Api-Key":       "[redacted]",
	}, res.Input.(map[string]any)["headers"])
	require.Empty(t, res.Output.(map[string]any)["body"])
}

func TestExecuteDefaults(t *testing.T) {
	t.Parallel()
	b := setup(t, respond(http.StatusOK, strings.Repeat("x", httpcall.DefaultMaxResponseBytes+1)))

	// Zero Config: default user agent and response cap; no idempotency key.
	h := httpcall.New(httpcall.Config{Client: b.srv.Client()})
	action, err := h.Compile([]byte(`{"url": "` + b.srv.URL + `"}`))
	require.NoError(t, err)
	req := request()
	req.IdempotencyKey = ""
	_, err = action.Execute(t.Context(), req)
	require.True(t, step.IsPermanent(err), "%v", err)
	require.ErrorContains(t, err, "response body exceeds 1048576 bytes")
	got := b.last(t)
	require.Equal(t, httpcall.DefaultUserAgent, got.Header.Get("User-Agent"))
	require.Empty(t, got.Header.Values("Idempotency-Key"))
}

func TestExecuteStatuses(t *testing.T) {
	t.Parallel()

	type outcome int
	const (
		success outcome = iota
		retryable
		permanent
	)
	tests := []struct {
		name       string
		status     int
		header     []string
		config     string // extra config fields
		want       outcome
		hasAfter   bool          // the error carries a Retry-After delay
		wantAfter  time.Duration // that delay
		wantInText string
	}{
		{name: "200", status: 200, want: success},
		{name: "304 not followed", status: 304, want: success},
		{name: "500 retryable", status: 500, want: retryable, wantInText: "500 Internal Server Error: boom: status 500"},
		{name: "502 retryable", status: 502, want: retryable},
		{name: "408 retryable", status: 408, want: retryable},
		{name: "429 retryable", status: 429, want: retryable},
		{name: "400 permanent", status: 400, want: permanent, wantInText: "400 Bad Request: boom: status 400"},
		{name: "401 permanent", status: 401, want: permanent},
		{name: "404 permanent", status: 404, want: permanent},
		{name: "404 in retryOn", status: 404, config: `, "retryOn": [409, 404]`, want: retryable},
		{name: "409 not in retryOn", status: 409, config: `, "retryOn": [404]`, want: permanent},
		{name: "429 Retry-After seconds", status: 429, header: []string{"Retry-After", "120"}, want: retryable, hasAfter: true, wantAfter: 2 * time.Minute},
		{name: "503 Retry-After date", status: 503, header: []string{"Retry-After", now.Add(90 * time.Second).Format(http.TimeFormat)}, want: retryable, hasAfter: true, wantAfter: 90 * time.Second},
		{name: "Retry-After date in the past", status: 503, header: []string{"Retry-After", now.Add(-time.Hour).Format(http.TimeFormat)}, want: retryable, hasAfter: true, wantAfter: 0},
		{name: "Retry-After capped", status: 429, header: []string{"Retry-After", "99999999999"}, want: retryable, hasAfter: true, wantAfter: 24 * time.Hour},
		{name: "Retry-After garbage ignored", status: 429, header: []string{"Retry-After", "soon"}, want: retryable},
		{name: "Retry-After negative ignored", status: 503, header: []string{"Retry-After", "-5"}, want: retryable},
		{name: "Retry-After on 400 ignored", status: 400, header: []string{"Retry-After", "5"}, want: permanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, func(w http.ResponseWriter, _ *http.Request) {
				for i := 0; i+1 < len(tt.header); i += 2 {
					w.Header().Set(tt.header[i], tt.header[i+1])
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, "  boom:\n  status "+strconv.Itoa(tt.status)+"\n")
			})
			res, err := b.execute(t, `{"url": "$URL/x"`+tt.config+`}`)
			if tt.want == success {
				require.NoError(t, err)
				require.Equal(t, tt.status, res.Output.(map[string]any)["status"])
				return
			}
			require.Nil(t, res)
			require.Error(t, err)
			require.Equal(t, tt.want == permanent, step.IsPermanent(err), "%v", err)
			after, ok := step.RetryAfterDelay(err)
			require.Equal(t, tt.hasAfter, ok, "%v", err)
			require.Equal(t, tt.wantAfter, after)

			var statusErr *httpcall.StatusError
			require.ErrorAs(t, err, &statusErr)
			require.Equal(t, tt.status, statusErr.StatusCode)
			require.Equal(t, "GET", statusErr.Method)
			require.Equal(t, b.srv.URL+"/x", statusErr.URL)
			require.Equal(t, "boom: status "+strconv.Itoa(tt.status), statusErr.Snippet)
			if tt.wantInText != "" {
				require.EqualError(t, err, "http GET "+b.srv.URL+"/x: "+tt.wantInText)
			}
		})
	}
}

func TestExecuteOversizedBody(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		status  int
		size    int
		wantErr string // "" success; else permanent or retryable per status
	}{
		{"at the cap", 200, 10, ""},
		{"over the cap", 200, 11, "response body exceeds 10 bytes (maxResponseBytes)"},
		{"error body over the cap keeps its status", 503, 1000, "503 Service Unavailable: xxxxxxxxxx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, respond(tt.status, strings.Repeat("x", tt.size)))
			res, err := b.execute(t, `{"url": "$URL", "maxResponseBytes": 10}`)
			if tt.wantErr == "" {
				require.NoError(t, err)
				require.Equal(t, strings.Repeat("x", tt.size), res.Output.(map[string]any)["body"])
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
			require.Equal(t, tt.status < 500, step.IsPermanent(err), "%v", err)
		})
	}
}

func TestExecuteSnippetIsBounded(t *testing.T) {
	t.Parallel()
	// 255 ASCII bytes then a 3-byte rune straddling the 256-byte cut.
	b := setup(t, respond(500, strings.Repeat("a", 255)+"€€€"))
	_, err := b.execute(t, `{"url": "$URL"}`)
	var statusErr *httpcall.StatusError
	require.ErrorAs(t, err, &statusErr)
	require.Equal(t, strings.Repeat("a", 255)+"…", statusErr.Snippet)
}

func TestExecuteRenderErrorsArePermanent(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		config string
		want   string
	}{
		{"url renders relative", `{"url": "{{ input.id }}"}`, `http url: must be an absolute http or https URL, not "T-42"`},
		{"url render error", `{"url": "$URL/{{ input.id.x }}"}`, `http url: evaluate "input.id.x"`},
		{"query render error", `{"url": "$URL", "query": {"q": "{{ input.n > 'a' }}"}}`, `http query "q": evaluate`},
		{"header render error", `{"url": "$URL", "headers": {"x-a": "{{ input.id.x }}"}}`, `http header "X-A": evaluate`},
		{"header injection", `{"url": "$URL", "headers": {"X-A": "{{ input.id + '\\r\\nX-Evil: 1' }}"}}`, `http header "X-A": value contains control characters`},
		{"body render error", `{"url": "$URL", "body": {"a": "{{ input.id.x }}"}}`, `http body: evaluate "input.id.x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, respond(200, "ok"))
			res, err := b.execute(t, tt.config)
			require.Nil(t, res)
			require.True(t, step.IsPermanent(err), "%v", err)
			require.ErrorContains(t, err, tt.want)
			require.Empty(t, b.got, "no request must be sent")
		})
	}
}

func TestExecuteRedactsURLPassword(t *testing.T) {
	t.Parallel()
	b := setup(t, respond(500, "no"))
	u := strings.Replace(b.srv.URL, "http://", "http://user:pw@", 1)
	action, err := b.handler.Compile([]byte(`{"url": "` + u + `/x"}`))
	require.NoError(t, err)
	_, err = action.Execute(t.Context(), request())
	require.Error(t, err)
	require.NotContains(t, err.Error(), "pw")
	require.Contains(t, err.Error(), "user:xxxxx@")
	user, pass, ok := (&http.Request{Header: b.last(t).Header}).BasicAuth()
	require.True(t, ok)
	require.Equal(t, "user", user)
	require.Equal(t, "pw", pass)
}
