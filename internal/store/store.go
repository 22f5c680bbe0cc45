// Package store holds the small helpers that every workflow.Store
// implementation shares, so that SQLite and PostgreSQL page, cursor and
// default the same way. The implementations live in the sqlite and postgres
// subpackages; the conformance suite they pass lives in storetest.
package store

import (
	"encoding/base64"
	"strings"

	"github.com/sluicehq/sluice/internal/workflow"
)

// Page sizes of the list methods.
const (
	// DefaultPageSize is the page size of a list whose Limit is 0.
	DefaultPageSize = 50
	// MaxPageSize caps every page size.
	MaxPageSize = 1000
)

// PageLimit returns the effective page size for a requested limit: 0 means
// DefaultPageSize, anything above MaxPageSize is capped, negative values are
// EINVALID.
func PageLimit(limit int) (int, error) {
	switch {
	case limit < 0:
		return 0, workflow.Invalid("invalid page size",
			workflow.FieldError{Path: "/limit", Message: "must not be negative"})
	case limit == 0:
		return DefaultPageSize, nil
	case limit > MaxPageSize:
		return MaxPageSize, nil
	}
	return limit, nil
}

// cursorPrefix versions the cursor format so that a later change can tell
// old cursors apart.
const cursorPrefix = "r1:"

// EncodeCursor turns the id of the last row of a page into an opaque cursor.
func EncodeCursor(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + id))
}

// DecodeCursor returns the id a cursor made by EncodeCursor holds; "" gives
// "". Anything else is EINVALID.
func DecodeCursor(cursor string) (string, error) {
	if cursor == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	id, ok := strings.CutPrefix(string(b), cursorPrefix)
	if err != nil || !ok || id == "" {
		return "", workflow.Invalid("invalid cursor",
			workflow.FieldError{Path: "/cursor", Message: "not a cursor returned by a previous page"})
	}
	return id, nil
}
