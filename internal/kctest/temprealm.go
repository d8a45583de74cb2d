package kctest

// A throw-away realm, for tests that change what the shared realm must keep as it is
// (admin permissions, client policies).

import (
	"context"
	"fmt"
	"testing"

	"github.com/Nerzal/gocloak/v13"
)

// TempRealm creates a realm of its own, deleted when the test ends, and returns an
// Env for it. It has what Keyward needs of a realm: the admin client
// keyward-management, whose service account has the roles the dev realm gives it
// (manage-clients and manage-users, never manage-realm), fine-grained admin
// permissions (v2) switched on, and the JWT Authorization Grant identity provider
// "keyward" trusting assertions of issuer checked against jwksURL. Users, roles and
// clients are up to the test.
func (e *Env) TempRealm(t testing.TB, issuer, jwksURL string) *Env {
	t.Helper()
	r := *e
	r.Realm = Unique("kw-test")
	r.AdminClientID = "keyward-management"
	r.AdminClientSecret = Unique("secret")
	rep := map[string]any{
		"realm": r.Realm, "enabled": true, "adminPermissionsEnabled": true,
		"clients": []map[string]any{{
			"clientId": r.AdminClientID, "enabled": true, "publicClient": false, "secret": r.AdminClientSecret,
			"serviceAccountsEnabled": true, "standardFlowEnabled": false, "directAccessGrantsEnabled": false,
		}},
		"users": []map[string]any{{
			"username": "service-account-" + r.AdminClientID, "enabled": true, "serviceAccountClientId": r.AdminClientID,
			"clientRoles": map[string][]string{"realm-management": {"manage-users", "view-users", "query-users",
				"query-groups", "view-realm", "manage-clients", "view-clients", "query-clients", "view-events"}},
		}},
	}
	e.adminCleanup(t, func(c context.Context, admin string) { _ = e.Admin.DeleteRealm(c, admin, r.Realm) })
	resp, err := e.Admin.GetRequestWithBearerAuth(ctx(t), e.AdminToken(t)).SetBody(rep).Post(e.URL + "/admin/realms")
	if err != nil || resp.StatusCode() != 201 {
		t.Fatalf("create realm %s: %v %s", r.Realm, err, resp)
	}
	// Keycloak 26.7 answers 500 to a realm imported with this provider: made apart.
	_, err = e.Admin.CreateIdentityProvider(ctx(t), e.AdminToken(t), r.Realm, grantProvider("keyward", issuer, jwksURL))
	if err != nil {
		t.Fatalf("create identity provider in %s: %v", r.Realm, err)
	}
	return &r
}

// PermitRoleScopeMapping lets the service account of the realm's admin client map the
// role (by id) into client scopes: a fine-grained admin permission (v2),
// map-role-client-scope on that role alone, as an operator would grant it instead of
// manage-realm.
func (e *Env) PermitRoleScopeMapping(t testing.TB, roleID string) {
	t.Helper()
	admin := e.AdminToken(t)
	ap := e.ClientUUID(t, "admin-permissions")
	sa, err := e.Admin.GetUsers(ctx(t), admin, e.Realm, gocloak.GetUsersParams{
		Username: gocloak.StringP("service-account-" + e.AdminClientID), Exact: gocloak.BoolP(true)})
	if err != nil || len(sa) != 1 {
		t.Fatalf("find the admin service account: %v (%d found)", err, len(sa))
	}
	base := fmt.Sprintf("%s/admin/realms/%s/clients/%s/authz/resource-server", e.URL, e.Realm, ap)
	var policy struct{ ID string }
	resp, err := e.Admin.GetRequestWithBearerAuth(ctx(t), admin).SetResult(&policy).
		SetBody(map[string]any{"name": Unique("keyward-sa"), "users": []string{*sa[0].ID}, "logic": "POSITIVE"}).
		Post(base + "/policy/user")
	if err != nil || resp.StatusCode() != 201 {
		t.Fatalf("create user policy: %v %s", err, resp)
	}
	resp, err = e.Admin.GetRequestWithBearerAuth(ctx(t), admin).SetBody(map[string]any{
		"name": Unique("keyward-map-role"), "resourceType": "Roles", "resources": []string{roleID},
		"scopes": []string{"map-role-client-scope"}, "policies": []string{policy.ID}, "decisionStrategy": "UNANIMOUS",
	}).Post(base + "/permission/scope")
	if err != nil || resp.StatusCode() != 201 {
		t.Fatalf("create permission: %v %s", err, resp)
	}
}

// SetDownscopePolicy turns on, for clients with the attribute keyward.limited-keys=true
// and the JWT Authorization Grant, the client policy downscope-assertion-grant-enforcer
// (a token may carry no scope beyond its assertion's scope claim). It replaces the
// realm's client profiles and policies: for a TempRealm only.
func (e *Env) SetDownscopePolicy(t testing.TB) {
	t.Helper()
	admin := e.AdminToken(t)
	base := fmt.Sprintf("%s/admin/realms/%s/client-policies", e.URL, e.Realm)
	profiles := map[string]any{"profiles": []map[string]any{{"name": "keyward-downscope",
		"executors": []map[string]any{{"executor": "downscope-assertion-grant-enforcer", "configuration": map[string]any{}}}}}}
	if resp, err := e.Admin.GetRequestWithBearerAuth(ctx(t), admin).SetBody(profiles).Put(base + "/profiles"); err != nil || resp.IsError() {
		t.Fatalf("put client profiles: %v %s", err, resp)
	}
	policies := map[string]any{"policies": []map[string]any{{
		"name": "keyward-limited-keys", "enabled": true, "profiles": []string{"keyward-downscope"},
		"conditions": []map[string]any{
			{"condition": "client-attributes", "configuration": map[string]any{
				"attributes": `[{"key":"keyward.limited-keys","value":"true"}]`}},
			{"condition": "grant-type", "configuration": map[string]any{
				"grant_types": []string{"urn:ietf:params:oauth:grant-type:jwt-bearer"}}},
		},
	}}}
	if resp, err := e.Admin.GetRequestWithBearerAuth(ctx(t), admin).SetBody(policies).Put(base + "/policies"); err != nil || resp.IsError() {
		t.Fatalf("put client policies: %v %s", err, resp)
	}
}
