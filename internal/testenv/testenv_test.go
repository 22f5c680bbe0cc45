package testenv_test

import (
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testenv"
)

// recorder is a testing.TB that records Fatalf/Skipf instead of ending the
// real test. Like the real methods, both stop the calling goroutine, so call
// the helper under test through run.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Skipf(format string, args ...any) {
	r.skip = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls f with a recorder in its own goroutine and waits for it to
// return or to be stopped by Fatalf/Skipf.
func run(t *testing.T, f func(tb testing.TB)) *recorder {
	t.Helper()
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

func TestServiceURLs(t *testing.T) {
	// Subtests use t.Setenv, so none of them may run in parallel.
	services := []struct {
		env string
		get func(testing.TB) string
	}{
		{testenv.PostgresURLEnv, testenv.PostgresURL},
		{testenv.RedisURLEnv, testenv.RedisURL},
		{testenv.AMQPURLEnv, testenv.AMQPURL},
	}
	for _, svc := range services {
		t.Run(svc.env+"/set", func(t *testing.T) {
			const want = "scheme://user@127.0.0.1:1/db"
			t.Setenv(svc.env, want)
			t.Setenv("CI", "true")
			var got string
			r := run(t, func(tb testing.TB) { got = svc.get(tb) })
			if r.fatal != "" || r.skip != "" {
				t.Fatalf("fatal=%q skip=%q, want neither", r.fatal, r.skip)
			}
			if got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		})
		t.Run(svc.env+"/unset in CI fails", func(t *testing.T) {
			t.Setenv(svc.env, "")
			t.Setenv("CI", "true")
			r := run(t, func(tb testing.TB) { svc.get(tb) })
			want := svc.env + " is not set; CI must run every integration test"
			if r.fatal != want {
				t.Fatalf("fatal = %q, want %q", r.fatal, want)
			}
			if r.skip != "" {
				t.Fatalf("skipped (%q) in CI", r.skip)
			}
		})
		for _, ci := range []string{"", "false", "0"} {
			t.Run(svc.env+"/unset locally skips/CI="+ci, func(t *testing.T) {
				t.Setenv(svc.env, "  ")
				t.Setenv("CI", ci)
				r := run(t, func(tb testing.TB) { svc.get(tb) })
				if r.fatal != "" {
					t.Fatalf("failed (%q), want a skip", r.fatal)
				}
				if !strings.HasPrefix(r.skip, "set "+svc.env+"=") || !strings.Contains(r.skip, ".ci/run") {
					t.Fatalf("skip message %q does not say how to run the test", r.skip)
				}
			})
		}
	}
}

func TestInCI(t *testing.T) {
	for value, want := range map[string]bool{"true": true, "1": true, "TRUE": true, "": false, "false": false, "yes": false} {
		t.Run("CI="+value, func(t *testing.T) {
			t.Setenv("CI", value)
			if got := testenv.InCI(); got != want {
				t.Fatalf("InCI() with CI=%q = %v, want %v", value, got, want)
			}
		})
	}
}

func TestEventually(t *testing.T) {
	t.Parallel()

	t.Run("true at once", func(t *testing.T) {
		t.Parallel()
		var calls atomic.Int32
		r := run(t, func(tb testing.TB) {
			testenv.Eventually(tb, time.Second, func() bool { calls.Add(1); return true })
		})
		if r.fatal != "" {
			t.Fatalf("unexpected failure: %s", r.fatal)
		}
		if n := calls.Load(); n != 1 {
			t.Fatalf("cond called %d times, want 1", n)
		}
	})

	t.Run("true after a few ticks", func(t *testing.T) {
		t.Parallel()
		var calls atomic.Int32
		r := run(t, func(tb testing.TB) {
			testenv.Eventually(tb, 10*time.Second, func() bool { return calls.Add(1) >= 3 })
		})
		if r.fatal != "" {
			t.Fatalf("unexpected failure: %s", r.fatal)
		}
		if n := calls.Load(); n != 3 {
			t.Fatalf("cond called %d times, want 3", n)
		}
	})

	t.Run("never true fails with the message", func(t *testing.T) {
		t.Parallel()
		var calls atomic.Int32
		start := time.Now()
		r := run(t, func(tb testing.TB) {
			testenv.Eventually(tb, 50*time.Millisecond, func() bool { calls.Add(1); return false },
				"run %s to complete", "r-1")
		})
		if elapsed := time.Since(start); elapsed < 50*time.Millisecond {
			t.Fatalf("gave up after %s, before the timeout", elapsed)
		}
		if want := "condition not met within 50ms: run r-1 to complete"; r.fatal != want {
			t.Fatalf("fatal = %q, want %q", r.fatal, want)
		}
		if n := calls.Load(); n < 2 {
			t.Fatalf("cond called %d times, want it polled", n)
		}
	})

	t.Run("message without format", func(t *testing.T) {
		t.Parallel()
		r := run(t, func(tb testing.TB) {
			testenv.Eventually(tb, 0, func() bool { return false }, 42)
		})
		if want := "condition not met within 0s: 42"; r.fatal != want {
			t.Fatalf("fatal = %q, want %q", r.fatal, want)
		}
	})
}
