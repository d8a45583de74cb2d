package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"
	"go.uber.org/zap"
)

// The operational routes: liveness, readiness, Keyward's public keys, this API's
// document and the metrics. None needs a caller.

func (s *server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

func (s *server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	checks := gin.H{}
	status := http.StatusOK
	for name, p := range map[string]Pinger{"database": s.Database, "keycloak": s.Keycloak} {
		if err := p.Ping(ctx); err != nil {
			checks[name] = "down"
			status = http.StatusServiceUnavailable
			s.Log.Warn("readiness check failed", zap.String("dependency", name), zap.Error(err))
		} else {
			checks[name] = "up"
		}
	}
	if s.KeyNotifications != nil {
		checks["key_notifications"] = "up"
		if !s.KeyNotifications.Trusted() {
			checks["key_notifications"] = "down"
		}
	}
	word := "ready"
	if status != http.StatusOK {
		word = "not ready"
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(status, gin.H{"status": word, "checks": checks})
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

// Discovery is what clients of Keyward (the CLI, scripts) need to know about the realm,
// so that KEYWARD_URL is all a user sets.
type Discovery struct {
	Issuer      string `json:"issuer"`        // the realm's issuer: its OIDC discovery, device flow
	CLIClientID string `json:"cli_client_id"` // the realm's public client people log in with
	Audience    string `json:"audience"`      // what management tokens must carry in aud
	KeywardURL  string `json:"keyward_url"`
	TokenURL    string `json:"token_endpoint"` // the exchange: an API key in, a token out
	ConsoleURL  string `json:"console_url"`
}

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
		resp{status: 200, desc: "discovery document", schema: object(map[string]*openapi3.SchemaRef{
			"issuer":         str("the realm's issuer URL; its /.well-known/openid-configuration has the device and token endpoints"),
			"cli_client_id":  str("the realm's public client for people's logins (device flow)"),
			"audience":       str("the audience management-API tokens must carry"),
			"keyward_url":    str("Keyward's base URL"),
			"token_endpoint": str("Keyward's token endpoint: an API key in, a Keycloak token out"),
			"console_url":    str("the web console"),
		}, "issuer", "cli_client_id", "audience", "keyward_url", "token_endpoint", "console_url")})})
	doc.Paths.Set("/healthz", &openapi3.PathItem{Get: operation("healthz", "Liveness", false,
		resp{status: 200, desc: "the process is up", schema: object(map[string]*openapi3.SchemaRef{"status": enum("ok")}, "status")})})
	checks := object(map[string]*openapi3.SchemaRef{"database": enum("up", "down"), "keycloak": enum("up", "down"),
		"key_notifications": enum("up", "down")}, "database", "keycloak")
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
}

// metrics serves main's metrics handler; nil (no route) when there is none.
func (s *server) metrics() gin.HandlerFunc {
	if s.Metrics == nil {
		return nil
	}
	return gin.WrapH(s.Metrics)
}
