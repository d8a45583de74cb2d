package keycloak

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Nerzal/gocloak/v13"

	"github.com/keyward/keyward/internal/kctest"
)

// These tests run against the real Keycloak of `make test`, as Keyward's own service
// account: they also prove the dev realm grants it the roles provisioning needs.

func suffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func adminCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newParent makes a top-level group for one test and deletes it (and its children) after.
func newParent(t *testing.T, c *Client) Group {
	t.Helper()
	ctx := adminCtx(t)
	g, err := c.CreateGroup(ctx, "", "kw-admin-test-"+suffix(), "test parent")
	if err != nil {
		t.Fatalf("create top-level group: %v", err)
	}
	t.Cleanup(func() { _ = c.DeleteGroup(context.Background(), g.ID) })
	return g
}

// newGroupTest is what a test of groups starts with: the realm, an admin client of it,
// the context for admin calls, and a top-level group of its own (newParent).
func newGroupTest(t *testing.T) (*kctest.Env, *Client, context.Context, Group) {
	t.Helper()
	kc := kctest.Require(t)
	c := newClient(kc)
	return kc, c, adminCtx(t), newParent(t, c)
}

func TestAdmin_Groups_CreateFindListDelete(t *testing.T) {
	_, c, ctx, parent := newGroupTest(t)

	child, err := c.CreateGroup(ctx, parent.ID, "analysts", "people who analyse")
	if err != nil {
		t.Fatalf("create child: %v", err)
	}
	if child.Name != "analysts" || child.Path != parent.Path+"/analysts" || child.Description != "people who analyse" || child.ID == "" {
		t.Fatalf("child %+v", child)
	}
	if _, err := c.CreateGroup(ctx, parent.ID, "analysts", ""); !errors.Is(err, ErrConflict) {
		t.Fatalf("second sibling of the same name: %v, want ErrConflict", err)
	}
	found, err := c.GroupByPath(ctx, parent.Path+"/analysts")
	if err != nil || found.ID != child.ID {
		t.Fatalf("group by path: %+v %v", found, err)
	}
	if _, err := c.GroupByPath(ctx, parent.Path+"/nobody"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown path: %v, want ErrNotFound", err)
	}
	list, err := c.ChildGroups(ctx, parent.ID)
	if err != nil || len(list) != 1 || list[0].ID != child.ID || list[0].Description != "people who analyse" {
		t.Fatalf("children: %+v %v", list, err)
	}
	if has, err := c.GroupHasMembers(ctx, child.ID); err != nil || has {
		t.Fatalf("new group has members=%v err=%v", has, err)
	}
	if err := c.DeleteGroup(ctx, child.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteGroup(ctx, child.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleting twice: %v, want ErrNotFound", err)
	}
}

func TestAdmin_ChildGroups_AllPages(t *testing.T) {
	_, c, ctx, parent := newGroupTest(t)
	const n = 103 // more than one page of 100
	for i := 0; i < n; i++ {
		if _, err := c.CreateGroup(ctx, parent.ID, "g"+suffix(), ""); err != nil {
			t.Fatal(err)
		}
	}
	list, err := c.ChildGroups(ctx, parent.ID)
	if err != nil || len(list) != n {
		t.Fatalf("%d children listed, want %d (%v)", len(list), n, err)
	}
}

func TestAdmin_ServiceClient_Lifecycle(t *testing.T) {
	_, c, ctx, parent := newGroupTest(t)
	group, err := c.CreateGroup(ctx, parent.ID, "readers", "")
	if err != nil {
		t.Fatal(err)
	}
	clientID := "kw-admin-test-" + suffix()
	id, err := c.CreateServiceClient(ctx, ServiceClient{
		ClientID: clientID, Name: "Test client", Description: "made by a test",
		Attributes: map[string]string{"keyward.id": "row-1"},
	})
	if err != nil {
		t.Fatalf("create client: %v", err)
	}
	t.Cleanup(func() { _ = c.DeleteServiceClient(context.Background(), id) })

	if _, err := c.CreateServiceClient(ctx, ServiceClient{ClientID: clientID}); !errors.Is(err, ErrConflict) {
		t.Fatalf("same client_id twice: %v, want ErrConflict", err)
	}
	info, err := c.ServiceClient(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if info.ClientID != clientID || info.Protocol != "openid-connect" || !info.Enabled || info.PublicClient ||
		!info.ServiceAccountsEnabled || info.DirectAccessGrantsEnabled || info.StandardFlowEnabled ||
		info.ImplicitFlowEnabled || !info.ACLMapper || info.Attributes["keyward.id"] != "row-1" || info.Name != "Test client" ||
		info.FullScopeAllowed || info.ConsentRequired {
		t.Fatalf("client as created: %+v", info)
	}
	byClientID, err := c.ServiceClientByClientID(ctx, clientID)
	if err != nil || byClientID.ID != id {
		t.Fatalf("find by client_id: %+v %v", byClientID, err)
	}

	sa, err := c.ServiceAccountUserID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddUserToGroup(ctx, sa, group.ID); err != nil {
		t.Fatal(err)
	}
	if has, err := c.GroupHasMembers(ctx, group.ID); err != nil || !has {
		t.Fatalf("group with a service account: members=%v err=%v", has, err)
	}
	groups, err := c.UserGroups(ctx, sa)
	if err != nil || len(groups) != 1 || groups[0].ID != group.ID {
		t.Fatalf("service account's groups: %+v %v", groups, err)
	}

	secret, err := c.ClientSecret(ctx, id)
	if err != nil || len(secret) < 16 {
		t.Fatalf("secret: len %d, %v", len(secret), err)
	}
	tok, err := c.ClientCredentialsGrant(ctx, clientID, secret)
	if err != nil {
		t.Fatalf("client credentials grant: %v", err)
	}
	claims := kctest.Claims(t, tok.AccessToken)
	if got := kctest.Strings(claims["acl_groups"]); !slices.Equal(got, []string{"readers"}) {
		t.Fatalf("acl_groups %v, want [readers]", claims["acl_groups"])
	}

	if err := c.RemoveUserFromGroup(ctx, sa, group.ID); err != nil {
		t.Fatal(err)
	}
	tok, err = c.ClientCredentialsGrant(ctx, clientID, secret)
	if err != nil {
		t.Fatal(err)
	}
	if got := kctest.Strings(kctest.Claims(t, tok.AccessToken)["acl_groups"]); len(got) != 0 {
		t.Fatalf("acl_groups after leaving the group: %v", got)
	}

	fresh, err := c.RegenerateClientSecret(ctx, id)
	if err != nil || fresh == secret {
		t.Fatalf("regenerate: same=%v err=%v", fresh == secret, err)
	}
	if _, err := c.ClientCredentialsGrant(ctx, clientID, secret); !errors.Is(err, ErrInvalidClient) {
		t.Fatalf("old secret after regeneration: %v, want ErrInvalidClient", err)
	}
	if _, err := c.ClientCredentialsGrant(ctx, clientID, fresh); err != nil {
		t.Fatalf("new secret: %v", err)
	}

	name, redirects := "Renamed", []string{"https://app.example/cb"}
	if err := c.UpdateServiceClient(ctx, id, ClientChange{Name: &name, RedirectURIs: &redirects, Enabled: new(bool)}); err != nil {
		t.Fatal(err)
	}
	info, err = c.ServiceClient(ctx, id)
	if err != nil || info.Name != "Renamed" || info.Enabled || !info.StandardFlowEnabled ||
		!slices.Equal(info.RedirectURIs, redirects) || info.Description != "made by a test" || !info.ACLMapper ||
		!info.ConsentRequired || info.FullScopeAllowed {
		t.Fatalf("after update: %+v %v", info, err)
	}
	if _, err := c.ClientCredentialsGrant(ctx, clientID, fresh); !errors.Is(err, ErrInvalidClient) {
		t.Fatalf("disabled client: %v, want ErrInvalidClient", err)
	}
	// The representation Keycloak hands out carries the secret; the update must not
	// have written an old one back.
	if now, err := c.ClientSecret(ctx, id); err != nil || now != fresh {
		t.Fatalf("secret changed by an update: %v", err)
	}

	if err := c.DeleteServiceClient(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ServiceClient(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted client: %v, want ErrNotFound", err)
	}
	if _, err := c.ServiceClientByClientID(ctx, clientID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted client by client_id: %v, want ErrNotFound", err)
	}
	if err := c.DeleteServiceClient(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleting twice: %v, want ErrNotFound", err)
	}
	if has, err := c.GroupHasMembers(ctx, group.ID); err != nil || has {
		t.Fatalf("the service account outlived its client: members=%v err=%v", has, err)
	}
}

// A client made with redirect URIs asks consent and is not full-scope; role scope
// mappings put on it by someone else are all removed, realm and client roles alike,
// and a client-credentials token then carries no role but still its acl_groups claim.
func TestAdmin_ServiceClient_NoScope_ScopeMappingsCleared(t *testing.T) {
	kc, c, ctx, parent := newGroupTest(t)
	group, err := c.CreateGroup(ctx, parent.ID, "readers", "")
	if err != nil {
		t.Fatal(err)
	}
	clientID := "kw-admin-test-" + suffix()
	id, err := c.CreateServiceClient(ctx, ServiceClient{ClientID: clientID, RedirectURIs: []string{"https://app.example/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.DeleteServiceClient(context.Background(), id) })
	info, err := c.ServiceClient(ctx, id)
	if err != nil || info.FullScopeAllowed || !info.ConsentRequired || !info.StandardFlowEnabled {
		t.Fatalf("client with redirect URIs as created: %+v %v", info, err)
	}
	if removed, kept, err := c.ClearClientScopeMappings(ctx, id); err != nil || len(removed)+len(kept) != 0 {
		t.Fatalf("a new client's scope mappings: %v %v %v", removed, kept, err)
	}

	admin := kc.AdminToken(t)
	realmRole, err := kc.Admin.GetRealmRole(ctx, admin, kc.Realm, "offline_access")
	if err != nil {
		t.Fatal(err)
	}
	if err := kc.Admin.CreateClientScopeMappingsRealmRoles(ctx, admin, kc.Realm, id, []gocloak.Role{*realmRole}); err != nil {
		t.Fatal(err)
	}
	rmID, viewUsers := kc.ClientRole(t, "realm-management", "view-users")
	if err := kc.Admin.CreateClientScopeMappingsClientRoles(ctx, admin, kc.Realm, id, rmID, []gocloak.Role{viewUsers}); err != nil {
		t.Fatal(err)
	}
	rmID2, realmAdmin := kc.ClientRole(t, "realm-management", "realm-admin")
	if err := kc.Admin.CreateClientScopeMappingsClientRoles(ctx, admin, kc.Realm, id, rmID2, []gocloak.Role{realmAdmin}); err != nil {
		t.Fatal(err)
	}
	// Keycloak keeps a realm role's scope mapping from an admin without manage-realm:
	// the client roles go, the realm role stays, and the error says what to do.
	removed, kept, err := c.ClearClientScopeMappings(ctx, id)
	want := []RoleMapping{{Client: "realm-management", Role: "realm-admin"}, {Client: "realm-management", Role: "view-users"}}
	if !errors.Is(err, ErrRealmScopeForbidden) || !slices.Equal(removed, want) || !slices.Equal(kept, []RoleMapping{{Role: "offline_access"}}) {
		t.Fatalf("removed %v, kept %v, %v; want removed %v, kept offline_access, ErrRealmScopeForbidden", removed, kept, err, want)
	}
	left, err := kc.Admin.GetClientScopeMappings(ctx, admin, kc.Realm, id)
	if err != nil || len(left.ClientMappings) > 0 || left.RealmMappings == nil || len(*left.RealmMappings) != 1 {
		t.Fatalf("scope mappings left: %+v %v", left, err)
	}
	if err := kc.Admin.DeleteClientScopeMappingsRealmRoles(ctx, admin, kc.Realm, id, []gocloak.Role{*realmRole}); err != nil {
		t.Fatal(err)
	}
	if removed, kept, err := c.ClearClientScopeMappings(ctx, id); err != nil || len(removed)+len(kept) != 0 {
		t.Fatalf("after the realm admin removed it: %v %v %v", removed, kept, err)
	}

	sa, err := c.ServiceAccountUserID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddUserToGroup(ctx, sa, group.ID); err != nil {
		t.Fatal(err)
	}
	secret, err := c.ClientSecret(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.ClientCredentialsGrant(ctx, clientID, secret)
	if err != nil {
		t.Fatal(err)
	}
	claims := kctest.Claims(t, tok.AccessToken)
	if roles := kctest.RealmRoles(claims); len(roles) != 0 || claims["resource_access"] != nil {
		t.Fatalf("a no-scope client's token carries roles: %v %v", roles, claims["resource_access"])
	}
	if got := kctest.Strings(claims["acl_groups"]); !slices.Equal(got, []string{"readers"}) {
		t.Fatalf("acl_groups %v, want [readers]", claims["acl_groups"])
	}
}

func TestAdmin_ClientCredentialsGrant_UnknownClient_InvalidClient(t *testing.T) {
	kc := kctest.Require(t)
	_, err := newClient(kc).ClientCredentialsGrant(adminCtx(t), "kw-no-such-client-"+suffix(), "whatever-secret")
	if !errors.Is(err, ErrInvalidClient) {
		t.Fatalf("unknown client: %v, want ErrInvalidClient", err)
	}
	if err != nil && strings.Contains(err.Error(), "whatever-secret") {
		t.Fatal("the error repeats the secret")
	}
}

func TestAdmin_KeycloakDown_Unavailable(t *testing.T) {
	c := New(Config{BaseURL: "http://127.0.0.1:1", Realm: "keyward", ClientID: "keyward", ClientSecret: "x", Timeout: time.Second})
	ctx := context.Background()
	for name, call := range map[string]func() error{
		"groups":  func() error { _, err := c.ChildGroups(ctx, ""); return err },
		"create":  func() error { _, err := c.CreateServiceClient(ctx, ServiceClient{ClientID: "x"}); return err },
		"secret":  func() error { _, err := c.ClientSecret(ctx, "x"); return err },
		"grant":   func() error { _, err := c.ClientCredentialsGrant(ctx, "x", "y"); return err },
		"members": func() error { return c.AddUserToGroup(ctx, "u", "g") },
	} {
		if err := call(); !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s with Keycloak down: %v, want ErrUnavailable", name, err)
		}
	}
}
