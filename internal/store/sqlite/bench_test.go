package sqlite

import (
	"context"
	"encoding/json"
	"runtime"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/workflow"
)

// benchParallelism is how many goroutines per GOMAXPROCS the benchmarks run,
// like the engine's workers and the API's concurrent webhook requests.
const benchParallelism = 64

// BenchmarkRunStart measures accepted starts per second (each with its own
// idempotency key) under concurrent callers.
func BenchmarkRunStart(b *testing.B) {
	s := openTest(b, Config{})
	putWorkflow(b, s)
	ctx := context.Background()
	now := time.Now()
	b.SetParallelism(benchParallelism)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := s.RunStart(ctx, startParams(now)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "starts/s")
}

// BenchmarkClaimCheckpoint measures completed 4-step runs per second: each
// op is a share of a claim (up to 4 runs at a time) and four checkpoints
// (three steps that continue in-process, one that completes the run), each
// with its step execution. The runs are inserted before the timer starts.
func BenchmarkClaimCheckpoint(b *testing.B) {
	const claimLimit = 4
	s := openTest(b, Config{})
	putWorkflow(b, s)
	ctx := context.Background()
	now := time.Now()
	goroutines := benchParallelism * runtime.GOMAXPROCS(0)
	preload(b, s, b.N+goroutines*claimLimit, now)

	b.SetParallelism(benchParallelism)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var claimed []*workflow.Run
		for pb.Next() {
			if len(claimed) == 0 {
				var err error
				claimed, err = s.RunClaim(ctx, &workflow.RunClaimParams{
					Owner: "bench", Limit: claimLimit, LeaseFor: time.Minute, Now: now, NewExecutionID: newID,
				})
				if err != nil || len(claimed) == 0 {
					b.Errorf("claim: %d runs, %v", len(claimed), err)
					return
				}
			}
			run := claimed[0]
			claimed = claimed[1:]
			if err := runFourSteps(ctx, s, run, now); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "runs/s")
}

var benchSteps = []string{"fetch", "classify", "route", "notify"}

func runFourSteps(ctx context.Context, s *Store, run *workflow.Run, now time.Time) error {
	steps := json.RawMessage(`{}`)
	for i, step := range benchSteps {
		p := &workflow.RunCheckpointParams{
			RunID: run.ID, LeaseToken: run.LeaseToken, Now: now, Attempt: 1,
			Execution: &workflow.StepExecution{
				ID: newID(), RunID: run.ID, StepID: step, StepType: "http", Attempt: 1,
				Status: workflow.StepCompleted, Input: json.RawMessage(`{"url":"http://example.test"}`),
				Output: json.RawMessage(`{"status":200}`), IdempotencyKey: run.ID + ":0:" + step,
				StartedAt: now, FinishedAt: now,
			},
		}
		steps = json.RawMessage(string(steps[:len(steps)-1]) + sep(i) + `"` + step + `":{"status":200}}`)
		p.Steps = steps
		if i < len(benchSteps)-1 {
			p.Status, p.CurrentStepID, p.LeaseUntil = workflow.RunRunning, benchSteps[i+1], now.Add(time.Minute)
		} else {
			p.Status, p.CurrentStepID, p.Output = workflow.RunCompleted, step, json.RawMessage(`{"status":200}`)
		}
		if err := s.RunCheckpoint(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

func sep(i int) string {
	if i == 0 {
		return ""
	}
	return ","
}

// preload inserts n pending runs due at now in one transaction.
func preload(b *testing.B, s *Store, n int, now time.Time) {
	b.Helper()
	ctx := context.Background()
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	st := tx.StmtContext(ctx, s.wstmt[stInsertRun])
	for range n {
		p := startParams(now.Add(-time.Second))
		if _, err := st.ExecContext(ctx, p.ID, p.WorkflowID, p.WorkflowVersion, p.StartStepID,
			jsonArg(p.Input), p.TriggerKey, p.IdempotencyKey, p.RequestHash,
			micros(p.Now), micros(p.Now), micros(p.Now)); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}
