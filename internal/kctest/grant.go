package kctest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/Nerzal/gocloak/v13"
)

// GrantTrust is a throw-away JWT Authorization Grant set-up: an identity provider
// that trusts the assertions of Issuer checked against JWKSURL, and a confidential
// client whose grant is enabled for it. Tests whose Keyward replicas sign with keys
// of their own (rotation, several replicas) point Keycloak at them with it, rather
// than at the shared Keyward.
type GrantTrust struct {
	Alias, ClientID, ClientSecret string
}

// TempGrantTrust creates the identity provider and the client; both are removed when
// the test ends.
func (e *Env) TempGrantTrust(t testing.TB, issuer, jwksURL string) GrantTrust {
	t.Helper()
	g := GrantTrust{Alias: Unique("kw-idp"), ClientID: Unique("kw-exchange"), ClientSecret: Unique("secret")}
	_, err := e.Admin.CreateIdentityProvider(ctx(t), e.AdminToken(t), e.Realm, grantProvider(g.Alias, issuer, jwksURL))
	if err != nil {
		t.Fatalf("create identity provider %s: %v", g.Alias, err)
	}
	e.adminCleanup(t, func(c context.Context, admin string) { _ = e.Admin.DeleteIdentityProvider(c, admin, e.Realm, g.Alias) })
	e.TempClient(t, gocloak.Client{
		ClientID: gocloak.StringP(g.ClientID), Enabled: gocloak.BoolP(true), Protocol: gocloak.StringP("openid-connect"),
		PublicClient: gocloak.BoolP(false), ClientAuthenticatorType: gocloak.StringP("client-secret"),
		Secret: gocloak.StringP(g.ClientSecret), FullScopeAllowed: gocloak.BoolP(false),
		StandardFlowEnabled: gocloak.BoolP(false), DirectAccessGrantsEnabled: gocloak.BoolP(false),
		ServiceAccountsEnabled: gocloak.BoolP(false),
		Attributes: &map[string]string{
			"oauth2.jwt.authorization.grant.enabled": "true", "oauth2.jwt.authorization.grant.idp": g.Alias,
		},
	})
	return g
}

// ServeJWKS serves a JWKS on 127.0.0.1 (where the test stack's Keycloak reaches it) at
// /.well-known/jwks.json, as Keyward serves its own: keys() is marshalled to JSON on
// every fetch. It returns the JWKS URL; the server stops when the test ends.
func ServeJWKS(t testing.TB, keys func() any) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/jwks.json" {
			http.NotFound(w, r)
			return
		}
		body, err := json.Marshal(keys())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/.well-known/jwks.json"
}

// DeleteClientAtEnd deletes the realm's client named clientID when the test ends, if
// there is one: for clients that the code under test creates.
func (e *Env) DeleteClientAtEnd(t testing.TB, clientID string) {
	t.Helper()
	e.adminCleanup(t, func(c context.Context, admin string) {
		list, err := e.Admin.GetClients(c, admin, e.Realm, gocloak.GetClientsParams{ClientID: gocloak.StringP(clientID)})
		if err != nil {
			return
		}
		for _, cl := range list {
			if gocloak.PString(cl.ClientID) == clientID {
				_ = e.Admin.DeleteClient(c, admin, e.Realm, *cl.ID)
			}
		}
	})
}

// grantProvider is a JWT Authorization Grant identity provider trusting the assertions
// of issuer, signed by the keys at jwksURL, as the dev realm's `keyward` provider does.
func grantProvider(alias, issuer, jwksURL string) gocloak.IdentityProviderRepresentation {
	return gocloak.IdentityProviderRepresentation{
		Alias: gocloak.StringP(alias), ProviderID: gocloak.StringP("jwt-authorization-grant"),
		Enabled: gocloak.BoolP(true), TrustEmail: gocloak.BoolP(false),
		StoreToken: gocloak.BoolP(false), AddReadTokenRoleOnCreate: gocloak.BoolP(false), LinkOnly: gocloak.BoolP(false),
		Config: &map[string]string{
			"issuer": issuer, "jwksUrl": jwksURL, "useJwksUrl": "true",
			"jwtAuthorizationGrantEnabled":                       "true",
			"jwtAuthorizationGrantAssertionReuseAllowed":         "false",
			"jwtAuthorizationGrantMaxAllowedAssertionExpiration": "300",
			"jwtAuthorizationGrantAllowedClockSkew":              "10",
			"jwtAuthorizationGrantAssertionSignatureAlg":         "ES256",
			"jwtAuthorizationGrantLimitAccessTokenExp":           "false",
		},
	}
}
