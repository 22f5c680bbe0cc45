package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sluicehq/sluice/internal/dsl"
	"github.com/sluicehq/sluice/internal/expr"
	"github.com/sluicehq/sluice/internal/retry"
	"github.com/sluicehq/sluice/internal/step"
	"github.com/sluicehq/sluice/internal/workflow"
)

// writeTimeout bounds a checkpoint or release issued during shutdown, when
// the worker's own context may already be cancelled.
const writeTimeout = 10 * time.Second

// runWork is the in-memory state of one claimed run while a worker holds its
// lease. Everything in it can be rebuilt from the run row.
type runWork struct {
	e          *Engine
	run        *workflow.Run
	compiled   *dsl.Compiled
	input      any
	outputs    map[string]json.RawMessage // recorded step outputs (JSON)
	decoded    map[string]any             // the same, decoded for expressions
	leaseUntil time.Time
	log        *slog.Logger
}

// process works on one claimed run until it parks, ends or loses its lease.
func (e *Engine) process(ctx context.Context, run *workflow.Run) {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	e.running.Store(run.ID, cancel)
	defer e.running.Delete(run.ID)

	w := &runWork{e: e, run: run, log: e.log.With("run", run.ID, "workflow", run.WorkflowID)}
	if run.DueAt != nil {
		w.leaseUntil = *run.DueAt
	}
	if err := w.load(runCtx); err != nil {
		w.failUnrunnable(err)
		return
	}
	for w.runStep(runCtx) {
	}
}

// load compiles the run's definition and decodes its input and outputs.
func (w *runWork) load(ctx context.Context) error {
	compiled, err := w.e.defs.get(ctx, w.run.WorkflowID, w.run.WorkflowVersion)
	if err != nil {
		return err
	}
	w.compiled = compiled
	if err := json.Unmarshal(w.run.Input, &w.input); err != nil {
		return workflow.Errorf(workflow.EINVALID, "decode input of run %s: %v", w.run.ID, err)
	}
	if w.outputs, err = w.run.StepOutputs(); err != nil {
		return err
	}
	w.decoded = make(map[string]any, len(w.outputs))
	for id, raw := range w.outputs {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return workflow.Errorf(workflow.EINVALID, "decode output of step %s of run %s: %v", id, w.run.ID, err)
		}
		w.decoded[id] = v
	}
	return nil
}

// failUnrunnable dead-letters a run whose definition or state cannot be
// loaded for good; other (transient) errors leave the run to be claimed
// again when its lease expires.
func (w *runWork) failUnrunnable(err error) {
	code := workflow.ErrorCode(err)
	if code != workflow.EINVALID && code != workflow.ENOTFOUND {
		w.log.Error("load run; it will be retried when its lease expires", "err", err)
		return
	}
	w.log.Error("run cannot be loaded; dead-lettering it", "err", err)
	w.commit(w.deadLetter(nil, workflow.DeadLetterNonRetryable, err.Error(), nil))
}

// runStep runs the current step and checkpoints it. It reports whether the
// worker should continue with the next step in-process.
func (w *runWork) runStep(ctx context.Context) bool {
	run := w.run
	if run.CurrentStepID == "" {
		return w.commit(w.finish())
	}
	def, action, ok := w.compiled.Step(run.CurrentStepID)
	if !ok {
		return w.commit(w.deadLetter(nil, workflow.DeadLetterNonRetryable,
			fmt.Sprintf("step %q is not in workflow %s version %d", run.CurrentStepID, run.WorkflowID, run.WorkflowVersion), nil))
	}
	if run.Attempt > def.Retry.MaxAttempts {
		// Workers kept losing their lease (crashes) on this step.
		return w.commit(w.deadLetter(def, workflow.DeadLetterExhausted,
			fmt.Sprintf("step %q was interrupted (worker lost its lease) and no attempts remain of %d", def.ID, def.Retry.MaxAttempts), nil))
	}
	if w.e.stopping.Load() {
		w.release()
		return false
	}
	p, interrupted := w.execute(ctx, def, action)
	if interrupted {
		if w.e.stopping.Load() {
			w.release()
		}
		// Otherwise the run was cancelled: the store already says so and
		// the lease token moved on, so there is nothing to write.
		return false
	}
	return w.commit(p)
}

// execute runs one attempt and returns the checkpoint recording it.
// interrupted is true when the run's context ended (cancel or shutdown)
// before the step finished; nothing is to be recorded then.
func (w *runWork) execute(ctx context.Context, def *workflow.Step, action step.Action) (p *workflow.RunCheckpointParams, interrupted bool) {
	run := w.run
	key := workflow.StepIdempotencyKey(run.ID, run.Generation, def.ID)
	started := w.e.cfg.Now()
	req := &step.Request{
		RunID: run.ID, WorkflowID: run.WorkflowID, WorkflowVersion: run.WorkflowVersion,
		StepID: def.ID, StepType: def.Type, Attempt: run.Attempt, IdempotencyKey: key, Now: started,
		Scope: &expr.Scope{Input: w.input, Steps: w.decoded, Run: expr.RunInfo{
			ID: run.ID, WorkflowID: run.WorkflowID, WorkflowVersion: run.WorkflowVersion, StepID: def.ID,
			Attempt: run.Attempt, Generation: run.Generation, IdempotencyKey: key,
		}},
	}
	stepCtx, cancel := context.WithTimeout(ctx, def.Timeout)
	stopKeeper := w.keepLease(cancel, def.Timeout)
	res, err := w.e.executeFunc(action)(stepCtx, req)
	timedOut := errors.Is(stepCtx.Err(), context.DeadlineExceeded)
	w.leaseUntil = stopKeeper()
	cancel()
	if err != nil && ctx.Err() != nil {
		return nil, true
	}
	finished := w.e.cfg.Now()
	exec := &workflow.StepExecution{
		ID: newID(), RunID: run.ID, Generation: run.Generation, StepID: def.ID, StepType: def.Type,
		Attempt: run.Attempt, IdempotencyKey: key, StartedAt: started, FinishedAt: finished,
	}
	if res != nil && res.Input != nil {
		exec.Input = marshalOrNull(res.Input)
	}
	var output json.RawMessage
	if err == nil {
		if output, err = json.Marshal(res.Output); err != nil {
			err = step.Permanent(fmt.Errorf("encode output of step %q: %w", def.ID, err))
		}
	}
	if err != nil {
		if timedOut {
			err = fmt.Errorf("step timed out after %s: %w", def.Timeout, err)
		}
		exec.Status, exec.Error = workflow.StepFailed, err.Error()
		return w.failure(def, exec, err, finished), false
	}
	exec.Status, exec.Output = workflow.StepCompleted, output
	return w.success(def, exec, res, output, finished), false
}

// executeFunc applies the middleware to an action.
func (e *Engine) executeFunc(action step.Action) step.ExecuteFunc {
	f := step.ExecuteFunc(action.Execute)
	for i := len(e.cfg.Middleware) - 1; i >= 0; i-- {
		f = e.cfg.Middleware[i](f)
	}
	return f
}

// success builds the checkpoint of a completed attempt: the next step runs
// now (in-process), later (delay) or never (the run completed).
func (w *runWork) success(def *workflow.Step, exec *workflow.StepExecution, res *step.Result, output json.RawMessage, now time.Time) *workflow.RunCheckpointParams {
	w.outputs[def.ID] = output
	var decoded any
	_ = json.Unmarshal(output, &decoded) // output was just marshalled
	w.decoded[def.ID] = decoded

	p := w.checkpoint(exec, now)
	p.Steps = marshalOrNull(w.outputs)
	for _, m := range res.Outbox {
		m.ID, m.RunID, m.StepID = newID(), w.run.ID, def.ID
		m.Status, m.CreatedAt = workflow.OutboxPending, now
		if m.MessageID == "" {
			m.MessageID = exec.IdempotencyKey
		}
		p.Outbox = append(p.Outbox, m)
	}
	next := def.Successor(res.Branch)
	switch {
	case res.WaitUntil.After(now):
		// A delay that ends the run parks it with no current step: it
		// completes, with this output, when due (see finish).
		p.Status, p.CurrentStepID, p.Attempt, p.NextRunAt = workflow.RunWaiting, next, 1, res.WaitUntil
		if next == "" {
			p.Output = output
		}
	case next == "":
		p.Status, p.CurrentStepID, p.Attempt, p.Output = workflow.RunCompleted, def.ID, w.run.Attempt, output
	case w.e.stopping.Load():
		p.Status, p.CurrentStepID, p.Attempt, p.NextRunAt = workflow.RunPending, next, 1, now
	default:
		p.Status, p.CurrentStepID, p.Attempt, p.LeaseUntil = workflow.RunRunning, next, 1, now.Add(w.e.cfg.LeaseFor)
	}
	return p
}

// failure builds the checkpoint of a failed attempt: retry after a durable
// backoff, or dead-letter the run.
func (w *runWork) failure(def *workflow.Step, exec *workflow.StepExecution, err error, now time.Time) *workflow.RunCheckpointParams {
	if step.IsPermanent(err) {
		return w.deadLetter(def, workflow.DeadLetterNonRetryable, exec.Error, exec)
	}
	if w.run.Attempt >= def.Retry.MaxAttempts {
		return w.deadLetter(def, workflow.DeadLetterExhausted, exec.Error, exec)
	}
	wait := retry.Backoff(def.Retry, w.run.Attempt, w.e.cfg.Random())
	if after, ok := step.RetryAfterDelay(err); ok && after > wait {
		wait = min(after, maxRetryAfter)
	}
	p := w.checkpoint(exec, now)
	p.Status, p.CurrentStepID, p.Attempt = workflow.RunWaiting, def.ID, w.run.Attempt+1
	p.NextRunAt, p.Error = now.Add(wait), exec.Error
	return p
}

// maxRetryAfter caps a downstream's Retry-After request.
const maxRetryAfter = 24 * time.Hour

// deadLetter builds the checkpoint that dead-letters the run. def and exec
// may be nil when the failure is not a step's.
func (w *runWork) deadLetter(def *workflow.Step, reason, lastError string, exec *workflow.StepExecution) *workflow.RunCheckpointParams {
	now := w.e.cfg.Now()
	run := w.run
	p := w.checkpoint(exec, now)
	attempts := run.Attempt
	stepType := ""
	if def != nil {
		stepType = def.Type
		attempts = min(attempts, def.Retry.MaxAttempts)
	}
	p.Status, p.CurrentStepID, p.Attempt, p.Error = workflow.RunDeadLettered, run.CurrentStepID, run.Attempt, lastError
	p.DeadLetter = &workflow.DeadLetter{
		ID: newID(), RunID: run.ID, Generation: run.Generation, WorkflowID: run.WorkflowID,
		WorkflowVersion: run.WorkflowVersion, StepID: run.CurrentStepID, StepType: stepType,
		Reason: reason, Attempts: attempts, LastError: lastError, Input: run.Input, CreatedAt: now,
	}
	return p
}

// finish builds the checkpoint that completes a run whose last step was a
// delay, once the delay is over. The run's output was recorded when it
// parked.
func (w *runWork) finish() *workflow.RunCheckpointParams {
	p := w.checkpoint(nil, w.e.cfg.Now())
	p.Status, p.Output = workflow.RunCompleted, w.run.Output
	return p
}

// checkpoint starts checkpoint params carrying the run's current state.
func (w *runWork) checkpoint(exec *workflow.StepExecution, now time.Time) *workflow.RunCheckpointParams {
	return &workflow.RunCheckpointParams{
		RunID: w.run.ID, LeaseToken: w.run.LeaseToken, Now: now, Execution: exec,
		CurrentStepID: w.run.CurrentStepID, Attempt: w.run.Attempt, Steps: w.run.Steps,
	}
}

// commit writes a checkpoint and reports whether the worker continues with
// the next step in-process.
func (w *runWork) commit(p *workflow.RunCheckpointParams) bool {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if err := w.e.store.RunCheckpoint(ctx, p); err != nil {
		if workflow.IsCode(err, workflow.ELEASELOST) {
			w.log.Info("lease lost (run cancelled, replayed or taken over); dropping the step result", "step", w.run.CurrentStepID)
		} else {
			w.log.Error("checkpoint; the step will run again when the lease expires", "step", w.run.CurrentStepID, "err", err)
		}
		return false
	}
	w.log.Debug("checkpoint", "step", w.run.CurrentStepID, "status", p.Status, "next", p.CurrentStepID)
	ev := Event{Type: EventStep, RunID: w.run.ID, WorkflowID: w.run.WorkflowID, Status: p.Status, StepID: w.run.CurrentStepID, Attempt: w.run.Attempt, At: p.Now}
	if p.Execution != nil {
		ev.StepStatus = p.Execution.Status
	}
	w.e.emit(ev)
	run := w.run
	run.Status, run.CurrentStepID, run.Attempt, run.Error = p.Status, p.CurrentStepID, p.Attempt, p.Error
	if p.Steps != nil {
		run.Steps = p.Steps
	}
	if p.Status != workflow.RunRunning {
		if p.Status == workflow.RunWaiting || p.Status == workflow.RunPending {
			signal(w.e.wake) // the dispatcher may need to sleep less
		}
		return false
	}
	w.leaseUntil = p.LeaseUntil
	return true
}

// release gives the run back without progress (shutdown).
func (w *runWork) release() {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	now := w.e.cfg.Now()
	err := w.e.store.RunRelease(ctx, &workflow.RunLeaseParams{RunID: w.run.ID, LeaseToken: w.run.LeaseToken, Now: now, Until: now})
	if err != nil && !workflow.IsCode(err, workflow.ELEASELOST) {
		w.log.Warn("release lease; the run is taken over when the lease expires", "err", err)
	}
}

func marshalOrNull(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage("null")
	}
	return b
}
