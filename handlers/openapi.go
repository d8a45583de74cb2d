package handlers

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/page"
)

// The OpenAPI document is built with kin-openapi, so it is checked by the same library
// in tests. The schemas of the bodies come from the Go types of package api, the wire
// contract (wire.go); operations, parameters and answers are written here and beside
// each resource's handlers. It states every constraint the server enforces: objects
// the server answers or accepts list every property and admit no other, and the
// bounds, enums and patterns are api's, which the services enforce.
// openapi_conformance_test.go holds every route's answers and the bodies it is sent
// against it.

// The helpers below build the query parameters, headers and the bodies that are not
// Keyward's wire types (the RFC 8693 form, JWKS, this document, metrics).

func str(desc string) *openapi3.SchemaRef {
	s := openapi3.NewStringSchema()
	s.Description = desc
	return s.NewRef()
}

// text is a string of at most max characters (min at least).
func text(desc string, min, max int64) *openapi3.SchemaRef {
	s := openapi3.NewStringSchema().WithMinLength(min)
	if max > 0 {
		s.WithMaxLength(max)
	}
	s.Description = desc
	return s.NewRef()
}

func patterned(desc, pattern string) *openapi3.SchemaRef {
	s := openapi3.NewStringSchema().WithPattern(pattern)
	s.Description = desc
	return s.NewRef()
}

func enum(values ...string) *openapi3.SchemaRef {
	vs := make([]any, len(values))
	for i, v := range values {
		vs[i] = v
	}
	return openapi3.NewStringSchema().WithEnum(vs...).NewRef()
}

func integer(min, max float64) *openapi3.SchemaRef {
	s := openapi3.NewIntegerSchema().WithMin(min)
	if max > 0 {
		s.WithMax(max)
	}
	return s.NewRef()
}

func boolean() *openapi3.SchemaRef { return openapi3.NewBoolSchema().NewRef() }

func dateTime() *openapi3.SchemaRef { return openapi3.NewDateTimeSchema().NewRef() }

// arrayOf is a list of at most maxItems (0: unbounded) items.
func arrayOf(desc string, maxItems int64, item *openapi3.SchemaRef) *openapi3.SchemaRef {
	s := openapi3.NewArraySchema()
	s.Items = item
	if maxItems > 0 {
		s.WithMaxItems(maxItems)
	}
	s.Description = desc
	return s.NewRef()
}

// freeForm is a JSON object of any content (metadata, audit details, JWT parts).
func freeForm(desc string) *openapi3.SchemaRef {
	s := openapi3.NewObjectSchema()
	s.Description = desc
	return s.NewRef()
}

// object is a strict object: the listed properties and no other.
func object(props map[string]*openapi3.SchemaRef, required ...string) *openapi3.SchemaRef {
	s := openapi3.NewObjectSchema().WithoutAdditionalProperties()
	s.Properties = props
	s.Required = slices.Sorted(slices.Values(required))
	return s.NewRef()
}

func describe(s *openapi3.SchemaRef, desc string) *openapi3.SchemaRef {
	s.Value.Description = desc
	return s
}

func nullable(s *openapi3.SchemaRef) *openapi3.SchemaRef {
	c := *s.Value
	c.Nullable = true
	if len(c.Enum) > 0 && !slices.Contains(c.Enum, nil) {
		// OpenAPI 3.0.3 (and JSON Schema tools reading it): an enum lists every
		// admitted value, null included, whatever nullable says.
		c.Enum = append(slices.Clone(c.Enum), nil)
	}
	return c.NewRef()
}

// problemSchema is the problem+json body of one status.
func problemSchema(status int) *openapi3.SchemaRef {
	s := responseSchema[api.Problem]()
	s.Value.Properties["status"] = openapi3.NewIntegerSchema().WithEnum(status).NewRef()
	return s
}

// oauthErrorSchema is the RFC 6749 §5.2 body of the token endpoint.
var oauthErrorSchema = responseSchema[api.OAuthError]()

func jsonContent(s *openapi3.SchemaRef, mediaType string) openapi3.Content {
	return openapi3.Content{mediaType: openapi3.NewMediaType().WithSchemaRef(s)}
}

type resp struct {
	status int
	desc   string
	schema *openapi3.SchemaRef
	media  string
}

func problemResp(status int, desc string) resp {
	return resp{status: status, desc: desc, schema: problemSchema(status), media: "application/problem+json"}
}

func addResponse(op *openapi3.Operation, r resp) {
	if op.Responses.Status(r.status) != nil {
		return // the operation's own description wins
	}
	rr := openapi3.NewResponse().WithDescription(r.desc)
	if r.schema != nil {
		media := r.media
		if media == "" {
			media = "application/json"
		}
		rr.Content = jsonContent(r.schema, media)
	}
	op.AddResponse(r.status, rr)
}

// operation builds an operation; secured ones (the management API) also answer what
// authentication and the error writer answer on every route.
func operation(id, summary string, secured bool, responses ...resp) *openapi3.Operation {
	op := openapi3.NewOperation()
	op.OperationID = id
	op.Summary = summary
	op.Responses = openapi3.NewResponses()
	for _, r := range responses {
		addResponse(op, r)
	}
	if secured {
		op.Security = openapi3.NewSecurityRequirements().With(openapi3.NewSecurityRequirement().Authenticate("keycloak"))
		for _, r := range []resp{
			problemResp(http.StatusUnauthorized, "missing or invalid bearer token"),
			problemResp(http.StatusForbidden, "a service-account token (keys belong to people)"),
			problemResp(http.StatusInternalServerError, "an internal error; the detail quotes the request id"),
			problemResp(http.StatusServiceUnavailable, "Keycloak or the database cannot be reached; see Retry-After"),
		} {
			addResponse(op, r)
		}
	}
	return op
}

// withJSONBody sets the request body and the answers of the strict JSON binder.
func withJSONBody(op *openapi3.Operation, body *openapi3.SchemaRef, required bool) *openapi3.Operation {
	op.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithRequired(required).WithJSONSchemaRef(body)}
	for _, r := range []resp{
		problemResp(http.StatusBadRequest, "invalid fields, malformed JSON, not one object, unknown or repeated fields, invalid UTF-8"),
		problemResp(http.StatusRequestEntityTooLarge, "body over 64 KiB"),
		problemResp(http.StatusUnsupportedMediaType, "not application/json"),
	} {
		addResponse(op, r)
	}
	return op
}

func queryParam(name, desc string, schema *openapi3.SchemaRef) *openapi3.ParameterRef {
	p := openapi3.NewQueryParameter(name)
	if v := schema.Value; v.Type.Is(openapi3.TypeString) && len(v.Enum) > 0 && !slices.Contains(v.Enum, any("")) {
		// The server reads an empty value (?status=) as an absent one: say so.
		c := *v
		c.Enum = append(slices.Clone(v.Enum), "")
		schema = c.NewRef()
		desc = strings.TrimPrefix(desc+"; empty: as if absent", "; ")
	}
	if v := schema.Value; len(v.Enum) == 0 && !(v.Type.Is(openapi3.TypeString) && v.Format == "" && v.MinLength == 0 && v.Pattern == "") {
		// Empty is as if absent whatever the type (?consumer=, ?until=, ?limit=, ?cascade=).
		schema = openapi3.NewAnyOfSchema(v, openapi3.NewStringSchema().WithEnum("")).NewRef()
		desc = strings.TrimPrefix(desc+"; empty: as if absent", "; ")
	}
	p.Schema = schema
	p.Description = desc
	return &openapi3.ParameterRef{Value: p}
}

// limitDoc and cursorDoc are the paging parameters of every list (internal/page).
func limitDoc() *openapi3.ParameterRef {
	return queryParam("limit", fmt.Sprintf("page size (default %d)", page.DefaultLimit), integer(1, page.MaxLimit))
}

func cursorDoc() *openapi3.ParameterRef {
	return queryParam("cursor", "next_cursor of the previous page of the same sort order and filter",
		text("", 0, page.MaxCursorLen))
}

// OpenAPIDocument is the document GET /openapi.json serves (the API reference of the
// docs is generated from it).
func OpenAPIDocument() *openapi3.T { return openAPIDocument() }

// openAPIDocument describes every route of New: each resource documents its own
// paths beside its handlers.
func openAPIDocument() *openapi3.T {
	doc := &openapi3.T{
		OpenAPI: "3.0.3",
		Info: &openapi3.Info{
			Title:       "Keyward",
			Version:     "1.0.0",
			Description: "Personal API keys traded for Keycloak-issued access tokens.",
		},
		Paths: openapi3.NewPaths(),
		Components: &openapi3.Components{
			SecuritySchemes: openapi3.SecuritySchemes{
				"keycloak": &openapi3.SecuritySchemeRef{Value: openapi3.NewJWTSecurityScheme().
					WithDescription("A Keycloak access token of the Keyward realm")},
			},
		},
	}
	opsPaths(doc)
	tokenPaths(doc)
	forwardAuthPaths(doc)
	keyPaths(doc)
	leakPaths(doc)
	auditPaths(doc)
	a := newAdminDoc()
	aclGroupPaths(doc, a)
	consumerPaths(doc, a)
	clientPaths(doc, a)
	clientSecretPaths(doc, a)
	webhookPaths(doc, a)
	return doc
}
