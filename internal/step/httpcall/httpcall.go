// Package httpcall implements the "http" step type: it renders an HTTP
// request from templates, sends it and records the response.
//
// Config:
//
//	{
//	  "method": "POST",                                  // default GET
//	  "url": "https://api.example.com/tickets/{{ input.id }}",
//	  "headers": {"Authorization": "Bearer {{ input.token }}"},
//	  "query": {"label": "{{ steps.classify.output.label }}"},
//	  "body": {"summary": "{{ steps.classify.output.summary }}"},
//	  "timeout": "10s",                                  // optional, per request
//	  "retryOn": [404, 409],                             // extra 4xx statuses to retry
//	  "maxResponseBytes": 65536                          // default: the handler's, 1 MiB
//	}
//
// A string body is sent as is (text/plain unless Content-Type is set); any
// other body is sent JSON-encoded (application/json unless set). Every
// request carries the step's idempotency key as Idempotency-Key and a
// User-Agent, unless the step sets its own.
//
// Outcome: 2xx and 3xx succeed with output {"status", "headers", "body"}
// (body parsed when the response is JSON, else text; headers joined with
// ", "). 5xx, 408, 429, the statuses in retryOn, network errors and
// timeouts are retried per the step's policy, honouring Retry-After. Other
// 4xx fail the step permanently, as does a response body larger than
// maxResponseBytes: truncating it silently would hand later steps a wrong
// value, and a bigger body would not fit in the step's recorded output.
package httpcall

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/expr"
	"github.com/sluicehq/sluice/internal/step"
	"github.com/sluicehq/sluice/internal/step/stepconfig"
)

const (
	// DefaultMaxResponseBytes is Config.MaxResponseBytes's default: 1 MiB.
	DefaultMaxResponseBytes = 1 << 20
	// DefaultUserAgent is Config.UserAgent's default.
	DefaultUserAgent = "sluice"
	// maxStepResponseBytes bounds a step's maxResponseBytes: the body ends
	// up in the step's recorded output.
	maxStepResponseBytes = 64 << 20
)

// methods are the request methods a step may use. CONNECT and TRACE are
// left out: neither makes sense for a workflow step.
var methods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions,
}

// Config configures a Handler. Zero values take the documented defaults.
type Config struct {
	// Client sends the requests. The step's context carries its timeout, so
	// the client needs none. Defaults to a client on http.DefaultTransport.
	Client *http.Client
	// MaxResponseBytes caps a response body when the step sets no
	// maxResponseBytes. Defaults to DefaultMaxResponseBytes (1 MiB).
	MaxResponseBytes int64
	// UserAgent is sent unless the step sets a User-Agent header; the
	// wiring passes "sluice/<version>". Defaults to DefaultUserAgent.
	UserAgent string
}

// Handler compiles http step configs. Create it with New.
type Handler struct {
	client    *http.Client
	maxBytes  int64
	userAgent string
}

// New returns an http step handler, filling cfg's defaults.
func New(cfg Config) *Handler {
	h := &Handler{
		client:    cfg.Client,
		maxBytes:  cfg.MaxResponseBytes,
		userAgent: cmp.Or(cfg.UserAgent, DefaultUserAgent),
	}
	if h.client == nil {
		h.client = &http.Client{}
	}
	if h.maxBytes <= 0 {
		h.maxBytes = DefaultMaxResponseBytes
	}
	return h
}

// action is one compiled http step, safe for concurrent use.
type action struct {
	h        *Handler
	method   string
	url      *expr.Template
	headers  []namedTemplate // canonical names, sorted
	query    []namedTemplate // sorted
	body     *expr.Template  // nil: no body
	timeout  time.Duration   // 0: only the step's context bounds the request
	retryOn  []int
	maxBytes int64
}

type namedTemplate struct {
	name string
	tmpl *expr.Template
}

// Compile implements step.Handler.
func (h *Handler) Compile(config json.RawMessage) (step.Action, error) {
	var d stepconfig.Decoder
	cfg := d.Object("", config,
		"method", "url", "headers", "query", "body", "timeout", "retryOn", "maxResponseBytes")
	a := &action{h: h, method: http.MethodGet, maxBytes: h.maxBytes}

	if m, ok := cfg.String("method"); ok {
		a.method = strings.ToUpper(m)
		if !slices.Contains(methods, a.method) {
			d.Add("/method", "must be one of %s, not %q", strings.Join(methods, ", "), m)
		}
	}
	if cfg.Required("url") {
		if tmpl, src, ok := cfg.TemplateString("url"); ok {
			switch {
			case strings.TrimSpace(src) == "":
				d.Add("/url", "must not be empty")
			case stepconfig.IsLiteral(src):
				if _, err := parseURL(src); err != nil {
					d.Add("/url", "%v", err)
				}
			}
			a.url = tmpl
		}
	}
	a.headers = compileHeaders(&d, cfg)
	if query, ok := cfg.TemplateMap("query"); ok {
		for name, tmpl := range query {
			if name == "" {
				d.Add("/query/", "parameter name must not be empty")
			}
			a.query = append(a.query, namedTemplate{name: name, tmpl: tmpl})
		}
		slices.SortFunc(a.query, func(x, y namedTemplate) int { return strings.Compare(x.name, y.name) })
	}
	a.body, _ = cfg.Template("body")
	if t, ok := cfg.Duration("timeout"); ok {
		if t <= 0 {
			d.Add("/timeout", "must be positive, not %q", t)
		}
		a.timeout = t
	}
	if items, ok := cfg.Array("retryOn"); ok {
		for i, raw := range items {
			path := cfg.Path("retryOn") + "/" + strconv.Itoa(i)
			c, ok := d.Int(path, raw)
			switch {
			case !ok:
			case c < 400 || c > 499:
				d.Add(path, "must be a 4xx status code (5xx, 408 and 429 are always retried), not %d", c)
			default:
				a.retryOn = append(a.retryOn, c)
			}
		}
	}
	if n, ok := cfg.Int("maxResponseBytes"); ok {
		if n < 1 || n > maxStepResponseBytes {
			d.Add("/maxResponseBytes", "must be between 1 and %d, not %d", maxStepResponseBytes, n)
		}
		a.maxBytes = int64(n)
	}
	if err := d.Err("invalid http config"); err != nil {
		return nil, err
	}
	return a, nil
}

// compileHeaders compiles the headers object: names must be valid tokens
// and distinct once canonicalised. Values are checked once rendered.
func compileHeaders(d *stepconfig.Decoder, cfg *stepconfig.Object) []namedTemplate {
	headers, ok := cfg.TemplateMap("headers")
	if !ok {
		return nil
	}
	names := make([]string, 0, len(headers))
	for name := range headers {
		names = append(names, name)
	}
	slices.Sort(names)
	seen := map[string]string{}
	out := make([]namedTemplate, 0, len(headers))
	for _, name := range names {
		path := cfg.Path("headers") + "/" + stepconfig.EscapePointer(name)
		if !validHeaderName(name) {
			d.Add(path, "is not a valid header name")
			continue
		}
		canon := http.CanonicalHeaderKey(name)
		if other, dup := seen[canon]; dup {
			d.Add(path, "duplicates header %q (names are case-insensitive)", other)
			continue
		}
		seen[canon] = name
		out = append(out, namedTemplate{name: canon, tmpl: headers[name]})
	}
	return out
}

// parseURL checks that s is an absolute http or https URL.
func parseURL(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("must be an absolute http or https URL, not %q", s)
	}
	return u, nil
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// validHeaderValue reports whether s holds no control characters other
// than tab (no CR/LF header injection).
func validHeaderValue(s string) bool {
	for i := range len(s) {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
