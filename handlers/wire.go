package handlers

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/safetext"
	"github.com/keyward/keyward/webhooks"
)

// The schemas of the bodies come from the Go types of package api: a field's name and
// description from its tags, its kind from its Go type, the rest from the type's
// Rules. A small reflector rather than kin-openapi's openapi3gen: the two readings
// of one type (answer: fields without omitempty are required, pointers null; request:
// Rules say what is required, everything else also admits null, as encoding/json
// reads a null member as an absent one), the flattening of embedded types with their
// rules, and the oneOf variants read more plainly here than as customizer hooks.

// responseSchema is the strict schema of an answer of type T.
func responseSchema[T any]() *openapi3.SchemaRef {
	return fieldSchema(reflect.TypeFor[T](), api.Rule{}, false)
}

// requestSchema is the strict schema of a request body of type T.
func requestSchema[T any]() *openapi3.SchemaRef {
	return fieldSchema(reflect.TypeFor[T](), api.Rule{}, true)
}

// listSchema is a body that is a JSON array of T under rule.
func listSchema[T any](rule api.Rule, request bool) *openapi3.SchemaRef {
	return fieldSchema(reflect.TypeFor[[]T](), rule, request)
}

type wireField struct {
	name, doc string
	omitempty bool
	typ       reflect.Type
	rule      api.Rule
}

var (
	rulesType = reflect.TypeFor[api.Ruled]()
	openType  = reflect.TypeFor[api.Open]()
)

// wireFields lists t's JSON fields as encoding/json sees them (embedded structs
// flattened) with their rules; an outer type's rule wins over an embedded one's.
func wireFields(t reflect.Type) []wireField {
	var rules api.Rules
	if t.Implements(rulesType) {
		rules = reflect.Zero(t).Interface().(api.Ruled).Rules()
	}
	var out []wireField
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if tag == "-" || !f.IsExported() {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for _, inner := range wireFields(f.Type) {
				if r, ok := rules[inner.name]; ok {
					inner.rule = r
				}
				out = append(out, inner)
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, wireField{name: name, doc: f.Tag.Get("doc"), omitempty: slices.Contains(strings.Split(opts, ","), "omitempty"),
			typ: f.Type, rule: rules[name]})
	}
	return out
}

// structSchema is t as a strict object; only, when not nil, keeps the named fields
// with their rules (a oneOf variant).
func structSchema(t reflect.Type, only api.Rules, request bool) *openapi3.SchemaRef {
	props := map[string]*openapi3.SchemaRef{}
	var required []string
	for _, f := range wireFields(t) {
		if only != nil {
			r, ok := only[f.name]
			if !ok {
				continue
			}
			f.rule = r
		}
		s := fieldSchema(f.typ, f.rule, request)
		if f.doc != "" {
			s.Value.Description = f.doc
		}
		switch {
		case only != nil:
			if f.rule.Required {
				required = append(required, f.name)
			}
		case request:
			if f.rule.Required {
				required = append(required, f.name)
			} else {
				s = nullable(s)
			}
		default:
			if !f.omitempty || f.rule.Required {
				required = append(required, f.name)
			}
			if (f.typ.Kind() == reflect.Pointer && !f.omitempty) || f.rule.Nullable {
				s = nullable(s)
			}
		}
		props[f.name] = s
	}
	s := object(props, required...)
	if t.Implements(openType) {
		s.Value.AdditionalProperties = openapi3.AdditionalProperties{}
	}
	return s
}

// enumSources are the enums of api.Rule.EnumFrom, whose values the server holds.
var enumSources = map[string]func() []string{
	api.EnumWebhookSubscriptions: webhooks.Subscriptions,
	api.EnumEventTypes:           webhooks.EventTypes,
}

var (
	rawJSONType = reflect.TypeFor[json.RawMessage]()
	timeType    = reflect.TypeFor[time.Time]()
)

// fieldSchema is one value of type t under rule r.
func fieldSchema(t reflect.Type, r api.Rule, request bool) *openapi3.SchemaRef {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if len(r.OneOf) > 0 {
		s := openapi3.NewObjectSchema()
		for _, variant := range r.OneOf {
			s.OneOf = append(s.OneOf, structSchema(t, variant, request))
		}
		return s.NewRef()
	}
	var s *openapi3.Schema
	switch {
	case t == rawJSONType || (t.Kind() == reflect.Map && t.Elem().Kind() == reflect.Interface):
		s = openapi3.NewObjectSchema()
		if r.MaxProps > 0 {
			s.WithMaxProperties(int64(r.MaxProps))
		}
	case t == timeType || r.Format == "date-time":
		s = openapi3.NewDateTimeSchema()
	case t.Kind() == reflect.String:
		s = openapi3.NewStringSchema().WithMinLength(int64(r.MinLen))
		if r.MaxLen > 0 {
			s.WithMaxLength(int64(r.MaxLen))
		}
		s.Format = r.Format
		s.Pattern = r.Pattern
		if r.Safe != api.NotChecked {
			s.Pattern = safetext.Pattern(r.Safe == api.SafeMultiline)
		}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		s = openapi3.NewIntegerSchema()
		if len(r.Enum) == 0 {
			s.WithMin(float64(r.Min))
		}
		if r.MaxSet {
			s.WithMax(float64(r.Max))
		}
	case t.Kind() == reflect.Bool:
		s = openapi3.NewBoolSchema()
	case t.Kind() == reflect.Slice:
		item := api.Rule{}
		if r.Items != nil {
			item = *r.Items
		}
		s = openapi3.NewArraySchema()
		s.Items = fieldSchema(t.Elem(), item, request)
		if r.MinItems > 0 {
			s.WithMinItems(int64(r.MinItems))
		}
		if r.MaxItems > 0 {
			s.WithMaxItems(int64(r.MaxItems))
		}
		s.UniqueItems = r.Unique
	case t.Kind() == reflect.Map:
		props := map[string]*openapi3.SchemaRef{}
		for _, k := range r.Keys {
			props[k] = fieldSchema(t.Elem(), api.Rule{}, request)
		}
		var required []string
		if r.RequireKeys {
			required = r.Keys
		}
		return object(props, required...)
	case t.Kind() == reflect.Struct:
		return structSchema(t, nil, request)
	default:
		panic(fmt.Sprintf("handlers: no schema for wire type %v", t))
	}
	enum := r.Enum
	if r.EnumFrom != "" {
		enum = enumSources[r.EnumFrom]()
	}
	for _, v := range enum {
		s.Enum = append(s.Enum, enumValue(t, v))
	}
	s.Description = r.Doc
	return s.NewRef()
}

// enumValue is v, as written in a Rule, in t's JSON kind.
func enumValue(t reflect.Type, v string) any {
	switch t.Kind() {
	case reflect.Bool:
		return v == "true"
	case reflect.String:
		return v
	default:
		n, err := strconv.Atoi(v)
		if err != nil {
			panic(fmt.Sprintf("handlers: enum %q of %v", v, t))
		}
		return n
	}
}
