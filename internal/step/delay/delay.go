// Package delay implements the "delay" step type: it parks the run until a
// moment in the future. Nothing sleeps; the engine records the moment as
// the run's next_run_at.
//
// Config, exactly one of:
//
//	{"duration": "15m"}                          // a Go duration > 0, from the attempt's start
//	{"until": "{{ input.remindAt }}"}            // a template yielding an RFC 3339 timestamp
//
// A "until" in the past (or now) does not wait: the run continues at once.
// Output: {"until": "<RFC 3339 timestamp, UTC>"}, the moment asked for.
package delay

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/internal/expr"
	"github.com/sluicehq/sluice/internal/step"
	"github.com/sluicehq/sluice/internal/step/stepconfig"
)

// Handler compiles delay step configs. It is stateless.
type Handler struct{}

// New returns a delay step handler.
func New() *Handler { return &Handler{} }

// Compile implements step.Handler.
func (h *Handler) Compile(config json.RawMessage) (step.Action, error) {
	var d stepconfig.Decoder
	cfg := d.Object("", config, "duration", "until")
	a := &action{}
	switch {
	case cfg.Has("duration") && cfg.Has("until"):
		d.Add("/until", "cannot be combined with duration: set exactly one")
	case cfg.Has("duration"):
		if dur, ok := cfg.Duration("duration"); ok {
			if dur <= 0 {
				d.Add("/duration", "must be positive, not %q", dur)
			}
			a.duration = dur
		}
	case cfg.Has("until"):
		if tmpl, src, ok := cfg.TemplateString("until"); ok {
			switch {
			case src == "":
				d.Add("/until", "must not be empty")
			case stepconfig.IsLiteral(src):
				if _, err := parseTime(src); err != nil {
					d.Add("/until", "%v", err)
				}
			}
			a.until = tmpl
		}
	default:
		d.Add("/duration", "is required (or set until)")
	}
	if err := d.Err("invalid delay config"); err != nil {
		return nil, err
	}
	return a, nil
}

type action struct {
	duration time.Duration
	until    *expr.Template // set when duration is 0
}

// Execute computes the moment to wait until. A "until" that does not
// render to a timestamp fails the step permanently.
func (a *action) Execute(_ context.Context, req *step.Request) (*step.Result, error) {
	var (
		until time.Time
		input map[string]any
	)
	if a.until == nil {
		until = req.Now.Add(a.duration)
		input = map[string]any{"duration": a.duration.String()}
	} else {
		v, err := a.until.Render(req.Scope)
		if err != nil {
			return nil, step.Permanentf("delay until: %w", err)
		}
		until, err = toTime(v)
		if err != nil {
			return nil, step.Permanentf("delay until: %w", err)
		}
		input = map[string]any{"until": until.UTC().Format(time.RFC3339Nano)}
	}
	res := &step.Result{
		Input:  input,
		Output: map[string]any{"until": until.UTC().Format(time.RFC3339Nano)},
	}
	if until.After(req.Now) {
		res.WaitUntil = until
	}
	return res, nil
}

// toTime accepts a rendered timestamp string or a time value (e.g. from
// expressions like now() + duration("1h")).
func toTime(v any) (time.Time, error) {
	switch t := v.(type) {
	case time.Time:
		return t, nil
	case string:
		return parseTime(t)
	default:
		return time.Time{}, fmt.Errorf("got %T, want an RFC 3339 timestamp", v)
	}
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("must be an RFC 3339 timestamp such as \"2030-01-02T15:04:05Z\", not %q", s)
	}
	return t, nil
}
