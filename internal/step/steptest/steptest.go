// Package steptest holds assertions shared by the step handlers' tests.
package steptest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/workflow"
)

// RequireInvalid asserts that err is an EINVALID error with the given
// message whose fields, formatted as "path: message", start with want, in
// order and with none left over.
func RequireInvalid(t testing.TB, err error, message string, want ...string) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, workflow.EINVALID, workflow.ErrorCode(err), "%v", err)
	require.Equal(t, message, workflow.ErrorMessage(err))
	fields := workflow.ErrorFields(err)
	require.Len(t, fields, len(want), "%v", fields)
	for i, w := range want {
		require.True(t, strings.HasPrefix(fields[i].String(), w), "field %d: got %q, want prefix %q", i, fields[i], w)
	}
}
