package handlers

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
)

// access is who may call a route: the middleware in front of its handler.
type access int

const (
	public access = iota // anyone; the token endpoint authenticates the key itself
	user                 // a Keycloak bearer token of a person (authenticate)
	admin                // a user with the admin realm role, where provisioning is wired
	hooks                // a user with the admin realm role, where webhooks are wired
)

// route is one line of the route table.
type route struct {
	method, path string
	access       access
	handle       gin.HandlerFunc // nil: the route is not served on this instance
}

// routes is every route of the API, in the order of the document: what New serves.
func (s *server) routes() []route {
	rs := []route{
		{http.MethodGet, "/healthz", public, s.healthz},
		{http.MethodGet, "/readyz", public, s.readyz},
		{http.MethodGet, "/.well-known/jwks.json", public, s.jwks},
		{http.MethodGet, "/.well-known/keyward-configuration", public, s.discovery},
		{http.MethodGet, "/openapi.json", public, s.openapi},
		{http.MethodGet, "/metrics", public, s.metrics()},
		{http.MethodPost, tokenRoute, public, s.token},
	}
	rs = append(rs, s.forwardAuthRoutes()...)
	return append(rs, []route{

		{http.MethodPost, leakedRoute, public, s.leakedHandler()},
		{http.MethodPost, "/v1/keys", user, s.createKey},
		{http.MethodGet, "/v1/keys", user, s.listKeys},
		{http.MethodGet, "/v1/keys/:id", user, s.getKey},
		{http.MethodPatch, "/v1/keys/:id", user, s.updateKey},
		{http.MethodDelete, "/v1/keys/:id", user, s.deleteKey},
		{http.MethodPost, "/v1/keys/:id/rotate", user, s.rotateKey},
		{http.MethodGet, "/v1/keys/:id/usage", user, s.keyUsage},
		{http.MethodGet, "/v1/audit", user, s.listAudit},

		{http.MethodGet, "/v1/acl-groups", admin, s.listACLGroups},
		{http.MethodPost, "/v1/acl-groups", admin, s.createACLGroup},
		{http.MethodDelete, "/v1/acl-groups/:name", admin, s.deleteACLGroup},

		{http.MethodPost, "/v1/consumers", admin, s.createConsumer},
		{http.MethodGet, "/v1/consumers", admin, s.listConsumers},
		{http.MethodGet, "/v1/consumers/:id", admin, s.getConsumer},
		{http.MethodPatch, "/v1/consumers/:id", admin, s.updateConsumer},
		{http.MethodDelete, "/v1/consumers/:id", admin, s.deleteConsumer},
		{http.MethodPost, "/v1/consumers/:id/clients", admin, s.createClient},

		{http.MethodGet, "/v1/clients", admin, s.listClients},
		{http.MethodGet, "/v1/clients/:id", admin, s.getClient},
		{http.MethodPatch, "/v1/clients/:id", admin, s.updateClient},
		{http.MethodDelete, "/v1/clients/:id", admin, s.deleteClient},
		{http.MethodGet, "/v1/clients/:id/secret", admin, s.getClientSecret},
		{http.MethodPost, "/v1/clients/:id/secret", admin, s.regenerateClientSecret},
		{http.MethodPost, "/v1/clients/:id/test", admin, s.testClient},

		{http.MethodPost, "/v1/webhooks", hooks, s.createWebhook},
		{http.MethodGet, "/v1/webhooks", hooks, s.listWebhooks},
		{http.MethodGet, "/v1/webhooks/:id", hooks, s.getWebhook},
		{http.MethodPatch, "/v1/webhooks/:id", hooks, s.updateWebhook},
		{http.MethodDelete, "/v1/webhooks/:id", hooks, s.deleteWebhook},
		{http.MethodPost, "/v1/webhooks/:id/secret", hooks, s.rotateWebhookSecret},
		{http.MethodGet, "/v1/webhooks/:id/deliveries", hooks, s.listWebhookDeliveries},
		{http.MethodPost, "/v1/webhooks/:id/deliveries/:delivery_id/redeliver", hooks, s.redeliverWebhook},
	}...)
}

// middleware is what runs before the handler of a route of that access.
func (s *server) middleware(a access) []gin.HandlerFunc {
	switch a {
	case user:
		return []gin.HandlerFunc{s.authenticate}
	case admin:
		return []gin.HandlerFunc{s.authenticate, s.requireAdmin, s.requireProvisioning}
	case hooks:
		return []gin.HandlerFunc{s.authenticate, s.requireAdmin, s.requireWebhooks}
	}
	return nil
}

// serve registers the route table on r and returns its paths without parameters, each
// with its methods.
func (s *server) serve(r *gin.Engine) map[string][]string {
	served := slices.DeleteFunc(s.routes(), func(rt route) bool { return rt.handle == nil })
	staticMethods := map[string][]string{} // a path without parameters → its methods
	for _, rt := range served {
		if !strings.ContainsAny(rt.path, ":*") {
			staticMethods[rt.path] = append(staticMethods[rt.path], rt.method)
		}
	}
	for _, rt := range served {
		chain := append(s.middleware(rt.access), rt.handle)
		if shadowed := shadowedPaths(rt.path, staticMethods); len(shadowed) > 0 {
			chain = append([]gin.HandlerFunc{notThisMethod(shadowed)}, chain...)
		}
		r.Handle(rt.method, rt.path, chain...)
	}
	return staticMethods
}

// shadowedPaths are the static paths that the parameter route pattern also matches
// (/v1/keys/:id matches /v1/keys/leaked), with their methods.
func shadowedPaths(pattern string, staticMethods map[string][]string) map[string][]string {
	if !strings.Contains(pattern, ":") {
		return nil
	}
	want := strings.Split(pattern, "/")
	out := map[string][]string{}
	for path, methods := range staticMethods {
		got := strings.Split(path, "/")
		if len(got) != len(want) {
			continue
		}
		match := true
		for i := range want {
			if !strings.HasPrefix(want[i], ":") && want[i] != got[i] {
				match = false
				break
			}
		}
		if match {
			out[path] = methods
		}
	}
	return out
}

// notThisMethod answers 405 to a method that a static path does not serve but a
// parameter route beside it does: gin routes PATCH /v1/keys/leaked to /v1/keys/:id,
// yet the path is the leak report's, which is POST only.
func notThisMethod(shadowed map[string][]string) gin.HandlerFunc {
	return func(c *gin.Context) {
		methods, ok := shadowed[c.Request.URL.Path]
		if !ok {
			return
		}
		c.Header("Allow", strings.Join(methods, ", "))
		writeProblem(c, problem{Title: "Method Not Allowed", Status: http.StatusMethodNotAllowed,
			Detail: "the route does not answer " + c.Request.Method})
	}
}
