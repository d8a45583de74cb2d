package testkit

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// Reflection helpers for the tests that hold every surface to every field of a type:
// a field a surface forgets fails a test instead of going unseen. A field is named by
// its JSON name where it has one, else its Go name; nested fields by a dotted path.

// filledTime is the instant Fill puts in every time.
var filledTime = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// Fill sets every exported field of *ptr, recursively, to a non-zero value: a string
// to its field's Go name, numbers to 7, bools to true, times to one instant, pointers,
// slices and maps to one filled element, a json.RawMessage to {"filled":true}. A test
// sets afterwards the fields that need a meaningful value (an enum, say).
func Fill(ptr any) { fill(reflect.ValueOf(ptr).Elem(), "Filled") }

func fill(v reflect.Value, name string) {
	switch {
	case v.Type() == reflect.TypeOf(time.Time{}):
		v.Set(reflect.ValueOf(filledTime))
		return
	case v.Type() == reflect.TypeOf(json.RawMessage{}):
		v.SetBytes([]byte(`{"filled":true}`))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(name)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(7)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), name)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0), name)
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, name)
		fill(e, name)
		v.SetMapIndex(k, e)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if f := v.Type().Field(i); f.IsExported() {
				fill(v.Field(i), f.Name)
			}
		}
	}
}

// fieldName is a field's JSON name, else its Go name; "" for an embedded struct (its
// fields are the outer one's, as in JSON) and "-" for a field JSON leaves out.
func fieldName(f reflect.StructField) string {
	if tag, ok := f.Tag.Lookup("json"); ok {
		if n, _, _ := strings.Cut(tag, ","); n != "" {
			return n
		}
	}
	if f.Anonymous {
		return ""
	}
	return f.Name
}

// nested tells whether t's fields are looked at one by one: a struct (or pointer to
// one) with exported fields, not a time.
func nested(t reflect.Type) bool {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == reflect.TypeOf(time.Time{}) {
		return false
	}
	for i := 0; i < t.NumField(); i++ {
		if t.Field(i).IsExported() {
			return true
		}
	}
	return false
}

// leaf is one field: its path and the indexes that reach it.
type leaf struct {
	path  string
	index [][]int
}

func leaves(t reflect.Type, prefix string, index [][]int) []leaf {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []leaf
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, idx := fieldName(f), append(slices.Clone(index), f.Index)
		path := prefix
		if name != "" {
			path = strings.TrimPrefix(prefix+"."+name, ".")
		}
		if nested(f.Type) {
			out = append(out, leaves(f.Type, path, idx)...)
		} else {
			out = append(out, leaf{path, idx})
		}
	}
	return out
}

// at returns the field l names in the addressable struct v, allocating (with
// copies, so that no other value sees the change) the pointers on the way.
func (l leaf) at(v reflect.Value) reflect.Value {
	for _, idx := range l.index {
		if v.Kind() == reflect.Pointer {
			c := reflect.New(v.Type().Elem())
			if !v.IsNil() {
				c.Elem().Set(v.Elem())
			}
			v.Set(c)
			v = v.Elem()
		}
		v = v.FieldByIndex(idx)
	}
	return v
}

// Unread lists the fields of In (dotted paths) that f never reads: f answers the same
// with the field zeroed in any of fulls, and with that field alone set on a zero In.
// Several fulls serve fields read only together with others (requests per window,
// read only when a limit is not unlimited). f's answers are compared with
// reflect.DeepEqual.
func Unread[In any](f func(In) any, fulls ...In) []string {
	var zero In
	base := f(zero)
	var unread []string
	for _, l := range leaves(reflect.TypeOf(zero), "", nil) {
		read := false
		for _, full := range fulls {
			value := l.at(reflect.ValueOf(&full).Elem()) // full is a copy: allocating is harmless
			if value.IsZero() {
				continue
			}
			without := full
			l.at(reflect.ValueOf(&without).Elem()).SetZero()
			alone := zero
			l.at(reflect.ValueOf(&alone).Elem()).Set(value)
			if !reflect.DeepEqual(f(without), f(full)) || !reflect.DeepEqual(f(alone), base) {
				read = true
				break
			}
		}
		if !read {
			unread = append(unread, l.path)
		}
	}
	return unread
}

// ZeroFields lists the top-level fields of the struct v that are zero (by JSON name
// where they have one).
func ZeroFields(v any) []string {
	rv := reflect.ValueOf(v)
	var zero []string
	for i := 0; i < rv.NumField(); i++ {
		if f := rv.Type().Field(i); f.IsExported() && rv.Field(i).IsZero() {
			zero = append(zero, fieldName(f))
		}
	}
	return zero
}

// JSONNames lists the JSON names of the top-level fields of the struct type of v,
// those of embedded structs included.
func JSONNames(v any) []string {
	var names []string
	for _, l := range leaves(reflect.TypeOf(v), "", nil) {
		name, _, _ := strings.Cut(l.path, ".")
		if name != "-" && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names
}

// RequireOnly fails t unless the fields found (unread, unshown, …) are exactly the
// exempted ones: a field missing from the exemptions is a surface that forgot it; an
// exemption no longer found is stale and must go, so the list stays true.
func RequireOnly(t testing.TB, what string, found []string, exempt map[string]string) {
	t.Helper()
	for _, f := range found {
		if _, ok := exempt[f]; !ok {
			t.Errorf("%s: %s (add it, or exempt it with the reason)", what, f)
		}
	}
	for f := range exempt {
		if !slices.Contains(found, f) {
			t.Errorf("%s: the exemption of %s is stale: remove it", what, f)
		}
	}
}
