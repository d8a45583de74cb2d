// Package console is Keyward's web console: server-rendered pages (html/template,
// embedded) for key owners and admins, logged in with Keycloak (code flow + PKCE as a
// confidential client of its own), with sessions in the store and CSRF-checked forms.
// It calls the same services as the JSON API (keys, provisioning, the audit log) and
// never speaks to Keycloak or SQL itself; it uses no gin.
package console

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/internal/reqinfo"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/keys"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/provisioning"
	"github.com/keyward/keyward/ratelimit"
	"github.com/keyward/keyward/webhooks"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// OIDC is the realm as the console's login client sees it (keycloak.OIDC).
type OIDC interface {
	AuthCodeURL(r keycloak.AuthRequest) string
	EndSessionURL(idTokenHint, redirect string) string
	Exchange(ctx context.Context, code, verifier, redirectURI string) (keycloak.Tokens, error)
	Refresh(ctx context.Context, refreshToken string) (keycloak.Tokens, error)
	Logout(ctx context.Context, refreshToken string) error
	VerifyIDToken(ctx context.Context, raw, nonce string) (keycloak.IDClaims, error)
}

// SessionStore keeps console sessions (models.Store).
type SessionStore interface {
	CreateConsoleSession(ctx context.Context, cs *models.ConsoleSession) error
	ConsoleSessionByHash(ctx context.Context, idHash string) (models.ConsoleSession, error)
	UpdateConsoleSession(ctx context.Context, cs *models.ConsoleSession) error
	DeleteConsoleSession(ctx context.Context, idHash string) error
}

// Config wires the console.
type Config struct {
	Log *zap.Logger
	// URL is where browsers reach the console (no trailing slash): the callback is
	// URL/auth/callback, and form posts must come from its origin.
	URL string
	// KeywardURL is what the "Use this key" snippets name as KEYWARD_URL.
	KeywardURL string
	// KeycloakOrigin is where logout sends the browser (allowed by the CSP's form-action).
	KeycloakOrigin string
	OIDC           OIDC
	Verifier       keycloak.TokenVerifier
	Principals     exchange.PrincipalChecker
	// KeyTokenClients: tokens issued to them came from an API key, never from a login.
	KeyTokenClients []string
	AdminRole       string
	Sessions        SessionStore
	Secrets         Secrets
	Keys            keys.API
	Provisioning    provisioning.API // admin pages answer 503 without it
	Webhooks        webhooks.API     // the webhook pages answer 503 without it
	Audit           *audit.Reader
	SessionIdle     time.Duration
	SessionMax      time.Duration
	// RefreshEvery: the Keycloak tokens of a session are refreshed at least this often
	// (and whenever the access token is about to expire). 0: on every page.
	RefreshEvery time.Duration
	// LoginLimiter bounds, at LoginRate per minute per client address, the logins
	// started: each is a row in the store until it ends or times out. nil or 0: none.
	LoginLimiter ratelimit.Limiter
	LoginRate    int
	Clock        func() time.Time
}

// Console serves the console's pages.
type Console struct {
	cfg    Config
	mux    *http.ServeMux
	pages  map[string]*template.Template
	origin string
	secure bool
}

// New builds the console handler.
func New(cfg Config) (*Console, error) {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Host == "" {
		return nil, errors.New("console: URL must be absolute")
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	c := &Console{cfg: cfg, mux: http.NewServeMux(), pages: pages,
		origin: u.Scheme + "://" + u.Host, secure: u.Scheme == "https"}
	c.routes()
	return c, nil
}

func (c *Console) routes() {
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	c.mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		files.ServeHTTP(w, r)
	}))
	c.mux.HandleFunc("GET /login", c.login)
	c.mux.HandleFunc("GET /auth/callback", c.callback)
	c.mux.HandleFunc("GET /logged-out", c.loggedOut)
	c.mux.HandleFunc("POST /logout", c.user(c.logout))

	c.mux.HandleFunc("GET /{$}", c.user(func(w http.ResponseWriter, r *http.Request, u *viewer) {
		http.Redirect(w, r, "/keys", http.StatusSeeOther)
	}))
	c.mux.HandleFunc("GET /keys", c.user(c.listKeys))
	c.mux.HandleFunc("GET /keys/new", c.user(c.newKey))
	c.mux.HandleFunc("POST /keys", c.user(c.createKey))
	c.mux.HandleFunc("GET /keys/{id}", c.user(c.keyDetail))
	c.mux.HandleFunc("GET /keys/{id}/edit", c.user(c.editKey))
	c.mux.HandleFunc("POST /keys/{id}/edit", c.user(c.updateKey))
	c.mux.HandleFunc("POST /keys/{id}/rotate", c.user(c.rotateKey))
	c.mux.HandleFunc("POST /keys/{id}/enable", c.user(c.enableKey(true)))
	c.mux.HandleFunc("POST /keys/{id}/disable", c.user(c.enableKey(false)))
	c.mux.HandleFunc("GET /keys/{id}/revoke", c.user(c.confirmRevoke))
	c.mux.HandleFunc("POST /keys/{id}/revoke", c.user(c.revokeKey))

	c.mux.HandleFunc("GET /admin/keys", c.admin(c.listAllKeys))
	c.mux.HandleFunc("GET /admin/consumers", c.admin(c.listConsumers))
	c.mux.HandleFunc("POST /admin/consumers", c.admin(c.createConsumer))
	c.mux.HandleFunc("GET /admin/consumers/{id}", c.admin(c.consumerDetail))
	c.mux.HandleFunc("POST /admin/consumers/{id}", c.admin(c.updateConsumer))
	c.mux.HandleFunc("POST /admin/consumers/{id}/clients", c.admin(c.createClient))
	c.mux.HandleFunc("POST /admin/consumers/{id}/keys", c.admin(c.createConsumerKey))
	c.mux.HandleFunc("POST /admin/consumers/{id}/enable", c.admin(c.enableConsumer(true)))
	c.mux.HandleFunc("POST /admin/consumers/{id}/disable", c.admin(c.enableConsumer(false)))
	c.mux.HandleFunc("POST /admin/consumers/{id}/delete", c.admin(c.deleteConsumer))
	c.mux.HandleFunc("GET /admin/clients", c.admin(c.listClients))
	c.mux.HandleFunc("GET /admin/clients/{id}", c.admin(c.clientDetail))
	c.mux.HandleFunc("GET /admin/clients/{id}/confirm/{what}", c.admin(c.confirmClient))
	c.mux.HandleFunc("POST /admin/clients/{id}/secret", c.admin(c.viewSecret))
	c.mux.HandleFunc("POST /admin/clients/{id}/regenerate", c.admin(c.regenerateSecret))
	c.mux.HandleFunc("POST /admin/clients/{id}/enable", c.admin(c.enableClient(true)))
	c.mux.HandleFunc("POST /admin/clients/{id}/disable", c.admin(c.enableClient(false)))
	c.mux.HandleFunc("POST /admin/clients/{id}/delete", c.admin(c.deleteClient))
	c.mux.HandleFunc("POST /admin/clients/{id}/test", c.admin(c.testClient))
	c.mux.HandleFunc("GET /admin/acl-groups", c.admin(c.listACLGroups))
	c.mux.HandleFunc("POST /admin/acl-groups", c.admin(c.createACLGroup))
	c.mux.HandleFunc("POST /admin/acl-groups/{name}/delete", c.admin(c.deleteACLGroup))
	c.mux.HandleFunc("GET /admin/audit", c.admin(c.auditPage))
	c.mux.HandleFunc("GET /admin/webhooks", c.admin(c.webhooksOn(c.listWebhooks)))
	c.mux.HandleFunc("POST /admin/webhooks", c.admin(c.webhooksOn(c.createWebhook)))
	c.mux.HandleFunc("GET /admin/webhooks/{id}", c.admin(c.webhooksOn(c.webhookDetail)))
	c.mux.HandleFunc("POST /admin/webhooks/{id}", c.admin(c.webhooksOn(c.updateWebhook)))
	c.mux.HandleFunc("POST /admin/webhooks/{id}/enable", c.admin(c.webhooksOn(c.enableWebhook(true))))
	c.mux.HandleFunc("POST /admin/webhooks/{id}/disable", c.admin(c.webhooksOn(c.enableWebhook(false))))
	c.mux.HandleFunc("POST /admin/webhooks/{id}/secret", c.admin(c.webhooksOn(c.rotateWebhookSecret)))
	c.mux.HandleFunc("GET /admin/webhooks/{id}/delete", c.admin(c.webhooksOn(c.confirmDeleteWebhook)))
	c.mux.HandleFunc("POST /admin/webhooks/{id}/delete", c.admin(c.webhooksOn(c.deleteWebhook)))
	c.mux.HandleFunc("POST /admin/webhooks/{id}/deliveries/{delivery}/redeliver", c.admin(c.webhooksOn(c.redeliverWebhook)))
}

// ServeHTTP sets the security headers of every answer, checks the origin of every
// state-changing request, and routes.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; form-action 'self' "+c.cfg.KeycloakOrigin+"; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if !c.sameOrigin(r) {
			c.fail(w, r, nil, http.StatusForbidden, "This form was not sent from the console's own pages, so it was refused.")
			return
		}
	}
	if _, pattern := c.mux.Handler(r); pattern == "" {
		c.fail(w, r, nil, http.StatusNotFound, "There is no such page.")
		return
	}
	c.mux.ServeHTTP(w, r)
}

// sameOrigin: the Origin header names the console, or (browsers send "null" under
// Referrer-Policy no-referrer) Sec-Fetch-Site says same-origin. A request with neither
// is not from a browser, which is not what CSRF is about: the token still applies.
func (c *Console) sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin != "" && origin != "null" {
		return origin == c.origin
	}
	site := r.Header.Get("Sec-Fetch-Site")
	return site == "" && origin == "" || site == "same-origin"
}

// actor is the viewer as the audit trail names them.
func actor(r *http.Request, u *viewer) audit.Actor {
	info := reqinfo.From(r.Context())
	return audit.Actor{ID: u.Subject, Name: u.Username, IP: info.ClientIP, RequestID: info.RequestID, Admin: u.Admin}
}

// serviceError shows an error of a service: its kind decides the page, only internal
// errors are logged in full and shown as nothing but the request id.
func (c *Console) serviceError(w http.ResponseWriter, r *http.Request, u *viewer, err error) {
	kind, msg := errs.KindOf(err), errs.MessageOf(err)
	status := errs.HTTPStatus(kind)
	var verr *errs.Validation
	if errors.As(err, &verr) {
		parts := []string{}
		for _, f := range verr.Fields {
			parts = append(parts, f.Field+": "+f.Message)
		}
		msg = strings.Join(parts, "; ")
	}
	switch kind {
	case errs.Internal:
		c.cfg.Log.Error("console: internal error", zap.String("request_id", reqinfo.From(r.Context()).RequestID), zap.Error(err))
		msg = "Something went wrong on our side. Quote request id " + reqinfo.From(r.Context()).RequestID + "."
	case errs.Unavailable:
		c.cfg.Log.Warn("console: dependency unavailable", zap.String("request_id", reqinfo.From(r.Context()).RequestID), zap.Error(err))
		w.Header().Set("Retry-After", "5")
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	c.fail(w, r, u, status, msg)
}

// fail renders the error page.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, u *viewer, status int, msg string) {
	c.render(w, r, u, status, "error.html", http.StatusText(status), map[string]any{"Status": status, "Message": msg})
}
