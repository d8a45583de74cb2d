// Package errs holds what services say about bad input, in words fit for the caller:
// the field problems of one request, collected so a caller fixes all at once. It is a
// leaf: services return it, the HTTP layer and the console show it.
package errs

import (
	"strings"

	"github.com/keyward/keyward/api"
)

// FieldError names one invalid input field, as a 400 answer lists it.
type FieldError = api.FieldError

// Validation lists every problem of one request.
type Validation struct{ Fields []FieldError }

func (e *Validation) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Add appends a field problem.
func (e *Validation) Add(field, msg string) {
	e.Fields = append(e.Fields, FieldError{Field: field, Message: msg})
}

// Err returns e when it holds problems, else nil.
func (e *Validation) Err() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}

// Field is a Validation of one problem.
func Field(field, msg string) *Validation {
	return &Validation{Fields: []FieldError{{Field: field, Message: msg}}}
}
