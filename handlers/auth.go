package handlers

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/keycloak"
)

const callerKey = "caller_claims"

// authenticate requires a Keycloak access token of the realm. Tokens minted for API
// keys (issued to Keyward's own client) are refused: a key never manages keys.
func (s *server) authenticate(c *gin.Context) {
	raw, ok := bearerToken(c.GetHeader("Authorization"))
	if !ok {
		unauthorized(c, "an Authorization: Bearer <Keycloak access token> header is required")
		return
	}
	claims, err := s.Verifier.Verify(c.Request.Context(), raw)
	switch {
	case errors.Is(err, keycloak.ErrUnavailable):
		_ = c.Error(err)
		c.Abort()
		return
	case errors.Is(err, keycloak.ErrWrongAudience):
		unauthorized(c, "the bearer token is not meant for Keyward: its audience (aud) must include "+strconv.Quote(s.Audience)+
			"; log in through a client whose tokens carry that audience (e.g. keyward-cli)")
		return
	case err != nil:
		unauthorized(c, "the bearer token is not a valid, unexpired access token of the realm")
		return
	case slices.Contains(s.KeyTokenClients, claims.AuthParty):
		unauthorized(c, "tokens obtained with an API key cannot call the management API")
		return
	}
	if sa, err := s.isServiceAccount(c, claims); err != nil {
		_ = c.Error(err)
		c.Abort()
		return
	} else if sa {
		writeProblem(c, problem{Title: "Forbidden", Status: http.StatusForbidden,
			Detail: "service-account tokens (client credentials) cannot call the management API: keys belong to people"})
		return
	}
	c.Set(callerKey, claims)
	c.Set("subject", claims.Subject)
	c.Next()
}

// isServiceAccount: a client-credentials token, or a subject that is a client's
// service account (asked of Keycloak, cached there, only for service-account-* names).
func (s *server) isServiceAccount(c *gin.Context, claims keycloak.Claims) (bool, error) {
	if claims.ClientCredentials {
		return true, nil
	}
	if s.Principals == nil {
		return false, nil
	}
	return s.Principals.IsServiceAccount(c.Request.Context(), claims.Subject, claims.Username)
}

func caller(c *gin.Context) keycloak.Claims {
	v, _ := c.Get(callerKey)
	claims, _ := v.(keycloak.Claims)
	return claims
}

func bearerToken(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != "" && len(tok) <= 16<<10
}

func unauthorized(c *gin.Context, detail string) {
	c.Header("WWW-Authenticate", `Bearer realm="keyward"`)
	writeProblem(c, problem{Title: "Unauthorized", Status: http.StatusUnauthorized, Detail: detail})
}

// requireAdmin lets only callers with the admin realm role through.
func (s *server) requireAdmin(c *gin.Context) {
	if !caller(c).HasRealmRole(s.AdminRole) {
		writeProblem(c, problem{Title: "Forbidden", Status: http.StatusForbidden,
			Detail: "this route needs the realm role " + s.AdminRole})
		return
	}
	c.Next()
}

// actor describes the caller for the audit trail.
func (s *server) actor(c *gin.Context) audit.Actor {
	who := caller(c)
	return audit.Actor{
		ID:        who.Subject,
		Name:      who.Username,
		IP:        c.ClientIP(),
		RequestID: requestID(c),
		Admin:     who.HasRealmRole(s.AdminRole),
	}
}
