package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/engine"
	"github.com/sluicehq/sluice/internal/step"
	"github.com/sluicehq/sluice/internal/store/sqlite"
	"github.com/sluicehq/sluice/internal/workflow"
)

// BenchmarkEngineRuns measures completed runs per second of a
// start → condition → probe → queue_publish workflow on SQLite: every
// b.N run is started through Engine.Start (as a webhook would) and the
// benchmark ends when all completed.
func BenchmarkEngineRuns(b *testing.B) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, b.TempDir()+"/bench.db", sqlite.Config{})
	require.NoError(b, err)
	defer store.Close()

	var completed atomic.Int64
	allDone := make(chan struct{})
	var target atomic.Int64
	var once sync.Once
	reg := step.NewRegistry()
	require.NoError(b, reg.Register("probe", newProbe()))
	registerBuiltins(b, reg)
	e, err := engine.New(engine.Config{
		Store: store, Registry: reg, Logger: slog.New(slog.DiscardHandler), Workers: 64,
		Observer: func(ev engine.Event) {
			if ev.Type == engine.EventStep && ev.Status == workflow.RunCompleted {
				if completed.Add(1) == target.Load() {
					once.Do(func() { close(allDone) })
				}
			}
		},
	})
	require.NoError(b, err)
	def, _ := json.Marshal(map[string]any{
		"id": "bench", "trigger": map[string]any{"type": "webhook", "key": "bench"}, "startAt": "route",
		"steps": []any{
			map[string]any{"id": "route", "type": "condition", "config": map[string]any{"expression": "input.amount > 100"}, "onTrue": "call"},
			map[string]any{"id": "call", "type": "probe", "next": "publish"},
			map[string]any{"id": "publish", "type": "queue_publish", "config": map[string]any{
				"exchange": "sluice.events", "routingKey": "bench", "message": map[string]any{"n": "{{ input.n }}"}}},
		},
	})
	_, _, err = e.PutWorkflow(ctx, def)
	require.NoError(b, err)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e.Run(runCtx) }()
	defer func() { cancel(); <-done }()

	target.Store(int64(b.N))
	b.ResetTimer()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 32 { // concurrent webhook callers
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				_, _, err := e.Start(ctx, &engine.StartParams{TriggerKey: "bench", IdempotencyKey: fmt.Sprint(n), Input: json.RawMessage(fmt.Sprintf(`{"amount":150,"n":%d}`, n))})
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	<-allDone
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "runs/s")
}
