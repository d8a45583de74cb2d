// Package handlers is Keyward's HTTP layer: routes, binding and validation of input,
// caller authentication and problem+json errors. The bodies are package api's types,
// and the OpenAPI document is derived from them (wire.go). It holds no SQL and makes
// no Keycloak call of its own: it calls the services through the interfaces they
// publish (keys.API, provisioning.API, webhooks.API, audit.Reader).
package handlers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"go.uber.org/zap"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/internal/reqinfo"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/keys"
	"github.com/keyward/keyward/provisioning"
	"github.com/keyward/keyward/webhooks"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 64 << 10

// tokenRoute answers in RFC 6749 JSON rather than problem+json.
const tokenRoute = "/v1/token"

// HTTPMetrics records one line per request in the metrics (Prometheus in production).
type HTTPMetrics interface {
	HTTPRequest(route, method string, status int, d time.Duration)
}

// Exchanger turns a presented key into a token.
type Exchanger interface {
	Exchange(ctx context.Context, req exchange.Request) exchange.Result
}

// Pinger is a dependency readiness checks.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Config is everything the HTTP layer needs, wired by main.
type Config struct {
	Log       *zap.Logger
	Verifier  keycloak.TokenVerifier
	Keys      keys.API
	Exchanger Exchanger
	JWKS      jwk.Set
	// JWKSFunc, when set, gives the JWKS at each request instead (signing-key rotation).
	JWKSFunc func() jwk.Set
	// KeyTokenClients are the Keycloak clients Keyward mints key tokens as (the exchange
	// client and the limited-keys client): tokens issued to them came from an API key
	// and may not call the management API.
	KeyTokenClients []string
	// Audience is what management tokens must carry in `aud` (checked by Verifier;
	// named here for the message).
	Audience string
	// Discovery is served at /.well-known/keyward-configuration.
	Discovery Discovery
	// Principals tells service accounts from people; nil trusts the token's claims.
	Principals   exchange.PrincipalChecker
	AdminRole    string
	Audit        *audit.Reader
	Provisioning provisioning.API // admin routes answer 503 without it
	Webhooks     webhooks.API     // webhook routes answer 503 without it
	// TrustedProxies are the peers (CIDRs or addresses) whose X-Forwarded-For is
	// believed; the client is then the right-most untrusted entry. Empty: the peer.
	TrustedProxies []string
	// Metrics, when set, is served at /metrics; HTTPMetrics counts every request.
	Metrics     http.Handler
	HTTPMetrics HTTPMetrics
	Database    Pinger
	Keycloak    Pinger
	// Console serves every path outside /v1/ that no API route takes (the web console,
	// or the page saying it is not configured); nil: those get the API's 404.
	Console http.Handler
	// Leaks handles POST /v1/keys/leaked; nil: the route is not served.
	Leaks LeakService
	// KeyNotifications, when set, is reported by /readyz as key_notifications: down
	// means every exchange reads the store (slower, still correct), not unready.
	KeyNotifications interface{ Trusted() bool }
	Clock            func() time.Time
}

type server struct {
	Config
	openAPIJSON []byte
}

// New builds the gin engine with every route of the API.
func New(cfg Config) *gin.Engine {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.AdminRole == "" {
		cfg.AdminRole = "keyward-admin"
	}
	doc, err := openAPIDocument().MarshalJSON()
	if err != nil {
		panic(err) // a static document: a failure is a programming error caught by tests
	}
	s := &server{Config: cfg, openAPIJSON: doc}
	r := gin.New()
	r.HandleMethodNotAllowed = true
	// The client address is the socket peer unless the peer is a trusted proxy; then
	// gin takes the right-most untrusted X-Forwarded-For entry.
	r.RemoteIPHeaders = []string{"X-Forwarded-For"}
	if err := r.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		panic("handlers: trusted proxies were validated by configuration: " + err.Error())
	}
	r.ContextWithFallback = true
	r.Use(requestIDMiddleware(), accessLog(cfg.Log, cfg.HTTPMetrics), recovery(cfg.Log), limitBody, s.errorMiddleware())
	r.NoRoute(func(c *gin.Context) {
		if cfg.Console != nil && !strings.HasPrefix(c.Request.URL.Path, "/v1/") {
			c.Set(routeKey, "console")
			ctx := reqinfo.With(c.Request.Context(), reqinfo.Info{ClientIP: c.ClientIP(), RequestID: requestID(c)})
			cfg.Console.ServeHTTP(c.Writer, c.Request.WithContext(ctx))
			return
		}
		writeProblem(c, problem{Title: "Not Found", Status: http.StatusNotFound, Detail: "no such route"})
	})
	var staticMethods map[string][]string // set by serve below
	r.NoMethod(func(c *gin.Context) {
		if s.forwardAuthOtherMethod(c) {
			return
		}
		// gin's Allow joins every route the path matches: /v1/keys/leaked would list
		// /v1/keys/:id's methods too.
		if methods, ok := staticMethods[c.Request.URL.Path]; ok {
			c.Header("Allow", strings.Join(methods, ", "))
		}
		writeProblem(c, problem{Title: "Method Not Allowed", Status: http.StatusMethodNotAllowed,
			Detail: "the route does not answer " + c.Request.Method})
	})

	staticMethods = s.serve(r)
	return r
}

// routeKey names the route of a request no API route took.
const routeKey = "route"

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// requestIDMiddleware keeps a well-formed incoming X-Request-ID or makes one.
func requestIDMiddleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-ID")
		if !requestIDPattern.MatchString(id) {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Set("request_id", id)
		c.Header("X-Request-ID", id)
		c.Next()
	}
}

func requestID(c *gin.Context) string { return c.GetString("request_id") }

// accessLog writes one line per request: the path only (never the query, which may be
// searched text) and no header, so no key or token reaches a log.
func accessLog(log *zap.Logger, m HTTPMetrics) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = c.GetString(routeKey) // the console's pages are one route to metrics and logs
		}
		if route == "" {
			route = "unmatched"
		}
		if m != nil {
			m.HTTPRequest(route, c.Request.Method, c.Writer.Status(), time.Since(start))
		}
		fields := []zap.Field{
			zap.String("request_id", requestID(c)),
			zap.String("method", c.Request.Method),
			zap.String("route", route),
			zap.Int("status", c.Writer.Status()),
			zap.Duration("duration", time.Since(start)),
			zap.String("remote_ip", c.ClientIP()),
		}
		if o, ok := c.Get("outcome"); ok {
			fields = append(fields, zap.String("outcome", string(o.(exchange.Outcome))))
		}
		if sub := c.GetString("subject"); sub != "" {
			fields = append(fields, zap.String("subject", sub))
		}
		log.Info("request", fields...)
	}
}

func recovery(log *zap.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if rec := recover(); rec != nil {
				if rec == http.ErrAbortHandler {
					panic(rec) // a stream cut short on purpose: net/http aborts the answer
				}
				log.Error("panic", zap.String("request_id", requestID(c)), zap.Any("panic", rec))
				writeProblem(c, problem{Title: "Internal Server Error", Status: http.StatusInternalServerError,
					Detail: "an internal error occurred; quote request id " + requestID(c)})
			}
		}()
		c.Next()
	}
}

func limitBody(c *gin.Context) {
	// The door never reads a body: a gateway may pass on the Content-Length of an
	// upload it keeps to itself.
	if c.Request.ContentLength > MaxBodyBytes && !isForwardAuth(c.Request.URL.Path) {
		if c.FullPath() == tokenRoute {
			oauthFail(c, http.StatusRequestEntityTooLarge, "invalid_request", "request bodies are limited to 64 KiB")
			return
		}
		writeProblem(c, problem{Title: "Payload Too Large", Status: http.StatusRequestEntityTooLarge,
			Detail: "request bodies are limited to 64 KiB"})
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, MaxBodyBytes)
	c.Next()
}
