// Package retry computes how long a failed step waits before its next
// attempt and whether it has attempts left. It holds pure functions only:
// the caller supplies the randomness and the engine turns the wait into a
// next_run_at in the database, so nothing sleeps.
package retry

import (
	"math"
	"time"

	"github.com/sluicehq/sluice/internal/workflow"
)

// maxDuration is the longest time.Duration; computed waits saturate at it
// instead of overflowing.
const maxDuration = time.Duration(math.MaxInt64)

// Backoff returns the wait after failed attempt number attempt (1-based)
// under policy p, randomised by random, a value in [0, 1) such as
// math/rand/v2.Float64 returns.
//
// The un-jittered wait is
//
//	base = min(MaxInterval, InitialInterval * Multiplier^(attempt-1))
//
// and the result is base * (1 + Jitter*(2*random-1)), which always lies in
// [base*(1-Jitter), base*(1+Jitter)]. The jitter is applied after the cap on
// purpose: a wait at the cap may exceed MaxInterval by up to Jitter, so
// that many runs failing against the same dependency spread out instead of
// retrying in lockstep once they all reach the cap.
//
// Out-of-range inputs are clamped rather than rejected (the DSL validates
// policies): attempt < 1 counts as 1, Multiplier < 1 (or NaN) as 1, Jitter
// to [0, 1], random to [0, 1], a negative InitialInterval as 0, and a
// MaxInterval <= 0 means no cap. Huge attempts or multipliers saturate at
// the cap (or at the longest time.Duration) instead of overflowing.
func Backoff(p workflow.RetryPolicy, attempt int, random float64) time.Duration {
	base := baseWait(p, attempt)
	j := clamp(p.Jitter, 0, 1)
	r := clamp(random, 0, 1)
	d := float64(base) * (1 + j*(2*r-1))
	return toDuration(d)
}

// baseWait is the capped, un-jittered wait after attempt.
func baseWait(p workflow.RetryPolicy, attempt int) time.Duration {
	attempt = max(attempt, 1)
	initial := max(p.InitialInterval, 0)
	mult := p.Multiplier
	if !(mult >= 1) { // also catches NaN
		mult = 1
	}
	limit := maxDuration
	if p.MaxInterval > 0 {
		limit = p.MaxInterval
	}
	// math.Pow saturates at +Inf for huge exponents, which the comparison
	// below turns into the cap.
	f := float64(initial) * math.Pow(mult, float64(attempt-1))
	if f >= float64(limit) || math.IsNaN(f) {
		return limit
	}
	return toDuration(f)
}

// Exhausted reports whether a step that just failed attempt number attempt
// (1-based) has used all of p's attempts. A MaxAttempts below 1 counts as 1:
// every step runs at least once.
func Exhausted(p workflow.RetryPolicy, attempt int) bool {
	return attempt >= max(p.MaxAttempts, 1)
}

// toDuration rounds f nanoseconds to a Duration, saturating instead of
// overflowing and never returning a negative value.
func toDuration(f float64) time.Duration {
	switch {
	case math.IsNaN(f) || f <= 0:
		return 0
	case f >= float64(maxDuration):
		return maxDuration
	}
	return time.Duration(math.Round(f))
}

func clamp(v, lo, hi float64) float64 {
	if math.IsNaN(v) {
		return lo
	}
	return min(max(v, lo), hi)
}
