// Package archtest enforces the dependency rule of docs/architecture.md in
// plain `go test ./...`, so CI keeps the core free of adapters even where
// golangci-lint (whose depguard rules in .golangci.yml say the same) is not
// installed.
//
// The rule: the core packages (workflow, dsl, expr, retry, step, engine) do
// not import net/http, database/sql, SQL drivers, AMQP, Redis, OpenTelemetry
// or the HTTP framework, nor the in-module adapters (store implementations,
// api, cli, dashboard, telemetry, rabbitmq, redis). The http step
// (internal/step/httpcall) alone may import net/http. internal/workflow, the
// domain, imports the standard library only. Test files are exempt: tests
// wire real adapters.
package archtest

import (
	"bufio"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// corePackages are the directories (relative to the module root) whose
// non-test Go files, subdirectories included, obey the rule.
var corePackages = []string{
	"internal/workflow",
	"internal/dsl",
	"internal/expr",
	"internal/retry",
	"internal/step",
	"internal/engine",
}

// requiredCore must exist, so that the test cannot pass on a moved tree.
var requiredCore = []string{"internal/workflow", "internal/step", "internal/engine"}

// stdlibOnly are directories whose files may import the standard library
// only.
var stdlibOnly = []string{"internal/workflow"}

// forbiddenExternal are import-path prefixes no core file may import, with
// the reason shown on a violation.
var forbiddenExternal = []forbidden{
	{"net/http", "HTTP belongs in internal/api and internal/step/httpcall"},
	{"database/sql", "SQL belongs in internal/store/<dialect>"},
	{"modernc.org/sqlite", "SQL drivers belong in internal/store/sqlite"},
	{"github.com/mattn/go-sqlite3", "SQL drivers belong in internal/store/sqlite"},
	{"github.com/jackc/pgx", "SQL drivers belong in internal/store/postgres"},
	{"github.com/lib/pq", "SQL drivers belong in internal/store/postgres"},
	{"github.com/pressly/goose", "migrations belong in internal/store/<dialect>"},
	{"github.com/rabbitmq/amqp091-go", "AMQP belongs in internal/rabbitmq"},
	{"github.com/redis/go-redis", "Redis belongs in internal/redis"},
	{"github.com/bsm/redislock", "Redis belongs in internal/redis"},
	{"go.opentelemetry.io", "OpenTelemetry belongs in internal/telemetry (as step middleware)"},
	{"github.com/danielgtaylor/huma", "the HTTP API belongs in internal/api"},
}

// forbiddenInternal are in-module package prefixes (relative to the module
// path) no core file may import: adapters and the wiring depend on the core,
// never the other way round.
var forbiddenInternal = []forbidden{
	{"cmd", "the binary wires the core, not the other way round"},
	{"internal/cli", "the wiring imports the core, not the other way round"},
	{"internal/api", "adapters import the core, not the other way round"},
	{"internal/dashboard", "adapters import the core, not the other way round"},
	{"internal/telemetry", "telemetry wraps the core as middleware"},
	{"internal/rabbitmq", "adapters import the core, not the other way round"},
	{"internal/redis", "adapters import the core, not the other way round"},
	{"internal/store/sqlite", "the core sees the store only as workflow.Store"},
	{"internal/store/postgres", "the core sees the store only as workflow.Store"},
	{"internal/store/storetest", "the conformance suite is for tests"},
	{"internal/testenv", "testenv is for tests"},
}

// exceptions lets a directory (relative to the module root, subdirectories
// included) import a forbidden prefix.
var exceptions = []struct{ dir, prefix string }{
	{"internal/step/httpcall", "net/http"},
}

type forbidden struct{ prefix, why string }

// hasPathPrefix reports whether importPath is prefix or lies below it
// ("net/http/httptest" is below "net/http"; "net/httpx" is not).
func hasPathPrefix(importPath, prefix string) bool {
	return importPath == prefix || strings.HasPrefix(importPath, prefix+"/")
}

// isStdlib reports whether an import path names a standard-library package:
// its first element has no dot (module paths start with a domain).
func isStdlib(importPath string) bool {
	first, _, _ := strings.Cut(importPath, "/")
	return !strings.Contains(first, ".") && importPath != "C"
}

// violation is one forbidden import.
type violation struct {
	file, importPath, why string
}

func (v violation) String() string {
	return fmt.Sprintf("%s imports %q: %s", v.file, v.importPath, v.why)
}

// checker applies the rule to a tree rooted at root for module modPath.
type checker struct {
	root, modPath string
}

// checkFile returns the violations of one file; rel is its path relative to
// the module root, with forward slashes.
func (c checker) checkFile(rel string, imports []string) []violation {
	var out []violation
	dir := filepath.ToSlash(filepath.Dir(rel))
	excepted := func(prefix string) bool {
		for _, e := range exceptions {
			if e.prefix == prefix && hasPathPrefix(dir, e.dir) {
				return true
			}
		}
		return false
	}
	stdOnly := slices.ContainsFunc(stdlibOnly, func(d string) bool { return hasPathPrefix(dir, d) })
	for _, imp := range imports {
		reported := false
		for _, f := range forbiddenExternal {
			if hasPathPrefix(imp, f.prefix) && !excepted(f.prefix) {
				out = append(out, violation{rel, imp, f.why})
				reported = true
				break
			}
		}
		if !reported {
			for _, f := range forbiddenInternal {
				if hasPathPrefix(imp, c.modPath+"/"+f.prefix) {
					out = append(out, violation{rel, imp, f.why})
					reported = true
					break
				}
			}
		}
		if !reported && stdOnly && !isStdlib(imp) {
			out = append(out, violation{rel, imp, "the domain package imports the standard library only"})
		}
	}
	return out
}

// checkDir parses the imports of every non-test Go file under rel (a
// directory relative to root) and returns the files seen and violations.
func (c checker) checkDir(rel string) (files int, vs []violation, err error) {
	fset := token.NewFileSet()
	err = filepath.WalkDir(filepath.Join(c.root, rel), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if name == "testdata" || (path != filepath.Join(c.root, rel) && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_"))) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		relPath, err := filepath.Rel(c.root, path)
		if err != nil {
			return err
		}
		imports := make([]string, 0, len(f.Imports))
		for _, spec := range f.Imports {
			p, err := strconv.Unquote(spec.Path.Value)
			if err != nil {
				return fmt.Errorf("%s: bad import %s: %w", relPath, spec.Path.Value, err)
			}
			imports = append(imports, p)
		}
		files++
		vs = append(vs, c.checkFile(filepath.ToSlash(relPath), imports)...)
		return nil
	})
	return files, vs, err
}

// moduleRoot walks up from the working directory to the directory holding
// go.mod and returns it with the module path.
func moduleRoot(t *testing.T) (root, modPath string) {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		f, err := os.Open(filepath.Join(dir, "go.mod"))
		if err == nil {
			defer f.Close()
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
					return dir, strings.Trim(strings.TrimSpace(rest), `"`)
				}
			}
			t.Fatalf("%s/go.mod has no module line", dir)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// TestCoreImportsNoAdapters is the architecture rule itself.
func TestCoreImportsNoAdapters(t *testing.T) {
	t.Parallel()
	root, modPath := moduleRoot(t)
	c := checker{root: root, modPath: modPath}
	total := 0
	for _, rel := range corePackages {
		if _, err := os.Stat(filepath.Join(root, rel)); err != nil {
			if slices.Contains(requiredCore, rel) {
				t.Errorf("core package %s is missing: %v (update internal/archtest if the layout changed)", rel, err)
			} else {
				t.Logf("core package %s does not exist yet; not checked", rel)
			}
			continue
		}
		files, vs, err := c.checkDir(rel)
		if err != nil {
			t.Errorf("check %s: %v", rel, err)
			continue
		}
		t.Logf("%s: %d files checked", rel, files)
		total += files
		for _, v := range vs {
			t.Errorf("%s", v)
		}
	}
	if total == 0 {
		t.Fatal("no core files were checked")
	}
}

// TestCheckerCatchesViolations proves the rule is not vacuous: a synthetic
// tree with one violation of each kind is caught, and allowed imports pass.
func TestCheckerCatchesViolations(t *testing.T) {
	t.Parallel()
	const mod = "example.com/m"
	root := t.TempDir()
	write := func(rel, src string) {
		t.Helper()
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("internal/engine/ok.go", `package engine
import (
	"context"
	"net/url"
	"example.com/m/internal/workflow"
	"github.com/google/uuid"
)`)
	write("internal/engine/bad.go", `package engine
import (
	_ "net/http/httptest"
	sql "database/sql"
	"github.com/jackc/pgx/v5"
	"example.com/m/internal/store/sqlite"
)`)
	write("internal/engine/engine_test.go", `package engine
import _ "net/http"`)
	write("internal/engine/testdata/x.go", `package x
import _ "net/http"`)
	write("internal/step/httpcall/http.go", `package httpcall
import "net/http"`)
	write("internal/step/httpcall/bad.go", `package httpcall
import "go.opentelemetry.io/otel"`)
	write("internal/step/ai/ai.go", `package ai
import "net/http"`)
	write("internal/workflow/w.go", `package workflow
import (
	"encoding/json"
	"github.com/google/uuid"
)`)

	c := checker{root: root, modPath: mod}
	var got []string
	for _, rel := range []string{"internal/engine", "internal/step", "internal/workflow"} {
		_, vs, err := c.checkDir(rel)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			got = append(got, v.file+" "+v.importPath)
		}
	}
	want := []string{
		"internal/engine/bad.go net/http/httptest",
		"internal/engine/bad.go database/sql",
		"internal/engine/bad.go github.com/jackc/pgx/v5",
		"internal/engine/bad.go example.com/m/internal/store/sqlite",
		"internal/step/ai/ai.go net/http",
		"internal/step/httpcall/bad.go go.opentelemetry.io/otel",
		"internal/workflow/w.go github.com/google/uuid",
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("violations:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestPathHelpers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		path, prefix string
		want         bool
	}{
		{"net/http", "net/http", true},
		{"net/http/httptest", "net/http", true},
		{"net/httpx", "net/http", false},
		{"github.com/jackc/pgx/v5/pgxpool", "github.com/jackc/pgx", true},
		{"github.com/jackc/pgxlisten", "github.com/jackc/pgx", false},
		{"go.opentelemetry.io/otel/trace", "go.opentelemetry.io", true},
	} {
		if got := hasPathPrefix(tc.path, tc.prefix); got != tc.want {
			t.Errorf("hasPathPrefix(%q, %q) = %v, want %v", tc.path, tc.prefix, got, tc.want)
		}
	}
	for path, want := range map[string]bool{
		"encoding/json":                true,
		"log/slog":                     true,
		"github.com/google/uuid":       false,
		"golang.org/x/sync/errgroup":   false,
		"github.com/sluicehq/sluice/x": false,
		"C":                            false,
	} {
		if got := isStdlib(path); got != want {
			t.Errorf("isStdlib(%q) = %v, want %v", path, got, want)
		}
	}
}
