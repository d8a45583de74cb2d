package keycloak

import (
	"context"
	"encoding/base64"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/Nerzal/gocloak/v13"

	"github.com/keyward/keyward/internal/kctest"
)

// These tests run against the real Keycloak of `make test`.

func newClient(kc *kctest.Env) *Client {
	return New(Config{BaseURL: kc.URL, Realm: kc.Realm, ClientID: kc.ClientID, ClientSecret: kc.ClientSecret, AdminClientID: kc.AdminClientID, AdminClientSecret: kc.AdminClientSecret, Timeout: 10 * time.Second})
}

func newVerifier(t *testing.T, kc *kctest.Env, clock func() time.Time) *Verifier {
	c := newClient(kc)
	v, err := NewVerifier(context.Background(), VerifierConfig{Issuer: c.Issuer(), CertsURL: c.CertsURL(), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerifier_AcceptsRealmAccessToken(t *testing.T) {
	kc := kctest.Require(t)
	v := newVerifier(t, kc, nil)
	claims, err := v.Verify(context.Background(), kc.Login(t, "carol"))
	if err != nil {
		t.Fatalf("a fresh token of the realm was refused: %v", err)
	}
	if claims.Subject != kc.UserID(t, "carol") || claims.Username != "carol" || claims.AuthParty != "keyward-cli" {
		t.Fatalf("claims %+v", claims)
	}
	if !claims.HasRealmRole("keyward-admin") {
		t.Fatalf("carol's token lacks keyward-admin: %v", claims.RealmRoles)
	}
}

func TestVerifier_RefusesForgedAndForeignTokens(t *testing.T) {
	kc := kctest.Require(t)
	v := newVerifier(t, kc, nil)
	good := kc.Login(t, "bob")
	parts := strings.Split(good, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(
		[]byte(strings.Replace(string(payload), `"bob"`, `"carol"`, 1))) + "." + parts[2]
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	hs := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + parts[1] + "." + parts[2]
	master, err := kc.Admin.LoginAdmin(context.Background(), "admin", "admin", "master")
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{
		"tampered payload":    tampered,
		"alg none":            none,
		"hs256 header":        hs,
		"garbage":             "abc.def.ghi",
		"empty":               "",
		"other realm's token": master.AccessToken,
		"truncated signature": good[:len(good)-10],
	} {
		if _, err := v.Verify(context.Background(), tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: err %v, want ErrInvalidToken", name, err)
		}
	}
}

func TestVerifier_RefusesExpiredToken(t *testing.T) {
	kc := kctest.Require(t)
	later := func() time.Time { return time.Now().Add(2 * time.Hour) }
	if _, err := newVerifier(t, kc, later).Verify(context.Background(), kc.Login(t, "bob")); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("expired token: %v", err)
	}
}

func TestJWTBearerGrant_RefusedAssertion_InvalidGrant(t *testing.T) {
	kc := kctest.Require(t)
	_, err := newClient(kc).JWTBearerGrant(context.Background(), "not.a.jwt", "")
	if !errors.Is(err, ErrInvalidGrant) {
		t.Fatalf("err %v, want ErrInvalidGrant", err)
	}
	if strings.Contains(err.Error(), "not.a.jwt") {
		t.Fatal("the error repeats the assertion")
	}
}

func TestClient_KeycloakUnreachable_ErrUnavailable(t *testing.T) {
	kctest.Require(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	c := New(Config{BaseURL: dead, Realm: "keyward", ClientID: "keyward", ClientSecret: "x", Timeout: 2 * time.Second})
	if _, err := c.JWTBearerGrant(context.Background(), "a.b.c", ""); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("grant: %v", err)
	}
	if err := c.Ping(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("ping: %v", err)
	}
	if err := c.EnsureFederatedLink(context.Background(), "u", "n", "keyward", "u"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("link: %v", err)
	}
}

func TestEnsureFederatedLink_Idempotent(t *testing.T) {
	kc := kctest.Require(t)
	c := newClient(kc)
	// A throw-away user: a link is a change to the user, and bob is shared with the
	// tests of other packages that run at the same time.
	bob, name := kc.TempUser(t, "kw-link")
	for i := 0; i < 2; i++ {
		if err := c.EnsureFederatedLink(context.Background(), bob, name, "keyward", bob); err != nil {
			t.Fatalf("link #%d: %v", i+1, err)
		}
	}
	links, err := kc.Admin.GetUserFederatedIdentities(context.Background(), kc.AdminToken(t), kc.Realm, bob)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range links {
		if gocloak.PString(l.IdentityProvider) == "keyward" {
			n++
			if gocloak.PString(l.UserID) != bob {
				t.Fatalf("linked under %q", gocloak.PString(l.UserID))
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d links to keyward", n)
	}
	if err := c.EnsureFederatedLink(context.Background(), "00000000-0000-0000-0000-000000000000", "ghost", "keyward", "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	if err := c.Ping(context.Background()); err != nil {
		t.Fatalf("ping: %v", err)
	}
}
