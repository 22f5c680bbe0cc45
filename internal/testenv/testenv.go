// Package testenv connects integration tests to the services they need
// (PostgreSQL, Redis, RabbitMQ) and offers a polling helper for observing
// processes outside the test.
//
// Service URLs come from the environment. Locally, a test whose service is
// not configured is skipped with a hint; in CI (CI=true) it fails instead,
// so that a misconfigured CI cannot pass by skipping integration tests.
// .ci/run starts the services and exports the variables.
package testenv

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Environment variables that name the test services.
const (
	// PostgresURLEnv names the PostgreSQL server for integration tests, e.g.
	// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
	PostgresURLEnv = "SLUICE_TEST_POSTGRES_URL"
	// RedisURLEnv names the Redis server, e.g. redis://127.0.0.1:6379/0.
	RedisURLEnv = "SLUICE_TEST_REDIS_URL"
	// AMQPURLEnv names the RabbitMQ broker, e.g.
	// amqp://guest:guest@127.0.0.1:5672/.
	AMQPURLEnv = "SLUICE_TEST_AMQP_URL"
)

// Example values shown in skip messages.
const (
	examplePostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	exampleRedisURL    = "redis://127.0.0.1:6379/0"
	exampleAMQPURL     = "amqp://guest:guest@127.0.0.1:5672/"
)

// PostgresURL returns $SLUICE_TEST_POSTGRES_URL. When it is unset the test is
// skipped, or fails when running in CI.
func PostgresURL(t testing.TB) string {
	t.Helper()
	return serviceURL(t, PostgresURLEnv, examplePostgresURL)
}

// RedisURL returns $SLUICE_TEST_REDIS_URL. When it is unset the test is
// skipped, or fails when running in CI.
func RedisURL(t testing.TB) string {
	t.Helper()
	return serviceURL(t, RedisURLEnv, exampleRedisURL)
}

// AMQPURL returns $SLUICE_TEST_AMQP_URL. When it is unset the test is
// skipped, or fails when running in CI.
func AMQPURL(t testing.TB) string {
	t.Helper()
	return serviceURL(t, AMQPURLEnv, exampleAMQPURL)
}

// InCI reports whether the tests run in CI, i.e. $CI is a true boolean
// ("true", "1", ...).
func InCI() bool {
	ci, err := strconv.ParseBool(strings.TrimSpace(os.Getenv("CI")))
	return err == nil && ci
}

func serviceURL(t testing.TB, env, example string) string {
	t.Helper()
	if u := strings.TrimSpace(os.Getenv(env)); u != "" {
		return u
	}
	if InCI() {
		t.Fatalf("%s is not set; CI must run every integration test", env)
		return ""
	}
	t.Skipf("set %s=%s to run this integration test (see .ci/run)", env, example)
	return ""
}

// EventuallyTick is how often Eventually checks its condition.
const EventuallyTick = 10 * time.Millisecond

// Eventually calls cond until it returns true, checking right away and then
// every EventuallyTick, and fails the test if timeout passes first.
// msgAndArgs, if given, is a fmt format string and its arguments describing
// what was awaited.
//
// Use it only to observe things that cannot signal the test, such as a
// child process or an external server. Inside the process, wait on a
// channel or signal instead.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, msgAndArgs ...any) {
	t.Helper()
	if cond() {
		return
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(EventuallyTick)
	defer tick.Stop()
	for {
		select {
		case <-deadline.C:
			// One last look: the condition may have become true while the
			// timer fired.
			if cond() {
				return
			}
			t.Fatalf("condition not met within %s%s", timeout, describe(msgAndArgs))
			return
		case <-tick.C:
			if cond() {
				return
			}
		}
	}
}

// describe renders testify-style msgAndArgs as ": message", or "".
func describe(msgAndArgs []any) string {
	if len(msgAndArgs) == 0 {
		return ""
	}
	if format, ok := msgAndArgs[0].(string); ok {
		return ": " + fmt.Sprintf(format, msgAndArgs[1:]...)
	}
	return ": " + fmt.Sprint(msgAndArgs...)
}
