package engine

import (
	"context"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/workflow"
)

// leaseKeeper extends a run's lease while a step that could outlive it
// runs, every third of LeaseFor, so that a crashed worker's runs are taken
// over about LeaseFor after the crash however long their steps may take. If
// the lease is lost (the run was cancelled or replayed elsewhere, or another
// worker took it over) it cancels the step. It costs a timer, no goroutine,
// until the first extension is due, so short steps pay nothing.
type leaseKeeper struct {
	w          *runWork
	cancelStep context.CancelFunc
	interval   time.Duration

	mu       sync.Mutex
	stopped  bool
	timer    *time.Timer
	until    time.Time
	inflight sync.WaitGroup
}

// keepLease starts a keeper when a step with the given timeout could
// outlive the current lease; stop ends it and returns the lease expiry.
func (w *runWork) keepLease(cancelStep context.CancelFunc, timeout time.Duration) (stop func() time.Time) {
	lease := w.e.cfg.LeaseFor
	if w.e.cfg.Now().Add(timeout + lease/3).Before(w.leaseUntil) {
		until := w.leaseUntil
		return func() time.Time { return until }
	}
	k := &leaseKeeper{w: w, cancelStep: cancelStep, interval: lease / 3, until: w.leaseUntil}
	k.mu.Lock()
	k.timer = time.AfterFunc(k.interval, k.extend)
	k.mu.Unlock()
	return k.stop
}

func (k *leaseKeeper) extend() {
	k.mu.Lock()
	if k.stopped {
		k.mu.Unlock()
		return
	}
	k.inflight.Add(1)
	k.mu.Unlock()
	defer k.inflight.Done()

	w := k.w
	now := w.e.cfg.Now()
	until := now.Add(w.e.cfg.LeaseFor)
	ctx, cancel := context.WithTimeout(context.Background(), k.interval)
	err := w.e.store.RunExtendLease(ctx, &workflow.RunLeaseParams{RunID: w.run.ID, LeaseToken: w.run.LeaseToken, Until: until, Now: now})
	cancel()
	switch {
	case workflow.IsCode(err, workflow.ELEASELOST):
		w.log.Info("lease lost while the step ran; cancelling the step", "step", w.run.CurrentStepID)
		k.cancelStep()
		return
	case err != nil:
		w.log.Warn("extend lease; trying again", "step", w.run.CurrentStepID, "err", err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if err == nil {
		k.until = until
	}
	if !k.stopped {
		k.timer.Reset(k.interval)
	}
}

// stop ends the keeper and waits for an extension in flight, so that no
// lease write follows the step's checkpoint.
func (k *leaseKeeper) stop() time.Time {
	k.mu.Lock()
	k.stopped = true
	k.timer.Stop()
	k.mu.Unlock()
	k.inflight.Wait()
	return k.until
}
