package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/keys"
)

func (s *server) toKeyResponse(k keys.Key) api.Key {
	var lastIP *string
	if k.LastUsedIP != "" {
		lastIP = &k.LastUsedIP
	}
	limit := api.RateLimit{Unlimited: true}
	if !k.RateLimit.Unlimited {
		limit = api.RateLimit{Requests: k.RateLimit.Requests, WindowSeconds: k.RateLimit.WindowSeconds}
	}
	return api.Key{
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
		Roles:         k.Roles,
		OwnerType:     ownerType(k.Consumer),
		Consumer:      keyConsumer(k.Consumer),
	}
}

func ownerType(c *keys.Consumer) string {
	if c != nil {
		return api.KeyOwnerConsumer
	}
	return api.KeyOwnerUser
}

// keyConsumer is whose a consumer key is; nil for a user's key.
func keyConsumer(c *keys.Consumer) *api.ConsumerRef {
	if c == nil {
		return nil
	}
	return &api.ConsumerRef{ID: c.ID, Name: c.Name}
}

func (s *server) createKey(c *gin.Context) {
	withBody(c, func(req api.KeyCreate) error {
		created, err := s.Keys.Create(c.Request.Context(), s.actor(c), req) // the request is the service's parameter
		if err != nil {
			return err
		}
		s.writeCreated(c, created)
		return nil
	})
}

func (s *server) writeCreated(c *gin.Context, created keys.Created) {
	c.Header("Location", "/v1/keys/"+created.Key.ID)
	answer(c, http.StatusCreated, api.CreatedKey{Key: s.toKeyResponse(created.Key), Plaintext: created.Plaintext})
}

func (s *server) getKey(c *gin.Context) {
	k, err := s.Keys.Get(c.Request.Context(), s.actor(c), c.Param("id"))
	reply(c, http.StatusOK, k, err, s.toKeyResponse)
}

func (s *server) listKeys(c *gin.Context) {
	var limit int
	query, ok := withQuery(c, func(q url.Values, f *[]errs.FieldError) { limit = limitParam(q, f) },
		"owner", "consumer", "q", "status", "environment", "expires", "sort", "order", "limit", "cursor")
	if !ok {
		return
	}
	page, err := s.Keys.List(c.Request.Context(), s.actor(c), keys.ListParams{
		Owner:       query.Get("owner"),
		Consumer:    query.Get("consumer"),
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
	replyToBody(c, http.StatusOK, func(req api.KeyUpdate) (keys.Key, error) {
		return s.Keys.Update(c.Request.Context(), s.actor(c), c.Param("id"), req)
	}, s.toKeyResponse)
}

func (s *server) rotateKey(c *gin.Context) {
	var req api.KeyRotate
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

func countsJSON(c keys.UsageCounts) api.UsageCounts {
	d := c.Denied
	if d == nil {
		d = map[string]int64{}
	}
	return api.UsageCounts{Success: c.Success, Denied: d}
}

func totalsJSON(t keys.UsageTotals) api.UsageTotals {
	out := api.UsageTotals{UsageCounts: countsJSON(t.UsageCounts), ByVia: make(map[string]api.UsageCounts, len(api.UsageVias))}
	for _, via := range api.UsageVias {
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
			_ = c.Error(&errs.Validation{Fields: []errs.FieldError{{Field: "days", Message: fmt.Sprintf("must be between 1 and %d", api.KeyUsageDaysMax)}}})
			return
		}
		days = n
	}
	u, err := s.Keys.Usage(c.Request.Context(), s.actor(c), c.Param("id"), days)
	if err != nil {
		_ = c.Error(err)
		return
	}
	out := api.KeyUsage{KeyID: u.Key.ID, LastUsedAt: utcPtr(u.Key.LastUsedAt),
		Month: totalsJSON(u.Month), Period: totalsJSON(u.Total), Days: make([]api.DayUsage, 0, len(u.Days))}
	if u.Key.LastUsedIP != "" {
		out.LastUsedIP = &u.Key.LastUsedIP
	}
	for _, d := range u.Days {
		out.Days = append(out.Days, api.DayUsage{Date: d.Date, UsageTotals: totalsJSON(d.UsageTotals)})
	}
	answer(c, http.StatusOK, out)
}

func adminSet(a keys.AdminSet) *api.AdminSet {
	if !a.Any() {
		return nil
	}
	return &api.AdminSet{Disabled: a.Disabled, RateLimit: a.RateLimit, IPAllowlist: a.IPAllowlist}
}

// --- OpenAPI ---

// keyPaths documents the key routes.
func keyPaths(doc *openapi3.T) {
	doc.Paths.Set("/v1/keys", &openapi3.PathItem{Post: createKeyDoc(), Get: listKeysDoc()})
	keySchema := responseSchema[api.Key]()
	updateBody := requestSchema[api.KeyUpdate]()
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
		resp{status: 201, desc: "the new key; `key` appears in this response only", schema: responseSchema[api.CreatedKey]()},
		problemResp(400, "invalid grace_period_hours"), problemResp(403, "the owner holds a denied role (admins rotating another's key)"),
		problemResp(409, "the key has already been rotated")),
		requestSchema[api.KeyRotate](), false))
	rotateOp.RequestBody.Value.Description = "optional; grace_period_hours defaults to 168"
	doc.Paths.Set("/v1/keys/{id}/rotate", &openapi3.PathItem{Post: rotateOp})
	doc.Paths.Set("/v1/keys/{id}/usage", &openapi3.PathItem{Get: keyUsageDoc()})
}

// withKeyID adds the {id} parameter and its 404 to an operation on one key.
func withKeyID(op *openapi3.Operation) *openapi3.Operation {
	op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Value: openapi3.NewPathParameter("id").WithSchema(openapi3.NewUUIDSchema())})
	addResponse(op, problemResp(404, "no such key visible to the caller"))
	return op
}

func createKeyDoc() *openapi3.Operation {
	createBody := requestSchema[api.KeyCreate]()
	createBody.Value.Description = "one expiry form at most (expires_in_days, expires_at or never_expires: true); default 365 days; environment default production"
	return withJSONBody(operation("createKey", "Create an API key", true,
		resp{status: 201, desc: "created; `key` appears in this response only", schema: responseSchema[api.CreatedKey]()},
		problemResp(400, "invalid fields"), problemResp(403, "owner names another user, or consumer is given, and the caller is not admin; or the owner holds a denied role"),
		problemResp(409, "the owner holds the most live keys this server allows, or the key exists already")), createBody, true)
}

func listKeysDoc() *openapi3.Operation {
	listOp := operation("listKeys", "List, search, filter, sort and page keys (own; admins: any)", true,
		resp{status: 200, desc: "a page of keys", schema: responseSchema[api.Page[api.Key]]()},
		problemResp(400, "invalid or unknown parameter, or one given twice"),
		problemResp(403, "owner names another user, or consumer is given, and the caller is not admin"))
	listOp.Parameters = openapi3.Parameters{
		queryParam("owner", "admins: user id or username", str("")),
		queryParam("consumer", "admins: consumer id or name: that consumer's keys (not with owner)", text("", 0, api.KeyConsumerMax)),
		queryParam("q", "search in name and description (admins: also owner username)", text("", 0, api.KeyQueryMax)),
		queryParam("status", "", enum(api.KeyStatuses...)),
		queryParam("environment", "", enum(api.Environments...)),
		queryParam("expires", "", enum(api.KeyExpiresFilters...)),
		queryParam("sort", "default created_at", enum(api.KeySorts...)),
		queryParam("order", "default desc", enum(api.Orders...)),
		limitDoc(),
		cursorDoc(),
	}
	return listOp
}

func keyUsageDoc() *openapi3.Operation {
	usageOp := withKeyID(operation("keyUsage", "Usage: exchanges per day and this month, successes and denials by reason, split by route", true,
		resp{status: 200, desc: "counters flushed so far (at most one flush interval behind)", schema: responseSchema[api.KeyUsage]()},
		problemResp(400, "days outside 1..90, or an unknown parameter")))
	usageOp.Parameters = append(usageOp.Parameters, queryParam("days", "default 30", integer(1, api.KeyUsageDaysMax)))
	return usageOp
}
