package workflow

import (
	"errors"
	"fmt"
)

// Error codes. The API maps them to HTTP statuses; nothing else does.
const (
	// ENOTFOUND: the named thing does not exist.
	ENOTFOUND = "not_found"
	// ECONFLICT: the request conflicts with the current state (e.g. replaying
	// a running run, a trigger key used by another workflow).
	ECONFLICT = "conflict"
	// EINVALID: the request is malformed; FieldErrors say where.
	EINVALID = "invalid"
	// EIDEMPOTENCY: an idempotency key was reused with a different request.
	EIDEMPOTENCY = "idempotency_mismatch"
	// ELEASELOST: the caller's lease (fencing token) is no longer current.
	ELEASELOST = "lease_lost"
	// EUNAVAILABLE: a dependency (database) cannot be reached.
	EUNAVAILABLE = "unavailable"
	// EINTERNAL: a bug or an unexpected failure.
	EINTERNAL = "internal"
)

// FieldError is one problem in a request or definition, located by a JSON
// pointer (RFC 6901) such as "/steps/2/retry/maxAttempts".
type FieldError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (e FieldError) String() string { return e.Path + ": " + e.Message }

// Error is a domain error with a machine-readable code.
type Error struct {
	// Code is one of the E* constants.
	Code string
	// Message is a human-readable explanation.
	Message string
	// Fields lists every problem for EINVALID errors.
	Fields []FieldError
}

// Error implements error.
func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Message
	}
	s := e.Message
	for _, f := range e.Fields {
		s += "; " + f.String()
	}
	return s
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error listing fields.
func Invalid(message string, fields ...FieldError) *Error {
	return &Error{Code: EINVALID, Message: message, Fields: fields}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for other non-nil errors and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the first *Error in err's chain, or
// "internal error" for others.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrorFields returns the field errors of the first *Error in err's chain.
func ErrorFields(err error) []FieldError {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

// IsCode reports whether err carries the given code.
func IsCode(err error, code string) bool { return ErrorCode(err) == code }
