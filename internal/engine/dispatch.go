package engine

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/workflow"
)

// Run processes due runs until ctx ends, then stops claiming, waits up to
// ShutdownTimeout for running steps, cancels the rest and releases their
// leases. It returns nil after a clean shutdown. Run may be called once.
func (e *Engine) Run(ctx context.Context) error {
	if !e.started.CompareAndSwap(false, true) {
		return errors.New("engine: Run called twice")
	}
	// Workers get a context that outlives ctx so that they can finish their
	// step during the shutdown grace period.
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()

	var wg sync.WaitGroup
	slots := make(chan struct{}, e.cfg.Workers)
	timer := time.NewTimer(0)
	defer timer.Stop()
	failures := 0
	e.recoverOrphans(workCtx)
	e.log.Info("engine started", "workers", e.cfg.Workers, "lease", e.cfg.LeaseFor, "poll", e.cfg.PollInterval)

	for ctx.Err() == nil {
		free := cap(slots) - len(slots)
		wait := e.cfg.PollInterval
		if free > 0 {
			limit := min(free, e.cfg.ClaimBatch)
			// The claim uses workCtx: a claim committed as ctx ends must still
			// reach its workers (they release the runs on the way out).
			runs, err := e.store.RunClaim(workCtx, &workflow.RunClaimParams{
				Owner: e.cfg.Owner, Limit: limit, LeaseFor: e.cfg.LeaseFor, Now: e.cfg.Now(), NewExecutionID: newID,
			})
			switch {
			case err != nil && ctx.Err() == nil:
				failures++
				wait = min(e.cfg.PollInterval, time.Duration(failures)*50*time.Millisecond)
				e.log.Error("claim runs", "err", err)
			case err == nil:
				failures = 0
				for _, run := range runs {
					slots <- struct{}{}
					wg.Add(1)
					go func() {
						defer wg.Done()
						defer func() { <-slots; signal(e.freed) }()
						e.process(workCtx, run)
					}()
				}
				if len(runs) == limit {
					continue // more may be due
				}
				wait = e.untilNextDue(workCtx, wait)
			}
		}
		resetTimer(timer, wait)
		select {
		case <-ctx.Done():
		case <-e.wake:
		case <-e.freed:
		case <-timer.C:
		}
	}
	return e.shutdown(&wg, cancelWork)
}

// recoverOrphans ends the leases of runs a dead predecessor left running:
// every running run when this engine is the store's sole worker, else those
// held under this engine's own name. They are claimed at once, recording the
// interrupted attempts. Failure only delays recovery until the leases
// expire.
func (e *Engine) recoverOrphans(ctx context.Context) {
	owner := e.cfg.Owner
	if e.cfg.SoleWorker {
		owner = ""
	}
	n, err := e.store.RunExpireLeases(ctx, &workflow.RunExpireLeasesParams{Owner: owner, Now: e.cfg.Now()})
	switch {
	case err != nil:
		e.log.Warn("take over runs left running; they resume when their leases expire", "err", err)
	case n > 0:
		e.log.Info("taking over runs a previous process left running", "runs", n)
	}
}

// untilNextDue returns how long to sleep until the earliest known due run,
// at most limit and at least a millisecond.
func (e *Engine) untilNextDue(ctx context.Context, limit time.Duration) time.Duration {
	due, ok, err := e.store.RunNextDue(ctx)
	if err != nil || !ok {
		return limit
	}
	return min(limit, max(due.Sub(e.cfg.Now()), time.Millisecond))
}

func resetTimer(t *time.Timer, d time.Duration) {
	t.Stop()
	select {
	case <-t.C:
	default:
	}
	t.Reset(d)
}

// shutdown waits for workers up to ShutdownTimeout, then cancels them; they
// release their leases on the way out.
func (e *Engine) shutdown(wg *sync.WaitGroup, cancelWork context.CancelFunc) error {
	e.stopping.Store(true)
	e.log.Info("engine stopping", "grace", e.cfg.ShutdownTimeout)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	grace := time.NewTimer(e.cfg.ShutdownTimeout)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
		e.log.Warn("shutdown grace period over; cancelling running steps")
		cancelWork()
		<-done
	}
	e.log.Info("engine stopped")
	return nil
}
