package dsl

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseTree(t *testing.T) {
	t.Parallel()
	raw := []byte(" {\"a\" : [1, {\"b/c\":\"x\"} , true],\n\"d\":null, \"a\": 2 } ")
	tr, err := parseTree(raw)
	require.NoError(t, err)
	require.Equal(t, map[string]int{
		"":          1,
		"/a":        8,
		"/a/0":      9,
		"/a/1":      12,
		"/a/1/b~1c": 19,
		"/a/2":      26,
		"/d":        37,
	}, tr.offsets)
	require.Equal(t, kindObject, tr.root.kind)
	require.Len(t, tr.root.members, 3, "duplicates are kept")
	a := tr.root.get("a")
	require.Equal(t, `[1, {"b/c":"x"} , true]`, string(a.raw))
	require.Equal(t, `{"b/c":"x"}`, string(a.items[1].raw)) //nolint:testifylint // an exact slice of the input
	require.Equal(t, "x", a.items[1].get("b/c").str)
	require.Nil(t, tr.root.get("d"), "null is absent")
	require.Equal(t, 12, tr.offset("/a/1/missing/deeper"))
	require.Equal(t, 1, tr.offset("/zzz"))
}

func TestSuggest(t *testing.T) {
	t.Parallel()
	fields := []string{"next", "onTrue", "timeout"}
	require.Equal(t, "next", suggest("nxt", fields))
	require.Equal(t, "onTrue", suggest("ontrue", fields))
	require.Equal(t, "timeout", suggest("timout", fields))
	require.Empty(t, suggest("xyz", fields))
}
