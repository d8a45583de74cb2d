package keycloak

import (
	"context"
	"errors"
	"testing"

	"github.com/Nerzal/gocloak/v13"

	"github.com/keyward/keyward/internal/kctest"
)

func TestEnsureKeyClient_IdempotentAndRepairing(t *testing.T) {
	kc := kctest.Require(t)
	c := newClient(kc)
	ctx := context.Background()
	g1 := kc.TempGroup(t, "", kctest.Unique("kw-acl"))
	g2 := kc.TempGroup(t, "", kctest.Unique("kw-acl"))
	stray := kc.TempGroup(t, "", kctest.Unique("stray"))
	spec := KeyClient{ClientID: kctest.Unique("kw-keys"), JWKSURL: "http://127.0.0.1:9/.well-known/jwks.json",
		Attributes: map[string]string{"keyward.consumer_id": "c-1"}, Groups: []string{g1}}
	kc.DeleteClientAtEnd(t, spec.ClientID)
	first, err := c.EnsureKeyClient(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.ServiceClient(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if info.StandardFlowEnabled || info.ImplicitFlowEnabled || info.DirectAccessGrantsEnabled || !info.ServiceAccountsEnabled ||
		info.FullScopeAllowed || len(info.RedirectURIs) != 0 || !info.ACLMapper || info.Attributes["jwks.url"] != spec.JWKSURL ||
		info.Attributes[AttrKeyClient] != "true" || info.Attributes["keyward.id"] != "" {
		t.Fatalf("key client settings: %+v", info)
	}
	cl, err := c.admin.GetClient(ctx, kc.AdminToken(t), kc.Realm, first.ID)
	if err != nil || gocloak.PString(cl.ClientAuthenticatorType) != AuthenticatorClientJWT {
		t.Fatalf("authenticator %q (%v), want client-jwt", gocloak.PString(cl.ClientAuthenticatorType), err)
	}

	// Someone widens it in Keycloak: full scope, a role in its scope, another group.
	admin := kc.AdminToken(t)
	cl.FullScopeAllowed = gocloak.BoolP(true)
	cl.Secret = nil
	if err := kc.Admin.UpdateClient(ctx, admin, kc.Realm, *cl); err != nil {
		t.Fatal(err)
	}
	_, viewUsers := kc.ClientRole(t, "realm-management", "view-users")
	if err := kc.Admin.CreateClientScopeMappingsClientRoles(ctx, admin, kc.Realm, first.ID, *viewUsers.ContainerID, []gocloak.Role{viewUsers}); err != nil {
		t.Fatal(err)
	}
	kc.AddToGroup(t, first.ServiceAccountID, stray)

	spec.Groups = []string{g2}
	again, err := c.EnsureKeyClient(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if again != first {
		t.Fatalf("ensure again gave %+v, first %+v", again, first)
	}
	if info, _ := c.ServiceClient(ctx, first.ID); info.FullScopeAllowed {
		t.Fatal("full scope not taken back")
	}
	m, err := kc.Admin.GetClientScopeMappings(ctx, admin, kc.Realm, first.ID)
	if err != nil || len(roleMappings(m)) != 0 {
		t.Fatalf("scope mappings left: %v (%v)", roleMappings(m), err)
	}
	groups, err := c.UserGroups(ctx, first.ServiceAccountID)
	if err != nil || len(groups) != 1 || groups[0].ID != g2 {
		t.Fatalf("service account's groups %+v (%v), want only %s", groups, err, g2)
	}
}

func TestEnsureKeyClient_AnotherClientsID_Conflict(t *testing.T) {
	kc := kctest.Require(t)
	c := newClient(kc)
	id := kctest.Unique("not-keywards")
	kc.TempClient(t, gocloak.Client{ClientID: gocloak.StringP(id), ServiceAccountsEnabled: gocloak.BoolP(true), PublicClient: gocloak.BoolP(false)})
	_, err := c.EnsureKeyClient(context.Background(), KeyClient{ClientID: id, JWKSURL: "http://127.0.0.1:9/jwks",
		Attributes: map[string]string{"keyward.consumer_id": "c-1"}})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("err %v, want ErrConflict", err)
	}
	info, _ := c.ServiceClientByClientID(context.Background(), id)
	if info.Attributes["jwks.url"] != "" {
		t.Fatal("the other client was changed")
	}
}
