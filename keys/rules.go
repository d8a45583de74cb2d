package keys

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/safetext"
)

// checkRules holds the text and integer fields of a request to their api rules, so
// that a field's bounds are declared once (api's Rules) for the OpenAPI document and
// the service alike; a field added to a request with a rule is checked here unasked.
// It returns every problem, in the order of the fields, and trims in *v the text whose
// rule says Trim. Fields named in own are the caller's to check, and so are lists,
// objects, booleans and formats (date-time): their checks say more than a rule can.
func checkRules[T api.Ruled](v *T, own ...string) []api.FieldError {
	rules := (*v).Rules()
	rv := reflect.ValueOf(v).Elem()
	var out []api.FieldError
	for i := 0; i < rv.NumField(); i++ {
		name, _, _ := strings.Cut(rv.Type().Field(i).Tag.Get("json"), ",")
		r, ruled := rules[name]
		if !ruled || slices.Contains(own, name) {
			continue
		}
		f := rv.Field(i)
		isPtr := f.Kind() == reflect.Pointer
		if isPtr {
			if f.IsNil() {
				continue
			}
			f = f.Elem()
		}
		problem := ""
		switch f.Kind() {
		case reflect.String:
			var kept string
			kept, problem = checkText(r, f.String())
			if kept != f.String() && isPtr { // a new string: the caller's stays as it was
				rv.Field(i).Set(reflect.ValueOf(&kept))
			} else if kept != f.String() {
				f.SetString(kept)
			}
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			problem = checkInt(r, f.Int())
		}
		if problem != "" {
			out = append(out, api.FieldError{Field: name, Message: problem})
		}
	}
	return out
}

// checkText returns s as the service keeps it (trimmed when r.Trim) and what is wrong
// with it under r, or "".
func checkText(r api.Rule, s string) (string, string) {
	if !utf8.ValidString(s) {
		return s, "must be valid UTF-8"
	}
	if r.Trim {
		s = strings.TrimSpace(s)
	}
	n := utf8.RuneCountInString(s)
	switch {
	case n == 0 && (r.Required || r.MinLen > 0):
		return s, "is required"
	case n < r.MinLen:
		return s, fmt.Sprintf("must be at least %d characters", r.MinLen)
	case r.MaxLen > 0 && n > r.MaxLen:
		return s, fmt.Sprintf("must be at most %d characters", r.MaxLen)
	case len(r.Enum) > 0 && !slices.Contains(r.Enum, s):
		return s, "must be one of " + strings.Join(slices.DeleteFunc(slices.Clone(r.Enum), func(e string) bool { return e == "" }), ", ")
	case r.Pattern != "" && !regexp.MustCompile(r.Pattern).MatchString(s):
		return s, "must match " + r.Pattern
	case r.Safe != api.NotChecked:
		return s, safetext.Problem(s, r.Safe == api.SafeMultiline)
	}
	return s, ""
}

// checkInt is what is wrong with n under r, or "".
func checkInt(r api.Rule, n int64) string {
	switch {
	case r.MaxSet && (n < r.Min || n > r.Max):
		return fmt.Sprintf("must be between %d and %d", r.Min, r.Max)
	case n < r.Min:
		return fmt.Sprintf("must be at least %d", r.Min)
	}
	return ""
}
