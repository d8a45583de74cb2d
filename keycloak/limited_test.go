package keycloak

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/Nerzal/gocloak/v13"

	"github.com/keyward/keyward/internal/kctest"
)

// limitedRealm is a throw-away realm (admin permissions on, Keyward's admin client
// without manage-realm) with the limited client.
func limitedRealm(t *testing.T) (*kctest.Env, *Client, string) {
	t.Helper()
	jwks := "http://127.0.0.1:9/.well-known/jwks.json" // never fetched here
	kc := kctest.Require(t).TempRealm(t, "http://127.0.0.1:9", jwks)
	c := newClient(kc)
	id, err := c.EnsureLimitedClient(context.Background(), LimitedClient{ClientID: "keyward-limited",
		IdentityProvider: "keyward", JWKSURL: jwks, Audiences: []string{"account"}})
	if err != nil {
		t.Fatal(err)
	}
	return kc, c, id
}

func optionalScopes(t *testing.T, kc *kctest.Env, clientUUID string) []string {
	t.Helper()
	list, err := kc.Admin.GetClientsOptionalScopes(context.Background(), kc.AdminToken(t), kc.Realm, clientUUID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range list {
		out = append(out, gocloak.PString(s.Name))
	}
	slices.Sort(out)
	return out
}

func TestEnsureLimitedClient_SettingsAndIdempotent(t *testing.T) {
	kc, c, id := limitedRealm(t)
	ctx := context.Background()
	info, err := c.ServiceClient(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if info.FullScopeAllowed || info.ServiceAccountsEnabled || info.StandardFlowEnabled || info.DirectAccessGrantsEnabled ||
		info.Attributes[AttrLimitedKeys] != "true" || info.Attributes["oauth2.jwt.authorization.grant.idp"] != "keyward" {
		t.Fatalf("limited client settings: %+v", info)
	}
	if got := optionalScopes(t, kc, id); len(got) != 0 {
		t.Fatalf("optional scopes %v: the realm's defaults (offline_access…) must be detached", got)
	}
	defaults, err := kc.Admin.GetClientsDefaultScopes(ctx, kc.AdminToken(t), kc.Realm, id)
	if err != nil || !slices.ContainsFunc(defaults, func(s *gocloak.ClientScope) bool { return gocloak.PString(s.Name) == "keyward-limited-audience" }) {
		t.Fatalf("the audience scope is not a default scope (%v)", err)
	}

	// Someone gives it a role scope mapping: ensuring again takes it back.
	admin := kc.AdminToken(t)
	_, view := kc.ClientRole(t, "realm-management", "view-users")
	if err := kc.Admin.CreateClientScopeMappingsClientRoles(ctx, admin, kc.Realm, id, *view.ContainerID, []gocloak.Role{view}); err != nil {
		t.Fatal(err)
	}
	again, err := c.EnsureLimitedClient(ctx, LimitedClient{ClientID: "keyward-limited", IdentityProvider: "keyward",
		JWKSURL: "http://127.0.0.1:9/.well-known/jwks.json", Audiences: []string{"account"}})
	if err != nil || again != id {
		t.Fatalf("ensure again: %s, %v; want %s", again, err, id)
	}
	m, err := kc.Admin.GetClientScopeMappings(ctx, admin, kc.Realm, id)
	if err != nil || len(roleMappings(m)) != 0 {
		t.Fatalf("scope mappings left: %v (%v)", roleMappings(m), err)
	}
}

func TestEnsureRoleScope_ClientRole_IdempotentAndAttached(t *testing.T) {
	kc, c, limited := limitedRealm(t)
	ctx := context.Background()
	api := kc.TempClient(t, gocloak.Client{ClientID: gocloak.StringP("shop-api"), BearerOnly: gocloak.BoolP(true)})
	if _, err := kc.Admin.CreateClientRole(ctx, kc.AdminToken(t), kc.Realm, api, gocloak.Role{Name: gocloak.StringP("orders-read")}); err != nil {
		t.Fatal(err)
	}
	role := RoleMapping{Client: "shop-api", Role: "orders-read"}
	first, err := c.EnsureRoleScope(ctx, limited, role)
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.EnsureRoleScope(ctx, limited, role)
	if err != nil || second != first {
		t.Fatalf("second ensure %+v (%v), first %+v", second, err, first)
	}
	if first.Name != RoleScopeName(first.RoleID) || !strings.HasPrefix(first.Name, "kwr.") {
		t.Fatalf("scope name %q", first.Name)
	}
	if got := optionalScopes(t, kc, limited); !slices.Equal(got, []string{first.Name}) {
		t.Fatalf("optional scopes %v, want [%s]", got, first.Name)
	}
	mapped, err := kc.Admin.GetClientScopesScopeMappingsClientRoles(ctx, kc.AdminToken(t), kc.Realm, first.ID, api)
	if err != nil || len(mapped) != 1 || gocloak.PString(mapped[0].Name) != "orders-read" {
		t.Fatalf("scope mappings of the role scope: %v (%v)", mapped, err)
	}
}

func TestEnsureRoleScope_RealmRoleWithoutPermission_SaysWhatToGrant(t *testing.T) {
	kc, c, limited := limitedRealm(t)
	ctx := context.Background()
	denied := kc.TempRealmRole(t, "reports-read")
	_, err := c.EnsureRoleScope(ctx, limited, RoleMapping{Role: "reports-read"})
	var forbidden *RoleScopeForbiddenError
	if !errors.As(err, &forbidden) || !errors.Is(err, ErrRoleScopeForbidden) || forbidden.Role.Role != "reports-read" ||
		!strings.Contains(err.Error(), "map-role-client-scope") {
		t.Fatalf("err %v, want a RoleScopeForbiddenError naming map-role-client-scope", err)
	}
	if s, err := c.clientScopeByName(ctx, kc.AdminToken(t), RoleScopeName(*denied.ID)); err != nil || s.ID != "" {
		t.Fatalf("a refused role scope was left behind: %+v (%v)", s, err)
	}
	// With the fine-grained permission on that role alone, the same call works.
	role := kc.TempRealmRole(t, "reports-write")
	kc.PermitRoleScopeMapping(t, *role.ID)
	if _, err := c.EnsureRoleScope(ctx, limited, RoleMapping{Role: "reports-write"}); err != nil {
		t.Fatalf("with map-role-client-scope on the role: %v", err)
	}
	if _, err := c.EnsureRoleScope(ctx, limited, RoleMapping{Role: "reports-read"}); !errors.As(err, &forbidden) {
		t.Fatalf("a role without the permission, after another got it: %v", err)
	}
}

func TestEnsureRoleScope_RealmManagementRole_Refused(t *testing.T) {
	kc, c, limited := limitedRealm(t)
	if _, err := c.EnsureRoleScope(context.Background(), limited, RoleMapping{Client: "realm-management", Role: "manage-realm"}); err == nil {
		t.Fatal("a realm-management role got a role scope")
	}
	if got := optionalScopes(t, kc, limited); len(got) != 0 {
		t.Fatalf("optional scopes %v", got)
	}
}

func TestExpandRoles_Composites(t *testing.T) {
	kc, c, _ := limitedRealm(t)
	ctx := context.Background()
	admin := kc.AdminToken(t)
	read, write, all := kc.TempRealmRole(t, "reports-read"), kc.TempRealmRole(t, "reports-write"), kc.TempRealmRole(t, "reports-admin")
	api := kc.TempClient(t, gocloak.Client{ClientID: gocloak.StringP("shop-api"), BearerOnly: gocloak.BoolP(true)})
	if _, err := kc.Admin.CreateClientRole(ctx, admin, kc.Realm, api, gocloak.Role{Name: gocloak.StringP("orders-read")}); err != nil {
		t.Fatal(err)
	}
	_, orders := kc.ClientRole(t, "shop-api", "orders-read")
	if err := kc.Admin.AddRealmRoleComposite(ctx, admin, kc.Realm, "reports-admin", []gocloak.Role{read, write, orders}); err != nil {
		t.Fatal(err)
	}
	got, err := c.ExpandRoles(ctx, []string{*all.ID, "no-such-role-id"})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got.Realm)
	if !slices.Equal(got.Realm, []string{"reports-admin", "reports-read", "reports-write"}) ||
		!slices.Equal(got.Clients["shop-api"], []string{"orders-read"}) || len(got.Clients) != 1 {
		t.Fatalf("expanded %+v", got)
	}
	if only, err := c.ExpandRoles(ctx, []string{*read.ID}); err != nil || !slices.Equal(only.Realm, []string{"reports-read"}) {
		t.Fatalf("a plain role expands to itself: %+v (%v)", only, err)
	}
}

func TestExchangeCeiling_ScopeMappingsExpanded(t *testing.T) {
	kc := kctest.Require(t)
	c := newClient(kc)
	role := kc.TempRealmRole(t, kctest.Unique("ceiling"))
	before, all, err := c.ExchangeCeiling(context.Background())
	if err != nil || all {
		t.Fatalf("ceiling: all %v, %v", all, err)
	}
	// The dev realm maps default-roles-keyward, a composite: its children are in.
	if !slices.Contains(before.Realm, "default-roles-keyward") || !slices.Contains(before.Realm, "offline_access") ||
		slices.Contains(before.Realm, *role.Name) {
		t.Fatalf("ceiling before %v", before.Realm)
	}
	kc.AddToExchangeScope(t, kc.ClientID, role)
	after, _, err := c.ExchangeCeiling(context.Background())
	if err != nil || !slices.Contains(after.Realm, *role.Name) {
		t.Fatalf("ceiling after the scope mapping: %v (%v)", after.Realm, err)
	}
}
