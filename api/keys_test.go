package api

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// The key service holds a request's fields to these rules (keys' checkRules) and the
// OpenAPI document states them: a field added to a key request without a bound here
// would be stored unbounded, so it fails this test instead.
func TestKeyRequests_EveryFieldBounded(t *testing.T) {
	exempt := map[string]string{
		"never_expires": "a boolean",
		"enabled":       "a boolean",
		"acl_groups":    "always refused by the service, whatever it holds",
	}
	for _, request := range []Ruled{KeyCreate{}, KeyUpdate{}} {
		rules := request.Rules()
		rt := reflect.TypeOf(request)
		for i := 0; i < rt.NumField(); i++ {
			name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			if _, ok := exempt[name]; ok {
				continue
			}
			if r := rules[name]; !bounded(rt.Field(i).Type, r) {
				t.Errorf("%s.%s has no bound in its Rules (a length, range, count, enum, pattern or format)", rt.Name(), name)
			}
		}
	}
}

// bounded tells whether r bounds a value of type t.
func bounded(t reflect.Type, r Rule) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case len(r.OneOf) > 0 || len(r.Enum) > 0:
		return true
	case t == reflect.TypeFor[json.RawMessage]():
		return r.MaxProps > 0
	case t.Kind() == reflect.String:
		return r.MaxLen > 0 || r.Pattern != "" || r.Format != ""
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		return r.MaxSet
	case t.Kind() == reflect.Slice:
		return r.MaxItems > 0
	}
	return false
}
