package retry_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/retry"
	"github.com/sluicehq/sluice/internal/workflow"
)

func policy(initial time.Duration, mult float64, maxInterval time.Duration, jitter float64) workflow.RetryPolicy {
	return workflow.RetryPolicy{
		MaxAttempts:     5,
		InitialInterval: initial,
		Multiplier:      mult,
		MaxInterval:     maxInterval,
		Jitter:          jitter,
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()

	noJitter := policy(time.Second, 2, time.Minute, 0)
	jitter := policy(time.Second, 2, time.Minute, 0.2)
	tests := []struct {
		name    string
		policy  workflow.RetryPolicy
		attempt int
		random  float64
		want    time.Duration
	}{
		{"first attempt waits initial", noJitter, 1, 0.3, time.Second},
		{"second attempt doubles", noJitter, 2, 0.3, 2 * time.Second},
		{"fourth attempt", noJitter, 4, 0.3, 8 * time.Second},
		{"capped at max interval", noJitter, 7, 0.3, time.Minute},
		{"attempt zero counts as one", noJitter, 0, 0.3, time.Second},
		{"negative attempt counts as one", noJitter, -3, 0.3, time.Second},
		{"huge attempt saturates at cap", noJitter, math.MaxInt, 0.3, time.Minute},
		{"random 0.5 is no jitter", jitter, 1, 0.5, time.Second},
		{"random 0 is lowest", jitter, 1, 0, 800 * time.Millisecond},
		{"random 1 is highest", jitter, 1, 1, 1200 * time.Millisecond},
		{"random 0.75", jitter, 2, 0.75, 2200 * time.Millisecond},
		{"jitter may exceed cap", jitter, 10, 1, 72 * time.Second},
		{"jitter below cap", jitter, 10, 0, 48 * time.Second},
		{"random below 0 clamps", jitter, 1, -5, 800 * time.Millisecond},
		{"random above 1 clamps", jitter, 1, 7, 1200 * time.Millisecond},
		{"random NaN clamps to 0", jitter, 1, math.NaN(), 800 * time.Millisecond},
		{"full jitter can reach zero", policy(time.Second, 2, time.Minute, 1), 1, 0, 0},
		{"jitter above 1 clamps", policy(time.Second, 2, time.Minute, 3), 1, 0, 0},
		{"negative jitter clamps", policy(time.Second, 2, time.Minute, -1), 1, 0, time.Second},
		{"multiplier 1 is constant", policy(time.Second, 1, time.Minute, 0), 5, 0, time.Second},
		{"multiplier below 1 counts as 1", policy(time.Second, 0.5, time.Minute, 0), 5, 0, time.Second},
		{"multiplier NaN counts as 1", policy(time.Second, math.NaN(), time.Minute, 0), 5, 0, time.Second},
		{"fractional multiplier", policy(time.Second, 1.5, time.Minute, 0), 3, 0, 2250 * time.Millisecond},
		{"zero initial", policy(0, 2, time.Minute, 0.5), 3, 1, 0},
		{"negative initial", policy(-time.Second, 2, time.Minute, 0.5), 3, 1, 0},
		{"no cap", policy(time.Second, 10, 0, 0), 5, 0, 10000 * time.Second},
		{"no cap saturates", policy(time.Hour, 10, 0, 0), 1000, 0.5, time.Duration(math.MaxInt64)},
		{"no cap with jitter saturates", policy(time.Hour, 10, 0, 0.5), 1000, 1, time.Duration(math.MaxInt64)},
		{"infinite multiplier saturates at cap", policy(time.Second, math.Inf(1), time.Hour, 0), 2, 0, time.Hour},
		{"huge cap with jitter saturates", policy(time.Second, 2, time.Duration(math.MaxInt64), 0.5), 100, 1, time.Duration(math.MaxInt64)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, retry.Backoff(tt.policy, tt.attempt, tt.random))
		})
	}
}

// TestBackoffBounds checks, for many random policies, attempts and random
// values, that the wait lies within Jitter of the capped exponential base.
func TestBackoffBounds(t *testing.T) {
	t.Parallel()

	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200_000 {
		p := workflow.RetryPolicy{
			MaxAttempts:     1 + rng.IntN(20),
			InitialInterval: time.Duration(rng.Int64N(int64(10 * time.Minute))),
			Multiplier:      1 + rng.Float64()*4,
			MaxInterval:     time.Duration(1 + rng.Int64N(int64(24*time.Hour))),
			Jitter:          rng.Float64(),
		}
		attempt := 1 + rng.IntN(200)
		random := rng.Float64()

		base := math.Min(float64(p.MaxInterval),
			float64(p.InitialInterval)*math.Pow(p.Multiplier, float64(attempt-1)))
		lo := time.Duration(math.Floor(base * (1 - p.Jitter)))
		hi := time.Duration(math.Ceil(base * (1 + p.Jitter)))

		got := retry.Backoff(p, attempt, random)
		// Jitter is the only thing that can push a wait past the cap.
		capped := time.Duration(math.Ceil(float64(p.MaxInterval) * (1 + p.Jitter)))
		if got < 0 || got < lo || got > hi || got > capped {
			t.Fatalf("case %d: %+v attempt %d random %v: got %v, want in [%v, %v] and <= %v",
				i, p, attempt, random, got, lo, hi, capped)
		}
	}
}

// TestBackoffMonotonic checks that, for a fixed random value, waits never
// shrink as attempts grow.
func TestBackoffMonotonic(t *testing.T) {
	t.Parallel()

	rng := rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		p := policy(time.Duration(1+rng.Int64N(int64(time.Minute))), 1+rng.Float64()*3,
			time.Duration(1+rng.Int64N(int64(time.Hour))), rng.Float64())
		random := rng.Float64()
		prev := time.Duration(0)
		for attempt := 1; attempt <= 100; attempt++ {
			got := retry.Backoff(p, attempt, random)
			if got < prev {
				t.Fatalf("%+v attempt %d: %v after %v", p, attempt, got, prev)
			}
			prev = got
		}
	}
}

func TestExhausted(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name        string
		maxAttempts int
		attempt     int
		want        bool
	}{
		{"first of three", 3, 1, false},
		{"second of three", 3, 2, false},
		{"third of three", 3, 3, true},
		{"beyond max", 3, 4, true},
		{"single attempt", 1, 1, true},
		{"zero max counts as one", 0, 1, true},
		{"negative max counts as one", -2, 1, true},
		{"attempt zero never exhausted", 3, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := workflow.RetryPolicy{MaxAttempts: tt.maxAttempts}
			require.Equal(t, tt.want, retry.Exhausted(p, tt.attempt))
		})
	}
}

func ExampleBackoff() {
	p := workflow.DefaultRetryPolicy // 1s initial, x2, 1m cap, 20% jitter
	for attempt := 1; attempt <= 8; attempt++ {
		// 0.5 is the middle of the jitter range: the un-jittered wait.
		fmt.Println(attempt, retry.Backoff(p, attempt, 0.5), retry.Exhausted(p, attempt))
	}
	// Output:
	// 1 1s false
	// 2 2s false
	// 3 4s true
	// 4 8s true
	// 5 16s true
	// 6 32s true
	// 7 1m0s true
	// 8 1m0s true
}
