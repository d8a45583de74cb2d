package handlers

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"

	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/keys"
)

type createKeyRequest struct {
	Owner         string          `json:"owner"`
	Name          string          `json:"name"`
	Description   string          `json:"description"`
	Environment   string          `json:"environment"`
	ExpiresInDays *int            `json:"expires_in_days"`
	ExpiresAt     *string         `json:"expires_at"`
	NeverExpires  *bool           `json:"never_expires"`
	Scopes        []string        `json:"scopes"`
	Metadata      json.RawMessage `json:"metadata"`
	RateLimit     *rateLimitJSON  `json:"rate_limit"`
	IPAllowlist   []string        `json:"ip_allowlist"`
}

// rateLimitJSON is a key's limit on the wire: requests per window, or unlimited.
type rateLimitJSON struct {
	Requests      int  `json:"requests,omitempty"`
	WindowSeconds int  `json:"window_seconds,omitempty"`
	Unlimited     bool `json:"unlimited,omitempty"`
}

func (r *rateLimitJSON) param() *keys.RateLimit {
	if r == nil {
		return nil
	}
	return &keys.RateLimit{Requests: r.Requests, WindowSeconds: r.WindowSeconds, Unlimited: r.Unlimited}
}

type updateKeyRequest struct {
	Name        *string         `json:"name"`
	Description *string         `json:"description"`
	Scopes      *[]string       `json:"scopes"`
	Metadata    json.RawMessage `json:"metadata"`
	Enabled     *bool           `json:"enabled"`
	ExpiresAt   *string         `json:"expires_at"`
	RateLimit   *rateLimitJSON  `json:"rate_limit"`
	IPAllowlist *[]string       `json:"ip_allowlist"`
}

type rotateKeyRequest struct {
	GracePeriodHours *int `json:"grace_period_hours"`
}

// keyResponse is the wire form of a key: never the hash, and the plaintext only once.
type keyResponse struct {
	ID            string          `json:"id"`
	Name          string          `json:"name"`
	Description   string          `json:"description"`
	Prefix        string          `json:"prefix"`
	Status        string          `json:"status"`
	Environment   string          `json:"environment"`
	Scopes        []string        `json:"scopes"`
	Metadata      json.RawMessage `json:"metadata"`
	Owner         string          `json:"owner"`
	OwnerUsername string          `json:"owner_username"`
	CreatedAt     time.Time       `json:"created_at"`
	UpdatedAt     time.Time       `json:"updated_at"`
	ExpiresAt     *time.Time      `json:"expires_at"`
	LastUsedAt    *time.Time      `json:"last_used_at"`
	LastUsedIP    *string         `json:"last_used_ip"`
	RateLimit     rateLimitJSON   `json:"rate_limit"`
	IPAllowlist   []string        `json:"ip_allowlist"`
	RotatedTo     *string         `json:"rotated_to,omitempty"`
	GraceUntil    *time.Time      `json:"grace_until,omitempty"`
	// AdminSet names the admin behind each decision the owner cannot undo.
	AdminSet *adminSetJSON `json:"admin_set,omitempty"`
}

type adminSetJSON struct {
	Disabled    string `json:"disabled,omitempty"`
	RateLimit   string `json:"rate_limit,omitempty"`
	IPAllowlist string `json:"ip_allowlist,omitempty"`
}

type createdKeyResponse struct {
	keyResponse
	Key string `json:"key"`
}

func (s *server) toKeyResponse(k keys.Key) keyResponse {
	var lastIP *string
	if k.LastUsedIP != "" {
		lastIP = &k.LastUsedIP
	}
	limit := rateLimitJSON{Unlimited: true}
	if !k.RateLimit.Unlimited {
		limit = rateLimitJSON{Requests: k.RateLimit.Requests, WindowSeconds: k.RateLimit.WindowSeconds}
	}
	return keyResponse{
		LastUsedIP:    lastIP,
		RateLimit:     limit,
		IPAllowlist:   k.IPAllowlist,
		ID:            k.ID,
		Name:          k.Name,
		Description:   k.Description,
		Prefix:        k.Prefix,
		Status:        string(k.Status),
		Environment:   k.Environment,
		Scopes:        k.Scopes,
		Metadata:      k.Metadata,
		Owner:         k.OwnerID,
		OwnerUsername: k.OwnerUsername,
		CreatedAt:     k.CreatedAt.UTC(),
		UpdatedAt:     k.UpdatedAt.UTC(),
		ExpiresAt:     utcPtr(k.ExpiresAt),
		LastUsedAt:    utcPtr(k.LastUsedAt),
		RotatedTo:     k.RotatedTo,
		GraceUntil:    utcPtr(k.GraceUntil),
		AdminSet:      adminSet(k.AdminSet),
	}
}

func (s *server) createKey(c *gin.Context) {
	withBody(c, func(req createKeyRequest) error {
		created, err := s.Keys.Create(c.Request.Context(), s.actor(c), keys.CreateParams{
			Owner:         req.Owner,
			Name:          req.Name,
			Description:   req.Description,
			Environment:   req.Environment,
			ExpiresInDays: req.ExpiresInDays,
			ExpiresAt:     req.ExpiresAt,
			NeverExpires:  req.NeverExpires,
			Scopes:        req.Scopes,
			Metadata:      req.Metadata,
			RateLimit:     req.RateLimit.param(),
			IPAllowlist:   req.IPAllowlist,
		})
		if err != nil {
			return err
		}
		s.writeCreated(c, created)
		return nil
	})
}

func (s *server) writeCreated(c *gin.Context, created keys.Created) {
	c.Header("Location", "/v1/keys/"+created.Key.ID)
	answer(c, http.StatusCreated, createdKeyResponse{keyResponse: s.toKeyResponse(created.Key), Key: created.Plaintext})
}

func (s *server) getKey(c *gin.Context) {
	k, err := s.Keys.Get(c.Request.Context(), s.actor(c), c.Param("id"))
	reply(c, http.StatusOK, k, err, s.toKeyResponse)
}

func (s *server) listKeys(c *gin.Context) {
	var limit int
	query, ok := withQuery(c, func(q url.Values, f *[]errs.FieldError) { limit = limitParam(q, f) },
		"owner", "q", "status", "environment", "expires", "sort", "order", "limit", "cursor")
	if !ok {
		return
	}
	page, err := s.Keys.List(c.Request.Context(), s.actor(c), keys.ListParams{
		Owner:       query.Get("owner"),
		Query:       query.Get("q"),
		Status:      query.Get("status"),
		Environment: query.Get("environment"),
		Expires:     query.Get("expires"),
		Sort:        query.Get("sort"),
		Order:       query.Get("order"),
		Limit:       limit,
		Cursor:      query.Get("cursor"),
	})
	replyList(c, page.Items, page.NextCursor, err, s.toKeyResponse)
}

func (s *server) updateKey(c *gin.Context) {
	replyToBody(c, http.StatusOK, func(req updateKeyRequest) (keys.Key, error) {
		return s.Keys.Update(c.Request.Context(), s.actor(c), c.Param("id"), keys.UpdateParams{
			Name:        req.Name,
			Description: req.Description,
			Scopes:      req.Scopes,
			Metadata:    req.Metadata,
			Enabled:     req.Enabled,
			ExpiresAt:   req.ExpiresAt,
			RateLimit:   req.RateLimit.param(),
			IPAllowlist: req.IPAllowlist,
		})
	}, s.toKeyResponse)
}

func (s *server) rotateKey(c *gin.Context) {
	var req rotateKeyRequest
	if c.Request.ContentLength != 0 && c.Request.Body != http.NoBody {
		if err := bindJSON(c, &req); err != nil {
			_ = c.Error(err)
			return
		}
	}
	created, err := s.Keys.Rotate(c.Request.Context(), s.actor(c), c.Param("id"), req.GracePeriodHours)
	if err != nil {
		_ = c.Error(err)
		return
	}
	s.writeCreated(c, created)
}

func (s *server) deleteKey(c *gin.Context) {
	replyDeleted(c, s.Keys.Delete(c.Request.Context(), s.actor(c), c.Param("id")))
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

type usageCountsJSON struct {
	Success int64            `json:"success"`
	Denied  map[string]int64 `json:"denied"`
}

// usageTotalsJSON: success and denied count every route, as they did before routes
// were told apart; by_via splits them, every route present.
type usageTotalsJSON struct {
	usageCountsJSON
	ByVia map[string]usageCountsJSON `json:"by_via"`
}

type dayUsageJSON struct {
	Date string `json:"date"`
	usageTotalsJSON
}

type keyUsageResponse struct {
	KeyID      string          `json:"key_id"`
	LastUsedAt *time.Time      `json:"last_used_at"`
	LastUsedIP *string         `json:"last_used_ip"`
	Month      usageTotalsJSON `json:"month"`
	Period     usageTotalsJSON `json:"period"`
	Days       []dayUsageJSON  `json:"days"`
}

func countsJSON(c keys.UsageCounts) usageCountsJSON {
	d := c.Denied
	if d == nil {
		d = map[string]int64{}
	}
	return usageCountsJSON{Success: c.Success, Denied: d}
}

func totalsJSON(t keys.UsageTotals) usageTotalsJSON {
	out := usageTotalsJSON{usageCountsJSON: countsJSON(t.UsageCounts), ByVia: make(map[string]usageCountsJSON, len(keys.UsageVias))}
	for _, via := range keys.UsageVias {
		var c keys.UsageCounts
		if t.ByVia[via] != nil {
			c = *t.ByVia[via]
		}
		out.ByVia[via] = countsJSON(c)
	}
	return out
}

func (s *server) keyUsage(c *gin.Context) {
	days := 30
	q, err := queryParams(c, "days")
	if err != nil {
		_ = c.Error(err)
		return
	}
	if v := q.Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			_ = c.Error(&errs.Validation{Fields: []errs.FieldError{{Field: "days", Message: "must be between 1 and 90"}}})
			return
		}
		days = n
	}
	u, err := s.Keys.Usage(c.Request.Context(), s.actor(c), c.Param("id"), days)
	if err != nil {
		_ = c.Error(err)
		return
	}
	out := keyUsageResponse{KeyID: u.Key.ID, LastUsedAt: utcPtr(u.Key.LastUsedAt),
		Month: totalsJSON(u.Month), Period: totalsJSON(u.Total), Days: make([]dayUsageJSON, 0, len(u.Days))}
	if u.Key.LastUsedIP != "" {
		out.LastUsedIP = &u.Key.LastUsedIP
	}
	for _, d := range u.Days {
		out.Days = append(out.Days, dayUsageJSON{Date: d.Date, usageTotalsJSON: totalsJSON(d.UsageTotals)})
	}
	answer(c, http.StatusOK, out)
}

func adminSet(a keys.AdminSet) *adminSetJSON {
	if !a.Any() {
		return nil
	}
	return &adminSetJSON{Disabled: a.Disabled, RateLimit: a.RateLimit, IPAllowlist: a.IPAllowlist}
}

// --- OpenAPI ---

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
	"status":         enum("active", "inactive", "expired", "expiring_soon", "owner_disabled"),
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

// keyPaths documents the key routes.
func keyPaths(doc *openapi3.T) {
	doc.Paths.Set("/v1/keys", &openapi3.PathItem{Post: createKeyDoc(), Get: listKeysDoc()})
	updateBody := requestObject(map[string]*openapi3.SchemaRef{
		"name": keyNameDoc(), "description": keyDescriptionDoc(), "scopes": keyScopesDoc(), "metadata": keyMetadataDoc(), "enabled": boolean(),
		"expires_at":   describe(dateTime(), "in the future and not after the current expiry"),
		"rate_limit":   rateLimitRequest,
		"ip_allowlist": keyAllowlistDoc(),
	})
	updateBody.Value.Description = "absent or null fields stay as they are (metadata: null clears it)"
	updateOp := withKeyID(withJSONBody(operation("updateKey", "Update a key: name, description, scopes, metadata, enabled, shorter expiry, limits", true,
		resp{status: 200, desc: "the key", schema: keySchema}, problemResp(400, "invalid fields or an extended expiry"),
		problemResp(403, "the owner undoing or widening an admin's decision"),
		problemResp(409, "another live key of the owner has that name")), updateBody, true))
	doc.Paths.Set("/v1/keys/{id}", &openapi3.PathItem{
		Get:    withKeyID(operation("getKey", "Read a key", true, resp{status: 200, desc: "the key", schema: keySchema})),
		Patch:  updateOp,
		Delete: withKeyID(operation("deleteKey", "Revoke a key", true, resp{status: 204, desc: "revoked: refused at exchange from now on"})),
	})
	rotateOp := withKeyID(withJSONBody(operation("rotateKey", "Rotate: a new key with the same settings; the old one works until the grace period ends", true,
		resp{status: 201, desc: "the new key; `key` appears in this response only", schema: createdKeyDoc()},
		problemResp(400, "invalid grace_period_hours"), problemResp(403, "the owner holds a denied role (admins rotating another's key)"),
		problemResp(409, "the key has already been rotated")),
		requestObject(map[string]*openapi3.SchemaRef{"grace_period_hours": integer(0, maxGraceHours)}), false))
	rotateOp.RequestBody.Value.Description = "optional; grace_period_hours defaults to 168"
	doc.Paths.Set("/v1/keys/{id}/rotate", &openapi3.PathItem{Post: rotateOp})
	doc.Paths.Set("/v1/keys/{id}/usage", &openapi3.PathItem{Get: keyUsageDoc()})
}

// The request fields of create and update, with the key lifecycle's rules.
func keyScopesDoc() *openapi3.SchemaRef {
	return arrayOf("Keycloak client scopes, each 1..64 of letters, digits and _ . : / - (repeats are dropped)",
		maxScopes, patterned("", scopePattern))
}

func keyMetadataDoc() *openapi3.SchemaRef {
	metadata := freeForm("a JSON object of at most 50 keys and 4 KiB, no NUL")
	metadata.Value.WithMaxProperties(maxMetadataKeys)
	return metadata
}

func keyAllowlistDoc() *openapi3.SchemaRef {
	return arrayOf("CIDRs or single addresses, IPv4 or IPv6, e.g. 203.0.113.0/24", maxAllowlist, str(""))
}

func keyNameDoc() *openapi3.SchemaRef {
	return safeIn(text("1..100 characters once blanks at either end are trimmed; no control, bidirectional or invisible characters", 1, maxKeyNameLen), false)
}

func keyDescriptionDoc() *openapi3.SchemaRef {
	return safeIn(text("up to 500 characters; no control, bidirectional or invisible characters but tab and line breaks", 0, maxDescriptionLen), true)
}

// createdKeyDoc is a key with its text, as create and rotate answer it once.
func createdKeyDoc() *openapi3.SchemaRef {
	return extend(keySchema, map[string]*openapi3.SchemaRef{
		"key": patterned("the API key, shown in this response only", keyPattern),
	}, "key")
}

// withKeyID adds the {id} parameter and its 404 to an operation on one key.
func withKeyID(op *openapi3.Operation) *openapi3.Operation {
	op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Value: openapi3.NewPathParameter("id").WithSchema(openapi3.NewUUIDSchema())})
	addResponse(op, problemResp(404, "no such key visible to the caller"))
	return op
}

func createKeyDoc() *openapi3.Operation {
	createBody := requestObject(map[string]*openapi3.SchemaRef{
		"owner":           safeIn(text("admins only: user id or username to create the key for", 0, keys.MaxOwnerLen), false),
		"name":            keyNameDoc(),
		"description":     keyDescriptionDoc(),
		"environment":     enum(append([]string{""}, environments...)...),
		"expires_in_days": integer(1, maxExpiryDays),
		"expires_at":      describe(dateTime(), "in the future, at most 10 years ahead"),
		"never_expires":   boolean(),
		"scopes":          keyScopesDoc(),
		"metadata":        keyMetadataDoc(),
		"rate_limit":      rateLimitRequest,
		"ip_allowlist":    keyAllowlistDoc(),
	}, "name")
	createBody.Value.Description = "one expiry form at most (expires_in_days, expires_at or never_expires: true); default 365 days; environment default production"
	return withJSONBody(operation("createKey", "Create an API key", true,
		resp{status: 201, desc: "created; `key` appears in this response only", schema: createdKeyDoc()},
		problemResp(400, "invalid fields"), problemResp(403, "owner names another user and the caller is not admin, or the owner holds a denied role"),
		problemResp(409, "the owner holds the most live keys this server allows, or the key exists already")), createBody, true)
}

func listKeysDoc() *openapi3.Operation {
	listOp := operation("listKeys", "List, search, filter, sort and page keys (own; admins: any)", true,
		resp{status: 200, desc: "a page of keys", schema: listSchema(keySchema)},
		problemResp(400, "invalid or unknown parameter, or one given twice"),
		problemResp(403, "owner names another user and the caller is not admin"))
	listOp.Parameters = openapi3.Parameters{
		queryParam("owner", "admins: user id or username", str("")),
		queryParam("q", "search in name and description (admins: also owner username)", text("", 0, maxKeyQueryLen)),
		queryParam("status", "", enum("active", "inactive", "expired", "expiring_soon", "owner_disabled")),
		queryParam("environment", "", enum(environments...)),
		queryParam("expires", "", enum("30d", "expired", "never")),
		queryParam("sort", "default created_at", enum("created_at", "expires_at", "name", "last_used_at")),
		queryParam("order", "default desc", enum("asc", "desc")),
		limitDoc(),
		cursorDoc(),
	}
	return listOp
}

func keyUsageDoc() *openapi3.Operation {
	count := integer(0, 0)
	denied := map[string]*openapi3.SchemaRef{}
	for _, o := range []exchange.Outcome{exchange.OutcomeMalformed, exchange.OutcomeUnknownKey, exchange.OutcomeExpired,
		exchange.OutcomeInactive, exchange.OutcomeIPDenied, exchange.OutcomeRateLimited, exchange.OutcomeUserRefused,
		exchange.OutcomeDeniedRole, exchange.OutcomeNotPerson, exchange.OutcomeThrottled, exchange.OutcomeInvalidScope,
		exchange.OutcomeUnavailable, exchange.OutcomeError} {
		denied[string(o)] = count
	}
	counts := map[string]*openapi3.SchemaRef{
		"success": count,
		"denied":  object(denied),
	}
	byVia := map[string]*openapi3.SchemaRef{}
	for _, via := range keys.UsageVias {
		byVia[via] = object(counts, "success", "denied")
	}
	byViaRef := object(byVia, keys.UsageVias...)
	byViaRef.Value.Description = "the same counts split by the route the key came through: " +
		"token (POST /v1/token) and forward_auth (/v1/forward-auth); success and denied above are their sum"
	totals := map[string]*openapi3.SchemaRef{"by_via": byViaRef}
	for k, v := range counts {
		totals[k] = v
	}
	dayProps := map[string]*openapi3.SchemaRef{"date": openapi3.NewStringSchema().WithFormat("date").NewRef()}
	for k, v := range totals {
		dayProps[k] = v
	}
	usageOp := withKeyID(operation("keyUsage", "Usage: exchanges per day and this month, successes and denials by reason, split by route", true,
		resp{status: 200, desc: "counters flushed so far (at most one flush interval behind)", schema: object(map[string]*openapi3.SchemaRef{
			"key_id":       openapi3.NewUUIDSchema().NewRef(),
			"last_used_at": nullable(dateTime()),
			"last_used_ip": nullable(str("")),
			"month":        object(totals, "success", "denied", "by_via"),
			"period":       object(totals, "success", "denied", "by_via"),
			"days":         arrayOf("every day of the period, oldest first", maxUsageDays, object(dayProps, "date", "success", "denied", "by_via")),
		}, "key_id", "last_used_at", "last_used_ip", "month", "period", "days")},
		problemResp(400, "days outside 1..90, or an unknown parameter")))
	usageOp.Parameters = append(usageOp.Parameters, queryParam("days", "default 30", integer(1, maxUsageDays)))
	return usageOp
}
