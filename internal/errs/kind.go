package errs

import (
	"errors"
	"fmt"
	"net/http"
)

// Kind is what went wrong, as a caller decides on it. HTTPStatus maps each kind to one
// status, for the API and the console alike; nothing decides a status from an error's text.
type Kind uint8

// Kinds.
const (
	Internal        Kind = iota // a bug or an unexpected failure: logged in full, shown as nothing
	Invalid                     // bad input
	NotFound                    // no such object (or not the caller's)
	Conflict                    // the request contradicts the current state
	Forbidden                   // the caller may not do this
	Unauthenticated             // the caller is not who a token says, or shows no token
	Unavailable                 // a dependency cannot be reached; try again shortly
)

var kindNames = [...]string{"internal", "invalid", "not found", "conflict", "forbidden", "unauthenticated", "unavailable"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "internal"
}

// Error is an error of a Kind with a Message fit for the caller: it names no secret
// and no internal detail. Cause, if any, is for logs and errors.Is.
type Error struct {
	Kind    Kind
	Message string
	cause   error
}

// New makes an error of kind k, e.g. a sentinel: var ErrNotFound = errs.New(errs.NotFound, "no such resource").
func New(k Kind, format string, a ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, a...)}
}

// Because is an error of sentinel's kind that says why in its own words;
// errors.Is(err, sentinel) holds.
func Because(sentinel *Error, format string, a ...any) *Error {
	return &Error{Kind: sentinel.Kind, Message: fmt.Sprintf(format, a...), cause: sentinel}
}

func (e *Error) Error() string {
	if e.cause != nil {
		return e.Message + ": " + e.cause.Error()
	}
	return e.Message
}

// Unwrap gives the cause.
func (e *Error) Unwrap() error { return e.cause }

// KindOf is the kind of the outermost *Error in err's chain; a *Validation is Invalid;
// anything else Internal.
func KindOf(err error) Kind {
	var v *Validation
	var e *Error
	switch {
	case err == nil:
		return Internal
	case errors.As(err, &v):
		return Invalid
	case errors.As(err, &e):
		return e.Kind
	}
	return Internal
}

// MessageOf is the caller-fit message of the outermost *Error in err's chain, "" when
// there is none.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return ""
}

// httpStatuses is the one table from a kind to its HTTP status.
var httpStatuses = [...]int{
	Internal:        http.StatusInternalServerError,
	Invalid:         http.StatusBadRequest,
	NotFound:        http.StatusNotFound,
	Conflict:        http.StatusConflict,
	Forbidden:       http.StatusForbidden,
	Unauthenticated: http.StatusUnauthorized,
	Unavailable:     http.StatusServiceUnavailable,
}

// HTTPStatus is the status that answers an error of kind k; 500 for an unknown kind.
func HTTPStatus(k Kind) int {
	if int(k) < len(httpStatuses) {
		return httpStatuses[k]
	}
	return http.StatusInternalServerError
}
