package keycloak

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/keyward/keyward/internal/kctest"
)

func TestAdmin_GroupRoleMappings_RealmAndClientRoles_OwnOnly(t *testing.T) {
	kc, c, ctx, parent := newGroupTest(t)
	child, err := c.CreateGroup(ctx, parent.ID, "child", "")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Group(ctx, child.ID); err != nil || got.ParentID != parent.ID || got.Path != parent.Path+"/child" {
		t.Fatalf("child %+v %v", got, err)
	}
	if got, err := c.Group(ctx, parent.ID); err != nil || got.ParentID != "" {
		t.Fatalf("a top-level group has a parent: %+v %v", got, err)
	}
	if list, _ := c.ChildGroups(ctx, parent.ID); len(list) != 1 || list[0].ParentID != parent.ID {
		t.Fatalf("children carry no parent id: %+v", list)
	}
	if _, err := c.Group(ctx, "00000000-0000-4000-8000-000000000000"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown group: %v", err)
	}
	if roles, err := c.GroupRoleMappings(ctx, child.ID); err != nil || len(roles) != 0 {
		t.Fatalf("a fresh group has roles: %v %v", roles, err)
	}

	role := kc.TempRealmRole(t, "kw-groups-test-"+suffix())
	unmapRealm := kc.MapRealmRoleToGroup(t, child.ID, *role.Name)
	kc.MapClientRoleToGroup(t, parent.ID, "realm-management", "view-users")

	roles, err := c.GroupRoleMappings(ctx, child.ID)
	if err != nil || !slices.Equal(roles, []RoleMapping{{Role: *role.Name}}) {
		t.Fatalf("child's own mappings: %v %v", roles, err)
	}
	if roles[0].String() != `realm role "`+*role.Name+`"` {
		t.Fatalf("String %q", roles[0].String())
	}
	roles, err = c.GroupRoleMappings(ctx, parent.ID)
	if err != nil || !slices.Equal(roles, []RoleMapping{{Client: "realm-management", Role: "view-users"}}) {
		t.Fatalf("parent's mappings: %v %v", roles, err)
	}
	if roles[0].String() != `client role "realm-management/view-users"` {
		t.Fatalf("String %q", roles[0].String())
	}
	unmapRealm()
	if roles, err := c.GroupRoleMappings(ctx, child.ID); err != nil || len(roles) != 0 {
		t.Fatalf("after the role was removed: %v %v", roles, err)
	}
	if _, err := c.GroupRoleMappings(ctx, "00000000-0000-4000-8000-000000000000"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown group: %v", err)
	}
}

func TestAdmin_ClientsWithAttribute_FindsOnlyMarkedClients(t *testing.T) {
	kc := kctest.Require(t)
	c := newClient(kc)
	ctx := adminCtx(t)
	marked, plain := "kw-attr-test-"+suffix(), "kw-attr-test-"+suffix()
	key := "keyward.test." + suffix()
	for clientID, attrs := range map[string]map[string]string{marked: {key: "row-1"}, plain: nil} {
		id, err := c.CreateServiceClient(ctx, ServiceClient{ClientID: clientID, Attributes: attrs})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.DeleteServiceClient(context.Background(), id) })
	}
	list, err := c.ClientsWithAttribute(ctx, key)
	if err != nil || len(list) != 1 || list[0].ClientID != marked || list[0].Attributes[key] != "row-1" || list[0].ID == "" {
		t.Fatalf("clients with %s: %+v %v", key, list, err)
	}
}
