package keycloak

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/Nerzal/gocloak/v13"

	"github.com/keyward/keyward/internal/kctest"
)

// The console's login client against the real Keycloak; the code flow itself runs in
// a browser in cmd/keyward/console_e2e_test.go.

func TestOIDC_AuthCodeURL_AtIssuerWithPKCE(t *testing.T) {
	kc := kctest.Require(t)
	o := newClient(kc).OIDC("keyward-console", "keyward-console-dev-secret", newVerifier(t, kc, nil))
	u, err := url.Parse(o.AuthCodeURL(AuthRequest{RedirectURI: "http://127.0.0.1:1/auth/callback", State: "s", Nonce: "n", CodeChallenge: "c"}))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme+"://"+u.Host+u.Path != kc.Issuer()+"/protocol/openid-connect/auth" || q.Get("code_challenge_method") != "S256" ||
		q.Get("state") != "s" || q.Get("nonce") != "n" || q.Get("client_id") != "keyward-console" || !strings.Contains(q.Get("scope"), "openid") {
		t.Fatalf("authorization URL %s", u)
	}
}

func TestOIDC_BadCodeOrRefreshToken_InvalidGrant(t *testing.T) {
	kc := kctest.Require(t)
	ctx := context.Background()
	o := newClient(kc).OIDC("keyward-console", "keyward-console-dev-secret", newVerifier(t, kc, nil))
	if _, err := o.Exchange(ctx, "not-a-code", "verifier", "http://127.0.0.1:1/auth/callback"); !errors.Is(err, ErrInvalidGrant) {
		t.Fatalf("a made-up code: %v", err)
	}
	if _, err := o.Refresh(ctx, "not-a-refresh-token"); !errors.Is(err, ErrInvalidGrant) {
		t.Fatalf("a made-up refresh token: %v", err)
	}
	wrong := newClient(kc).OIDC("keyward-console", "wrong-secret", newVerifier(t, kc, nil))
	if _, err := wrong.Refresh(ctx, "x"); err == nil || errors.Is(err, ErrInvalidGrant) {
		t.Fatalf("a wrong client secret must be Keyward's misconfiguration, not the user's: %v", err)
	}
}

func TestOIDC_VerifyIDToken_RefusesOtherClientsAccessTokensAndNonces(t *testing.T) {
	kc := kctest.Require(t)
	ctx := context.Background()
	jwt, err := kc.Admin.GetToken(ctx, kc.Realm, gocloak.TokenOptions{ClientID: gocloak.StringP("keyward-cli"),
		GrantType: gocloak.StringP("password"), Username: gocloak.StringP("alice"), Password: gocloak.StringP("alice"),
		Scopes: &[]string{"openid"}})
	if err != nil || jwt.IDToken == "" {
		t.Fatalf("login: %v", err)
	}
	v := newVerifier(t, kc, nil)
	console := newClient(kc).OIDC("keyward-console", "keyward-console-dev-secret", v)
	if _, err := console.VerifyIDToken(ctx, jwt.IDToken, "any"); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("another client's ID token: %v", err)
	}
	cli := newClient(kc).OIDC("keyward-cli", "", v)
	if _, err := cli.VerifyIDToken(ctx, jwt.AccessToken, ""); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("an access token as ID token: %v", err)
	}
	if _, err := cli.VerifyIDToken(ctx, jwt.IDToken, "a-nonce-it-does-not-carry"); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("a nonce mismatch: %v", err)
	}
	// The refresh of a real session works, and the logout ends it.
	fresh, err := cli.Refresh(ctx, jwt.RefreshToken)
	if err != nil || fresh.AccessToken == "" {
		t.Fatalf("refresh: %v", err)
	}
	if err := cli.Logout(ctx, fresh.RefreshToken); err != nil {
		t.Fatalf("logout: %v", err)
	}
	if _, err := cli.Refresh(ctx, fresh.RefreshToken); !errors.Is(err, ErrInvalidGrant) {
		t.Fatalf("refresh after logout: %v", err)
	}
}
