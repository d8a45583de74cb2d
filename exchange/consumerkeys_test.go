package exchange

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Nerzal/gocloak/v13"
	"github.com/google/uuid"

	"github.com/keyward/keyward/internal/kctest"
	"github.com/keyward/keyward/internal/testkit"
	"github.com/keyward/keyward/keycloak"
)

// realmSigner is a signer of its own whose JWKS the real Keycloak fetches from an
// httptest server, as it fetches Keyward's.
func realmSigner(t *testing.T, kc *kctest.Env) (*Signer, string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(priv, "http://keyward.test", kc.Issuer(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, kctest.ServeJWKS(t, func() any { return s.PublicKeys() })
}

func realmClient(kc *kctest.Env) *keycloak.Client {
	return keycloak.New(keycloak.Config{BaseURL: kc.URL, Realm: kc.Realm, ClientID: kc.ClientID, ClientSecret: kc.ClientSecret,
		AdminClientID: kc.AdminClientID, AdminClientSecret: kc.AdminClientSecret, Timeout: 10 * time.Second})
}

// consumerKeyClient ensures a throw-away consumer's key client, its service account in
// a throw-away ACL group; both are removed when the test ends.
func consumerKeyClient(t *testing.T, kc *kctest.Env, c *keycloak.Client, jwks string) (keycloak.KeyClientIDs, string) {
	t.Helper()
	group := kctest.Unique("kw-acl")
	gid := kc.TempGroup(t, "", group)
	clientID := kctest.Unique("kw-keys")
	kc.DeleteClientAtEnd(t, clientID)
	ids, err := c.EnsureKeyClient(context.Background(), keycloak.KeyClient{
		ClientID: clientID, Name: "Keys of a test consumer", JWKSURL: jwks,
		Attributes: map[string]string{"keyward.consumer_id": uuid.NewString()}, Groups: []string{gid},
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids, group
}

func TestConsumerMinter_TokenIsTheServiceAccountsWithTheACLGroups(t *testing.T) {
	kc := kctest.Require(t)
	signer, jwks := realmSigner(t, kc)
	c := realmClient(kc)
	ids, group := consumerKeyClient(t, kc, c, jwks)
	m := NewConsumerMinter(signer, c, mustDeny(t))

	tok, err := m.Mint(context.Background(), ids, "")
	if err != nil {
		t.Fatal(err)
	}
	claims := kctest.Claims(t, tok.AccessToken)
	if claims["sub"] != ids.ServiceAccountID || claims["azp"] != ids.ClientID {
		t.Fatalf("sub %v azp %v, want the key client's service account %s and %s", claims["sub"], claims["azp"], ids.ServiceAccountID, ids.ClientID)
	}
	if got := kctest.Strings(claims["acl_groups"]); !slices.Equal(got, []string{group}) {
		t.Fatalf("acl_groups %v, want [%s]", got, group)
	}
	if claims["realm_access"] != nil || claims["resource_access"] != nil {
		t.Fatalf("a consumer key's token carries roles: %v %v", claims["realm_access"], claims["resource_access"])
	}
}

func TestConsumerMinter_DisabledKeyClient_Refused(t *testing.T) {
	kc := kctest.Require(t)
	signer, jwks := realmSigner(t, kc)
	c := realmClient(kc)
	ids, _ := consumerKeyClient(t, kc, c, jwks)
	if err := c.UpdateServiceClient(context.Background(), ids.ID, keycloak.ClientChange{Enabled: gocloak.BoolP(false)}); err != nil {
		t.Fatal(err)
	}
	_, err := NewConsumerMinter(signer, c, mustDeny(t)).Mint(context.Background(), ids, "")
	if !errors.Is(err, keycloak.ErrInvalidClient) {
		t.Fatalf("disabled key client: %v, want ErrInvalidClient", err)
	}
}

func TestConsumerMinter_ReplayedAssertion_Refused(t *testing.T) {
	kc := kctest.Require(t)
	signer, jwks := realmSigner(t, kc)
	c := realmClient(kc)
	ids, _ := consumerKeyClient(t, kc, c, jwks)
	a, err := signer.ClientAssertion(ids.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ClientCredentialsWithAssertion(context.Background(), ids.ClientID, a, ""); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if _, err := c.ClientCredentialsWithAssertion(context.Background(), ids.ClientID, a, ""); !errors.Is(err, keycloak.ErrInvalidClient) {
		t.Fatalf("replayed assertion: %v, want ErrInvalidClient", err)
	}
}

func TestConsumerMinter_ForeignSigner_Refused(t *testing.T) {
	kc := kctest.Require(t)
	_, jwks := realmSigner(t, kc)
	other, _ := realmSigner(t, kc) // its keys are not in the key client's JWKS
	c := realmClient(kc)
	ids, _ := consumerKeyClient(t, kc, c, jwks)
	if _, err := NewConsumerMinter(other, c, mustDeny(t)).Mint(context.Background(), ids, ""); !errors.Is(err, keycloak.ErrInvalidClient) {
		t.Fatalf("assertion of another signer: %v, want ErrInvalidClient", err)
	}
}

// withClaim sets one claim of an unsigned test token.
func withClaim(t *testing.T, tok, name string, v any) string {
	parts := strings.Split(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m[name] = v
	b, _ := json.Marshal(m)
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
}

// tokenGrant hands out a token the test chose, as if Keycloak had issued it.
type tokenGrant struct{ token string }

func (g tokenGrant) ClientCredentialsWithAssertion(context.Context, string, string, string) (keycloak.Token, error) {
	return keycloak.Token{AccessToken: g.token}, nil
}

func TestConsumerMinter_IssuedTokenChecked_FailClosed(t *testing.T) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, err := NewSigner(priv, "http://keyward.test", "http://kc.test/realms/r", nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := keycloak.KeyClientIDs{ID: "kc-id", ClientID: "kw-keys-shop", ServiceAccountID: "sa-1"}
	withAzp := func(tok, azp string) string { return withClaim(t, tok, "azp", azp) }
	cases := []struct {
		name  string
		token string
		want  Outcome // "" = handed out
	}{
		{"the service account's, no roles", withAzp(testkit.IssuedToken("sa-1", "service-account-kw-keys-shop", nil, nil), "kw-keys-shop"), ""},
		{"another subject", withAzp(testkit.IssuedToken("sa-2", "x", nil, nil), "kw-keys-shop"), OutcomeError},
		{"issued to another client", withAzp(testkit.IssuedToken("sa-1", "x", nil, nil), "keyward"), OutcomeError},
		{"a realm role", withAzp(testkit.IssuedToken("sa-1", "x", []string{"reports-read"}, nil), "kw-keys-shop"), OutcomeDeniedRole},
		{"a realm-management role", withAzp(testkit.IssuedToken("sa-1", "x", nil, map[string][]string{"realm-management": {"view-users"}}), "kw-keys-shop"), OutcomeDeniedRole},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := NewConsumerMinter(signer, tokenGrant{tc.token}, mustDeny(t)).Mint(context.Background(), ids, "")
			var w *WithheldError
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (!errors.As(err, &w) || w.Outcome != tc.want):
				t.Fatalf("err %v, want withheld as %s", err, tc.want)
			case tc.want != "" && tok.AccessToken != "":
				t.Fatal("a withheld token was returned")
			}
		})
	}
}
