package middleware

// Integration tests on the real Keycloak that `make test` starts (dev realm). They read
// the environment directly rather than through Keyward's test helpers: this package
// must not depend on anything of Keyward, its tests included.

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

type keycloak struct {
	url, realm string
}

// requireKeycloak skips without a Keycloak, or fails when KEYWARD_REQUIRE_INTEGRATION=1.
func requireKeycloak(t *testing.T) keycloak {
	t.Helper()
	u := os.Getenv("KEYWARD_TEST_KEYCLOAK_URL")
	if u == "" {
		if os.Getenv("KEYWARD_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("KEYWARD_TEST_KEYCLOAK_URL is not set but integration tests are required: run `make test`")
		}
		t.Skip("no Keycloak: set KEYWARD_TEST_KEYCLOAK_URL or run `make test`")
	}
	realm := os.Getenv("KEYWARD_TEST_REALM")
	if realm == "" {
		realm = "keyward"
	}
	return keycloak{url: strings.TrimRight(u, "/"), realm: realm}
}

func (k keycloak) issuer() string { return k.url + "/realms/" + k.realm }

// tokens logs a user in with the password grant and returns the token response.
func (k keycloak) tokens(t *testing.T, realm, clientID, user, password, scope string) map[string]any {
	t.Helper()
	form := url.Values{"grant_type": {"password"}, "client_id": {clientID}, "username": {user}, "password": {password}}
	if scope != "" {
		form.Set("scope", scope)
	}
	resp, err := http.PostForm(k.url+"/realms/"+realm+"/protocol/openid-connect/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("login %s@%s: HTTP %d %v %v", user, realm, resp.StatusCode, out["error"], err)
	}
	return out
}

// login returns a dev user's access token from the public client keyward-cli.
func (k keycloak) login(t *testing.T, user string) string {
	t.Helper()
	return k.tokens(t, k.realm, "keyward-cli", user, user, "")["access_token"].(string)
}

func TestKeycloak_UserToken_VerifiedWithItsClaims(t *testing.T) {
	kc := requireKeycloak(t)
	v := newTestVerifier(t, Config{Issuer: kc.issuer(), Audience: "demo-api"})
	c, err := v.Verify(t.Context(), kc.login(t, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Username != "alice" || c.Subject == "" || c.Issuer != kc.issuer() || c.AuthorizedParty != "keyward-cli" {
		t.Errorf("identity: sub %q username %q iss %q azp %q", c.Subject, c.Username, c.Issuer, c.AuthorizedParty)
	}
	slices.Sort(c.ACLGroups)
	if !slices.Equal(c.ACLGroups, []string{"analytics", "engineering"}) {
		t.Errorf("acl_groups %v", c.ACLGroups)
	}
	if !slices.Contains(c.Audience, "demo-api") || len(c.Scopes) == 0 || len(c.RealmRoles) == 0 {
		t.Errorf("aud %v scopes %v roles %v", c.Audience, c.Scopes, c.RealmRoles)
	}
	if left := time.Until(c.ExpiresAt); left <= 0 || left > time.Hour {
		t.Errorf("exp in %v", left)
	}
}

func TestKeycloak_Requirements_PerUser(t *testing.T) {
	kc := requireKeycloak(t)
	v := newTestVerifier(t, Config{Issuer: kc.issuer(), Audience: "demo-api"})
	alice, bob, carol := kc.login(t, "alice"), kc.login(t, "bob"), kc.login(t, "carol")
	cases := []struct {
		name   string
		token  string
		opts   []Option
		status int
	}{
		{"alice, any valid token", alice, nil, http.StatusOK},
		{"alice in engineering", alice, []Option{RequireGroup("engineering")}, http.StatusOK},
		{"bob not in engineering", bob, []Option{RequireGroup("engineering")}, http.StatusForbidden},
		{"bob in finance", bob, []Option{RequireGroup("finance")}, http.StatusOK},
		{"carol has keyward-admin", carol, []Option{RequireRealmRole("keyward-admin")}, http.StatusOK},
		{"alice has not keyward-admin", alice, []Option{RequireRealmRole("keyward-admin")}, http.StatusForbidden},
		{"alice has scope email", alice, []Option{RequireScope("email")}, http.StatusOK},
		{"alice has not scope reports:write", alice, []Option{RequireScope("reports:write")}, http.StatusForbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if rec := serve(t, v, "Bearer "+tc.token, tc.opts...); rec.Code != tc.status {
				t.Fatalf("%d, want %d: %s %s", rec.Code, tc.status, rec.Header().Get("WWW-Authenticate"), rec.Body)
			}
		})
	}
}

func TestKeycloak_ForgedAndUnfitTokens_Refused(t *testing.T) {
	kc := requireKeycloak(t)
	alice := kc.login(t, "alice")
	bob := kc.login(t, "bob")
	header, claims := headerOf(t, alice), payloadOf(t, alice)
	kid, _ := header["kid"].(string)

	// The realm's public key, as anyone can fetch it: the HMAC secret of the
	// algorithm-confusion attack.
	set := fetchKeys(t, kc.issuer())
	realmKey, ok := set.LookupKeyID(kid)
	if !ok {
		t.Fatalf("no key %q in the realm's JWKS", kid)
	}
	var pub rsa.PublicKey
	if err := realmKey.Raw(&pub); err != nil {
		t.Fatal(err)
	}
	pkix, _ := x509.MarshalPKIXPublicKey(&pub)
	pkcs1 := x509.MarshalPKCS1PublicKey(&pub)
	jwkJSON, _ := json.Marshal(realmKey)
	hs256 := func(secret []byte) string {
		return handMade(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": kid}, claims, hs256With(secret))
	}

	bobClaims := payloadOf(t, bob)
	bobClaims["acl_groups"] = []any{"finance", "engineering"}

	master := kc.tokens(t, "master", "admin-cli", envOr("KEYCLOAK_ADMIN_USER", "admin"), envOr("KEYCLOAK_ADMIN_PASSWORD", "admin"), "")
	idToken := kc.tokens(t, kc.realm, "keyward-cli", "alice", "alice", "openid")["id_token"].(string)

	cases := []struct {
		name     string
		token    string
		audience string
		clock    time.Duration // how far the verifier's clock runs ahead
	}{
		{"tampered: bob adds himself to engineering", withPayload(t, bob, bobClaims), "", 0},
		{"expired", alice, "", 10 * time.Minute},
		{"wrong issuer: a master-realm token", master["access_token"].(string), "", 0},
		{"wrong audience", alice, "billing-api", 0},
		{"alg none", handMade(t, map[string]any{"alg": "none", "typ": "JWT", "kid": kid}, claims, nil), "", 0},
		{"HS256 keyed with the realm key's PKIX PEM", hs256(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix})), "", 0},
		{"HS256 keyed with the realm key's PKCS#1 PEM", hs256(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: pkcs1})), "", 0},
		{"HS256 keyed with the realm key's DER", hs256(pkix), "", 0},
		{"HS256 keyed with the realm key's JWK", hs256(jwkJSON), "", 0},
		{"an ID token", idToken, "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newTestVerifier(t, Config{Issuer: kc.issuer(), Audience: tc.audience})
			v.now = func() time.Time { return time.Now().Add(tc.clock) }
			_, err := v.Verify(t.Context(), tc.token)
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("err = %v, want ErrInvalidToken", err)
			}
			if rec := serve(t, v, "Bearer "+tc.token); rec.Code != http.StatusUnauthorized ||
				!strings.Contains(rec.Header().Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Fatalf("middleware: %d %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
			}
		})
	}
	// A master-realm token whose signature checks out, because this verifier was handed
	// the master realm's keys too, is still refused: by its issuer.
	t.Run("wrong issuer, valid signature", func(t *testing.T) {
		v := newTestVerifier(t, Config{Issuer: kc.issuer()})
		both := fetchKeys(t, kc.issuer())
		masterKeys := fetchKeys(t, kc.url+"/realms/master")
		for i := range masterKeys.Len() {
			k, _ := masterKeys.Key(i)
			both.AddKey(k)
		}
		v.keys, v.fetchedAt, v.lastAttempt = both, time.Now(), time.Now()
		_, err := v.Verify(t.Context(), master["access_token"].(string))
		var terr *tokenError
		if !errors.As(err, &terr) || terr.description != "the access token was issued by another issuer" {
			t.Fatalf("err = %v, want a refusal for the issuer", err)
		}
	})
	// The same verifier accepts the untouched token: the refusals above are the
	// forgeries', not the setup's.
	v := newTestVerifier(t, Config{Issuer: kc.issuer(), Audience: "demo-api"})
	if _, err := v.Verify(t.Context(), alice); err != nil {
		t.Fatalf("alice's genuine token: %v", err)
	}
}

// fetchKeys reads a realm's JWKS.
func fetchKeys(t *testing.T, issuer string) jwk.Set {
	t.Helper()
	resp, err := http.Get(issuer + "/protocol/openid-connect/certs")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	set, err := jwk.ParseReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
