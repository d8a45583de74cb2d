package exchange

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/Nerzal/gocloak/v13"

	"github.com/keyward/keyward/internal/kctest"
	"github.com/keyward/keyward/keycloak"
)

// limitedRealm is a throw-away realm set up for limited keys: the limited client, the
// realm roles reports-read and reports-write, the client demo-api with the roles
// orders-read and orders-write, and an owner who holds all four.
type limitedRealm struct {
	kc      *kctest.Env
	c       *keycloak.Client
	signer  *Signer
	limited string // Keycloak's id of the limited client
	owner   string
	roles   map[string]string // "reports-read", "demo-api:orders-read"… → role id
}

const limitedClientID = "keyward-limited"

func newLimitedRealm(t *testing.T) *limitedRealm {
	t.Helper()
	shared := kctest.Require(t)
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var signer *Signer
	jwks := kctest.ServeJWKS(t, func() any { return signer.PublicKeys() })
	issuer := strings.TrimSuffix(jwks, "/.well-known/jwks.json") // Keycloak takes http issuers on local addresses only
	kc := shared.TempRealm(t, issuer, jwks)
	if signer, err = NewSigner(priv, issuer, kc.Issuer(), nil); err != nil {
		t.Fatal(err)
	}
	r := &limitedRealm{kc: kc, c: realmClient(kc), signer: signer, roles: map[string]string{}}
	ctx := context.Background()
	admin := kc.AdminToken(t)
	for _, name := range []string{"reports-read", "reports-write"} {
		r.roles[name] = *kc.TempRealmRole(t, name).ID
	}
	api := kc.TempClient(t, gocloak.Client{ClientID: gocloak.StringP("demo-api"), BearerOnly: gocloak.BoolP(true)})
	for _, name := range []string{"orders-read", "orders-write"} {
		if _, err := kc.Admin.CreateClientRole(ctx, admin, kc.Realm, api, gocloak.Role{Name: gocloak.StringP(name)}); err != nil {
			t.Fatal(err)
		}
		_, role := kc.ClientRole(t, "demo-api", name)
		r.roles["demo-api:"+name] = *role.ID
	}
	var username string
	r.owner, username = kc.TempUser(t, "owner")
	r.grant(t, "reports-read", "reports-write")
	kc.GrantClientRole(t, r.owner, "demo-api", "orders-read")
	kc.GrantClientRole(t, r.owner, "demo-api", "orders-write")
	if err := r.c.EnsureFederatedLink(ctx, r.owner, username, "keyward", r.owner); err != nil {
		t.Fatal(err)
	}
	if r.limited, err = r.c.EnsureLimitedClient(ctx, keycloak.LimitedClient{ClientID: limitedClientID,
		IdentityProvider: "keyward", JWKSURL: jwks, Audiences: []string{"demo-api"}}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"reports-read", "reports-write"} {
		kc.PermitRoleScopeMapping(t, r.roles[name])
		r.scope(t, keycloak.RoleMapping{Role: name})
	}
	for _, name := range []string{"orders-read", "orders-write"} {
		r.scope(t, keycloak.RoleMapping{Client: "demo-api", Role: name})
	}
	return r
}

func (r *limitedRealm) scope(t *testing.T, role keycloak.RoleMapping) {
	t.Helper()
	if _, err := r.c.EnsureRoleScope(context.Background(), r.limited, role); err != nil {
		t.Fatal(err)
	}
}

func (r *limitedRealm) grant(t *testing.T, names ...string) {
	t.Helper()
	if err := r.kc.Admin.AddRealmRoleToUser(context.Background(), r.kc.AdminToken(t), r.kc.Realm, r.owner, r.realmRoles(t, names)); err != nil {
		t.Fatal(err)
	}
}

func (r *limitedRealm) revoke(t *testing.T, names ...string) {
	t.Helper()
	if err := r.kc.Admin.DeleteRealmRoleFromUser(context.Background(), r.kc.AdminToken(t), r.kc.Realm, r.owner, r.realmRoles(t, names)); err != nil {
		t.Fatal(err)
	}
}

func (r *limitedRealm) realmRoles(t *testing.T, names []string) []gocloak.Role {
	var out []gocloak.Role
	for _, n := range names {
		out = append(out, gocloak.Role{ID: gocloak.StringP(r.roles[n]), Name: gocloak.StringP(n)})
	}
	return out
}

func (r *limitedRealm) mint(t *testing.T, roles ...string) map[string]any {
	t.Helper()
	var ids []string
	for _, n := range roles {
		ids = append(ids, r.roles[n])
	}
	tok, err := NewLimitedMinter(r.signer, r.c, limitedClientID, mustDeny(t)).Mint(context.Background(), r.owner, "", ids)
	if err != nil {
		t.Fatal(err)
	}
	return kctest.Claims(t, tok.AccessToken)
}

func clientRoles(claims map[string]any, client string) []string {
	ra, _ := claims["resource_access"].(map[string]any)
	c, _ := ra[client].(map[string]any)
	return kctest.Strings(c["roles"])
}

func sorted(s []string) []string { slices.Sort(s); return s }

func TestLimitedMinter_OneOfTwoRoles_TokenHasThatOneOnly(t *testing.T) {
	r := newLimitedRealm(t)
	claims := r.mint(t, "reports-read")
	if got := kctest.RealmRoles(claims); !slices.Equal(got, []string{"reports-read"}) {
		t.Fatalf("realm roles %v, want [reports-read]", got)
	}
	if claims["resource_access"] != nil {
		t.Fatalf("client roles %v in a key limited to a realm role", claims["resource_access"])
	}
	if claims["sub"] != r.owner || claims["azp"] != limitedClientID || claims["aud"] != "demo-api" {
		t.Fatalf("sub %v azp %v aud %v", claims["sub"], claims["azp"], claims["aud"])
	}
	both := r.mint(t, "reports-read", "reports-write")
	if got := sorted(kctest.RealmRoles(both)); !slices.Equal(got, []string{"reports-read", "reports-write"}) {
		t.Fatalf("limited to both: %v", got)
	}
}

func TestLimitedMinter_OwnerLosesTheRole_NextTokenLacksIt(t *testing.T) {
	r := newLimitedRealm(t)
	if got := kctest.RealmRoles(r.mint(t, "reports-read", "reports-write")); len(got) != 2 {
		t.Fatalf("before: %v", got)
	}
	r.revoke(t, "reports-read")
	if got := kctest.RealmRoles(r.mint(t, "reports-read", "reports-write")); !slices.Equal(got, []string{"reports-write"}) {
		t.Fatalf("after losing reports-read: %v", got)
	}
}

func TestLimitedMinter_RoleTheOwnerLacks_NotInTheToken(t *testing.T) {
	r := newLimitedRealm(t)
	r.revoke(t, "reports-write")
	claims := r.mint(t, "reports-write")
	if got := kctest.RealmRoles(claims); len(got) != 0 {
		t.Fatalf("realm roles %v for a role the owner lacks", got)
	}
}

func TestLimitedMinter_ClientRole(t *testing.T) {
	r := newLimitedRealm(t)
	claims := r.mint(t, "demo-api:orders-read")
	if got := clientRoles(claims, "demo-api"); !slices.Equal(got, []string{"orders-read"}) {
		t.Fatalf("demo-api roles %v, want [orders-read]", got)
	}
	if got := kctest.RealmRoles(claims); len(got) != 0 {
		t.Fatalf("realm roles %v in a key limited to a client role", got)
	}
}

// A role put straight into the limited client's scope would be in every limited
// key's token: Keyward withholds such a token.
func TestLimitedMinter_RoleOutsideTheLimit_Withheld(t *testing.T) {
	r := newLimitedRealm(t)
	if err := r.kc.Admin.CreateClientScopeMappingsRealmRoles(context.Background(), r.kc.AdminToken(t), r.kc.Realm,
		r.limited, r.realmRoles(t, []string{"reports-write"})); err != nil {
		t.Fatal(err)
	}
	_, err := NewLimitedMinter(r.signer, r.c, limitedClientID, mustDeny(t)).Mint(context.Background(), r.owner, "", []string{r.roles["reports-read"]})
	var w *WithheldError
	if !errors.As(err, &w) || w.Outcome != OutcomeOutsideLimit {
		t.Fatalf("err %v, want withheld as %s", err, OutcomeOutsideLimit)
	}
}

// With the realm's downscope policy on, the limit is tied to Keyward's signature: a
// request for more scopes than the assertion names is refused, and a limited key's
// token is as without it.
func TestLimitedMinter_DownscopePolicy(t *testing.T) {
	r := newLimitedRealm(t)
	r.kc.SetDownscopePolicy(t)
	claims := r.mint(t, "reports-read")
	if got := kctest.RealmRoles(claims); !slices.Equal(got, []string{"reports-read"}) || claims["aud"] != "demo-api" {
		t.Fatalf("realm roles %v aud %v, want [reports-read] demo-api", got, claims["aud"])
	}
	ctx := context.Background()
	read := LimitedScope("", []string{r.roles["reports-read"]})
	assertion, _ := r.signer.ScopedAssertion(r.owner, read)
	clientAssertion, _ := r.signer.ClientAssertion(limitedClientID)
	_, err := r.c.JWTBearerGrantAs(ctx, limitedClientID, clientAssertion, assertion, LimitedScope("", []string{r.roles["reports-read"], r.roles["reports-write"]}))
	if !errors.Is(err, keycloak.ErrInvalidScope) {
		t.Fatalf("scope beyond the assertion: %v, want ErrInvalidScope", err)
	}
}

// A key limited to a composite role carries the roles it contains that the owner
// holds, and the check accepts them: it expands composites.
func TestLimitedMinter_CompositeRole_ItsChildren(t *testing.T) {
	r := newLimitedRealm(t)
	ctx := context.Background()
	admin := r.kc.AdminToken(t)
	r.roles["reports-admin"] = *r.kc.TempRealmRole(t, "reports-admin").ID
	if err := r.kc.Admin.AddRealmRoleComposite(ctx, admin, r.kc.Realm, "reports-admin", r.realmRoles(t, []string{"reports-read", "reports-write"})); err != nil {
		t.Fatal(err)
	}
	r.kc.PermitRoleScopeMapping(t, r.roles["reports-admin"])
	r.scope(t, keycloak.RoleMapping{Role: "reports-admin"})
	if got := sorted(kctest.RealmRoles(r.mint(t, "reports-admin"))); !slices.Equal(got, []string{"reports-read", "reports-write"}) {
		t.Fatalf("limited to the composite: %v, want its children the owner holds", got)
	}
}
