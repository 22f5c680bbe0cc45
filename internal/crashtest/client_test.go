package crashtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// requestTimeout bounds one API request.
const requestTimeout = 10 * time.Second

// apiClient talks to one child's REST API.
type apiClient struct {
	hc   *http.Client
	base string
}

// apiResponse is a read response.
type apiResponse struct {
	status int
	header http.Header
	body   []byte
}

func (a apiClient) do(ctx context.Context, method, path string, header map[string]string, body []byte) (*apiResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	return &apiResponse{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// getJSON GETs path and decodes a 200 answer into v.
func (a apiClient) getJSON(ctx context.Context, path string, v any) error {
	res, err := a.do(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return err
	}
	if res.status != http.StatusOK {
		return fmt.Errorf("GET %s: status %d: %s", path, res.status, res.body)
	}
	if err := json.Unmarshal(res.body, v); err != nil {
		return fmt.Errorf("GET %s: decode: %w", path, err)
	}
	return nil
}

// putWorkflow stores a definition; it accepts 201 (created) and 200
// (unchanged).
func (a apiClient) putWorkflow(ctx context.Context, id string, def []byte) error {
	res, err := a.do(ctx, http.MethodPut, "/api/workflows/"+url.PathEscape(id), nil, def)
	if err != nil {
		return err
	}
	if res.status != http.StatusCreated && res.status != http.StatusOK {
		return fmt.Errorf("PUT /api/workflows/%s: status %d: %s", id, res.status, res.body)
	}
	return nil
}

// startResult is the answer to a webhook.
type startResult struct {
	InstanceID      string `json:"instanceId"`
	WorkflowID      string `json:"workflowId"`
	WorkflowVersion int    `json:"workflowVersion"`
	Status          string `json:"status"`
}

// webhookAnswer is what one webhook request produced. err is set when no
// answer arrived (connection refused or reset: the server was killed).
type webhookAnswer struct {
	status   int
	replayed bool
	result   startResult
	body     []byte
	err      error
}

// webhook posts body to /api/webhooks/{trigger} with an Idempotency-Key.
func (a apiClient) webhook(ctx context.Context, trigger, key string, body []byte) webhookAnswer {
	res, err := a.do(ctx, http.MethodPost, "/api/webhooks/"+url.PathEscape(trigger), map[string]string{"Idempotency-Key": key}, body)
	if err != nil {
		return webhookAnswer{err: err}
	}
	ans := webhookAnswer{status: res.status, replayed: res.header.Get("Idempotent-Replayed") == "true", body: res.body}
	if res.status/100 == 2 {
		if err := json.Unmarshal(res.body, &ans.result); err != nil {
			ans.err = fmt.Errorf("decode webhook answer %q: %w", res.body, err)
		} else if ans.result.InstanceID == "" {
			ans.err = fmt.Errorf("webhook answer %q has no instanceId", res.body)
		}
	}
	return ans
}

// stepExecution is one step attempt as the API reports it.
type stepExecution struct {
	ID             string `json:"id"`
	StepID         string `json:"stepId"`
	Type           string `json:"type"`
	Attempt        int    `json:"attempt"`
	Generation     int    `json:"generation"`
	Status         string `json:"status"`
	Error          string `json:"error"`
	IdempotencyKey string `json:"idempotencyKey"`
}

// instance is a run with its step executions.
type instance struct {
	ID            string          `json:"id"`
	WorkflowID    string          `json:"workflowId"`
	Status        string          `json:"status"`
	CurrentStepID string          `json:"currentStepId"`
	Attempt       int             `json:"attempt"`
	Generation    int             `json:"generation"`
	Input         json.RawMessage `json:"input"`
	Error         string          `json:"error"`
	Steps         []stepExecution `json:"steps"`
}

func (a apiClient) instance(ctx context.Context, id string) (*instance, error) {
	var in instance
	if err := a.getJSON(ctx, "/api/instances/"+url.PathEscape(id), &in); err != nil {
		return nil, err
	}
	return &in, nil
}

// runStatuses lists every run of a workflow: id → status.
func (a apiClient) runStatuses(ctx context.Context, workflowID string) (map[string]string, error) {
	out := map[string]string{}
	cursor := ""
	for {
		q := url.Values{"workflowId": {workflowID}, "limit": {"1000"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page struct {
			Items []struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			} `json:"items"`
			NextCursor string `json:"nextCursor"`
		}
		if err := a.getJSON(ctx, "/api/instances?"+q.Encode(), &page); err != nil {
			return nil, err
		}
		for _, it := range page.Items {
			if _, dup := out[it.ID]; dup {
				return nil, fmt.Errorf("run %s listed twice while paging", it.ID)
			}
			out[it.ID] = it.Status
		}
		if page.NextCursor == "" {
			return out, nil
		}
		cursor = page.NextCursor
	}
}
