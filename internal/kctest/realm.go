package kctest

// Throw-away realm objects for tests that try the trust boundaries: clients, groups
// and role grants, each removed when the test ends.

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/Nerzal/gocloak/v13"
)

// Unique returns prefix with a random suffix.
func Unique(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%x", prefix, b)
}

// TempClient creates a client of the realm from rep; it returns Keycloak's id.
func (e *Env) TempClient(t testing.TB, rep gocloak.Client) string {
	t.Helper()
	id, err := e.Admin.CreateClient(ctx(t), e.AdminToken(t), e.Realm, rep)
	if err != nil {
		t.Fatalf("create client %s: %v", gocloak.PString(rep.ClientID), err)
	}
	e.adminCleanup(t, func(c context.Context, admin string) { _ = e.Admin.DeleteClient(c, admin, e.Realm, id) })
	return id
}

// ClientRole reads a role of the client named clientID.
func (e *Env) ClientRole(t testing.TB, clientID, role string) (string, gocloak.Role) {
	t.Helper()
	id := e.ClientUUID(t, clientID)
	r, err := e.Admin.GetClientRole(ctx(t), e.AdminToken(t), e.Realm, id, role)
	if err != nil {
		t.Fatalf("client role %s:%s: %v", clientID, role, err)
	}
	return id, *r
}

// GrantClientRole gives a user a client role directly.
func (e *Env) GrantClientRole(t testing.TB, userID, clientID, role string) {
	t.Helper()
	id, r := e.ClientRole(t, clientID, role)
	if err := e.Admin.AddClientRolesToUser(ctx(t), e.AdminToken(t), e.Realm, id, userID, []gocloak.Role{r}); err != nil {
		t.Fatalf("grant %s:%s: %v", clientID, role, err)
	}
}

// AddToGroup makes the user a member of the group.
func (e *Env) AddToGroup(t testing.TB, userID, groupID string) {
	t.Helper()
	if err := e.Admin.AddUserToGroup(ctx(t), e.AdminToken(t), e.Realm, userID, groupID); err != nil {
		t.Fatalf("add to group: %v", err)
	}
}

// LoginVia returns a user's access token from another public client of the realm
// (password grant; password = username as TempUser sets it).
func (e *Env) LoginVia(t testing.TB, clientID, username string) string {
	t.Helper()
	jwt, err := e.Admin.GetToken(ctx(t), e.Realm, gocloak.TokenOptions{
		ClientID: gocloak.StringP(clientID), GrantType: gocloak.StringP("password"),
		Username: gocloak.StringP(username), Password: gocloak.StringP(username),
	})
	if err != nil {
		t.Fatalf("login as %s via %s: %v", username, clientID, err)
	}
	return jwt.AccessToken
}

// ClientCredentials returns a client's own service-account token.
func (e *Env) ClientCredentials(t testing.TB, clientID, secret string) string {
	t.Helper()
	jwt, err := e.Admin.LoginClient(ctx(t), clientID, secret, e.Realm)
	if err != nil {
		t.Fatalf("client credentials of %s: %v", clientID, err)
	}
	return jwt.AccessToken
}

// AudienceMapper adds aud to a client's tokens.
func AudienceMapper(aud string) gocloak.ProtocolMapperRepresentation {
	return gocloak.ProtocolMapperRepresentation{
		Name: gocloak.StringP(aud + " audience"), Protocol: gocloak.StringP("openid-connect"),
		ProtocolMapper: gocloak.StringP("oidc-audience-mapper"),
		Config:         &map[string]string{"included.client.audience": aud, "access.token.claim": "true"},
	}
}
