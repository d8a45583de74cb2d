package middleware

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// Option adds a requirement on the verified token; a request missing one gets 403.
// Several options must all hold.
type Option func(*requirements)

type requirement struct {
	met    func(*Claims) bool
	detail string // says what is missing
	scope  string // for WWW-Authenticate's scope attribute, when a scope is missing
}

type requirements []requirement

// RequireRealmRole lets through only tokens carrying the realm role.
func RequireRealmRole(role string) Option {
	return func(r *requirements) {
		*r = append(*r, requirement{
			met:    func(c *Claims) bool { return c.HasRealmRole(role) },
			detail: "this resource requires the realm role " + role,
		})
	}
}

// RequireGroup lets through only tokens whose acl_groups names the group.
func RequireGroup(group string) Option {
	return func(r *requirements) {
		*r = append(*r, requirement{
			met:    func(c *Claims) bool { return c.InGroup(group) },
			detail: "this resource requires the ACL group " + group,
		})
	}
}

// RequireScope lets through only tokens granted the scope.
func RequireScope(scope string) Option {
	return func(r *requirements) {
		*r = append(*r, requirement{
			met:    func(c *Claims) bool { return c.HasScope(scope) },
			detail: "this resource requires the scope " + scope,
			scope:  scope,
		})
	}
}

// Middleware returns net/http middleware that lets a request through only with a valid
// bearer access token meeting opts, with the claims in its context (ClaimsFromContext).
// Otherwise it answers 401 (no or invalid token), 403 (a requirement is not met) or 503
// (the realm's keys cannot be fetched), as problem+json.
func (v *Verifier) Middleware(opts ...Option) func(http.Handler) http.Handler {
	var reqs requirements
	for _, o := range opts {
		o(&reqs)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw, present := bearerToken(r)
			if !present {
				// RFC 6750 §3.1: no error code when the request carried no token at all.
				v.deny(w, http.StatusUnauthorized, "", "a bearer access token is required", "")
				return
			}
			if raw == "" {
				v.deny(w, http.StatusUnauthorized, "invalid_token", "the bearer token is empty", "")
				return
			}
			claims, err := v.Verify(r.Context(), raw)
			var terr *tokenError
			switch {
			case errors.As(err, &terr):
				v.deny(w, http.StatusUnauthorized, "invalid_token", terr.description, "")
				return
			case err != nil: // ErrUnavailable: not the caller's fault, and maybe brief
				w.Header().Set("Retry-After", "5")
				writeProblem(w, http.StatusServiceUnavailable, "the access token cannot be verified now; try again shortly")
				return
			}
			for _, req := range reqs {
				if !req.met(claims) {
					v.deny(w, http.StatusForbidden, "insufficient_scope", req.detail, req.scope)
					return
				}
			}
			next.ServeHTTP(w, r.WithContext(ContextWithClaims(r.Context(), claims)))
		})
	}
}

// bearerToken reads `Authorization: Bearer <token>`; present is false when the request
// carries no bearer credentials (no header, or another scheme).
func bearerToken(r *http.Request) (token string, present bool) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(rest), true
}

// deny answers 401 or 403 with an RFC 6750 challenge and a problem document, both
// saying why (description).
func (v *Verifier) deny(w http.ResponseWriter, status int, code, description, scope string) {
	challenge := `Bearer realm="` + quote(v.realm) + `"`
	if code != "" {
		challenge += `, error="` + code + `", error_description="` + quote(description) + `"`
	}
	if scope != "" {
		challenge += `, scope="` + quote(scope) + `"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	writeProblem(w, status, description)
}

// quote keeps a value inside its quoted-string (RFC 9110 §5.6.4).
func quote(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", "", "\n", "").Replace(s)
}

// problem is an RFC 9457 problem document.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
}

func writeProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail})
}
