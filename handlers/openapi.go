package handlers

import (
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"
)

// The OpenAPI document is built from Go values with kin-openapi, so it is checked by
// the same library in tests; a test fails when a registered route is missing from it.

func str(desc string) *openapi3.SchemaRef {
	s := openapi3.NewStringSchema()
	s.Description = desc
	return s.NewRef()
}

func object(props map[string]*openapi3.SchemaRef, required ...string) *openapi3.SchemaRef {
	s := openapi3.NewObjectSchema()
	s.Properties = props
	s.Required = required
	return s.NewRef()
}

func nullable(s *openapi3.SchemaRef) *openapi3.SchemaRef {
	c := *s.Value
	c.Nullable = true
	return c.NewRef()
}

var (
	rateLimitSchema = object(map[string]*openapi3.SchemaRef{
		"requests":       openapi3.NewIntegerSchema().WithMin(1).WithMax(1000000).NewRef(),
		"window_seconds": openapi3.NewIntegerSchema().WithMin(1).WithMax(86400).NewRef(),
		"unlimited":      openapi3.NewBoolSchema().NewRef(),
	})
	problemSchema = object(map[string]*openapi3.SchemaRef{
		"type":   str("URI of the problem type"),
		"title":  str("short summary"),
		"status": openapi3.NewIntegerSchema().NewRef(),
		"detail": str("what is wrong, for a human"),
		"errors": openapi3.NewArraySchema().WithItems(object(map[string]*openapi3.SchemaRef{
			"field": str("JSON field"), "message": str("what is wrong with it"),
		}).Value).NewRef(),
	}, "type", "title", "status")
	oauthErrorSchema = object(map[string]*openapi3.SchemaRef{
		"error":             str("RFC 6749 error code"),
		"error_description": str("what is wrong"),
	}, "error")
	keySchema = object(map[string]*openapi3.SchemaRef{
		"id":             openapi3.NewUUIDSchema().NewRef(),
		"name":           str("1..100 characters"),
		"description":    str("up to 500 characters"),
		"prefix":         str("public part of the key, e.g. kw_live_AbC123xyz789"),
		"status":         openapi3.NewStringSchema().WithEnum("active", "inactive", "expired", "expiring_soon").NewRef(),
		"environment":    openapi3.NewStringSchema().WithEnum("development", "staging", "production").NewRef(),
		"owner":          str("Keycloak user id of the owner"),
		"owner_username": str("the owner's username"),
		"scopes":         openapi3.NewArraySchema().WithItems(openapi3.NewStringSchema()).NewRef(),
		"metadata":       openapi3.NewObjectSchema().NewRef(),
		"updated_at":     openapi3.NewDateTimeSchema().NewRef(),
		"rotated_to":     str("id of the key that superseded this one"),
		"grace_until":    openapi3.NewDateTimeSchema().NewRef(),
		"admin_set": object(map[string]*openapi3.SchemaRef{
			"disabled":     str("username of the admin who disabled the key; only an admin can enable it"),
			"rate_limit":   str("username of the admin who set the rate limit; the owner may only lower it"),
			"ip_allowlist": str("username of the admin who set the IP allowlist; the owner may only narrow it"),
		}),
		"created_at":   openapi3.NewDateTimeSchema().NewRef(),
		"expires_at":   nullable(openapi3.NewDateTimeSchema().NewRef()),
		"last_used_at": nullable(openapi3.NewDateTimeSchema().NewRef()),
	}, "id", "name", "prefix", "status", "environment", "created_at")
)

func jsonContent(s *openapi3.SchemaRef, mediaType string) openapi3.Content {
	return openapi3.Content{mediaType: openapi3.NewMediaType().WithSchemaRef(s)}
}

type resp struct {
	status int
	desc   string
	schema *openapi3.SchemaRef
	media  string
}

func operation(id, summary string, secured bool, responses ...resp) *openapi3.Operation {
	op := openapi3.NewOperation()
	op.OperationID = id
	op.Summary = summary
	op.Responses = openapi3.NewResponses()
	for _, r := range responses {
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
	if secured {
		op.Security = openapi3.NewSecurityRequirements().With(openapi3.NewSecurityRequirement().Authenticate("keycloak"))
		op.AddResponse(http.StatusUnauthorized, openapi3.NewResponse().WithDescription("missing or invalid bearer token").
			WithContent(jsonContent(problemSchema, "application/problem+json")))
	}
	return op
}

func problemResp(status int, desc string) resp {
	return resp{status: status, desc: desc, schema: problemSchema, media: "application/problem+json"}
}

// openAPIDocument describes every route of New.
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
	idParam := &openapi3.ParameterRef{Value: openapi3.NewPathParameter("id").WithSchema(openapi3.NewUUIDSchema())}

	envEnum := openapi3.NewStringSchema().WithEnum("development", "staging", "production").NewRef()
	scopesSchema := openapi3.NewArraySchema().WithItems(openapi3.NewStringSchema()).NewRef()
	metadataSchema := openapi3.NewObjectSchema().NewRef()
	createBody := object(map[string]*openapi3.SchemaRef{
		"owner":           str("admins only: user id or username to create the key for"),
		"name":            str("1..100 characters, unique among the owner's live keys"),
		"description":     str("up to 500 characters"),
		"environment":     envEnum,
		"expires_in_days": openapi3.NewIntegerSchema().WithMin(1).WithMax(3650).NewRef(),
		"expires_at":      openapi3.NewDateTimeSchema().NewRef(),
		"never_expires":   openapi3.NewBoolSchema().NewRef(),
		"scopes":          scopesSchema,
		"metadata":        metadataSchema,
		"rate_limit":      rateLimitSchema,
		"ip_allowlist":    openapi3.NewArraySchema().WithItems(openapi3.NewStringSchema()).NewRef(),
	}, "name")
	createdSchema := object(map[string]*openapi3.SchemaRef{"key": str("the API key, shown in this response only")}, "key")
	createdSchema.Value.AllOf = openapi3.SchemaRefs{keySchema}
	createOp := operation("createKey", "Create an API key", true,
		resp{status: 201, desc: "created; `key` appears in this response only", schema: createdSchema},
		problemResp(400, "invalid fields"), problemResp(403, "owner names another user and the caller is not admin"),
		problemResp(409, "a live key of the owner has this name"), problemResp(413, "body over 64 KiB"),
		problemResp(415, "not JSON"), problemResp(503, "Keycloak unavailable"))
	createOp.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithRequired(true).
		WithJSONSchemaRef(createBody)}

	listSchema := object(map[string]*openapi3.SchemaRef{
		"items":       openapi3.NewArraySchema().WithItems(keySchema.Value).NewRef(),
		"next_cursor": nullable(str("opaque cursor of the next page")),
	}, "items")
	listOp := operation("listKeys", "List, search, filter, sort and page keys (own; admins: any)", true,
		resp{status: 200, desc: "a page of keys", schema: listSchema}, problemResp(400, "invalid parameter"),
		problemResp(403, "owner names another user and the caller is not admin"))
	for _, p := range []struct{ name, desc string }{
		{"owner", "admins: user id or username"}, {"q", "search in name and description (admins: also owner username)"},
		{"status", "active, inactive, expired, expiring_soon"}, {"environment", "development, staging, production"},
		{"expires", "30d, expired, never"}, {"sort", "created_at, expires_at, name, last_used_at"},
		{"order", "asc or desc (default desc)"}, {"limit", "1..100 (default 50)"}, {"cursor", "next_cursor of the previous page"},
	} {
		param := openapi3.NewQueryParameter(p.name).WithSchema(openapi3.NewStringSchema())
		param.Description = p.desc
		listOp.Parameters = append(listOp.Parameters, &openapi3.ParameterRef{Value: param})
	}
	doc.Paths.Set("/v1/keys", &openapi3.PathItem{Post: createOp, Get: listOp})

	withID := func(op *openapi3.Operation) *openapi3.Operation {
		op.Parameters = append(op.Parameters, idParam)
		op.AddResponse(404, openapi3.NewResponse().WithDescription("no such key visible to the caller").
			WithContent(jsonContent(problemSchema, "application/problem+json")))
		return op
	}
	updateOp := withID(operation("updateKey", "Update a key: name, description, scopes, metadata, enabled, shorter expiry", true,
		resp{status: 200, desc: "the key", schema: keySchema}, problemResp(400, "invalid fields or an extended expiry"),
		problemResp(409, "name taken")))
	updateOp.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithRequired(true).
		WithJSONSchemaRef(object(map[string]*openapi3.SchemaRef{
			"name": str("1..100 characters"), "description": str("up to 500 characters"),
			"scopes": scopesSchema, "metadata": metadataSchema, "enabled": openapi3.NewBoolSchema().NewRef(),
			"expires_at": openapi3.NewDateTimeSchema().NewRef(),
			"rate_limit": rateLimitSchema, "ip_allowlist": openapi3.NewArraySchema().WithItems(openapi3.NewStringSchema()).NewRef(),
		}))}
	doc.Paths.Set("/v1/keys/{id}", &openapi3.PathItem{
		Get:    withID(operation("getKey", "Read a key", true, resp{status: 200, desc: "the key", schema: keySchema})),
		Patch:  updateOp,
		Delete: withID(operation("deleteKey", "Revoke a key", true, resp{status: 204, desc: "revoked: refused at exchange from now on"})),
	})
	rotateOp := withID(operation("rotateKey", "Rotate: a new key with the same settings; the old one works until the grace period ends", true,
		resp{status: 201, desc: "the new key; `key` appears in this response only", schema: createdSchema},
		problemResp(400, "invalid grace_period_hours"), problemResp(409, "the key has already been rotated")))
	rotateOp.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().
		WithJSONSchemaRef(object(map[string]*openapi3.SchemaRef{
			"grace_period_hours": openapi3.NewIntegerSchema().WithMin(0).WithMax(720).NewRef(),
		}))}
	doc.Paths.Set("/v1/keys/{id}/rotate", &openapi3.PathItem{Post: rotateOp})

	totals := object(map[string]*openapi3.SchemaRef{
		"success": openapi3.NewIntegerSchema().NewRef(),
		"denied":  openapi3.NewObjectSchema().WithAdditionalProperties(openapi3.NewIntegerSchema()).NewRef(),
	}, "success", "denied")
	dayUsage := object(map[string]*openapi3.SchemaRef{"date": openapi3.NewStringSchema().WithFormat("date").NewRef()}, "date")
	dayUsage.Value.AllOf = openapi3.SchemaRefs{totals}
	usageOp := withID(operation("keyUsage", "Usage: exchanges per day and this month, successes and denials by reason", true,
		resp{status: 200, desc: "counters flushed so far (at most one flush interval behind)", schema: object(map[string]*openapi3.SchemaRef{
			"key_id":       str(""),
			"last_used_at": nullable(openapi3.NewDateTimeSchema().NewRef()),
			"last_used_ip": nullable(str("")),
			"month":        totals,
			"period":       totals,
			"days":         openapi3.NewArraySchema().WithItems(dayUsage.Value).NewRef(),
		}, "key_id", "month", "period", "days")}, problemResp(400, "days outside 1..90")))
	usageOp.Parameters = append(usageOp.Parameters, &openapi3.ParameterRef{Value: openapi3.NewQueryParameter("days").
		WithSchema(openapi3.NewIntegerSchema().WithMin(1).WithMax(90))})
	doc.Paths.Set("/v1/keys/{id}/usage", &openapi3.PathItem{Get: usageOp})

	auditOp := operation("listAudit", "Audit trail: users see events on their own keys, admins all", true,
		resp{status: 200, desc: "events, newest first", schema: object(map[string]*openapi3.SchemaRef{
			"items": openapi3.NewArraySchema().WithItems(object(map[string]*openapi3.SchemaRef{
				"id": str(""), "at": openapi3.NewDateTimeSchema().NewRef(), "actor": str("user id"),
				"actor_name": str(""), "action": str("e.g. key.create, key.rotate"), "target_type": str(""),
				"target_id": str(""), "owner": str(""), "ip": str(""), "request_id": str(""),
				"details": openapi3.NewObjectSchema().NewRef(),
			}).Value).NewRef(),
			"next_cursor": nullable(str("")),
		}, "items")}, problemResp(400, "invalid parameter"), problemResp(403, "another user's events"))
	for _, name := range []string{"key", "target_type", "target_id", "owner", "since", "until", "limit", "cursor"} {
		auditOp.Parameters = append(auditOp.Parameters, &openapi3.ParameterRef{Value: openapi3.NewQueryParameter(name).WithSchema(openapi3.NewStringSchema())})
	}
	doc.Paths.Set("/v1/audit", &openapi3.PathItem{Get: auditOp})

	tokenForm := object(map[string]*openapi3.SchemaRef{
		"grant_type":         openapi3.NewStringSchema().WithEnum(grantTokenExchange).NewRef(),
		"subject_token":      str("the API key"),
		"subject_token_type": openapi3.NewStringSchema().WithEnum(tokenTypeAPIKey).NewRef(),
		"scope":              str("optional; may narrow the key's scopes"),
	})
	tokenOp := operation("exchangeToken", "Trade an API key for a Keycloak access token (RFC 8693 shape)", false,
		resp{status: 200, desc: "a Keycloak-issued access token", schema: object(map[string]*openapi3.SchemaRef{
			"access_token":      str("JWT issued and signed by Keycloak"),
			"token_type":        openapi3.NewStringSchema().WithEnum("Bearer").NewRef(),
			"expires_in":        openapi3.NewIntegerSchema().NewRef(),
			"issued_token_type": str(tokenTypeAccess),
			"scope":             str("granted scopes"),
		}, "access_token", "token_type", "expires_in", "issued_token_type")},
		resp{status: 400, desc: "malformed request (RFC 6749 error)", schema: oauthErrorSchema},
		resp{status: 401, desc: "unknown, revoked, expired or disabled key, or an address outside its allowlist (RFC 6749 invalid_grant)", schema: oauthErrorSchema},
		resp{status: 429, desc: "the key's rate limit is exhausted; see Retry-After", schema: oauthErrorSchema},
		resp{status: 503, desc: "Keycloak or the database unavailable; see Retry-After", schema: oauthErrorSchema})
	tokenOp.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().
		WithDescription("the token-exchange form; alternatively send X-API-Key or Authorization: ApiKey with no body").
		WithFormDataSchemaRef(tokenForm)}
	tokenOp.Parameters = openapi3.Parameters{
		{Value: openapi3.NewHeaderParameter("X-API-Key").WithSchema(openapi3.NewStringSchema())},
	}
	doc.Paths.Set("/v1/token", &openapi3.PathItem{Post: tokenOp})

	adminPaths(doc)
	doc.Paths.Set("/.well-known/jwks.json", &openapi3.PathItem{Get: operation("jwks",
		"Keyward's assertion-signing public keys (JWKS)", false,
		resp{status: 200, desc: "JWK set", schema: object(map[string]*openapi3.SchemaRef{
			"keys": openapi3.NewArraySchema().WithItems(openapi3.NewObjectSchema()).NewRef(),
		}, "keys")})})
	doc.Paths.Set("/healthz", &openapi3.PathItem{Get: operation("healthz", "Liveness", false,
		resp{status: 200, desc: "the process is up"})})
	doc.Paths.Set("/readyz", &openapi3.PathItem{Get: operation("readyz", "Readiness: database and Keycloak", false,
		resp{status: 200, desc: "ready"}, resp{status: 503, desc: "a dependency is down; `checks` says which"})})
	doc.Paths.Set("/metrics", &openapi3.PathItem{Get: operation("metrics", "Prometheus metrics", false,
		resp{status: 200, desc: "text exposition format"})})
	doc.Paths.Set("/openapi.json", &openapi3.PathItem{Get: operation("openapi", "This document", false,
		resp{status: 200, desc: "OpenAPI 3 document"})})
	return doc
}

func (s *server) openapi(c *gin.Context) {
	c.Data(http.StatusOK, "application/json", s.openAPIJSON)
}
