package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/keyward/keyward/api"
)

// The operational routes: liveness, readiness, Keyward's public keys, this API's
// document and the metrics. None needs a caller.

func (s *server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, api.Health{Status: "ok"})
}

func (s *server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	var checks api.ReadinessChecks
	status := http.StatusOK
	for name, dep := range map[string]struct {
		p     Pinger
		state *string
	}{"database": {s.Database, &checks.Database}, "keycloak": {s.Keycloak, &checks.Keycloak}} {
		if err := dep.p.Ping(ctx); err != nil {
			*dep.state = "down"
			status = http.StatusServiceUnavailable
			s.Log.Warn("readiness check failed", zap.String("dependency", name), zap.Error(err))
		} else {
			*dep.state = "up"
		}
	}
	if s.KeyNotifications != nil {
		checks.KeyNotifications = "up"
		if !s.KeyNotifications.Trusted() {
			checks.KeyNotifications = "down"
		}
	}
	word := "ready"
	if status != http.StatusOK {
		word = "not ready"
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(status, api.Readiness{Status: word, Checks: checks})
}

func (s *server) jwks(c *gin.Context) {
	set := s.JWKS
	if s.JWKSFunc != nil {
		set = s.JWKSFunc()
	}
	// Shorter than exchange.PublishAhead: a cache in front must not hide the next key.
	c.Header("Cache-Control", "public, max-age=30")
	c.JSON(http.StatusOK, set)
}

// Discovery is what clients of Keyward need to know about the realm (api.Discovery).
type Discovery = api.Discovery

func (s *server) discovery(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=300")
	c.JSON(http.StatusOK, s.Discovery)
}

func (s *server) openapi(c *gin.Context) {
	c.Data(http.StatusOK, "application/json", s.openAPIJSON)
}

// --- OpenAPI ---

// opsPaths documents the operational routes.
func opsPaths(doc *openapi3.T) {
	jwk := freeForm("a public JWK")
	jwk.Value.Required = []string{"kty"}
	doc.Paths.Set("/.well-known/jwks.json", &openapi3.PathItem{Get: operation("jwks",
		"Keyward's assertion-signing public keys (JWKS)", false,
		resp{status: 200, desc: "JWK set", schema: object(map[string]*openapi3.SchemaRef{
			"keys": arrayOf("", 0, jwk),
		}, "keys")})})
	doc.Paths.Set("/.well-known/keyward-configuration", &openapi3.PathItem{Get: operation("discovery",
		"What a client must know: the realm's issuer and public client, Keyward's URLs", false,
		resp{status: 200, desc: "discovery document", schema: responseSchema[api.Discovery]()})})
	doc.Paths.Set("/healthz", &openapi3.PathItem{Get: operation("healthz", "Liveness", false,
		resp{status: 200, desc: "the process is up", schema: responseSchema[api.Health]()})})
	// One type, two answers: each states its own status word.
	readiness := func(word string) *openapi3.SchemaRef {
		s := responseSchema[api.Readiness]()
		s.Value.Properties["status"] = enum(word)
		return s
	}
	doc.Paths.Set("/readyz", &openapi3.PathItem{Get: operation("readyz", "Readiness: database and Keycloak", false,
		resp{status: 200, desc: "ready", schema: readiness("ready")},
		resp{status: 503, desc: "a dependency is down; `checks` says which", schema: readiness("not ready")})})
	doc.Paths.Set("/metrics", &openapi3.PathItem{Get: operation("metrics", "Prometheus metrics", false,
		resp{status: 200, desc: "text exposition format", schema: str(""), media: "text/plain"})})
	openapiDoc := freeForm("an OpenAPI 3.0 document")
	openapiDoc.Value.Required = []string{"openapi", "info", "paths"}
	doc.Paths.Set("/openapi.json", &openapi3.PathItem{Get: operation("openapi", "This document", false,
		resp{status: 200, desc: "OpenAPI 3 document", schema: openapiDoc})})
}

// metrics serves main's metrics handler; nil (no route) when there is none.
func (s *server) metrics() gin.HandlerFunc {
	if s.Metrics == nil {
		return nil
	}
	return gin.WrapH(s.Metrics)
}
