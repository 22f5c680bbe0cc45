package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// runCLI runs the program in-process and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// writeFile writes content to a file in a temp dir and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

func TestVersionCommand(t *testing.T) {
	t.Parallel()
	code, out, _ := runCLI(t, "version")
	require.Equal(t, 0, code)
	require.Contains(t, out, "sluice ")
	require.Contains(t, out, "commit: ")
	require.Contains(t, out, "go: "+runtime.Version())
}

func TestHelpListsEveryFlagAndEnvVar(t *testing.T) {
	t.Parallel()
	code, out, _ := runCLI(t, "--help")
	require.Equal(t, 0, code)
	for _, s := range []string{"serve", "migrate", "validate", "version", "workflows apply", "SLUICE_DATABASE_URL", "SLUICE_LOG_LEVEL", "SLUICE_LOG_FORMAT"} {
		require.Contains(t, out, s)
	}

	code, out, _ = runCLI(t, "serve", "--help")
	require.Equal(t, 0, code)
	for _, s := range []string{
		"--addr", "SLUICE_ADDR", "--database-url", "SLUICE_DATABASE_URL", "--log-level", "SLUICE_LOG_LEVEL",
		"--log-format", "SLUICE_LOG_FORMAT", "--workers", "SLUICE_WORKERS", "--max-body-bytes", "SLUICE_MAX_BODY_BYTES",
		"--shutdown-timeout", "SLUICE_SHUTDOWN_TIMEOUT", "--lease", "SLUICE_LEASE", "--poll-interval", "SLUICE_POLL_INTERVAL",
		"--no-seed", "SLUICE_NO_SEED",
	} {
		require.Contains(t, out, s)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	code, _, errOut := runCLI(t, "frobnicate")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "frobnicate")

	code, _, errOut = runCLI(t, "validate")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "file")

	code, _, errOut = runCLI(t, "--log-level", "loud", "version")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "log-level")

	code, _, _ = runCLI(t)
	require.Equal(t, 2, code)
}

func TestValidateCommand(t *testing.T) {
	t.Parallel()
	seeds, err := filepath.Glob("../seed/workflows/*.json")
	require.NoError(t, err)
	require.Len(t, seeds, 3)

	t.Run("valid files", func(t *testing.T) {
		code, out, _ := runCLI(t, append([]string{"validate"}, seeds...)...)
		require.Equal(t, 0, code, out)
		for _, f := range seeds {
			require.Contains(t, out, f+": ok\n")
		}
	})

	t.Run("invalid file lists every problem", func(t *testing.T) {
		bad := writeFile(t, "bad.json", `{"id": "x", "trigger": {"type": "webhook"}, "startAt": "missing",
			"steps": [{"id": "a", "type": "nope", "next": "nowhere"}, {"id": "b", "type": "delay", "config": {"duration": "soon"}}]}`)
		code, out, errOut := runCLI(t, "validate", seeds[0], bad)
		require.Equal(t, 1, code)
		require.Contains(t, out, seeds[0]+": ok\n")
		for _, path := range []string{"/trigger/key", "/startAt", "/steps/0/type", "/steps/0/next", "/steps/1/config/duration"} {
			require.Contains(t, out, bad+": "+path+": ")
		}
		require.Contains(t, errOut, "1 of 2 files invalid")
	})

	t.Run("not JSON", func(t *testing.T) {
		bad := writeFile(t, "garbage.json", `{"id": `)
		code, out, _ := runCLI(t, "validate", bad)
		require.Equal(t, 1, code)
		require.True(t, strings.HasPrefix(out, bad+": "), out)
	})

	t.Run("missing file", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "nope.json")
		code, out, _ := runCLI(t, "validate", missing)
		require.Equal(t, 1, code)
		require.Contains(t, out, missing+": ")
	})
}

func TestMigrateCommand(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "m.db")
	code, out, errOut := runCLI(t, "migrate", "--database-url", "sqlite:"+db)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "migrations applied")
	require.FileExists(t, db)

	// Idempotent.
	code, _, errOut = runCLI(t, "migrate", "--database-url", "sqlite:"+db)
	require.Equal(t, 0, code, errOut)
}

func TestDatabaseURLErrors(t *testing.T) {
	t.Parallel()
	code, _, errOut := runCLI(t, "migrate", "--database-url", "postgres://app:s3cret@db.example/sluice")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "postgres support is not built yet")

	code, _, errOut = runCLI(t, "migrate", "--database-url", "mysql://app:s3cret@db.example/sluice")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "unsupported database URL")
	require.NotContains(t, errOut, "s3cret")

	code, _, errOut = runCLI(t, "migrate", "--database-url", "sqlite:")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "names no file")

	dir := t.TempDir()
	code, _, errOut = runCLI(t, "migrate", "--database-url", "sqlite:"+filepath.Join(dir, "a.db")+"?sync=sometimes")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `"full" or "normal"`)
	code, _, errOut = runCLI(t, "migrate", "--database-url", "sqlite:"+filepath.Join(dir, "a.db")+"?cache=big")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `unknown option "cache"`)
	code, _, errOut = runCLI(t, "migrate", "--database-url", "sqlite:"+filepath.Join(dir, "a.db")+"?sync=normal")
	require.Equal(t, 0, code, errOut)
	require.FileExists(t, filepath.Join(dir, "a.db"), "the query is not part of the file name")
}

func TestWorkflowsApplyCommand(t *testing.T) {
	t.Parallel()
	db := "sqlite:" + filepath.Join(t.TempDir(), "apply.db")
	file := "../seed/workflows/delayed-followup.json"
	code, out, errOut := runCLI(t, "workflows", "apply", "--database-url", db, file)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, file+": delayed-followup version 1 created")

	code, out, errOut = runCLI(t, "workflows", "apply", "--database-url", db, file)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, file+": delayed-followup version 1 unchanged")

	bad := writeFile(t, "bad.json", `{"id": "x", "startAt": "a", "steps": [{"id": "a", "type": "nope"}]}`)
	code, out, _ = runCLI(t, "workflows", "apply", "--database-url", db, bad)
	require.Equal(t, 1, code)
	require.Contains(t, out, bad+": /steps/0/type: ")
}

// TestFlagBeatsEnv sets process environment variables, so it does not run
// in parallel.
func TestFlagBeatsEnv(t *testing.T) {
	t.Setenv("SLUICE_DATABASE_URL", "postgres://app:s3cret@db.example/sluice")

	// The variable is used when no flag is given...
	code, _, errOut := runCLI(t, "migrate")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "postgres support is not built yet")

	// ...and the flag wins over it.
	db := filepath.Join(t.TempDir(), "flag.db")
	code, _, errOut = runCLI(t, "migrate", "--database-url", "sqlite:"+db)
	require.Equal(t, 0, code, errOut)
	require.FileExists(t, db)

	t.Setenv("SLUICE_LOG_LEVEL", "loud")
	code, _, errOut = runCLI(t, "version")
	require.Equal(t, 2, code, "a bad variable is a usage error")
	require.Contains(t, errOut, "loud")
	code, _, _ = runCLI(t, "--log-level", "debug", "version")
	require.Equal(t, 0, code)
}
