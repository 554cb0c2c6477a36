// Package errs is the one application error type: a code from a small closed
// table and a message meant for people. It imports nothing from the project so
// that every layer, events included, can use it.
package errs

import (
	"errors"
	"fmt"
)

// Codes. The HTTP layer maps each to one status; only EINTERNAL is logged with detail.
const (
	EINVALID      = "EINVALID"      // bad input: the caller must change the request
	ENOTFOUND     = "ENOTFOUND"     // the thing asked for does not exist
	ECONFLICT     = "ECONFLICT"     // optimistic concurrency lost, or a rule of state forbids it now
	EUNAUTHORIZED = "EUNAUTHORIZED" // missing or wrong credentials
	EUNAVAILABLE  = "EUNAVAILABLE"  // a dependency (store, bus) is down; retrying may help
	EINTERNAL     = "EINTERNAL"     // a bug or an unexpected state
)

// Error is the application error. Err, when set, is the cause and is kept for
// errors.Is/As; it is not shown to API callers.
type Error struct {
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil && e.Message != "" {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Code, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error with code and message around cause.
func Wrap(code string, cause error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: cause}
}

// coder is implemented by typed errors of other packages (for example the
// events codec's decode errors) that carry a code without being an *Error.
type coder interface{ ErrorCode() string }

// Code returns the code of the first coded error in err's chain, EINTERNAL for
// any other non-nil error and "" for nil.
func Code(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	var c coder
	if errors.As(err, &c) {
		return c.ErrorCode()
	}
	return EINTERNAL
}

// Message returns the human message of the first coded error in err's chain,
// or a generic text for internal errors (their detail is for logs only).
func Message(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Code != EINTERNAL {
		if e.Message != "" {
			return e.Message
		}
		return e.Err.Error()
	}
	var c coder
	if errors.As(err, &c) && c.ErrorCode() != EINTERNAL {
		return err.Error()
	}
	return "internal error"
}

// Is reports whether err carries code.
func Is(err error, code string) bool { return Code(err) == code }
