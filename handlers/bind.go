package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
)

// bindJSON decodes a JSON object strictly: one object, known fields only, valid UTF-8
// (encoding/json would silently replace bad bytes), within the body limit.
func bindJSON(c *gin.Context, dst any) error {
	if ct := c.GetHeader("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return newAPIError(http.StatusUnsupportedMediaType, "Unsupported Media Type",
				"send the body as application/json")
		}
	}
	body, err := io.ReadAll(c.Request.Body)
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return newAPIError(http.StatusRequestEntityTooLarge, "Payload Too Large", "request bodies are limited to 64 KiB")
	}
	if err != nil {
		return badRequest("the request body could not be read")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("a JSON object body is required")
	}
	if !utf8.Valid(body) {
		return badRequest("the body is not valid UTF-8")
	}
	if trimmed := bytes.TrimSpace(body); trimmed[0] != '{' {
		if !json.Valid(trimmed) {
			return badRequest("malformed JSON body: a JSON object is required")
		}
		kind := map[byte]string{'n': "null", '[': "an array", '"': "a string", 't': "a boolean", 'f': "a boolean"}[trimmed[0]]
		if kind == "" {
			kind = "a number"
		}
		return badRequest("the body must be a JSON object, not " + kind)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return badRequest(describeJSONError(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("the body must hold exactly one JSON object, and nothing after it")
	}
	// encoding/json matches names regardless of case and lets the last of repeated
	// names win; a reader of the same body with another parser would see another
	// request. Names must be exact and unique.
	if msg := exactNames(json.NewDecoder(bytes.NewReader(body)), reflect.TypeOf(dst), ""); msg != "" {
		return badRequest(msg)
	}
	return nil
}

// exactNames walks one JSON value against the Go type it was decoded into: every object
// name must be unique, and a struct's names exactly its json tags. It returns the
// problem, or "".
func exactNames(dec *json.Decoder, t reflect.Type, path string) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return "malformed JSON body"
	}
	switch tok {
	case json.Delim('{'):
		var fields map[string]reflect.Type
		if t != nil && t.Kind() == reflect.Struct && t != rawMessageType {
			fields = jsonFields(t)
		}
		seen := map[string]bool{}
		for dec.More() {
			k, err := dec.Token()
			name, ok := k.(string)
			if err != nil || !ok {
				return "malformed JSON body"
			}
			if seen[name] {
				return fmt.Sprintf("field %q is given twice", path+name)
			}
			seen[name] = true
			var inner reflect.Type
			if fields != nil {
				ft, known := fields[name]
				if !known {
					return fmt.Sprintf("unknown field %q (names are case-sensitive)", path+name)
				}
				inner = ft
			} else if t != nil && t.Kind() == reflect.Map {
				inner = t.Elem()
			}
			if msg := exactNames(dec, inner, path+name+"."); msg != "" {
				return msg
			}
		}
		_, _ = dec.Token() // '}'
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && t != rawMessageType {
			elem = t.Elem()
		}
		for dec.More() {
			if msg := exactNames(dec, elem, path); msg != "" {
				return msg
			}
		}
		_, _ = dec.Token() // ']'
	}
	return ""
}

var rawMessageType = reflect.TypeOf(json.RawMessage{})

// jsonFields maps a struct's JSON names to their types (embedded structs flattened).
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-" || (!f.IsExported() && !f.Anonymous):
			continue
		case f.Anonymous && name == "":
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			for k, v := range jsonFields(ft) {
				out[k] = v
			}
			continue
		case name == "":
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func describeJSONError(err error) string {
	var (
		typeErr *json.UnmarshalTypeError
		syntax  *json.SyntaxError
	)
	switch {
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return "the body must be a JSON object"
		}
		return fmt.Sprintf("field %q must be of type %s", typeErr.Field, jsonTypeName(typeErr.Type.Kind().String()))
	case errors.As(err, &syntax):
		return fmt.Sprintf("malformed JSON at byte %d", syntax.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "malformed JSON: the body ends early"
	}
	const unknown = "json: unknown field "
	if msg := err.Error(); len(msg) > len(unknown) && msg[:len(unknown)] == unknown {
		return "unknown field " + msg[len(unknown):]
	}
	return "malformed JSON body"
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "int", "int64", "int32", "float64", "uint", "uint64":
		return "number"
	case "slice":
		return "array"
	case "map", "struct":
		return "object"
	}
	return kind
}
