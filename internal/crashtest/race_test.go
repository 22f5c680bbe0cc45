//go:build race

package crashtest

// raceEnabled reports whether the test binary was built with -race; the
// child server is then built with -race too (SLUICE_CRASH_RACE overrides).
const raceEnabled = true
