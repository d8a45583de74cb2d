package handlers

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/gateway"
)

// forwardAuthRoute is the door: a gateway (nginx auth_request, Caddy forward_auth,
// Traefik ForwardAuth, Envoy ext_authz with a path prefix) asks it about each request
// it received, with that request's method, path below it and headers.
const (
	forwardAuthRoute    = "/v1/forward-auth"
	forwardAuthSubpaths = forwardAuthRoute + "/*path"
)

// forwardAuthMethods are served through the route table: every method OpenAPI can
// name. Any other method (WebDAV's, say) reaches forwardAuth through NoMethod.
var forwardAuthMethods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodOptions, http.MethodTrace,
}

// forwardAuthRefusal is the one answer to a missing key and to every refused one.
const forwardAuthRefusal = "a valid API key is required: X-API-Key, Authorization: ApiKey, Bearer or Basic (the key as password)"

// forwardAuthChallenges: Basic first, so that browsers and Excel ask for credentials.
var forwardAuthChallenges = []string{`Basic realm="keyward", charset="UTF-8"`, `Bearer realm="keyward"`}

// doorNoStore and doorNoCache are shared header values: the door answers on every request a
// gateway receives, so it saves their allocations. Full slices (len == cap): an Add
// appends to a copy, never to them.
var (
	doorNoStore = []string{"no-store"}
	doorNoCache = []string{"no-cache"}
)

// isForwardAuth says whether a request is for the door, whatever its method.
func isForwardAuth(path string) bool {
	return path == forwardAuthRoute || strings.HasPrefix(path, forwardAuthRoute+"/")
}

// forwardAuth trades the key of the request a gateway received for a Keycloak token
// through the same pipeline as /v1/token. The key is read from the headers only, never
// from the path or query (see gateway.KeyFrom). The body is never read.
//
// The answer carries the token and nothing else for the upstream: no identity header
// (user, groups). The upstream must verify the Keycloak token anyway, and an unsigned
// identity header would be a second source of truth that a gateway forgetting to strip
// the client's own copy of it would let anyone forge.
func (s *server) forwardAuth(c *gin.Context) {
	h := c.Writer.Header()
	h["Cache-Control"], h["Pragma"] = doorNoStore, doorNoCache
	key, ok := gateway.KeyFrom(c.Request.Header)
	if !ok {
		forwardAuthFail(c, verdict{status: http.StatusUnauthorized})
		return
	}
	res, v := s.trade(c, exchange.Request{APIKey: key, ClientIP: clientAddr(c), Via: exchange.ViaForwardAuth})
	if v.status != http.StatusOK {
		forwardAuthFail(c, v)
		return
	}
	c.Header("Authorization", "Bearer "+res.Token.AccessToken)
	c.Status(http.StatusOK)
}

// forwardAuthFail answers a refusal in the token endpoint's RFC 6749 JSON; a 401 is
// the same whatever the reason, with the challenges that make clients ask for a key.
func forwardAuthFail(c *gin.Context, v verdict) {
	if v.status == http.StatusUnauthorized {
		v.code, v.desc = "invalid_grant", forwardAuthRefusal
		for _, ch := range forwardAuthChallenges {
			c.Writer.Header().Add("WWW-Authenticate", ch)
		}
	}
	if v.retryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(v.retryAfter))
	}
	c.AbortWithStatusJSON(v.status, api.OAuthError{Error: v.code, Description: v.desc})
}

// forwardAuthOtherMethod serves the door to methods the route table does not list.
func (s *server) forwardAuthOtherMethod(c *gin.Context) bool {
	if !isForwardAuth(c.Request.URL.Path) {
		return false
	}
	c.Set(routeKey, forwardAuthSubpaths) // one route to metrics and logs
	s.forwardAuth(c)
	return true
}

// forwardAuthRoutes are the door's lines of the route table.
func (s *server) forwardAuthRoutes() []route {
	var out []route
	for _, path := range []string{forwardAuthRoute, forwardAuthSubpaths} {
		for _, m := range forwardAuthMethods {
			out = append(out, route{m, path, public, s.forwardAuth})
		}
	}
	return out
}

// --- OpenAPI ---

// forwardAuthPaths documents the door on its path and on any path below it, for every
// method the route table serves.
func forwardAuthPaths(doc *openapi3.T) {
	header := func(desc string, schema *openapi3.SchemaRef) *openapi3.HeaderRef {
		return &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{
			Description: desc, Required: true, Schema: schema}}}
	}
	retry := header("seconds to wait", integer(1, 0))
	op := func(id string, sub bool) *openapi3.Operation {
		o := operation(id, "Trade the API key of a request a gateway received for a Keycloak access token (forward auth)", false,
			resp{status: 200, desc: "the key is good: copy Authorization upstream; no body"},
			resp{status: 400, desc: "Keycloak refused the key's scopes (RFC 6749 invalid_scope)", schema: oauthErrorSchema},
			resp{status: 401, desc: "no key, or an unknown, revoked, expired or disabled key, or an address outside its allowlist: one answer", schema: oauthErrorSchema},
			resp{status: 429, desc: "the key's rate limit, or this address's failure budget, is exhausted", schema: oauthErrorSchema},
			resp{status: 500, desc: "an internal error", schema: oauthErrorSchema},
			resp{status: 503, desc: "Keycloak or the database unavailable", schema: oauthErrorSchema})
		o.Description = "The key is read from the request's headers only, in this order: X-API-Key; " +
			"Authorization: ApiKey <key>; Authorization: Bearer <key> (a Keyward key, not a JWT); " +
			"Authorization: Basic with the key as password (any user name) or as user name with an empty password. " +
			"Never from the query string. The body is not read. The client's address is the peer's, or behind a " +
			"trusted proxy (KEYWARD_TRUSTED_PROXIES) the right-most untrusted X-Forwarded-For entry."
		o.Responses.Status(200).Value.Headers = openapi3.Headers{
			"Authorization": header("Bearer and the Keycloak access token, for the gateway to set upstream",
				patterned("", `^Bearer [!-~]+$`)),
			"Cache-Control": header("never cached", enum("no-store")),
		}
		o.Responses.Status(401).Value.Headers = openapi3.Headers{
			"WWW-Authenticate": header(`Basic realm="keyward", charset="UTF-8", then Bearer realm="keyward"`, str("")),
		}
		o.Responses.Status(429).Value.Headers = openapi3.Headers{"Retry-After": retry}
		o.Responses.Status(503).Value.Headers = openapi3.Headers{"Retry-After": retry}
		o.Parameters = openapi3.Parameters{
			{Value: openapi3.NewHeaderParameter("X-API-Key").WithSchema(openapi3.NewStringSchema())},
		}
		if sub {
			p := openapi3.NewPathParameter("path").WithSchema(openapi3.NewStringSchema())
			p.Description = "any path below /v1/forward-auth, slashes included (Envoy's path_prefix); not read"
			o.Parameters = append(o.Parameters, &openapi3.ParameterRef{Value: p})
		}
		return o
	}
	for _, path := range []string{forwardAuthRoute, forwardAuthRoute + "/{path}"} {
		item := &openapi3.PathItem{}
		for _, m := range forwardAuthMethods {
			id := "forwardAuth" + methodWord(m)
			if path != forwardAuthRoute {
				id = "forwardAuthBelow" + methodWord(m)
			}
			item.SetOperation(m, op(id, path != forwardAuthRoute))
		}
		doc.Paths.Set(path, item)
	}
}

// methodWord is GET → Get, for operation ids.
func methodWord(m string) string { return m[:1] + strings.ToLower(m[1:]) }
