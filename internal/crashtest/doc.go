// Package crashtest holds the crash test of Sluice: it builds the real
// `sluice` binary, runs `sluice serve` as a separate OS process on an SQLite
// database, fires webhooks at it and kills it with SIGKILL at random points,
// many times, restarting it after each kill. A last, undisturbed start must
// then finish every run the server accepted, and the test proves that
//
//   - no accepted run is lost: every webhook answered 2xx (and every start
//     that was stored although its answer was lost to a kill) has a run that
//     completed, and re-posting its Idempotency-Key returns the same run;
//   - every duplicate step execution is accounted for: each extra call the
//     downstream HTTP server saw for a step's idempotency key is matched by an
//     interrupted or failed step execution the engine recorded;
//   - effects written in the step's transaction are exactly-once: each run has
//     one completed execution per step and one outbox row, whose message id is
//     the publish step's idempotency key.
//
// The package has test files only. The test always runs (it needs nothing but
// the Go toolchain and a temp directory) except under `go test -short`.
// Environment:
//
//   - SLUICE_CRASH_SEED replays a schedule of kills (the seed is logged on
//     every run; the OS still decides where exactly each kill lands);
//   - SLUICE_CRASH_CYCLES changes the number of start/kill cycles (12);
//   - SLUICE_CRASH_RACE=true|false builds the server with or without the race
//     detector; by default it follows the test binary (`go test -race`), and
//     any data race or panic the servers log fails the test;
//   - SLUICE_CRASH_KEEP=1 keeps the database and the server logs in a
//     temporary directory named in the test log, for post-mortems.
package crashtest
