package middleware

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwt"
)

// Claims are the parts of a Keycloak access token a resource server decides on.
type Claims struct {
	Subject         string              // sub: the user's (or service account's) id
	Username        string              // preferred_username
	Issuer          string              // iss
	Audience        []string            // aud
	AuthorizedParty string              // azp: the client the token was issued to
	Scopes          []string            // scope, split on spaces
	RealmRoles      []string            // realm_access.roles
	ClientRoles     map[string][]string // resource_access.<client>.roles
	ACLGroups       []string            // acl_groups: group names
	ExpiresAt       time.Time           // exp
	// Raw holds every claim, for what the fields above do not cover.
	Raw map[string]any
}

// HasRealmRole reports whether the token carries the realm role.
func (c *Claims) HasRealmRole(role string) bool { return slices.Contains(c.RealmRoles, role) }

// InGroup reports whether acl_groups names the group.
func (c *Claims) InGroup(group string) bool { return slices.Contains(c.ACLGroups, group) }

// HasScope reports whether the token was granted the scope.
func (c *Claims) HasScope(scope string) bool { return slices.Contains(c.Scopes, scope) }

type claimsKey struct{}

// ContextWithClaims returns ctx carrying c: the middleware does this for every request
// it lets through, and handler tests can do it without a token.
func ContextWithClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// ClaimsFromContext returns the claims the middleware verified for this request.
func ClaimsFromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok && c != nil
}

func claimsOf(tok jwt.Token) (*Claims, error) {
	raw, err := tok.AsMap(context.Background())
	if err != nil {
		return nil, refuse("the access token is invalid", fmt.Errorf("claims: %w", err))
	}
	c := &Claims{
		Subject:         tok.Subject(),
		Issuer:          tok.Issuer(),
		Audience:        tok.Audience(),
		ExpiresAt:       tok.Expiration(),
		Username:        str(raw["preferred_username"]),
		AuthorizedParty: str(raw["azp"]),
		Scopes:          strings.Fields(str(raw["scope"])),
		ACLGroups:       strs(raw["acl_groups"]),
		Raw:             raw,
	}
	if ra, ok := raw["realm_access"].(map[string]any); ok {
		c.RealmRoles = strs(ra["roles"])
	}
	if rs, ok := raw["resource_access"].(map[string]any); ok {
		c.ClientRoles = make(map[string][]string, len(rs))
		for client, v := range rs {
			if m, ok := v.(map[string]any); ok {
				c.ClientRoles[client] = strs(m["roles"])
			}
		}
	}
	return c, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// strs reads a JSON array of strings; Keycloak writes a single-valued multivalued
// claim as an array, but a hand-made mapper may write a plain string.
func strs(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
