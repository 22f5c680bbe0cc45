package delay_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/internal/expr"
	"github.com/sluicehq/sluice/internal/step"
	"github.com/sluicehq/sluice/internal/step/delay"
	"github.com/sluicehq/sluice/internal/step/steptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var now = time.Date(2030, 1, 2, 15, 4, 5, 0, time.UTC)

func request(input any) *step.Request {
	return &step.Request{
		RunID:   "run-1",
		StepID:  "wait",
		Attempt: 1,
		Now:     now,
		Scope:   &expr.Scope{Input: input, Run: expr.RunInfo{ID: "run-1", StepID: "wait", Attempt: 1}},
	}
}

func TestExecute(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name      string
		config    string
		input     any
		wantWait  time.Time // zero: no wait
		wantUntil string
		wantInput map[string]any
	}{
		{
			name:      "duration",
			config:    `{"duration": "15m"}`,
			wantWait:  now.Add(15 * time.Minute),
			wantUntil: "2030-01-02T15:19:05Z",
			wantInput: map[string]any{"duration": "15m0s"},
		},
		{
			name:      "sub-second duration",
			config:    `{"duration": "1.5s"}`,
			wantWait:  now.Add(1500 * time.Millisecond),
			wantUntil: "2030-01-02T15:04:06.5Z",
			wantInput: map[string]any{"duration": "1.5s"},
		},
		{
			name:      "literal until",
			config:    `{"until": "2030-01-03T00:00:00Z"}`,
			wantWait:  time.Date(2030, 1, 3, 0, 0, 0, 0, time.UTC),
			wantUntil: "2030-01-03T00:00:00Z",
			wantInput: map[string]any{"until": "2030-01-03T00:00:00Z"},
		},
		{
			name:      "until from input with offset",
			config:    `{"until": "{{ input.remindAt }}"}`,
			input:     map[string]any{"remindAt": "2030-01-02T18:00:00.25+02:00"},
			wantWait:  time.Date(2030, 1, 2, 16, 0, 0, 250_000_000, time.UTC),
			wantUntil: "2030-01-02T16:00:00.25Z",
			wantInput: map[string]any{"until": "2030-01-02T16:00:00.25Z"},
		},
		{
			name:      "interpolated until",
			config:    `{"until": "{{ input.day }}T09:00:00Z"}`,
			input:     map[string]any{"day": "2030-02-01"},
			wantWait:  time.Date(2030, 2, 1, 9, 0, 0, 0, time.UTC),
			wantUntil: "2030-02-01T09:00:00Z",
			wantInput: map[string]any{"until": "2030-02-01T09:00:00Z"},
		},
		{
			name:      "until as time value",
			config:    `{"until": "{{ date(input.at) }}"}`,
			input:     map[string]any{"at": "2031-05-06T07:08:09Z"},
			wantWait:  time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC),
			wantUntil: "2031-05-06T07:08:09Z",
			wantInput: map[string]any{"until": "2031-05-06T07:08:09Z"},
		},
		{
			name:      "until in the past continues at once",
			config:    `{"until": "{{ input.at }}"}`,
			input:     map[string]any{"at": "2020-01-01T00:00:00Z"},
			wantUntil: "2020-01-01T00:00:00Z",
			wantInput: map[string]any{"until": "2020-01-01T00:00:00Z"},
		},
		{
			name:      "until now continues at once",
			config:    `{"until": "2030-01-02T15:04:05Z"}`,
			wantUntil: "2030-01-02T15:04:05Z",
			wantInput: map[string]any{"until": "2030-01-02T15:04:05Z"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			action, err := delay.New().Compile(json.RawMessage(tt.config))
			require.NoError(t, err)
			res, err := action.Execute(t.Context(), request(tt.input))
			require.NoError(t, err)
			require.True(t, tt.wantWait.Equal(res.WaitUntil), "WaitUntil %v, want %v", res.WaitUntil, tt.wantWait)
			require.Equal(t, map[string]any{"until": tt.wantUntil}, res.Output)
			require.Equal(t, tt.wantInput, res.Input)
			require.Nil(t, res.Branch)
		})
	}
}

func TestExecuteBadUntilIsPermanent(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name  string
		input any
		want  string
	}{
		{"not a timestamp", map[string]any{"at": "tomorrow"}, `delay until: must be an RFC 3339 timestamp such as "2030-01-02T15:04:05Z", not "tomorrow"`},
		{"missing", map[string]any{}, `delay until: got <nil>, want an RFC 3339 timestamp`},
		{"number", map[string]any{"at": 12.5}, `delay until: got float64, want an RFC 3339 timestamp`},
		{"object", map[string]any{"at": map[string]any{}}, `delay until: got map[string]interface {}, want an RFC 3339 timestamp`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			action, err := delay.New().Compile(json.RawMessage(`{"until": "{{ input.at }}"}`))
			require.NoError(t, err)
			res, err := action.Execute(t.Context(), request(tt.input))
			require.Nil(t, res)
			require.True(t, step.IsPermanent(err), "%v", err)
			require.EqualError(t, err, tt.want)
		})
	}

	t.Run("evaluation error", func(t *testing.T) {
		t.Parallel()
		action, err := delay.New().Compile(json.RawMessage(`{"until": "{{ input.a.b }}"}`))
		require.NoError(t, err)
		_, err = action.Execute(t.Context(), request(map[string]any{}))
		require.True(t, step.IsPermanent(err), "%v", err)
		require.ErrorContains(t, err, `delay until: evaluate "input.a.b"`)
	})
}

func TestCompileInvalid(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		config string
		want   []string
	}{
		{"empty", `{}`, []string{"/duration: is required (or set until)"}},
		{"both", `{"duration": "1m", "until": "2030-01-01T00:00:00Z"}`, []string{"/until: cannot be combined with duration"}},
		{"duration not a string", `{"duration": 60}`, []string{`/duration: must be a duration such as "30s" or "1h30m"`}},
		{"duration unparsable", `{"duration": "5 minutes"}`, []string{`/duration: must be a duration such as "30s" or "1h30m", not "5 minutes"`}},
		{"duration zero", `{"duration": "0s"}`, []string{`/duration: must be positive, not "0s"`}},
		{"duration negative", `{"duration": "-1m"}`, []string{`/duration: must be positive, not "-1m0s"`}},
		{"until not a string", `{"until": 5}`, []string{"/until: must be a string"}},
		{"until empty", `{"until": ""}`, []string{"/until: must not be empty"}},
		{"until literal not a timestamp", `{"until": "2030-01-01"}`, []string{`/until: must be an RFC 3339 timestamp such as "2030-01-02T15:04:05Z", not "2030-01-01"`}},
		{"until bad template", `{"until": "{{ input. }}"}`, []string{`/until: compile "input."`}},
		{"until unclosed", `{"until": "{{ input.at"}`, []string{`/until: unclosed {{`}},
		{"unknown fields", `{"duration": "1m", "for": "1m", "Until": "x"}`, []string{
			"/Until: unknown field (known: duration, until)",
			"/for: unknown field (known: duration, until)",
		}},
		{"unknown field and bad duration", `{"duration": "x", "z": 1}`, []string{
			"/z: unknown field",
			`/duration: must be a duration`,
		}},
		{"not an object", `"1m"`, []string{": must be an object", "/duration: is required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			action, err := delay.New().Compile(json.RawMessage(tt.config))
			require.Nil(t, action)
			steptest.RequireInvalid(t, err, "invalid delay config", tt.want...)
		})
	}
}
