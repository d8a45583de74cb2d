package handlers

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"

	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/internal/page"
)

// The OpenAPI document is built from Go values with kin-openapi, so it is checked by
// the same library in tests. It states every constraint the server enforces: objects
// the server answers or accepts list every property and admit no other, and the
// bounds, enums and patterns are the services' rules (exchange key lifecycle,
// provisioning/validate.go). openapi_conformance_test.go holds every route's answers
// and the bodies it is sent against it.

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

// requestObject is a strict request body: encoding/json reads a null member as an
// absent one, so every optional property also admits null.
func requestObject(props map[string]*openapi3.SchemaRef, required ...string) *openapi3.SchemaRef {
	out := make(map[string]*openapi3.SchemaRef, len(props))
	for name, p := range props {
		if slices.Contains(required, name) {
			out[name] = p
		} else {
			out[name] = nullable(p)
		}
	}
	return object(out, required...)
}

// extend is base with more properties: one flat strict object (allOf would make each
// part refuse the other's properties).
func extend(base *openapi3.SchemaRef, props map[string]*openapi3.SchemaRef, required ...string) *openapi3.SchemaRef {
	all := make(map[string]*openapi3.SchemaRef, len(base.Value.Properties)+len(props))
	for k, v := range base.Value.Properties {
		all[k] = v
	}
	for k, v := range props {
		all[k] = v
	}
	return object(all, append(slices.Clone(base.Value.Required), required...)...)
}

func describe(s *openapi3.SchemaRef, desc string) *openapi3.SchemaRef {
	s.Value.Description = desc
	return s
}

func nullable(s *openapi3.SchemaRef) *openapi3.SchemaRef {
	c := *s.Value
	c.Nullable = true
	return c.NewRef()
}

// Names and limits as the services enforce them.
const (
	// provisioning/validate.go
	consumerNamePattern = `^[a-z0-9._-]{1,64}$`
	aclGroupNamePattern = `^[a-z0-9][a-z0-9._-]{0,63}$`
	clientIDPattern     = `^[a-z0-9][a-z0-9._-]{2,99}$`
	// the key lifecycle (exchange): scopes, key text
	scopePattern     = `^[A-Za-z0-9_.:/-]{1,64}$`
	keyPrefixPattern = `^kw_(live|test)_[0-9A-Za-z]{12}$`
	keyPattern       = `^kw_(live|test)_[0-9A-Za-z]{44}_[0-9A-Za-z]{6}$`

	// the key lifecycle's limits (exchange/keys.go: MaxNameLen, MaxScopes, …)
	maxKeyNameLen     = 100
	maxDescriptionLen = 500
	maxScopes         = 20
	maxMetadataKeys   = 50
	maxAllowlist      = 100
	maxRateRequests   = 1_000_000
	maxRateWindow     = 86400
	maxExpiryDays     = 3650
	maxGraceHours     = 720
	maxUsageDays      = 90
	maxKeyQueryLen    = 200
)

var environments = []string{"development", "staging", "production"}

// fieldErrorSchema is one entry of a problem's errors.
var fieldErrorSchema = object(map[string]*openapi3.SchemaRef{
	"field": str("the JSON field or query parameter, e.g. rate_limit.requests or acl_groups[2]"), "message": str("what is wrong with it"),
}, "field", "message")

// problemSchema is the problem+json body of one status.
func problemSchema(status int) *openapi3.SchemaRef {
	st := openapi3.NewIntegerSchema().WithEnum(status)
	errs := arrayOf("every invalid field (400 only)", 0, fieldErrorSchema)
	errs.Value.WithMinItems(1)
	return object(map[string]*openapi3.SchemaRef{
		"type":   enum("about:blank"),
		"title":  text("short summary", 1, 0),
		"status": st.NewRef(),
		"detail": str("what is wrong, for a human"),
		"errors": errs,
	}, "type", "title", "status")
}

// oauthErrorSchema is the RFC 6749 §5.2 body of the token endpoint.
var oauthErrorSchema = object(map[string]*openapi3.SchemaRef{
	"error": enum("invalid_request", "invalid_grant", "unsupported_grant_type", "invalid_scope", "invalid_target",
		"rate_limited", "temporarily_unavailable", "server_error"),
	"error_description": str("what is wrong"),
}, "error")

// rateLimitRequest: requests per window, or unlimited; null or absent leaves it.
var rateLimitRequest = func() *openapi3.SchemaRef {
	limited := object(map[string]*openapi3.SchemaRef{
		"requests":       integer(1, maxRateRequests),
		"window_seconds": integer(1, maxRateWindow),
		"unlimited":      openapi3.NewBoolSchema().WithEnum(false).NewRef(),
	}, "requests", "window_seconds")
	unlimited := object(map[string]*openapi3.SchemaRef{
		"requests":       openapi3.NewIntegerSchema().WithEnum(0).NewRef(),
		"window_seconds": openapi3.NewIntegerSchema().WithEnum(0).NewRef(),
		"unlimited":      openapi3.NewBoolSchema().WithEnum(true).NewRef(),
	}, "unlimited")
	s := openapi3.NewObjectSchema()
	s.OneOf = openapi3.SchemaRefs{limited, unlimited}
	s.Description = "requests per window_seconds, or unlimited (when the server allows it; owners stay under the configured owner ceiling)"
	return s.NewRef()
}()

// rateLimitResponse is the key's effective limit: its own, else the server default.
var rateLimitResponse = func() *openapi3.SchemaRef {
	s := openapi3.NewObjectSchema()
	s.OneOf = openapi3.SchemaRefs{
		object(map[string]*openapi3.SchemaRef{
			"requests": integer(1, maxRateRequests), "window_seconds": integer(1, 0),
		}, "requests", "window_seconds"),
		object(map[string]*openapi3.SchemaRef{"unlimited": openapi3.NewBoolSchema().WithEnum(true).NewRef()}, "unlimited"),
	}
	return s.NewRef()
}()

var keySchema = object(map[string]*openapi3.SchemaRef{
	"id":             openapi3.NewUUIDSchema().NewRef(),
	"name":           text("1..100 characters", 1, maxKeyNameLen),
	"description":    text("up to 500 characters", 0, maxDescriptionLen),
	"prefix":         patterned("public part of the key, e.g. kw_live_AbC123xyz789", keyPrefixPattern),
	"status":         enum("active", "inactive", "expired", "expiring_soon"),
	"environment":    enum(environments...),
	"owner":          str("Keycloak user id of the owner"),
	"owner_username": str("the owner's username"),
	"scopes":         arrayOf("Keycloak client scopes the key may request", maxScopes, patterned("", scopePattern)),
	"metadata":       freeForm("the owner's JSON object, at most 50 keys and 4 KiB"),
	"created_at":     dateTime(),
	"updated_at":     dateTime(),
	"expires_at":     nullable(dateTime()),
	"last_used_at":   nullable(dateTime()),
	"last_used_ip":   nullable(str("address of the last successful exchange")),
	"rate_limit":     rateLimitResponse,
	"ip_allowlist":   arrayOf("CIDRs the key is accepted from; empty: any address", maxAllowlist, str("")),
	"rotated_to":     describe(openapi3.NewUUIDSchema().NewRef(), "id of the key that superseded this one"),
	"grace_until":    dateTime(),
	"admin_set": object(map[string]*openapi3.SchemaRef{
		"disabled":     text("username of the admin who disabled the key; only an admin can enable it", 1, 0),
		"rate_limit":   text("username of the admin who set the rate limit; the owner may only lower it", 1, 0),
		"ip_allowlist": text("username of the admin who set the IP allowlist; the owner may only narrow it", 1, 0),
	}),
}, "id", "name", "description", "prefix", "status", "environment", "owner", "owner_username", "scopes", "metadata",
	"created_at", "updated_at", "expires_at", "last_used_at", "last_used_ip", "rate_limit", "ip_allowlist")

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

	scopes := arrayOf("Keycloak client scopes, each 1..64 of letters, digits and _ . : / - (repeats are dropped)",
		maxScopes, patterned("", scopePattern))
	metadata := freeForm("a JSON object of at most 50 keys and 4 KiB, no NUL")
	metadata.Value.WithMaxProperties(maxMetadataKeys)
	allowlist := arrayOf("CIDRs or single addresses, IPv4 or IPv6, e.g. 203.0.113.0/24", maxAllowlist, str(""))
	name := text("1..100 characters once blanks at either end are trimmed; no control, bidirectional or invisible characters", 1, maxKeyNameLen)
	description := text("up to 500 characters; no control, bidirectional or invisible characters but tab and line breaks", 0, maxDescriptionLen)
	createBody := requestObject(map[string]*openapi3.SchemaRef{
		"owner":           str("admins only: user id or username to create the key for"),
		"name":            name,
		"description":     description,
		"environment":     enum(append([]string{""}, environments...)...),
		"expires_in_days": integer(1, maxExpiryDays),
		"expires_at":      describe(dateTime(), "in the future, at most 10 years ahead"),
		"never_expires":   boolean(),
		"scopes":          scopes,
		"metadata":        metadata,
		"rate_limit":      rateLimitRequest,
		"ip_allowlist":    allowlist,
	}, "name")
	createBody.Value.Description = "one expiry form at most (expires_in_days, expires_at or never_expires: true); default 365 days; environment default production"
	created := extend(keySchema, map[string]*openapi3.SchemaRef{
		"key": patterned("the API key, shown in this response only", keyPattern),
	}, "key")
	createOp := withJSONBody(operation("createKey", "Create an API key", true,
		resp{status: 201, desc: "created; `key` appears in this response only", schema: created},
		problemResp(400, "invalid fields"), problemResp(403, "owner names another user and the caller is not admin, or the owner holds a denied role"),
		problemResp(409, "the owner holds the most live keys this server allows, or the key exists already")), createBody, true)

	listOp := operation("listKeys", "List, search, filter, sort and page keys (own; admins: any)", true,
		resp{status: 200, desc: "a page of keys", schema: object(map[string]*openapi3.SchemaRef{
			"items":       arrayOf("", page.MaxLimit, keySchema),
			"next_cursor": nullable(str("opaque cursor of the next page; null on the last")),
		}, "items", "next_cursor")},
		problemResp(400, "invalid or unknown parameter, or one given twice"),
		problemResp(403, "owner names another user and the caller is not admin"))
	listOp.Parameters = openapi3.Parameters{
		queryParam("owner", "admins: user id or username", str("")),
		queryParam("q", "search in name and description (admins: also owner username)", text("", 0, maxKeyQueryLen)),
		queryParam("status", "", enum("active", "inactive", "expired", "expiring_soon")),
		queryParam("environment", "", enum(environments...)),
		queryParam("expires", "", enum("30d", "expired", "never")),
		queryParam("sort", "default created_at", enum("created_at", "expires_at", "name", "last_used_at")),
		queryParam("order", "default desc", enum("asc", "desc")),
		limitDoc(),
		cursorDoc(),
	}
	doc.Paths.Set("/v1/keys", &openapi3.PathItem{Post: createOp, Get: listOp})

	withID := func(op *openapi3.Operation) *openapi3.Operation {
		op.Parameters = append(op.Parameters, idParam)
		addResponse(op, problemResp(404, "no such key visible to the caller"))
		return op
	}
	updateBody := requestObject(map[string]*openapi3.SchemaRef{
		"name": name, "description": description, "scopes": scopes, "metadata": metadata, "enabled": boolean(),
		"expires_at":   describe(dateTime(), "in the future and not after the current expiry"),
		"rate_limit":   rateLimitRequest,
		"ip_allowlist": allowlist,
	})
	updateBody.Value.Description = "absent or null fields stay as they are (metadata: null clears it)"
	updateOp := withID(withJSONBody(operation("updateKey", "Update a key: name, description, scopes, metadata, enabled, shorter expiry, limits", true,
		resp{status: 200, desc: "the key", schema: keySchema}, problemResp(400, "invalid fields or an extended expiry"),
		problemResp(403, "the owner undoing or widening an admin's decision")), updateBody, true))
	doc.Paths.Set("/v1/keys/{id}", &openapi3.PathItem{
		Get:    withID(operation("getKey", "Read a key", true, resp{status: 200, desc: "the key", schema: keySchema})),
		Patch:  updateOp,
		Delete: withID(operation("deleteKey", "Revoke a key", true, resp{status: 204, desc: "revoked: refused at exchange from now on"})),
	})
	rotateOp := withID(withJSONBody(operation("rotateKey", "Rotate: a new key with the same settings; the old one works until the grace period ends", true,
		resp{status: 201, desc: "the new key; `key` appears in this response only", schema: created},
		problemResp(400, "invalid grace_period_hours"), problemResp(403, "the owner holds a denied role (admins rotating another's key)"),
		problemResp(409, "the key has already been rotated")),
		requestObject(map[string]*openapi3.SchemaRef{"grace_period_hours": integer(0, maxGraceHours)}), false))
	rotateOp.RequestBody.Value.Description = "optional; grace_period_hours defaults to 168"
	doc.Paths.Set("/v1/keys/{id}/rotate", &openapi3.PathItem{Post: rotateOp})

	count := integer(0, 0)
	denied := map[string]*openapi3.SchemaRef{}
	for _, o := range []exchange.Outcome{exchange.OutcomeMalformed, exchange.OutcomeUnknownKey, exchange.OutcomeExpired,
		exchange.OutcomeInactive, exchange.OutcomeIPDenied, exchange.OutcomeRateLimited, exchange.OutcomeUserRefused,
		exchange.OutcomeDeniedRole, exchange.OutcomeNotPerson, exchange.OutcomeThrottled, exchange.OutcomeInvalidScope,
		exchange.OutcomeUnavailable, exchange.OutcomeError} {
		denied[string(o)] = count
	}
	totals := map[string]*openapi3.SchemaRef{
		"success": count,
		"denied":  object(denied),
	}
	dayProps := map[string]*openapi3.SchemaRef{"date": openapi3.NewStringSchema().WithFormat("date").NewRef()}
	for k, v := range totals {
		dayProps[k] = v
	}
	usageOp := withID(operation("keyUsage", "Usage: exchanges per day and this month, successes and denials by reason", true,
		resp{status: 200, desc: "counters flushed so far (at most one flush interval behind)", schema: object(map[string]*openapi3.SchemaRef{
			"key_id":       openapi3.NewUUIDSchema().NewRef(),
			"last_used_at": nullable(dateTime()),
			"last_used_ip": nullable(str("")),
			"month":        object(totals, "success", "denied"),
			"period":       object(totals, "success", "denied"),
			"days":         arrayOf("every day of the period, oldest first", maxUsageDays, object(dayProps, "date", "success", "denied")),
		}, "key_id", "last_used_at", "last_used_ip", "month", "period", "days")},
		problemResp(400, "days outside 1..90, or an unknown parameter")))
	usageOp.Parameters = append(usageOp.Parameters, queryParam("days", "default 30", integer(1, maxUsageDays)))
	doc.Paths.Set("/v1/keys/{id}/usage", &openapi3.PathItem{Get: usageOp})

	auditOp := operation("listAudit", "Audit trail: users see events on their own keys, admins all", true,
		resp{status: 200, desc: "events, newest first", schema: object(map[string]*openapi3.SchemaRef{
			"items": arrayOf("", page.MaxLimit, object(map[string]*openapi3.SchemaRef{
				"id": openapi3.NewUUIDSchema().NewRef(), "at": dateTime(), "actor": str("user id"),
				"actor_name": str(""), "action": str("e.g. key.create, key.rotate"), "target_type": str("e.g. key, consumer, client"),
				"target_id": str(""), "owner": str("user id of the target's owner"),
				"on_behalf_of": nullable(str("the user an admin acted for")), "ip": str(""), "request_id": str(""),
				"details": freeForm(""),
			}, "id", "at", "actor", "actor_name", "action", "target_type", "target_id", "owner", "on_behalf_of", "ip",
				"request_id", "details")),
			"next_cursor": nullable(str("")),
		}, "items", "next_cursor")},
		problemResp(400, "invalid or unknown parameter"), problemResp(403, "another user's events"))
	auditOp.Parameters = openapi3.Parameters{
		queryParam("key", "a key id: the same as target_type=key&target_id=<id>", str("")),
		queryParam("target_type", "", str("")), queryParam("target_id", "", str("")),
		queryParam("owner", "admins: any user id; users: only their own", str("")),
		queryParam("since", "", dateTime()), queryParam("until", "", dateTime()),
		limitDoc(),
		cursorDoc(),
	}
	doc.Paths.Set("/v1/audit", &openapi3.PathItem{Get: auditOp})

	// The form is read as RFC 6749 reads forms: names it does not know are ignored.
	tokenForm := openapi3.NewObjectSchema()
	tokenForm.Properties = map[string]*openapi3.SchemaRef{
		"grant_type":         enum(grantTokenExchange),
		"subject_token":      text("the API key", 1, 0),
		"subject_token_type": enum(tokenTypeAPIKey),
		"scope":              str("optional; may narrow the key's scopes"),
		"audience":           str("not supported: refused with invalid_target"),
		"resource":           str("not supported: refused with invalid_target"),
	}
	tokenOp := operation("exchangeToken", "Trade an API key for a Keycloak access token (RFC 8693 shape)", false,
		resp{status: 200, desc: "a Keycloak-issued access token", schema: object(map[string]*openapi3.SchemaRef{
			"access_token":      text("JWT issued and signed by Keycloak", 1, 0),
			"token_type":        enum("Bearer"),
			"expires_in":        integer(0, 0),
			"issued_token_type": enum(tokenTypeAccess),
			"scope":             str("granted scopes"),
		}, "access_token", "token_type", "expires_in", "issued_token_type", "scope")},
		resp{status: 400, desc: "malformed request (RFC 6749 error)", schema: oauthErrorSchema},
		resp{status: 401, desc: "unknown, revoked, expired or disabled key, or an address outside its allowlist (RFC 6749 invalid_grant)", schema: oauthErrorSchema},
		resp{status: 413, desc: "body over 64 KiB", schema: oauthErrorSchema},
		resp{status: 429, desc: "the key's rate limit, or this address's failure budget, is exhausted; see Retry-After", schema: oauthErrorSchema},
		resp{status: 500, desc: "an internal error", schema: oauthErrorSchema},
		resp{status: 503, desc: "Keycloak or the database unavailable; see Retry-After", schema: oauthErrorSchema})
	tokenOp.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().
		WithDescription("the token-exchange form; alternatively send X-API-Key or Authorization: ApiKey with no body").
		WithContent(openapi3.Content{"application/x-www-form-urlencoded": openapi3.NewMediaType().WithSchema(tokenForm)})}
	tokenOp.Parameters = openapi3.Parameters{
		{Value: openapi3.NewHeaderParameter("X-API-Key").WithSchema(openapi3.NewStringSchema())},
	}
	doc.Paths.Set("/v1/token", &openapi3.PathItem{Post: tokenOp})

	adminPaths(doc)
	jwk := freeForm("a public JWK")
	jwk.Value.Required = []string{"kty"}
	doc.Paths.Set("/.well-known/jwks.json", &openapi3.PathItem{Get: operation("jwks",
		"Keyward's assertion-signing public keys (JWKS)", false,
		resp{status: 200, desc: "JWK set", schema: object(map[string]*openapi3.SchemaRef{
			"keys": arrayOf("", 0, jwk),
		}, "keys")})})
	doc.Paths.Set("/healthz", &openapi3.PathItem{Get: operation("healthz", "Liveness", false,
		resp{status: 200, desc: "the process is up", schema: object(map[string]*openapi3.SchemaRef{"status": enum("ok")}, "status")})})
	checks := object(map[string]*openapi3.SchemaRef{"database": enum("up", "down"), "keycloak": enum("up", "down")}, "database", "keycloak")
	doc.Paths.Set("/readyz", &openapi3.PathItem{Get: operation("readyz", "Readiness: database and Keycloak", false,
		resp{status: 200, desc: "ready", schema: object(map[string]*openapi3.SchemaRef{"status": enum("ready"), "checks": checks}, "status", "checks")},
		resp{status: 503, desc: "a dependency is down; `checks` says which",
			schema: object(map[string]*openapi3.SchemaRef{"status": enum("not ready"), "checks": checks}, "status", "checks")})})
	doc.Paths.Set("/metrics", &openapi3.PathItem{Get: operation("metrics", "Prometheus metrics", false,
		resp{status: 200, desc: "text exposition format", schema: str(""), media: "text/plain"})})
	openapiDoc := freeForm("an OpenAPI 3.0 document")
	openapiDoc.Value.Required = []string{"openapi", "info", "paths"}
	doc.Paths.Set("/openapi.json", &openapi3.PathItem{Get: operation("openapi", "This document", false,
		resp{status: 200, desc: "OpenAPI 3 document", schema: openapiDoc})})
	return doc
}

func (s *server) openapi(c *gin.Context) {
	c.Data(http.StatusOK, "application/json", s.openAPIJSON)
}
