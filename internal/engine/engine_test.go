package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/internal/engine"
	"github.com/sluicehq/sluice/internal/step"
	"github.com/sluicehq/sluice/internal/store/sqlite"
	"github.com/sluicehq/sluice/internal/workflow"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// probe is a step type whose behaviour each test scripts per step id, and
// which records every request it receives.
type probe struct {
	mu       sync.Mutex
	behavior map[string]func(ctx context.Context, req *step.Request) (*step.Result, error)
	calls    map[string][]*step.Request
}

func newProbe() *probe {
	return &probe{behavior: map[string]func(context.Context, *step.Request) (*step.Result, error){}, calls: map[string][]*step.Request{}}
}

func (p *probe) on(stepID string, f func(ctx context.Context, req *step.Request) (*step.Result, error)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.behavior[stepID] = f
}

func (p *probe) requests(stepID string) []*step.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*step.Request(nil), p.calls[stepID]...)
}

func (p *probe) Compile(json.RawMessage) (step.Action, error) {
	return step.ActionFunc(func(ctx context.Context, req *step.Request) (*step.Result, error) {
		p.mu.Lock()
		p.calls[req.StepID] = append(p.calls[req.StepID], req)
		f := p.behavior[req.StepID]
		p.mu.Unlock()
		if f == nil {
			return &step.Result{Output: map[string]any{"step": req.StepID, "attempt": req.Attempt}}, nil
		}
		return f(ctx, req)
	}), nil
}

// bundle is what a test gets from setup.
type bundle struct {
	engine *engine.Engine
	store  workflow.Store
	probe  *probe
	dbPath string

	mu      sync.Mutex
	changed chan struct{}
	events  []engine.Event
}

type setupOptions struct {
	config    func(*engine.Config)
	wrapStore func(workflow.Store) workflow.Store
	noRun     bool
}

func setup(t *testing.T, opts ...func(*setupOptions)) *bundle {
	t.Helper()
	var o setupOptions
	for _, f := range opts {
		f(&o)
	}
	ctx := context.Background()
	dbPath := t.TempDir() + "/sluice.db"
	store, err := sqlite.Open(ctx, dbPath, sqlite.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, store.Close()) })

	b := &bundle{store: store, probe: newProbe(), dbPath: dbPath, changed: make(chan struct{})}
	if o.wrapStore != nil {
		b.store = o.wrapStore(store)
	}
	reg := step.NewRegistry()
	require.NoError(t, reg.Register("probe", b.probe))
	registerBuiltins(t, reg)
	cfg := engine.Config{
		Store:        b.store,
		Registry:     reg,
		Logger:       slog.New(slog.DiscardHandler),
		Workers:      8,
		PollInterval: 50 * time.Millisecond,
		Random:       func() float64 { return 0.5 }, // no jitter
		Observer:     b.observe,
	}
	if o.config != nil {
		o.config(&cfg)
	}
	b.engine, err = engine.New(cfg)
	require.NoError(t, err)
	if !o.noRun {
		b.run(t, b.engine)
	}
	return b
}

// run runs an engine until the test ends.
func (b *bundle) run(t *testing.T, e *engine.Engine) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			require.NoError(t, <-done)
		})
	}
	t.Cleanup(stop)
	return stop
}

func (b *bundle) observe(ev engine.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.events = append(b.events, ev)
	close(b.changed)
	b.changed = make(chan struct{})
}

// waitFor waits until cond holds for the stored run, re-checking whenever
// the engine reports a change.
func (b *bundle) waitFor(t *testing.T, runID string, what string, cond func(*workflow.Run) bool) *workflow.Run {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		b.mu.Lock()
		changed := b.changed
		b.mu.Unlock()
		run, err := b.store.RunGet(context.Background(), runID)
		require.NoError(t, err)
		if cond(run) {
			return run
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("run %s: timed out waiting for %s; status %s step %s attempt %d error %q", runID, what, run.Status, run.CurrentStepID, run.Attempt, run.Error)
		}
	}
}

func (b *bundle) waitStatus(t *testing.T, runID string, status workflow.RunStatus) *workflow.Run {
	t.Helper()
	return b.waitFor(t, runID, string(status), func(r *workflow.Run) bool { return r.Status == status })
}

// put stores a workflow definition given as a Go value.
func (b *bundle) put(t *testing.T, def map[string]any) *workflow.WorkflowVersion {
	t.Helper()
	raw, err := json.Marshal(def)
	require.NoError(t, err)
	v, _, err := b.engine.PutWorkflow(context.Background(), raw)
	require.NoError(t, err)
	return v
}

// start starts a run of workflow id with a fresh idempotency key.
func (b *bundle) start(t *testing.T, workflowID string, input string) *workflow.Run {
	t.Helper()
	run, existing, err := b.engine.Start(context.Background(), &engine.StartParams{
		WorkflowID: workflowID, IdempotencyKey: fmt.Sprintf("key-%d", time.Now().UnixNano()), Input: json.RawMessage(input),
	})
	require.NoError(t, err)
	require.False(t, existing)
	return run
}

func (b *bundle) executions(t *testing.T, runID string) []*workflow.StepExecution {
	t.Helper()
	execs, err := b.store.StepExecutionList(context.Background(), runID)
	require.NoError(t, err)
	return execs
}

// chain returns a definition whose steps run one after another.
func chain(id string, steps ...map[string]any) map[string]any {
	list := make([]any, len(steps))
	for i, s := range steps {
		if _, ok := s["type"]; !ok {
			s["type"] = "probe"
		}
		if i+1 < len(steps) {
			if _, ok := s["next"]; !ok {
				if _, branch := s["onTrue"]; !branch {
					s["next"] = steps[i+1]["id"]
				}
			}
		}
		list[i] = s
	}
	return map[string]any{"id": id, "startAt": steps[0]["id"], "steps": list}
}

func fastRetry(maxAttempts int) map[string]any {
	return map[string]any{"maxAttempts": maxAttempts, "initialInterval": "10ms", "multiplier": 2, "maxInterval": "1s", "jitter": 0.5}
}
