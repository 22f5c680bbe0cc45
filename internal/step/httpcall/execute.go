package httpcall

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sluicehq/sluice/internal/step"
)

// snippetBytes is how much of an error response's body goes into the
// error message.
const snippetBytes = 256

// redacted replaces the values of sensitive headers in the recorded input.
const redacted = "[redacted]"

// sensitiveHeaders are recorded as redacted: step inputs are stored and
// shown in the dashboard.
var sensitiveHeaders = []string{
	"Authorization", "Proxy-Authorization", "Cookie", "X-Api-Key", "X-Auth-Token",
}

// StatusError is an unsuccessful HTTP response. It is wrapped by
// step.Permanent or step.RetryAfter as the status demands.
type StatusError struct {
	// Method and URL (with any password redacted) name the request.
	Method, URL string
	// StatusCode and Status ("404 Not Found") are the response's.
	StatusCode int
	Status     string
	// Snippet is the start of the response body.
	Snippet string
}

// Error implements error: "http METHOD URL: STATUS: snippet".
func (e *StatusError) Error() string {
	msg := fmt.Sprintf("http %s %s: %s", e.Method, e.URL, e.Status)
	if e.Snippet != "" {
		msg += ": " + e.Snippet
	}
	return msg
}

// request is a rendered request.
type request struct {
	method  string
	url     string // with query
	logURL  string // password redacted
	header  http.Header
	host    string // from a Host header, if set
	body    []byte
	hasBody bool
	input   map[string]any // recorded as the step's input
}

// Execute sends the request once. See the package documentation for how
// the outcome steers the step.
func (a *action) Execute(ctx context.Context, req *step.Request) (*step.Result, error) {
	r, err := a.render(req)
	if err != nil {
		return nil, step.Permanent(err)
	}
	if a.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.timeout)
		defer cancel()
	}
	var body io.Reader
	if r.hasBody {
		body = bytes.NewReader(r.body)
	}
	httpReq, err := http.NewRequestWithContext(ctx, r.method, r.url, body)
	if err != nil {
		return nil, step.Permanentf("http %s %s: %w", r.method, r.logURL, err)
	}
	httpReq.Header = r.header
	if r.host != "" {
		httpReq.Host = r.host
	}

	start := time.Now()
	resp, err := a.h.client.Do(httpReq)
	if err != nil {
		return nil, a.transportError(ctx, r, start, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, a.maxBytes+1))
	if err != nil {
		return nil, a.transportError(ctx, r, start, fmt.Errorf("read response body: %w", err))
	}
	oversized := int64(len(data)) > a.maxBytes

	if resp.StatusCode >= 200 && resp.StatusCode < 400 {
		if oversized {
			return nil, step.Permanentf("http %s %s: %s: response body exceeds %d bytes (maxResponseBytes)",
				r.method, r.logURL, resp.Status, a.maxBytes)
		}
		return &step.Result{Input: r.input, Output: output(resp, data)}, nil
	}

	statusErr := &StatusError{
		Method: r.method, URL: r.logURL,
		StatusCode: resp.StatusCode, Status: resp.Status,
		Snippet: snippet(data),
	}
	if !a.retryable(resp.StatusCode) {
		return nil, step.Permanent(statusErr)
	}
	if d, ok := retryAfter(resp.Header.Get("Retry-After"), req.Now); ok {
		return nil, step.RetryAfter(d, statusErr)
	}
	return nil, statusErr
}

// retryable reports whether a non-success status is worth another attempt.
func (a *action) retryable(code int) bool {
	return code >= 500 || code == http.StatusRequestTimeout ||
		code == http.StatusTooManyRequests || slices.Contains(a.retryOn, code)
}

// transportError describes a failure to get a response; all are retried.
func (a *action) transportError(ctx context.Context, r *request, start time.Time, err error) error {
	// The client's *url.Error repeats method and URL; keep its cause.
	if ue, ok := errors.AsType[*url.Error](err); ok {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("http %s %s: timed out after %s: %w",
			r.method, r.logURL, time.Since(start).Round(time.Millisecond), err)
	}
	return fmt.Errorf("http %s %s: %w", r.method, r.logURL, err)
}

// render renders the URL, query, headers and body.
func (a *action) render(req *step.Request) (*request, error) {
	s := req.Scope
	raw, err := a.url.RenderString(s)
	if err != nil {
		return nil, fmt.Errorf("http url: %w", err)
	}
	u, err := parseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("http url: %w", err)
	}
	if len(a.query) > 0 {
		q := u.Query()
		for _, p := range a.query {
			v, err := p.tmpl.RenderString(s)
			if err != nil {
				return nil, fmt.Errorf("http query %q: %w", p.name, err)
			}
			q.Set(p.name, v)
		}
		u.RawQuery = q.Encode()
	}
	r := &request{method: a.method, url: u.String(), logURL: u.Redacted(), header: http.Header{}}

	for _, h := range a.headers {
		v, err := h.tmpl.RenderString(s)
		if err != nil {
			return nil, fmt.Errorf("http header %q: %w", h.name, err)
		}
		if !validHeaderValue(v) {
			return nil, fmt.Errorf("http header %q: value contains control characters", h.name)
		}
		if h.name == "Host" {
			r.host = v
		}
		r.header.Set(h.name, v)
	}
	if r.header.Get("Idempotency-Key") == "" && req.IdempotencyKey != "" {
		r.header.Set("Idempotency-Key", req.IdempotencyKey)
	}
	if r.header.Get("User-Agent") == "" {
		r.header.Set("User-Agent", a.h.userAgent)
	}

	var bodyValue any
	if a.body != nil {
		bodyValue, err = a.body.Render(s)
		if err != nil {
			return nil, fmt.Errorf("http body: %w", err)
		}
		r.hasBody = true
		if text, ok := bodyValue.(string); ok {
			r.body = []byte(text)
			setDefault(r.header, "Content-Type", "text/plain; charset=utf-8")
		} else {
			if r.body, err = json.Marshal(bodyValue); err != nil {
				return nil, fmt.Errorf("http body: encode JSON: %w", err)
			}
			setDefault(r.header, "Content-Type", "application/json")
		}
	}

	r.input = map[string]any{"method": r.method, "url": r.logURL, "headers": recordedHeaders(r.header)}
	if r.hasBody {
		r.input["body"] = bodyValue
	}
	return r, nil
}

func setDefault(h http.Header, name, value string) {
	if h.Get(name) == "" {
		h.Set(name, value)
	}
}

// recordedHeaders flattens request headers for the step's input, hiding
// sensitive values.
func recordedHeaders(h http.Header) map[string]string {
	out := flatten(h)
	for _, name := range sensitiveHeaders {
		if _, ok := out[name]; ok {
			out[name] = redacted
		}
	}
	return out
}

// flatten joins each header's values with ", ".
func flatten(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for name, values := range h {
		out[name] = strings.Join(values, ", ")
	}
	return out
}

// output is a successful step's output. A JSON response (application/json
// or any +json type) is parsed; one that does not parse, and any other
// response, is kept as text.
func output(resp *http.Response, data []byte) map[string]any {
	var body any = string(data)
	if len(data) > 0 && isJSON(resp.Header.Get("Content-Type")) {
		var v any
		if err := json.Unmarshal(data, &v); err == nil {
			body = v
		}
	}
	return map[string]any{
		"status":  resp.StatusCode,
		"headers": flatten(resp.Header),
		"body":    body,
	}
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// snippet is the start of an error body for a message: at most
// snippetBytes, cut at a character boundary, whitespace collapsed.
func snippet(data []byte) string {
	cut := len(data) > snippetBytes
	if cut {
		n := snippetBytes
		for n > snippetBytes-utf8.UTFMax && !utf8.RuneStart(data[n]) {
			n--
		}
		data = data[:n]
	}
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(data), "\uFFFD")), " ")
	if cut {
		s += "…"
	}
	return s
}

// retryAfter parses a Retry-After header: delay seconds or an HTTP date,
// measured from now (the engine clock).
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return min(max(t.Sub(now), 0), maxRetryAfter), true
}

// maxRetryAfter bounds a server's Retry-After so that a bogus value cannot
// park a run for years; the step's policy still decides how many attempts
// remain.
const maxRetryAfter = 24 * time.Hour
