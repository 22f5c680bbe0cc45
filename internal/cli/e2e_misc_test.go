package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHealth(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *ServerConfig) { c.NoSeed = true })

	r := b.do(http.MethodGet, "/healthz", nil)
	requireStatus(t, r, http.StatusOK)
	require.Equal(t, map[string]any{"status": "ok"}, r.JSON(t))

	r = b.do(http.MethodGet, "/readyz", nil)
	requireStatus(t, r, http.StatusOK)
	require.Equal(t, map[string]any{"status": "ready"}, r.JSON(t))
}

func TestUnknownRouteAndRequestID(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *ServerConfig) { c.NoSeed = true })

	r := b.do(http.MethodGet, "/api/nothing-here", nil)
	p := requireProblem(t, r, http.StatusNotFound)
	require.Equal(t, "not_found", p["code"])
	require.NotEmpty(t, r.Header.Get("X-Request-Id"))

	// A caller's request id is kept and names the problem instance.
	r = b.do(http.MethodGet, "/api/instances/unknown", nil, "X-Request-Id", "trace-123")
	p = requireProblem(t, r, http.StatusNotFound)
	require.Equal(t, "trace-123", r.Header.Get("X-Request-Id"))
	require.Equal(t, "urn:sluice:request:trace-123", p["instance"])

	// An unreasonable one is replaced.
	r = b.do(http.MethodGet, "/healthz", nil, "X-Request-Id", "has space")
	require.NotEqual(t, "has space", r.Header.Get("X-Request-Id"))
	require.NotEmpty(t, r.Header.Get("X-Request-Id"))
}

func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *ServerConfig) { c.NoSeed = true })

	r := b.do(http.MethodGet, "/openapi.json", nil)
	requireStatus(t, r, http.StatusOK)
	var doc struct {
		OpenAPI string `json:"openapi"`
		Info    struct {
			Title       string `json:"title"`
			Description string `json:"description"`
		} `json:"info"`
		Paths map[string]map[string]struct {
			Summary     string `json:"summary"`
			Description string `json:"description"`
			Parameters  []struct {
				Name     string `json:"name"`
				In       string `json:"in"`
				Required bool   `json:"required"`
			} `json:"parameters"`
			RequestBody *struct {
				Content map[string]any `json:"content"`
			} `json:"requestBody"`
			Responses map[string]any `json:"responses"`
		} `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &doc))
	require.True(t, strings.HasPrefix(doc.OpenAPI, "3.1"), doc.OpenAPI)
	require.Equal(t, "Sluice API", doc.Info.Title)
	require.NotEmpty(t, doc.Info.Description)

	want := map[string][]string{
		"/api/webhooks/{key}":           {"post"},
		"/api/workflows":                {"get"},
		"/api/workflows/{id}":           {"get", "put", "delete"},
		"/api/workflows/validate":       {"post"},
		"/api/workflows/{id}/instances": {"post"},
		"/api/instances":                {"get"},
		"/api/instances/{id}":           {"get"},
		"/api/instances/{id}/cancel":    {"post"},
		"/api/instances/{id}/replay":    {"post"},
		"/api/deadletters":              {"get"},
		"/api/deadletters/{id}/replay":  {"post"},
		"/api/outbox":                   {"get"},
		"/healthz":                      {"get"},
		"/readyz":                       {"get"},
	}
	for path, methods := range want {
		item, ok := doc.Paths[path]
		require.True(t, ok, "path %s missing", path)
		for _, m := range methods {
			o, ok := item[m]
			require.True(t, ok, "%s %s missing", m, path)
			require.NotEmpty(t, o.Summary, "%s %s has no summary", m, path)
		}
	}

	hook := doc.Paths["/api/webhooks/{key}"]["post"]
	var keyRequired bool
	for _, p := range hook.Parameters {
		if p.In == "header" && p.Name == "Idempotency-Key" {
			keyRequired = p.Required
		}
	}
	require.True(t, keyRequired, "Idempotency-Key is documented as required")
	require.Contains(t, hook.RequestBody.Content, "application/json")
	for _, status := range []string{"202", "400", "404", "413", "422"} {
		require.Contains(t, hook.Responses, status)
	}
	require.Contains(t, doc.Paths["/api/workflows/{id}"]["put"].RequestBody.Content, "application/json")
	require.Contains(t, string(r.Body), `"$ref":"#/components/schemas/WorkflowDefinitionStep"`, "the DSL schema is part of the document")
}

func TestSwaggerUIIsSelfContained(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *ServerConfig) { c.NoSeed = true })

	r := b.do(http.MethodGet, "/swagger", nil) // redirected to /swagger/
	requireStatus(t, r, http.StatusOK)
	html := string(r.Body)
	require.Contains(t, html, "swagger-ui")
	require.Contains(t, html, "/openapi.json")
	require.NotContains(t, strings.ToLower(html), "cdn")

	// Every script and stylesheet is served by the binary.
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(html, -1)
	require.NotEmpty(t, refs)
	for _, ref := range refs {
		u := ref[1]
		require.False(t, strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "//"),
			"Swagger UI loads %s from outside the binary", u)
		if !strings.HasPrefix(u, "/") {
			u = "/swagger/" + u
		}
		asset := b.do(http.MethodGet, u, nil)
		requireStatus(t, asset, http.StatusOK)
		require.NotEmpty(t, asset.Body, u)
	}
}

func TestSecondServerOnTheSameSQLiteFileIsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *ServerConfig) { c.NoSeed = true })
	second := NewServer(ServerConfig{Addr: "127.0.0.1:0", DatabaseURL: "sqlite:" + b.dbPath, Logger: testLogger(t)})
	err := second.Open(context.Background())
	require.ErrorContains(t, err, "in use by another sluice process")
	require.NoError(t, second.Close())
	requireStatus(t, b.do(http.MethodGet, "/readyz", nil), http.StatusOK)
}
