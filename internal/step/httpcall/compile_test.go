package httpcall_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/step/httpcall"
	"github.com/sluicehq/sluice/internal/step/steptest"
)

func TestCompileInvalid(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		config string
		want   []string
	}{
		{"empty", `{}`, []string{"/url: is required"}},
		{"not an object", `"https://x"`, []string{": must be an object", "/url: is required"}},
		{"unknown field", `{"url": "https://x", "headerz": {}}`, []string{
			"/headerz: unknown field (known: method, url, headers, query, body, timeout, retryOn, maxResponseBytes)",
		}},
		{"method not a string", `{"method": 1, "url": "https://x"}`, []string{"/method: must be a string"}},
		{"method unknown", `{"method": "FETCH", "url": "https://x"}`, []string{
			`/method: must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, not "FETCH"`,
		}},
		{"method trace", `{"method": "TRACE", "url": "https://x"}`, []string{"/method: must be one of"}},
		{"url not a string", `{"url": {"host": "x"}}`, []string{"/url: must be a string"}},
		{"url empty", `{"url": " "}`, []string{"/url: must not be empty"}},
		{"url relative", `{"url": "/tickets"}`, []string{`/url: must be an absolute http or https URL, not "/tickets"`}},
		{"url other scheme", `{"url": "ftp://x/y"}`, []string{`/url: must be an absolute http or https URL, not "ftp://x/y"`}},
		{"url no host", `{"url": "https:///path"}`, []string{`/url: must be an absolute http or https URL`}},
		{"url bad template", `{"url": "https://x/{{ input. }}"}`, []string{`/url: compile "input."`}},
		{"headers not an object", `{"url": "https://x", "headers": "a: b"}`, []string{"/headers: must be an object"}},
		{"header not a string", `{"url": "https://x", "headers": {"X-N": 1}}`, []string{"/headers/X-N: must be a string"}},
		{"header bad name", `{"url": "https://x", "headers": {"X Ticket": "1", "a/b": "2"}}`, []string{
			"/headers/X Ticket: is not a valid header name",
			"/headers/a~1b: is not a valid header name",
		}},
		{"header empty name", `{"url": "https://x", "headers": {"": "1"}}`, []string{"/headers/: is not a valid header name"}},
		{"header duplicate", `{"url": "https://x", "headers": {"X-Ticket": "1", "x-ticket": "2"}}`, []string{
			`/headers/x-ticket: duplicates header "X-Ticket"`,
		}},
		{"header bad template", `{"url": "https://x", "headers": {"X-Ticket": "{{ input. }}"}}`, []string{`/headers/X-Ticket: compile "input."`}},
		{"query not an object", `{"url": "https://x", "query": ["a"]}`, []string{"/query: must be an object"}},
		{"query not a string", `{"url": "https://x", "query": {"page": 2}}`, []string{"/query/page: must be a string"}},
		{"query empty name", `{"url": "https://x", "query": {"": "x"}}`, []string{"/query/: parameter name must not be empty"}},
		{"query bad template", `{"url": "https://x", "query": {"q": "{{ }}"}}`, []string{"/query/q: empty {{ }}"}},
		{"body bad templates", `{"url": "https://x", "body": {"message": {"ticket": "{{ input. }}"}, "list": ["{{ run.x }}"]}}`, []string{
			`/body/list/0: compile "run.x"`,
			`/body/message/ticket: compile "input."`,
		}},
		{"timeout not a string", `{"url": "https://x", "timeout": 10}`, []string{`/timeout: must be a duration such as "30s"`}},
		{"timeout unparsable", `{"url": "https://x", "timeout": "10"}`, []string{`/timeout: must be a duration such as "30s" or "1h30m", not "10"`}},
		{"timeout zero", `{"url": "https://x", "timeout": "0s"}`, []string{`/timeout: must be positive`}},
		{"retryOn not an array", `{"url": "https://x", "retryOn": 404}`, []string{"/retryOn: must be an array"}},
		{"retryOn bad items", `{"url": "https://x", "retryOn": [404, "409", 500, 302, 4.5]}`, []string{
			"/retryOn/1: must be an integer",
			"/retryOn/2: must be a 4xx status code (5xx, 408 and 429 are always retried), not 500",
			"/retryOn/3: must be a 4xx status code",
			"/retryOn/4: must be an integer",
		}},
		{"maxResponseBytes not an integer", `{"url": "https://x", "maxResponseBytes": 1.5}`, []string{"/maxResponseBytes: must be an integer"}},
		{"maxResponseBytes zero", `{"url": "https://x", "maxResponseBytes": 0}`, []string{"/maxResponseBytes: must be between 1 and 67108864, not 0"}},
		{"maxResponseBytes too big", `{"url": "https://x", "maxResponseBytes": 67108865}`, []string{"/maxResponseBytes: must be between 1 and 67108864"}},
		{"everything wrong", `{"method": "GOT", "headers": {"X-Ticket": "{{"}, "query": 1, "body": "{{ input. }}", "timeout": "soon", "retryOn": [200], "maxResponseBytes": -1, "x": 1}`, []string{
			"/x: unknown field",
			"/method: must be one of",
			"/url: is required",
			"/headers/X-Ticket: unclosed {{",
			"/query: must be an object",
			`/body: compile "input."`,
			`/timeout: must be a duration`,
			"/retryOn/0: must be a 4xx status code",
			"/maxResponseBytes: must be between",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			action, err := httpcall.New(httpcall.Config{}).Compile(json.RawMessage(tt.config))
			require.Nil(t, action)
			steptest.RequireInvalid(t, err, "invalid http config", tt.want...)
		})
	}
}

func TestCompileValid(t *testing.T) {
	t.Parallel()

	for _, config := range []string{
		`{"url": "https://example.com"}`,
		`{"url": "http://localhost:8080/x?y=1", "method": "post"}`,
		`{"url": "{{ input.url }}"}`,
		`{"url": "https://x", "method": "DELETE", "headers": {}, "query": {}, "body": null, "timeout": "1m", "retryOn": [], "maxResponseBytes": 1}`,
		`{"url": "https://x", "body": [1, "two", {"three": "{{ input.n }}"}], "retryOn": [404, 409, 499]}`,
	} {
		_, err := httpcall.New(httpcall.Config{}).Compile(json.RawMessage(config))
		require.NoError(t, err, config)
	}
}
