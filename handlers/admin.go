package handlers

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/internal/page"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/provisioning"
)

// ProvisioningService is the admin domain: ACL groups, consumers and their clients.
type ProvisioningService interface {
	ListACLGroups(ctx context.Context) ([]provisioning.ACLGroup, error)
	CreateACLGroup(ctx context.Context, a audit.Actor, in provisioning.ACLGroupInput) (provisioning.ACLGroup, error)
	DeleteACLGroup(ctx context.Context, a audit.Actor, name string) error

	CreateConsumer(ctx context.Context, a audit.Actor, in provisioning.ConsumerInput) (models.Consumer, error)
	ListConsumers(ctx context.Context, q provisioning.ConsumerQuery) (provisioning.ConsumerPage, error)
	Consumer(ctx context.Context, id string) (models.Consumer, error)
	UpdateConsumer(ctx context.Context, a audit.Actor, id string, p provisioning.ConsumerPatch) (models.Consumer, error)
	DeleteConsumer(ctx context.Context, a audit.Actor, id string, cascade bool) error

	CreateClient(ctx context.Context, a audit.Actor, consumerID string, in provisioning.ClientInput) (provisioning.CreatedClient, error)
	ListClients(ctx context.Context, q provisioning.ClientQuery) (provisioning.ClientPage, error)
	Client(ctx context.Context, id string) (provisioning.Client, error)
	UpdateClient(ctx context.Context, a audit.Actor, id string, p provisioning.ClientPatch) (provisioning.Client, error)
	DeleteClient(ctx context.Context, a audit.Actor, id string) error
	ClientSecret(ctx context.Context, a audit.Actor, id string) (provisioning.Secret, error)
	RegenerateClientSecret(ctx context.Context, a audit.Actor, id string) (provisioning.Secret, error)
	TestClient(ctx context.Context, a audit.Actor, id, secret string) (provisioning.TokenTest, error)
}

// adminRoutes registers the admin-only routes (consumers, ACL groups, clients); g already
// requires the admin realm role.
func (s *server) adminRoutes(g *gin.RouterGroup) {
	p := g.Group("", s.requireProvisioning)
	p.GET("/acl-groups", s.listACLGroups)
	p.POST("/acl-groups", s.createACLGroup)
	p.DELETE("/acl-groups/:name", s.deleteACLGroup)

	p.POST("/consumers", s.createConsumer)
	p.GET("/consumers", s.listConsumers)
	p.GET("/consumers/:id", s.getConsumer)
	p.PATCH("/consumers/:id", s.updateConsumer)
	p.DELETE("/consumers/:id", s.deleteConsumer)
	p.POST("/consumers/:id/clients", s.createClient)

	p.GET("/clients", s.listClients)
	p.GET("/clients/:id", s.getClient)
	p.PATCH("/clients/:id", s.updateClient)
	p.DELETE("/clients/:id", s.deleteClient)
	p.GET("/clients/:id/secret", s.getClientSecret)
	p.POST("/clients/:id/secret", s.regenerateClientSecret)
	p.POST("/clients/:id/test", s.testClient)
}

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

// listAnswer is the envelope of every list answer: a page of items, and the cursor
// of the next page, null on the last.
type listAnswer[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// writeList answers 200 with a page: each row as wire turns it, next the cursor of
// the next page ("" on the last).
func writeList[R, T any](c *gin.Context, rows []R, next string, wire func(R) T) {
	out := listAnswer[T]{Items: make([]T, 0, len(rows))}
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

// adminPaths documents adminRoutes in the OpenAPI document, with the rules of
// provisioning/validate.go.
func adminPaths(doc *openapi3.T) {
	envEnum := enum(environments...)
	timeRef := dateTime()
	listOf := func(item *openapi3.SchemaRef) *openapi3.SchemaRef {
		return object(map[string]*openapi3.SchemaRef{
			"items":       arrayOf("", page.MaxLimit, item),
			"next_cursor": nullable(str("opaque cursor of the next page; null on the last")),
		}, "items", "next_cursor")
	}
	groupName := patterned("1..64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit", aclGroupNamePattern)
	consumerName := patterned("1..64 of a-z, 0-9, '.', '_', '-', unique", consumerNamePattern)
	groupList := func(desc string) *openapi3.SchemaRef {
		return arrayOf(desc, provisioning.MaxACLGroupsPerItem, groupName)
	}
	description := text("up to 500 characters; no control, bidirectional or invisible characters but tab and line breaks",
		0, provisioning.MaxDescriptionLen)
	redirectURIs := func(desc string) *openapi3.SchemaRef {
		s := arrayOf(desc+"; https URLs (plain http only on 127.0.0.1, [::1] or localhost), no wildcard, fragment or user info",
			provisioning.MaxRedirectURIs, text("", 1, provisioning.MaxRedirectURILen))
		s.Value.Items.Value.Pattern = `^https?://[^\s\\*#]+$`
		s.Value.UniqueItems = true
		return s
	}
	clientName := text("up to 100 characters, one line", 0, provisioning.MaxClientNameLen)

	aclGroup := object(map[string]*openapi3.SchemaRef{
		"name":        describe(groupName.Value.NewRef(), "the group's name, as tokens carry it in acl_groups"),
		"description": description,
		"path":        str("the Keycloak group path, e.g. /keyward-acl/analytics"),
		"keycloak_id": str("Keycloak's group id"),
	}, "name", "description", "path", "keycloak_id")
	consumer := object(map[string]*openapi3.SchemaRef{
		"id":          openapi3.NewUUIDSchema().NewRef(),
		"name":        consumerName,
		"description": description,
		"environment": envEnum,
		"acl_groups":  groupList("names of ACL groups; every client's service account is in each"),
		"created_at":  timeRef,
		"updated_at":  timeRef,
	}, "id", "name", "description", "environment", "acl_groups", "created_at", "updated_at")
	client := object(map[string]*openapi3.SchemaRef{
		"id":            openapi3.NewUUIDSchema().NewRef(),
		"client_id":     patterned("the OAuth client_id in Keycloak", clientIDPattern),
		"name":          clientName,
		"description":   description,
		"consumer":      object(map[string]*openapi3.SchemaRef{"id": openapi3.NewUUIDSchema().NewRef(), "name": consumerName}, "id", "name"),
		"environment":   envEnum,
		"realm":         str("the Keycloak realm"),
		"protocol":      enum(provisioning.Protocol),
		"acl_groups":    groupList("the consumer's ACL groups: the acl_groups claim of the client's tokens"),
		"enabled":       boolean(),
		"redirect_uris": redirectURIs("standard flow is on only when there are some"),
		"keycloak_id":   str("Keycloak's internal id of the client"),
		"created_at":    timeRef,
		"updated_at":    timeRef,
	}, "id", "client_id", "name", "description", "consumer", "environment", "realm", "protocol", "acl_groups", "enabled",
		"redirect_uris", "keycloak_id", "created_at", "updated_at")
	createdClient := extend(client, map[string]*openapi3.SchemaRef{"secret": text("the client secret; in this response only", 1, 0)}, "secret")
	secret := object(map[string]*openapi3.SchemaRef{
		"client_id": patterned("", clientIDPattern), "secret": text("the client secret", 1, 0),
	}, "client_id", "secret")
	testResult := object(map[string]*openapi3.SchemaRef{
		"valid":             boolean(),
		"error":             text("Keycloak's OAuth error when not valid, e.g. invalid_client", 1, 0),
		"expires_in":        integer(0, 0),
		"scope":             str("granted scopes"),
		"acl_claim_present": boolean(),
		"acl_groups":        arrayOf("the token's acl_groups claim", 0, str("")),
		"header":            nullable(freeForm("the token's JOSE header; null when no token was issued")),
		"payload":           nullable(freeForm("the token's claims; null when no token was issued")),
	}, "valid", "expires_in", "scope", "acl_claim_present", "acl_groups", "header", "payload")

	common := []resp{problemResp(403, "the caller lacks the admin realm role"),
		problemResp(503, "Keycloak unavailable, provisioning not configured, or (secret routes) the audit trail cannot be written: a secret is never shown unaudited")}
	op := func(id, summary string, body *openapi3.SchemaRef, params openapi3.Parameters, rs ...resp) *openapi3.Operation {
		o := operation(id, summary, true, append(rs, common...)...)
		if body != nil {
			withJSONBody(o, body, true)
		}
		o.Parameters = params
		return o
	}
	query := func(names ...string) openapi3.Parameters {
		params := map[string]*openapi3.ParameterRef{
			"q": queryParam("q", "case-insensitive substring of name and description (clients: also client_id)",
				text("", 0, provisioning.MaxQueryLen)),
			"environment": queryParam("environment", "", envEnum),
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
	id := openapi3.Parameters{{Value: openapi3.NewPathParameter("id").WithSchema(openapi3.NewUUIDSchema())}}
	withID := func(ps openapi3.Parameters) openapi3.Parameters {
		return append(append(openapi3.Parameters{}, id...), ps...)
	}
	notFound := problemResp(404, "no such resource")
	badQuery := problemResp(400, "invalid or unknown parameter, or one given twice")

	doc.Paths.Set("/v1/acl-groups", &openapi3.PathItem{
		Get: op("listACLGroups", "List the ACL groups (Keycloak groups under the ACL parent); takes no parameter", nil, nil,
			resp{status: 200, desc: "every ACL group; next_cursor is always null", schema: listOf(aclGroup)}, badQuery),
		Post: op("createACLGroup", "Create an ACL group in Keycloak", requestObject(map[string]*openapi3.SchemaRef{
			"name":        groupName,
			"description": description,
		}, "name"), nil, resp{status: 201, desc: "created", schema: aclGroup},
			problemResp(409, "a group of that name exists, or the ACL parent group carries roles (its own or inherited)")),
	})
	doc.Paths.Set("/v1/acl-groups/{name}", &openapi3.PathItem{
		Delete: op("deleteACLGroup", "Delete an ACL group", nil,
			openapi3.Parameters{{Value: openapi3.NewPathParameter("name").WithSchema(openapi3.NewStringSchema())}},
			resp{status: 204, desc: "deleted from Keycloak"}, notFound,
			problemResp(409, "a consumer uses the group, or it has members in Keycloak")),
	})
	consumerBody := requestObject(map[string]*openapi3.SchemaRef{
		"name":        consumerName,
		"description": description,
		"environment": describe(enum(append([]string{""}, environments...)...), "default production"),
		"acl_groups":  groupList("existing ACL group names, each once"),
	}, "name")
	consumerBody.Value.Properties["acl_groups"].Value.UniqueItems = true
	consumerPatch := requestObject(map[string]*openapi3.SchemaRef{
		"name": consumerName, "description": description, "environment": envEnum,
		"acl_groups": groupList("the new set; every client's service account follows at once"),
	})
	consumerPatch.Value.Properties["acl_groups"].Value.UniqueItems = true
	consumerPatch.Value.WithMinProperties(1)
	consumerPatch.Value.Description = "at least one field that is not null; absent or null fields stay as they are"
	doc.Paths.Set("/v1/consumers", &openapi3.PathItem{
		Post: op("createConsumer", "Create a consumer", consumerBody, nil,
			resp{status: 201, desc: "created", schema: consumer},
			problemResp(409, "the name is taken, or an ACL group carries roles (its own or a parent's; the detail names it)")),
		Get: op("listConsumers", "List, search, filter, sort and page consumers", nil,
			query("q", "environment", "sort:consumers", "limit", "cursor"),
			resp{status: 200, desc: "a page of consumers", schema: listOf(consumer)}, badQuery),
	})
	doc.Paths.Set("/v1/consumers/{id}", &openapi3.PathItem{
		Get: op("getConsumer", "Read a consumer", nil, id, resp{status: 200, desc: "the consumer", schema: consumer}, notFound),
		Patch: op("updateConsumer", "Change a consumer; a change of acl_groups reaches every client's service account", consumerPatch, id,
			resp{status: 200, desc: "the consumer as changed", schema: consumer}, notFound,
			problemResp(409, "the name is taken, the consumer changed meanwhile, or an added ACL group carries roles (its own or a parent's)")),
		Delete: op("deleteConsumer", "Delete a consumer", nil, withID(query("cascade")),
			resp{status: 204, desc: "deleted"}, notFound, badQuery,
			problemResp(409, "the consumer has clients and cascade is not true")),
	})
	clientBody := requestObject(map[string]*openapi3.SchemaRef{
		"client_id": patterned("3..100 of a-z, 0-9, '.', '_', '-', starting with a letter or digit; generated from the consumer's name when absent or empty",
			`^([a-z0-9][a-z0-9._-]{2,99})?$`),
		"name":          describe(clientName.Value.NewRef(), "up to 100 characters, one line; default the client_id"),
		"description":   description,
		"redirect_uris": redirectURIs("the standard flow is on only with some"),
	})
	doc.Paths.Set("/v1/consumers/{id}/clients", &openapi3.PathItem{
		Post: op("createClient", "Provision a confidential service-account client for the consumer", clientBody, id,
			resp{status: 201, desc: "created; `secret` appears in this response only", schema: createdClient},
			notFound, problemResp(409, "the client_id is taken, or an ACL group of the consumer is gone or carries roles (its own or a parent's)")),
	})
	doc.Paths.Set("/v1/clients", &openapi3.PathItem{
		Get: op("listClients", "List, search, filter, sort and page clients", nil,
			query("consumer", "environment", "enabled", "q", "sort:clients", "limit", "cursor"),
			resp{status: 200, desc: "a page of clients", schema: listOf(client)}, badQuery),
	})
	clientPatch := requestObject(map[string]*openapi3.SchemaRef{
		"name": text("1..100 characters, one line", 1, provisioning.MaxClientNameLen), "description": description,
		"enabled": boolean(), "redirect_uris": redirectURIs("the new set"),
	})
	clientPatch.Value.WithMinProperties(1)
	clientPatch.Value.Description = "at least one field that is not null; absent or null fields stay as they are"
	doc.Paths.Set("/v1/clients/{id}", &openapi3.PathItem{
		Get: op("getClient", "Read a client", nil, id, resp{status: 200, desc: "the client", schema: client}, notFound),
		Patch: op("updateClient", "Change a client; enabled:false makes Keycloak refuse it tokens", clientPatch, id,
			resp{status: 200, desc: "the client as changed", schema: client}, notFound,
			problemResp(409, "the client is gone from Keycloak")),
		Delete: op("deleteClient", "Delete a client from Keycloak and Keyward", nil, id, resp{status: 204, desc: "deleted"}, notFound),
	})
	doc.Paths.Set("/v1/clients/{id}/secret", &openapi3.PathItem{
		Get: op("getClientSecret", "Show the client's secret (audited)", nil, id,
			resp{status: 200, desc: "the secret, read from Keycloak", schema: secret}, notFound),
		Post: op("regenerateClientSecret", "Regenerate the secret; the old one is refused at once", nil, id,
			resp{status: 200, desc: "the new secret", schema: secret}, notFound),
	})
	doc.Paths.Set("/v1/clients/{id}/test", &openapi3.PathItem{
		Post: op("testClient", "Run the client-credentials grant with a secret and decode the token", requestObject(map[string]*openapi3.SchemaRef{
			"secret": text("the secret to try, at most 1024 printable characters; never echoed", 1, provisioning.MaxSecretLen),
		}, "secret"), id, resp{status: 200, desc: "the outcome; never the secret nor the token", schema: testResult}, notFound),
	})
}
