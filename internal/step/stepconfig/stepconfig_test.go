package stepconfig_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/expr"
	"github.com/sluicehq/sluice/internal/step/stepconfig"
	"github.com/sluicehq/sluice/internal/workflow"
)

func fields(d *stepconfig.Decoder) []string {
	out := []string{}
	for _, f := range d.Fields() {
		out = append(out, f.String())
	}
	return out
}

func TestObject(t *testing.T) {
	t.Parallel()

	t.Run("empty and null roots are empty objects", func(t *testing.T) {
		t.Parallel()
		for _, raw := range []string{"", " ", "null", "{}"} {
			var d stepconfig.Decoder
			o := d.Object("", json.RawMessage(raw), "a")
			require.False(t, o.Has("a"))
			require.NoError(t, d.Err("bad"), raw)
		}
	})

	t.Run("non-objects", func(t *testing.T) {
		t.Parallel()
		var d stepconfig.Decoder
		d.Object("", json.RawMessage(`[]`))
		d.Object("/x", json.RawMessage(`null`))
		d.Object("/y", json.RawMessage(`{`))
		require.Equal(t, []string{": must be an object", "/x: must be an object", "/y: must be an object"}, fields(&d))
	})

	t.Run("unknown keys sorted and nulls absent", func(t *testing.T) {
		t.Parallel()
		var d stepconfig.Decoder
		o := d.Object("/cfg", json.RawMessage(`{"z": 1, "a": null, "b/c": 2, "known": null}`), "known")
		require.False(t, o.Has("known"))
		require.Equal(t, []string{
			"/cfg/a: unknown field (known: known)",
			"/cfg/b~1c: unknown field (known: known)",
			"/cfg/z: unknown field (known: known)",
		}, fields(&d))
		err := d.Err("invalid x config")
		require.Equal(t, workflow.EINVALID, workflow.ErrorCode(err))
		require.Equal(t, "invalid x config", workflow.ErrorMessage(err))
	})
}

func TestGetters(t *testing.T) {
	t.Parallel()

	var d stepconfig.Decoder
	o := d.Object("", json.RawMessage(`{
		"s": "text", "b": true, "f": 1.5, "i": -42, "dur": "1m30s", "arr": [1, "x"],
		"obj": {"k": 1}, "badS": 1, "badB": "true", "badF": "1", "badI": 1.5, "badI2": "7", "badI3": 1e3,
		"badDur": "90", "badDurType": 90, "badArr": {}, "badObj": [], "tm": {"a": "x{{ run.id }}"},
		"badTm": {"n": 1, "bad": "{{", "z": null}
	}`), "s", "b", "f", "i", "dur", "arr", "obj", "badS", "badB", "badF", "badI", "badI2", "badI3",
		"badDur", "badDurType", "badArr", "badObj", "tm", "badTm", "missing")

	s, ok := o.String("s")
	require.True(t, ok)
	require.Equal(t, "text", s)
	b, ok := o.Bool("b")
	require.True(t, ok)
	require.True(t, b)
	f, ok := o.Float("f")
	require.True(t, ok)
	require.InDelta(t, 1.5, f, 1e-9)
	i, ok := o.Int("i")
	require.True(t, ok)
	require.Equal(t, -42, i)
	dur, ok := o.Duration("dur")
	require.True(t, ok)
	require.Equal(t, 90*time.Second, dur)
	arr, ok := o.Array("arr")
	require.True(t, ok)
	require.Len(t, arr, 2)
	nested, ok := o.Object("obj", "k")
	require.True(t, ok)
	require.True(t, nested.Has("k"))
	require.Equal(t, "/obj/k", nested.Path("k"))
	tm, ok := o.TemplateMap("tm")
	require.True(t, ok)
	got, err := tm["a"].RenderString(&expr.Scope{Run: expr.RunInfo{ID: "r"}})
	require.NoError(t, err)
	require.Equal(t, "xr", got)

	_, ok = o.String("missing")
	require.False(t, ok)
	require.Empty(t, d.Fields(), "valid and missing fields record nothing")

	_, ok = o.String("badS")
	require.False(t, ok)
	_, ok = o.Bool("badB")
	require.False(t, ok)
	_, ok = o.Float("badF")
	require.False(t, ok)
	_, ok = o.Int("badI")
	require.False(t, ok)
	_, ok = o.Int("badI2")
	require.False(t, ok)
	_, ok = o.Int("badI3")
	require.False(t, ok)
	_, ok = o.Duration("badDur")
	require.False(t, ok)
	_, ok = o.Duration("badDurType")
	require.False(t, ok)
	_, ok = o.Array("badArr")
	require.False(t, ok)
	_, ok = o.Object("badObj")
	require.False(t, ok)
	_, ok = o.TemplateMap("badTm")
	require.False(t, ok)
	require.False(t, o.Required("s", "missing", "other"))

	require.Equal(t, []string{
		"/badS: must be a string",
		"/badB: must be a boolean",
		"/badF: must be a number",
		"/badI: must be an integer",
		"/badI2: must be an integer",
		"/badI3: must be an integer",
		`/badDur: must be a duration such as "30s" or "1h30m", not "90"`,
		`/badDurType: must be a duration such as "30s" or "1h30m"`,
		"/badArr: must be an array",
		"/badObj: must be an object",
		`/badTm/bad: unclosed {{ in "{{"`,
		"/badTm/n: must be a string",
		"/badTm/z: must be a string",
		"/missing: is required",
		"/other: is required",
	}, fields(&d))
}

func TestTemplateReportsEveryBadString(t *testing.T) {
	t.Parallel()

	var d stepconfig.Decoder
	o := d.Object("", json.RawMessage(`{"body": {"a": "{{ input. }}", "b": ["ok {{ run.id }}", "{{"], "c~": "{{ run.x }}", "n": 12345678901234567890}}`), "body")
	_, ok := o.Template("body")
	require.False(t, ok)
	paths := []string{}
	for _, f := range d.Fields() {
		paths = append(paths, f.Path)
	}
	require.Equal(t, []string{"/body/a", "/body/b/1", "/body/c~0"}, paths)

	var d2 stepconfig.Decoder
	o = d2.Object("", json.RawMessage(`{"body": {"n": 12345678901234567890, "s": "{{ run.id }}"}}`), "body")
	tmpl, ok := o.Template("body")
	require.True(t, ok)
	v, err := tmpl.Render(&expr.Scope{Run: expr.RunInfo{ID: "r"}})
	require.NoError(t, err)
	out, err := json.Marshal(v)
	require.NoError(t, err)
	require.JSONEq(t, `{"n": 12345678901234567890, "s": "r"}`, string(out))
	require.JSONEq(t, `{"n":12345678901234567890,"s":"r"}`, string(out), "large literals keep their digits")
}

func TestTemplateString(t *testing.T) {
	t.Parallel()

	var d stepconfig.Decoder
	o := d.Object("/x", json.RawMessage(`{"url": "https://x/{{ input.id }}", "bad": "{{ run.nope }}", "num": 3}`), "url", "bad", "num")
	tmpl, src, ok := o.TemplateString("url")
	require.True(t, ok)
	require.Equal(t, "https://x/{{ input.id }}", src)
	got, err := tmpl.RenderString(&expr.Scope{Input: map[string]any{"id": 7}})
	require.NoError(t, err)
	require.Equal(t, "https://x/7", got)

	_, _, ok = o.TemplateString("bad")
	require.False(t, ok)
	_, _, ok = o.TemplateString("num")
	require.False(t, ok)
	require.Len(t, d.Fields(), 2)
	require.Equal(t, "/x/bad", d.Fields()[0].Path)
	require.Equal(t, "/x/num: must be a string", d.Fields()[1].String())
}

func TestHelpers(t *testing.T) {
	t.Parallel()

	require.Equal(t, "a~1b~0c", stepconfig.EscapePointer("a/b~c"))
	require.True(t, stepconfig.IsLiteral("https://x"))
	require.False(t, stepconfig.IsLiteral("https://{{ input.host }}"))

	v, err := stepconfig.DecodeValue(json.RawMessage(`{"n": 1.50}`))
	require.NoError(t, err)
	require.Equal(t, map[string]any{"n": json.Number("1.50")}, v)
	_, err = stepconfig.DecodeValue(json.RawMessage(`{`))
	require.Error(t, err)

	var d stepconfig.Decoder
	require.NoError(t, d.Err("x"))
	d.Add("/a", "bad %d", 1)
	require.EqualError(t, d.Err("invalid"), "invalid; /a: bad 1")
	n, ok := d.Int("/n", json.RawMessage(" 12 "))
	require.True(t, ok)
	require.Equal(t, 12, n)
}
