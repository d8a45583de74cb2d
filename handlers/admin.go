package handlers

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/internal/page"
)

// requireProvisioning answers 503 where main wired no provisioning service.
func (s *server) requireProvisioning(c *gin.Context) {
	if s.Provisioning == nil {
		writeProblem(c, problem{Title: "Service Unavailable", Status: http.StatusServiceUnavailable,
			Detail: "provisioning is not configured on this instance"})
		return
	}
	c.Next()
}

// queryParams parses the query string strictly: known names only, each at most once,
// so that a typo (?enviroment=) is an error rather than an unfiltered list.
func queryParams(c *gin.Context, allowed ...string) (url.Values, error) {
	q, err := url.ParseQuery(c.Request.URL.RawQuery)
	if err != nil {
		return nil, badRequest("the query string is malformed")
	}
	var f []errs.FieldError
	for name, vals := range q {
		switch {
		case !slices.Contains(allowed, name):
			f = append(f, errs.FieldError{Field: name, Message: "is not a parameter of this route; known: " + strings.Join(allowed, ", ")})
		case len(vals) > 1:
			f = append(f, errs.FieldError{Field: name, Message: "is given more than once"})
		}
	}
	if len(f) > 0 {
		return nil, &errs.Validation{Fields: f}
	}
	return q, nil
}

// limitParam parses the page size of a list: 0 when absent, for the default, which
// a caller cannot ask for by name; the bounds are internal/page's, one for every list.
func limitParam(q url.Values, f *[]errs.FieldError) int {
	v := q.Get("limit")
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if _, ok := page.Limit(n); err != nil || !ok || n == 0 {
		*f = append(*f, errs.FieldError{Field: "limit", Message: page.LimitRule})
		return 0
	}
	return n
}

// boolParam parses an optional true/false parameter (nil when absent).
func boolParam(q url.Values, name string, f *[]errs.FieldError) *bool {
	switch q.Get(name) {
	case "":
		return nil
	case "true":
		v := true
		return &v
	case "false":
		v := false
		return &v
	}
	*f = append(*f, errs.FieldError{Field: name, Message: "must be true or false"})
	return nil
}

// writeList answers 200 with a page: each row as wire turns it, next the cursor of
// the next page ("" on the last).
func writeList[R, T any](c *gin.Context, rows []R, next string, wire func(R) T) {
	out := api.Page[T]{Items: make([]T, 0, len(rows))}
	for _, r := range rows {
		out.Items = append(out.Items, wire(r))
	}
	if next != "" {
		out.NextCursor = &next
	}
	answer(c, http.StatusOK, out)
}

// answer writes v, never to be cached: keys, secrets, audit events and admin objects
// are all per caller, and some are shown once.
func answer(c *gin.Context, status int, v any) {
	noStore(c)
	c.JSON(status, v)
}

// noStore forbids caching the answer anywhere.
func noStore(c *gin.Context) { c.Header("Cache-Control", "no-store") }

// reply answers one call's outcome: its error, or status with the wire form of v.
func reply[T, R any](c *gin.Context, status int, v T, err error, wire func(T) R) {
	if err != nil {
		_ = c.Error(err)
		return
	}
	answer(c, status, wire(v))
}

// replyList answers a page of rows, or the error that stood in its way.
func replyList[T, R any](c *gin.Context, rows []T, next string, err error, wire func(T) R) {
	if err != nil {
		_ = c.Error(err)
		return
	}
	writeList(c, rows, next, wire)
}

// replyDeleted answers a deletion: 204, or the error that prevented it.
func replyDeleted(c *gin.Context, err error) {
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.Status(http.StatusNoContent)
}

// withQuery parses the query strictly (queryParams) and lets read check the values,
// collecting their problems into one 400; false means that answer is given.
func withQuery(c *gin.Context, read func(q url.Values, f *[]errs.FieldError), allowed ...string) (url.Values, bool) {
	q, err := queryParams(c, allowed...)
	if err != nil {
		_ = c.Error(err)
		return nil, false
	}
	var f []errs.FieldError
	read(q, &f)
	if len(f) > 0 {
		_ = c.Error(&errs.Validation{Fields: f})
		return nil, false
	}
	return q, true
}

// replyToBody binds the request body, hands it to do and answers do's outcome as reply
// does: the shape of the admin routes that change one object.
func replyToBody[Req, T, R any](c *gin.Context, status int, do func(req Req) (T, error), wire func(T) R) {
	withBody(c, func(req Req) error {
		v, err := do(req)
		reply(c, status, v, err, wire)
		return nil
	})
}

// withBody binds the request body into a T and hands it to do; the shape of every
// admin route that takes a body.
func withBody[T any](c *gin.Context, do func(req T) error) {
	var req T
	if err := bindJSON(c, &req); err != nil {
		_ = c.Error(err)
		return
	}
	if err := do(req); err != nil {
		_ = c.Error(err)
	}
}

// AdminOnly is the OpenAPI extension that marks the operations only admins (the admin
// realm role) may call.
const AdminOnly = "x-keyward-admin-only"

// adminDoc is what the admin resources' OpenAPI fragments share; their bodies'
// schemas come from package api.
type adminDoc struct {
	env, time          *openapi3.SchemaRef
	id                 openapi3.Parameters // the {id} path parameter
	notFound, badQuery resp
}

func newAdminDoc() adminDoc {
	return adminDoc{
		env:      enum(api.Environments...),
		time:     dateTime(),
		id:       openapi3.Parameters{{Value: openapi3.NewPathParameter("id").WithSchema(openapi3.NewUUIDSchema())}},
		notFound: problemResp(404, "no such resource"),
		badQuery: problemResp(400, "invalid or unknown parameter, or one given twice"),
	}
}

// op is an admin operation: secured, and also refused to non-admins and where
// provisioning is unavailable.
func (a adminDoc) op(id, summary string, body *openapi3.SchemaRef, params openapi3.Parameters, rs ...resp) *openapi3.Operation {
	common := []resp{problemResp(403, "the caller lacks the admin realm role"),
		problemResp(503, "Keycloak unavailable, provisioning not configured, or (secret routes) the audit trail cannot be written: a secret is never shown unaudited")}
	o := operation(id, summary, true, append(rs, common...)...)
	o.Extensions = map[string]any{AdminOnly: true}
	if body != nil {
		withJSONBody(o, body, true)
	}
	o.Parameters = params
	return o
}

// query is the named query parameters of the admin lists.
func (a adminDoc) query(names ...string) openapi3.Parameters {
	params := map[string]*openapi3.ParameterRef{
		"q": queryParam("q", "case-insensitive substring of name and description (clients: also client_id)",
			text("", 0, api.AdminQueryMax)),
		"environment": queryParam("environment", "", a.env),
		"limit":       limitDoc(),
		"cursor":      cursorDoc(),
		"consumer":    queryParam("consumer", "consumer id", openapi3.NewUUIDSchema().NewRef()),
		"enabled":     queryParam("enabled", "", boolean()),
		"cascade":     queryParam("cascade", "true: also delete the consumer's clients, in Keycloak too", boolean()),
		"sort:consumers": queryParam("sort", "default name; '-' sorts descending",
			enum("name", "-name", "created_at", "-created_at")),
		"sort:clients": queryParam("sort", "default -created_at; '-' sorts descending",
			enum("created_at", "-created_at", "client_id", "-client_id")),
	}
	out := openapi3.Parameters{}
	for _, n := range names {
		out = append(out, params[n])
	}
	return out
}

// withID is the {id} path parameter, then ps.
func (a adminDoc) withID(ps openapi3.Parameters) openapi3.Parameters {
	return append(append(openapi3.Parameters{}, a.id...), ps...)
}
