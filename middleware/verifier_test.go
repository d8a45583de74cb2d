package middleware

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

func TestVerify_ValidToken_ClaimsRead(t *testing.T) {
	realm := newFakeRealm(t)
	v := newTestVerifier(t, Config{Issuer: realm.issuer, Audience: "demo-api"})
	c, err := v.Verify(t.Context(), realm.sign(t, "rsa-1", realm.claims(time.Now())))
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "5b1f2b8e-alice" || c.Username != "alice" || c.AuthorizedParty != "keyward" || c.Issuer != realm.issuer {
		t.Errorf("identity claims: %+v", c)
	}
	if !slices.Equal(c.ACLGroups, []string{"analytics", "engineering"}) || !c.InGroup("engineering") || c.InGroup("finance") {
		t.Errorf("acl_groups: %v", c.ACLGroups)
	}
	if !c.HasRealmRole("offline_access") || c.HasRealmRole("keyward-admin") {
		t.Errorf("realm roles: %v", c.RealmRoles)
	}
	if !c.HasScope("email") || c.HasScope("admin") || len(c.Scopes) != 3 {
		t.Errorf("scopes: %v", c.Scopes)
	}
	if !slices.Equal(c.ClientRoles["account"], []string{"view-profile"}) || !slices.Contains(c.Audience, "demo-api") {
		t.Errorf("client roles %v, audience %v", c.ClientRoles, c.Audience)
	}
	if c.ExpiresAt.IsZero() || c.Raw["typ"] != "Bearer" {
		t.Errorf("exp %v, raw typ %v", c.ExpiresAt, c.Raw["typ"])
	}
}

func TestVerify_ECKeyAccepted(t *testing.T) {
	realm := newFakeRealm(t)
	realm.addECKey(t, "ec-1")
	v := newTestVerifier(t, Config{Issuer: realm.issuer})
	if _, err := v.Verify(t.Context(), realm.sign(t, "ec-1", realm.claims(time.Now()))); err != nil {
		t.Fatal(err)
	}
}

func TestVerify_ExpiryWithinLeeway_Accepted(t *testing.T) {
	realm := newFakeRealm(t)
	v := newTestVerifier(t, Config{Issuer: realm.issuer, Leeway: 30 * time.Second})
	claims := realm.claims(time.Now())
	claims["exp"] = time.Now().Add(-10 * time.Second).Unix()
	if _, err := v.Verify(t.Context(), realm.sign(t, "rsa-1", claims)); err != nil {
		t.Fatalf("a token 10 s past exp, within a 30 s leeway: %v", err)
	}
}

func TestVerify_RefusedTokens(t *testing.T) {
	realm := newFakeRealm(t)
	realm.addKey(t, "enc-1", mustRSA(t), jwa.RS256, "enc")
	now := time.Now()
	good := realm.sign(t, "rsa-1", realm.claims(now))
	rsaPub := realm.publicKey(t, "rsa-1")
	var pub rsa.PublicKey
	if err := rsaPub.Raw(&pub); err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&pub)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	jwkJSON, err := json.Marshal(rsaPub)
	if err != nil {
		t.Fatal(err)
	}

	with := func(change func(map[string]any)) map[string]any {
		c := realm.claims(now)
		change(c)
		return c
	}
	foreign, _ := jwk.FromRaw(mustRSA(t))
	foreign.Set(jwk.KeyIDKey, "rsa-1") // claims to be the realm's key
	foreign.Set(jwk.AlgorithmKey, jwa.RS256)

	cases := []struct {
		name     string
		token    string
		audience string
		wantDesc string
	}{
		{"expired beyond the leeway", realm.sign(t, "rsa-1", with(func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() })), "", "the access token has expired"},
		{"not valid yet", realm.sign(t, "rsa-1", with(func(c map[string]any) { c["nbf"] = now.Add(time.Minute).Unix() })), "", "the access token is not valid yet"},
		{"issued in the future", realm.sign(t, "rsa-1", with(func(c map[string]any) { c["iat"] = now.Add(time.Hour).Unix() })), "", "the access token is not valid yet"},
		{"no exp", realm.sign(t, "rsa-1", with(func(c map[string]any) { delete(c, "exp") })), "", "the access token is invalid"},
		{"signed by the realm's key, other issuer", realm.sign(t, "rsa-1", with(func(c map[string]any) { c["iss"] = "https://evil.example/realms/test" })), "", "the access token was issued by another issuer"},
		{"other audience", good, "billing-api", "the access token is not meant for this API"},
		{"an ID token", realm.sign(t, "rsa-1", with(func(c map[string]any) { c["typ"] = "ID" })), "", "the token is not an access token"},
		{"tampered claims", withPayload(t, good, with(func(c map[string]any) { c["acl_groups"] = []any{"finance"} })), "", "the access token is invalid"},
		{"signature stripped", strings.Join(strings.Split(good, ".")[:2], ".") + ".", "", "the access token is invalid"},
		{"alg none", handMade(t, map[string]any{"alg": "none", "kid": "rsa-1", "typ": "JWT"}, realm.claims(now), nil), "", "the access token is invalid"},
		{"HS256 keyed with the public key PEM", handMade(t, map[string]any{"alg": "HS256", "kid": "rsa-1"}, realm.claims(now), hs256With(pemBytes)), "", "the access token is invalid"},
		{"HS256 keyed with the public key DER", handMade(t, map[string]any{"alg": "HS256", "kid": "rsa-1"}, realm.claims(now), hs256With(der)), "", "the access token is invalid"},
		{"HS256 keyed with the public JWK", handMade(t, map[string]any{"alg": "HS256", "kid": "rsa-1"}, realm.claims(now), hs256With(jwkJSON)), "", "the access token is invalid"},
		{"another key under the realm's kid", signWith(t, foreign, realm.claims(now)), "", "the access token is invalid"},
		{"unknown kid", handMade(t, map[string]any{"alg": "RS256", "kid": "nope"}, realm.claims(now), func([]byte) []byte { return []byte("x") }), "", "the access token is invalid"},
		{"no kid", handMade(t, map[string]any{"alg": "RS256"}, realm.claims(now), func([]byte) []byte { return []byte("x") }), "", "the access token is invalid"},
		{"an encryption key's kid", realm.sign(t, "enc-1", realm.claims(now)), "", "the access token is invalid"},
		{"header alg other than the key's", handMade(t, map[string]any{"alg": "PS256", "kid": "rsa-1"}, realm.claims(now), func([]byte) []byte { return []byte("x") }), "", "the access token is invalid"},
		{"not a JWT", "kw_live_notajwt", "", "the access token is not a JWT"},
		{"JSON garbage", "a.b.c", "", "the access token is not a JWT"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newTestVerifier(t, Config{Issuer: realm.issuer, Audience: tc.audience})
			c, err := v.Verify(t.Context(), tc.token)
			if err == nil {
				t.Fatalf("accepted, claims %+v", c)
			}
			var terr *tokenError
			if !errors.Is(err, ErrInvalidToken) || errors.Is(err, ErrUnavailable) || !errors.As(err, &terr) {
				t.Fatalf("err = %v, want ErrInvalidToken only", err)
			}
			if terr.description != tc.wantDesc {
				t.Errorf("description %q, want %q (err: %v)", terr.description, tc.wantDesc, err)
			}
			if len(tc.token) > 20 && strings.Contains(err.Error(), tc.token[len(tc.token)-20:]) {
				t.Errorf("error text contains the token: %v", err)
			}
		})
	}
}

func TestVerify_RotatedKey_FetchedOnUnknownKid(t *testing.T) {
	realm, clk, v := newClockedVerifier(t)
	if _, err := v.Verify(t.Context(), realm.sign(t, "rsa-1", realm.claims(clk.now()))); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(t.Context(), realm.sign(t, "rsa-1", realm.claims(clk.now()))); err != nil {
		t.Fatal(err)
	}
	wantJWKSHits(t, realm, 1, " for two tokens of one key (cached)")
	clk.advance(minRefetch)
	realm.addRSAKey(t, "rsa-2")
	if _, err := v.Verify(t.Context(), realm.sign(t, "rsa-2", realm.claims(clk.now()))); err != nil {
		t.Fatalf("token of the new key: %v", err)
	}
	wantJWKSHits(t, realm, 2, " (refetched once for the new kid)")
}

func TestVerify_ForgedKids_RefetchAtMostOncePerInterval(t *testing.T) {
	realm, clk, v := newClockedVerifier(t)
	forge := func(kid string) string {
		return handMade(t, map[string]any{"alg": "RS256", "kid": kid}, realm.claims(clk.now()), func([]byte) []byte { return []byte("x") })
	}
	for i := range 20 {
		if _, err := v.Verify(t.Context(), forge("forged-"+string(rune('a'+i)))); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("forged kid: %v", err)
		}
	}
	if n := realm.jwksHits.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times for 20 forged kids within %v, want 1", n, minRefetch)
	}
	clk.advance(minRefetch)
	v.Verify(t.Context(), forge("forged-later"))
	wantJWKSHits(t, realm, 2, " after the interval")
}

func TestVerify_KeyDroppedByRealm_RefusedOnceKeysAreRefreshed(t *testing.T) {
	realm, clk, v := newClockedVerifier(t)
	token := realm.tokenUntil(t, "rsa-1", clk.now(), clk.now().Add(3*time.Hour)) // outlives the key cache
	if _, err := v.Verify(t.Context(), token); err != nil {
		t.Fatal(err)
	}
	realm.addRSAKey(t, "rsa-2")
	realm.unpublish("rsa-1")
	clk.advance(keysMaxAge + time.Second)
	if _, err := v.Verify(t.Context(), token); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("token of a dropped key after the cache aged: %v, want ErrInvalidToken", err)
	}
}

func TestVerify_RealmUnreachable_UnavailableThenRecovers(t *testing.T) {
	realm, clk, v := newClockedVerifier(t)
	realm.down.Store(true)
	token := realm.sign(t, "rsa-1", realm.claims(clk.now()))
	if _, err := v.Verify(t.Context(), token); !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrInvalidToken) {
		t.Fatalf("realm down: %v, want ErrUnavailable", err)
	}
	realm.down.Store(false)
	// Within the interval the last failure stands without a new attempt.
	if _, err := v.Verify(t.Context(), token); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("right after the failure: %v, want ErrUnavailable", err)
	}
	clk.advance(minRefetch)
	if _, err := v.Verify(t.Context(), token); err != nil {
		t.Fatalf("realm back: %v", err)
	}
}

func TestVerify_RealmDownAfterKeysFetched_KnownKeysStillServe(t *testing.T) {
	realm, clk, v := newClockedVerifier(t)
	token := realm.tokenUntil(t, "rsa-1", clk.now(), clk.now().Add(3*time.Hour))
	if _, err := v.Verify(t.Context(), token); err != nil {
		t.Fatal(err)
	}
	realm.down.Store(true)
	clk.advance(keysMaxAge + time.Second) // a refresh is due, and fails
	if _, err := v.Verify(t.Context(), token); err != nil {
		t.Fatalf("known key while the realm is down: %v", err)
	}
}

func TestVerify_DiscoveryNamesAnotherIssuer_Unavailable(t *testing.T) {
	realm := newFakeRealm(t)
	realm.discoveryIssuer = "https://evil.example/realms/test"
	v := newTestVerifier(t, Config{Issuer: realm.issuer})
	_, err := v.Verify(t.Context(), realm.sign(t, "rsa-1", realm.claims(time.Now())))
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "evil.example") {
		t.Fatalf("err = %v, want ErrUnavailable naming the discovered issuer", err)
	}
	if realm.jwksHits.Load() != 0 {
		t.Fatal("keys fetched from a discovery document of another issuer")
	}
}

func TestNewVerifier_RefusesBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{Issuer: "sso.example.com/realms/x"},
		{Issuer: "ftp://sso.example.com/realms/x"},
		{Issuer: "https://sso.example.com/realms/x", Leeway: -time.Second},
	} {
		if _, err := NewVerifier(cfg); err == nil {
			t.Errorf("NewVerifier(%+v) succeeded", cfg)
		}
	}
}

func mustRSA(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Every algorithm of the list shared with Keyward's own verifier (internal/jwtalg)
// verifies, with a key of its type.
func TestVerify_EveryAcceptedAlgorithm_Verifies(t *testing.T) {
	realm := newFakeRealm(t)
	rsaKey := mustRSA(t)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecKey := func(c elliptic.Curve) *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	for alg, priv := range map[jwa.SignatureAlgorithm]any{
		jwa.RS256: rsaKey, jwa.RS384: rsaKey, jwa.RS512: rsaKey,
		jwa.PS256: rsaKey, jwa.PS384: rsaKey, jwa.PS512: rsaKey,
		jwa.ES256: ecKey(elliptic.P256()), jwa.ES384: ecKey(elliptic.P384()), jwa.ES512: ecKey(elliptic.P521()),
		jwa.EdDSA: edKey,
	} {
		realm.addKey(t, "k-"+alg.String(), priv, alg, "sig")
	}
	v := newTestVerifier(t, Config{Issuer: realm.issuer})
	for _, alg := range []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"} {
		if _, err := v.Verify(t.Context(), realm.sign(t, "k-"+alg, realm.claims(time.Now()))); err != nil {
			t.Errorf("%s: %v", alg, err)
		}
	}
}

// An HMAC key, even one the realm published itself, never verifies a token: its
// secret is in the JWKS for anyone to read.
func TestVerify_SymmetricKeyInTheJWKS_Refused(t *testing.T) {
	realm := newFakeRealm(t)
	realm.addKey(t, "oct-1", []byte(strings.Repeat("s", 32)), jwa.HS256, "sig")
	v := newTestVerifier(t, Config{Issuer: realm.issuer})
	_, err := v.Verify(t.Context(), realm.sign(t, "oct-1", realm.claims(time.Now())))
	if !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("an HS256 token under the realm's published HMAC key: %v, want ErrInvalidToken", err)
	}
}
