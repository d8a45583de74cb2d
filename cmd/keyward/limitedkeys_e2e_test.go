package main

// Keys limited to part of their owner's roles, on the real Keycloak: the token carries
// the key's roles only, Keycloak drops a role the owner loses, and every way to widen
// a key is refused. Client roles of a throw-away client: the shared realm `keyward`
// has no fine-grained admin permission for realm roles in role scopes (docs/administering/least-privilege.md).

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Nerzal/gocloak/v13"

	"github.com/keyward/keyward/internal/kctest"
	"github.com/keyward/keyward/keycloak"
)

// limitedSetup is a throw-away client with the roles read, write and other; a temp
// user holding read and write; read and write in the exchange client's scope.
type limitedSetup struct {
	client, userID, username string
	read, write              string // "<client>:<role>" as keys name them
	clientUUID               string
}

func newLimitedSetup(t *testing.T, kc *kctest.Env) limitedSetup {
	t.Helper()
	ctx := context.Background()
	admin := kc.AdminToken(t)
	s := limitedSetup{client: kctest.Unique("kw-e2e-lim")}
	s.clientUUID = kc.TempClient(t, gocloak.Client{ClientID: gocloak.StringP(s.client), BearerOnly: gocloak.BoolP(true)})
	var roles []gocloak.Role
	for _, name := range []string{"read", "write", "other"} {
		if _, err := kc.Admin.CreateClientRole(ctx, admin, kc.Realm, s.clientUUID, gocloak.Role{Name: gocloak.StringP(name)}); err != nil {
			t.Fatal(err)
		}
		_, r := kc.ClientRole(t, s.client, name)
		roles = append(roles, r)
	}
	// The exchange client's scope: read and write (not other), as an operator puts them.
	if err := kc.Admin.CreateClientScopeMappingsClientRoles(ctx, admin, kc.Realm, kc.ClientUUID(t, kc.ClientID), s.clientUUID, roles[:2]); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteRoleScopes(kc, roles) })
	s.userID, s.username = kc.TempUser(t, "lim")
	kc.GrantClientRole(t, s.userID, s.client, "read")
	kc.GrantClientRole(t, s.userID, s.client, "write")
	s.read, s.write = s.client+":read", s.client+":write"
	return s
}

// startLimitedApp starts Keyward with a limited client of its own, deleted at the end
// with its audience scope: tests that run at the same time with another trust (their
// own identity provider or exchange client) may reconfigure the shared one.
func startLimitedApp(t *testing.T, kc *kctest.Env) (*running, string) {
	t.Helper()
	limited := kctest.Unique("kw-e2e-limited")
	kc.DeleteClientAtEnd(t, limited)
	t.Cleanup(func() { deleteScopes(kc, func(name string) bool { return name == limited+"-audience" }) })
	return startAppWith(t, kc, map[string]string{"KEYWARD_LIMITED_CLIENT_ID": limited}), limited
}

// deleteRoleScopes removes the role scopes (kwr.<role id>) Keyward made for roles: the
// shared realm keeps no scope of a throw-away role.
func deleteRoleScopes(kc *kctest.Env, roles []gocloak.Role) {
	deleteScopes(kc, func(name string) bool {
		return slices.ContainsFunc(roles, func(r gocloak.Role) bool { return name == keycloak.RoleScopeName(gocloak.PString(r.ID)) })
	})
}

// deleteScopes removes the realm's client scopes whose names match.
func deleteScopes(kc *kctest.Env, match func(name string) bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	jwt, err := kc.Admin.LoginClient(ctx, kc.AdminClientID, kc.AdminClientSecret, kc.Realm)
	if err != nil {
		return
	}
	scopes, err := kc.Admin.GetClientScopes(ctx, jwt.AccessToken, kc.Realm)
	if err != nil {
		return
	}
	for _, sc := range scopes {
		if match(gocloak.PString(sc.Name)) {
			_ = kc.Admin.DeleteClientScope(ctx, jwt.AccessToken, kc.Realm, gocloak.PString(sc.ID))
		}
	}
}

// rolesOf are the token's roles of client, sorted.
func rolesOf(claims map[string]any, client string) []string {
	out := clientRoles(claims)[client]
	slices.Sort(out)
	return out
}

func createLimited(t *testing.T, app *running, token, body string) reply {
	t.Helper()
	got := jsonPost(t, app.url+"/v1/keys", token, body)
	if k, ok := got.body["key"].(string); ok {
		remember(k)
	}
	return got
}

func TestLimitedKeys_TokenCarriesTheKeysRolesOnly(t *testing.T) {
	kc := kctest.Require(t)
	app, limited := startLimitedApp(t, kc)
	s := newLimitedSetup(t, kc)
	user := kc.Login(t, s.username)

	got := createLimited(t, app, user, `{"name":"limited","roles":["`+s.read+`"]}`)
	if got.status != http.StatusCreated {
		t.Fatalf("create: %d %s", got.status, got.raw)
	}
	if roles, _ := got.body["roles"].([]any); len(roles) != 1 || roles[0] != s.read {
		t.Fatalf("the key shows roles %v", got.body["roles"])
	}
	id, key := got.body["id"].(string), got.body["key"].(string)
	_, claims := app.mustToken(t, key)
	if roles := rolesOf(claims, s.client); !slices.Equal(roles, []string{"read"}) {
		t.Fatalf("limited key's token roles of %s: %v (claims %v)", s.client, roles, claims)
	}
	if claims["azp"] != limited || claims["sub"] != s.userID {
		t.Fatalf("azp %v sub %v", claims["azp"], claims["sub"])
	}

	// The same owner's unrestricted key: both roles, as before.
	_, plain := app.createKey(t, user, "plain")
	_, claims = app.mustToken(t, plain)
	if roles := rolesOf(claims, s.client); !slices.Equal(roles, []string{"read", "write"}) {
		t.Fatalf("unrestricted key's token roles: %v", roles)
	}

	// Rotation keeps the limit.
	rot := call(t, "POST", app.url+"/v1/keys/"+id+"/rotate", nil, "Authorization", "Bearer "+user)
	if rot.status != http.StatusCreated {
		t.Fatalf("rotate: %d %s", rot.status, rot.raw)
	}
	next := rot.body["key"].(string)
	remember(next)
	if roles, _ := rot.body["roles"].([]any); len(roles) != 1 || roles[0] != s.read {
		t.Fatalf("the rotated key shows roles %v", rot.body["roles"])
	}
	_, claims = app.mustToken(t, next)
	if roles := rolesOf(claims, s.client); !slices.Equal(roles, []string{"read"}) {
		t.Fatalf("rotated key's token roles: %v", roles)
	}

	// The owner loses the role: the next token lacks it (Keycloak applies the role
	// scope only to holders), and it is still the limited client's.
	_, read := kc.ClientRole(t, s.client, "read")
	if err := kc.Admin.DeleteClientRolesFromUser(context.Background(), kc.AdminToken(t), kc.Realm, s.clientUUID, s.userID, []gocloak.Role{read}); err != nil {
		t.Fatal(err)
	}
	_, claims = app.mustToken(t, next)
	if roles := rolesOf(claims, s.client); len(roles) != 0 || claims["azp"] != limited {
		t.Fatalf("after the owner lost read: roles %v azp %v", roles, claims["azp"])
	}
}

func TestLimitedKeys_AdminForUser_LimitedTheSameWay(t *testing.T) {
	kc := kctest.Require(t)
	app, _ := startLimitedApp(t, kc)
	s := newLimitedSetup(t, kc)
	carol := kc.Login(t, "carol")
	got := createLimited(t, app, carol, `{"name":"for a user","owner":"`+s.username+`","roles":["`+s.write+`"]}`)
	if got.status != http.StatusCreated || got.body["owner"] != s.userID {
		t.Fatalf("create for a user: %d %s", got.status, got.raw)
	}
	_, claims := app.mustToken(t, got.body["key"].(string))
	if roles := rolesOf(claims, s.client); !slices.Equal(roles, []string{"write"}) || claims["sub"] != s.userID {
		t.Fatalf("token roles %v sub %v", roles, claims["sub"])
	}
	// carol herself lacks the role: the user's roles count, not the admin's.
	if got := createLimited(t, app, carol, `{"name":"mine","roles":["`+s.write+`"]}`); got.status != http.StatusBadRequest {
		t.Fatalf("an admin limited her own key to a role she lacks: %d %s", got.status, got.raw)
	}
}

func TestLimitedKeys_AttackerCannotWiden(t *testing.T) {
	kc := kctest.Require(t)
	app, _ := startLimitedApp(t, kc)
	s := newLimitedSetup(t, kc)
	user := kc.Login(t, s.username)
	refused := func(name, body, field, says string) {
		t.Helper()
		got := createLimited(t, app, user, body)
		if got.status != http.StatusBadRequest || !strings.Contains(got.raw, field) || !strings.Contains(got.raw, says) {
			t.Errorf("%s: %d %s; want 400 naming %s and saying %q", name, got.status, got.raw, field, says)
		}
	}
	refused("a role the owner lacks", `{"name":"x","roles":["`+s.client+`:other"]}`, "roles[0]", "not a role")
	refused("a forged role", `{"name":"x","roles":["`+s.read+`","no-such-role-`+s.client+`"]}`, "roles[1]", "not a role")
	refused("a realm-management role", `{"name":"x","roles":["realm-management:manage-users"]}`, "roles[0]", "denylist")
	refused("the admin role", `{"name":"x","roles":["keyward-admin"]}`, "roles[0]", "denylist")
	refused("acl_groups", `{"name":"x","acl_groups":["engineering"]}`, "acl_groups", "Keycloak cannot limit a token's acl_groups claim")

	got := createLimited(t, app, user, `{"name":"narrow","roles":["`+s.read+`"]}`)
	if got.status != http.StatusCreated {
		t.Fatalf("create: %d %s", got.status, got.raw)
	}
	id, key := got.body["id"].(string), got.body["key"].(string)
	patch := func(body string) reply {
		return call(t, "PATCH", app.url+"/v1/keys/"+id, strings.NewReader(body),
			"Authorization", "Bearer "+user, "Content-Type", "application/json")
	}
	if got := patch(`{"roles":["` + s.read + `","` + s.write + `"]}`); got.status != http.StatusBadRequest || !strings.Contains(got.raw, "roles[1]") {
		t.Fatalf("widening by PATCH: %d %s", got.status, got.raw)
	}
	if got := patch(`{"roles":[]}`); got.status != http.StatusBadRequest {
		t.Fatalf("emptying the roles (unlimited) by PATCH: %d %s", got.status, got.raw)
	}
	_, claims := app.mustToken(t, key)
	if roles := rolesOf(claims, s.client); !slices.Equal(roles, []string{"read"}) {
		t.Fatalf("after the refused PATCHes the token has %v", roles)
	}
	// An unrestricted key narrowed by PATCH: limited from the next token on.
	_, plain := app.createKey(t, user, "plain")
	pid := ""
	for _, k := range call(t, "GET", app.url+"/v1/keys?q=plain", nil, "Authorization", "Bearer "+user).body["items"].([]any) {
		pid = k.(map[string]any)["id"].(string)
	}
	got = call(t, "PATCH", app.url+"/v1/keys/"+pid, strings.NewReader(`{"roles":["`+s.write+`"]}`),
		"Authorization", "Bearer "+user, "Content-Type", "application/json")
	if got.status != http.StatusOK {
		t.Fatalf("narrowing an unrestricted key: %d %s", got.status, got.raw)
	}
	_, claims = app.mustToken(t, plain)
	if roles := rolesOf(claims, s.client); !slices.Equal(roles, []string{"write"}) {
		t.Fatalf("narrowed key's token: %v", roles)
	}
}

// A realm role needs the realm's permission for Keyward to map it into a role scope
// (the shared realm gives none): the admin is told which one, and no key is made.
func TestLimitedKeys_RealmRoleWithoutPermission_SaysWhatToGrant(t *testing.T) {
	kc := kctest.Require(t)
	app, _ := startLimitedApp(t, kc)
	userID, username := kc.TempUser(t, "limrealm")
	role := kc.TempRealmRole(t, kctest.Unique("kw-e2e-limrealm"))
	t.Cleanup(func() { deleteRoleScopes(kc, []gocloak.Role{role}) })
	kc.AddToExchangeScope(t, kc.ClientID, role)
	if err := kc.Admin.AddRealmRoleToUser(context.Background(), kc.AdminToken(t), kc.Realm, userID, []gocloak.Role{role}); err != nil {
		t.Fatal(err)
	}
	user := kc.Login(t, username)
	got := createLimited(t, app, user, `{"name":"realm","roles":["`+*role.Name+`"]}`)
	if got.status != http.StatusConflict || !strings.Contains(got.raw, "map-role-client-scope") {
		t.Fatalf("want 409 naming the permission: %d %s", got.status, got.raw)
	}
	if list := call(t, "GET", app.url+"/v1/keys", nil, "Authorization", "Bearer "+user); len(list.body["items"].([]any)) != 0 {
		t.Fatalf("a key was written: %s", list.raw)
	}
}

// With the token cache on, a limited key's cached token loses a role the owner lost
// as an unrestricted key's does: the follower reads the user's role-mapping event and
// drops the owner's tokens.
func TestLimitedKeys_TokenCache_RoleLostGoneWithinThePollInterval(t *testing.T) {
	kc := kctest.Require(t)
	limited := kctest.Unique("kw-e2e-limited")
	kc.DeleteClientAtEnd(t, limited)
	t.Cleanup(func() { deleteScopes(kc, func(name string) bool { return name == limited+"-audience" }) })
	app := startAppWith(t, kc, map[string]string{"KEYWARD_LIMITED_CLIENT_ID": limited,
		"KEYWARD_TOKEN_CACHE": "true", "KEYWARD_EVENTS_POLL_INTERVAL": "1s"})
	s := newLimitedSetup(t, kc)
	got := createLimited(t, app, kc.Login(t, s.username), `{"name":"cached","roles":["`+s.read+`"]}`)
	if got.status != http.StatusCreated {
		t.Fatalf("create: %d %s", got.status, got.raw)
	}
	key := got.body["key"].(string)
	first, claims := app.mustToken(t, key)
	if again, _ := app.mustToken(t, key); again != first || !slices.Equal(rolesOf(claims, s.client), []string{"read"}) {
		t.Fatalf("want a cached token with read: roles %v, cached %v", rolesOf(claims, s.client), again == first)
	}
	_, read := kc.ClientRole(t, s.client, "read")
	if err := kc.Admin.DeleteClientRolesFromUser(context.Background(), kc.AdminToken(t), kc.Realm, s.clientUUID, s.userID, []gocloak.Role{read}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the lost role gone from the limited key's token", func() bool {
		_, claims := app.mustToken(t, key)
		return len(rolesOf(claims, s.client)) == 0
	})
}
