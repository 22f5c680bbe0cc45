package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sluicehq/sluice/internal/workflow"
)

// errClosed is returned by every method once Close was called.
var errClosed = workflow.Errorf(workflow.EUNAVAILABLE, "store is closed")

// wrapErr maps a database error to a domain error and names the operation:
// *workflow.Error values keep their code, sql.ErrNoRows becomes ENOTFOUND,
// unique and foreign-key violations ECONFLICT, busy/locked/closed databases
// EUNAVAILABLE, context errors stay as they are (wrapped), and anything else
// is wrapped as is (EINTERNAL). The driver error stays in the chain.
func wrapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var we *workflow.Error
	switch {
	case errors.As(err, &we), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("sqlite: %s: %w", op, err)
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("sqlite: %s: %w", op, workflow.Errorf(workflow.ENOTFOUND, "not found"))
	}
	if code := classify(err); code != "" {
		return fmt.Errorf("sqlite: %s: %w: %w", op, workflow.Errorf(code, "%s", describe(code)), err)
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// classify returns the domain code of a driver error, or "".
func classify(err error) string {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY,
			sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return workflow.ECONFLICT
		}
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN,
			sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY:
			return workflow.EUNAVAILABLE
		}
		return ""
	}
	// database/sql does not export its "closed" errors.
	if msg := err.Error(); errors.Is(err, sql.ErrConnDone) || errors.Is(err, sql.ErrTxDone) ||
		strings.Contains(msg, "sql: database is closed") || strings.Contains(msg, "sql: statement is closed") {
		return workflow.EUNAVAILABLE
	}
	return ""
}

// isConstraint reports whether err is the given extended constraint code.
func isConstraint(err error, code int) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == code
}

func describe(code string) string {
	switch code {
	case workflow.ECONFLICT:
		return "conflicts with existing data"
	case workflow.EUNAVAILABLE:
		return "database unavailable"
	}
	return code
}
