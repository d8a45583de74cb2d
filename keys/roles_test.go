package keys

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/internal/testkit/fakekc"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
)

// fakeRoleLimits is Keycloak's side of limited keys: the exchange client's ceiling and
// the role scopes made (role id = "id-" + the role's text).
type fakeRoleLimits struct {
	ceiling   keycloak.Roles
	all       bool
	forbidden string // a realm role Keycloak refuses to map
	ensured   []string
}

func (f *fakeRoleLimits) ExchangeCeiling(context.Context) (keycloak.Roles, bool, error) {
	return f.ceiling, f.all, nil
}

func (f *fakeRoleLimits) EnsureRoleScope(_ context.Context, r keycloak.RoleMapping) (keycloak.RoleScope, error) {
	text := r.Role
	if r.Client != "" {
		text = r.Client + ":" + r.Role
	}
	if r.Client == "" && r.Role == f.forbidden {
		return keycloak.RoleScope{}, &keycloak.RoleScopeForbiddenError{Role: r}
	}
	f.ensured = append(f.ensured, text)
	return keycloak.RoleScope{Name: keycloak.RoleScopeName("id-" + text), RoleID: "id-" + text}, nil
}

// Alice holds reports-read, reports-write, shop-api:orders-read and keyward-admin (denied);
// the exchange client's scope holds all but reports-write... and an unheld role.
func limitedFixture(t *testing.T) (*fixture, *fakeRoleLimits) {
	lim := &fakeRoleLimits{ceiling: keycloak.Roles{
		Realm:   []string{"reports-read", "keyward-admin", "finance-read"},
		Clients: map[string][]string{"shop-api": {"orders-read"}},
	}}
	f := newFixture(t, func(c *Config) {
		c.RoleLimits = lim
		c.Roles = fakekc.Roles{
			"alice-id": {Realm: []string{"reports-read", "reports-write", "keyward-admin"},
				Clients: map[string][]string{"shop-api": {"orders-read"}}},
			"bob-id": {Realm: []string{"reports-read"}},
		}
	})
	return f, lim
}

func TestCreate_Roles_LimitStoredAndShown(t *testing.T) {
	f, lim := limitedFixture(t)
	c := f.create(t, alice, CreateParams{Name: "limited", Roles: []string{"reports-read", "shop-api:orders-read", "reports-read"}})
	if want := []string{"reports-read", "shop-api:orders-read"}; !slices.Equal(c.Key.Roles, want) {
		t.Fatalf("roles = %v, want %v (repeats dropped)", c.Key.Roles, want)
	}
	if !slices.Equal(lim.ensured, []string{"reports-read", "shop-api:orders-read"}) {
		t.Fatalf("role scopes made: %v", lim.ensured)
	}
	row, err := f.store.KeyByID(context.Background(), "", c.Key.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ids := row.RoleIDs(); !slices.Equal(ids, []string{"id-reports-read", "id-shop-api:orders-read"}) {
		t.Fatalf("stored role ids %v", ids)
	}
	plain := f.create(t, alice, CreateParams{Name: "plain"})
	if plain.Key.Roles != nil {
		t.Fatalf("a key without roles is limited: %v", plain.Key.Roles)
	}
}

func TestCreate_Roles_EachProblemNamesItsRole_NothingWritten(t *testing.T) {
	f, lim := limitedFixture(t)
	lim.forbidden = "nothing"
	_, err := f.svc.Create(context.Background(), alice, CreateParams{Name: "k", Roles: []string{
		"reports-read",                  // fine
		"finance-read",                  // alice lacks it
		"keyward-admin",                 // denylisted
		"reports-write",                 // outside the exchange client's scope
		"realm-management:manage-users", // the realm's admin roles: always denied
		"no-such-role",                  // forged: nobody holds it
	}})
	got := fieldsOf(err)
	want := map[string]string{
		"roles[1]": "not a role alice holds", "roles[2]": "denylist", "roles[3]": "outside the exchange client's scope",
		"roles[4]": "denylist", "roles[5]": "not a role alice holds",
	}
	for field, part := range want {
		if !strings.Contains(got[field], part) {
			t.Errorf("%s: %q, want it to say %q", field, got[field], part)
		}
	}
	malformed := fieldsOf(createErr(f, alice, CreateParams{Name: "k", Roles: []string{"reports-read", ":x", "shop-api:", " padded", ""}}))
	for field, part := range map[string]string{"roles[1]": "<clientId>:<role>", "roles[2]": "<clientId>:<role>", "roles[3]": "blanks", "roles[4]": "blanks"} {
		if !strings.Contains(malformed[field], part) {
			t.Errorf("%s: %q, want it to say %q", field, malformed[field], part)
		}
	}
	if _, ok := got["roles[0]"]; ok {
		t.Errorf("a good role refused: %v", got)
	}
	if len(lim.ensured) != 0 {
		t.Fatalf("role scopes made for a refused request: %v", lim.ensured)
	}
	if n, _ := f.store.ListKeys(context.Background(), models.KeyFilter{Now: f.now, Limit: 10}); len(n) != 0 {
		t.Fatalf("%d keys written", len(n))
	}
}

func TestCreate_ACLGroups_RefusedWithWhy(t *testing.T) {
	f, _ := limitedFixture(t)
	_, err := f.svc.Create(context.Background(), alice, CreateParams{Name: "k", ACLGroups: []string{"finance"}, Scopes: []string{"bad scope"}})
	got := fieldsOf(err)
	if !strings.Contains(got["acl_groups"], "Keycloak cannot limit a token's acl_groups claim") || got["scopes"] == "" {
		t.Fatalf("want acl_groups refused with the reason, with the other problems: %v", got)
	}
}

func TestCreate_Roles_TooMany(t *testing.T) {
	f, _ := limitedFixture(t)
	many := make([]string, 21)
	for i := range many {
		many[i] = "r" + strings.Repeat("x", i)
	}
	if got := fieldsOf(createErr(f, alice, CreateParams{Name: "k", Roles: many})); !strings.Contains(got["roles"], "at most 20") {
		t.Fatalf("%v", got)
	}
}

func createErr(f *fixture, a audit.Actor, p CreateParams) error {
	_, err := f.svc.Create(context.Background(), a, p)
	return err
}

func TestCreate_Roles_AdminForUser_TheUsersRolesCount(t *testing.T) {
	f, _ := limitedFixture(t)
	c := f.create(t, carol, CreateParams{Owner: "bob", Name: "for bob", Roles: []string{"reports-read"}})
	if c.Key.OwnerID != "bob-id" || !slices.Equal(c.Key.Roles, []string{"reports-read"}) {
		t.Fatalf("%+v", c.Key)
	}
	// carol is admin; what counts is bob's roles, and bob lacks orders-read.
	got := fieldsOf(createErr(f, carol, CreateParams{Owner: "bob", Name: "more", Roles: []string{"shop-api:orders-read"}}))
	if !strings.Contains(got["roles[0]"], "not a role bob holds") {
		t.Fatalf("%v", got)
	}
}

func TestCreate_Roles_RealmRefusesTheMapping_SaysWhatToGrant(t *testing.T) {
	f, lim := limitedFixture(t)
	lim.forbidden = "reports-read"
	err := createErr(f, alice, CreateParams{Name: "k", Roles: []string{"reports-read"}})
	if errs.KindOf(err) != errs.Conflict || !errors.Is(err, ErrRealmSetup) {
		t.Fatalf("want a conflict of the realm's set-up, got %v", err)
	}
	if msg := errs.MessageOf(err); !strings.Contains(msg, "map-role-client-scope") || !strings.HasPrefix(msg, "roles[0]") {
		t.Fatalf("message %q", msg)
	}
}

func TestCreate_Roles_NotConfigured_Refused(t *testing.T) {
	f := newFixture(t, nil)
	if got := fieldsOf(createErr(f, alice, CreateParams{Name: "k", Roles: []string{"reports-read"}})); got["roles"] == "" {
		t.Fatalf("a limit accepted by a server that cannot enforce it: %v", got)
	}
}

func TestUpdate_Roles_NarrowOnly(t *testing.T) {
	f, _ := limitedFixture(t)
	ctx := context.Background()
	c := f.create(t, alice, CreateParams{Name: "k", Roles: []string{"reports-read", "shop-api:orders-read"}})
	k, err := f.svc.Update(ctx, alice, c.Key.ID, UpdateParams{Roles: &[]string{"shop-api:orders-read"}})
	if err != nil || !slices.Equal(k.Roles, []string{"shop-api:orders-read"}) {
		t.Fatalf("narrowing: %v %v", k.Roles, err)
	}
	for _, wider := range [][]string{{"shop-api:orders-read", "reports-read"}, {"reports-write"}} {
		_, err = f.svc.Update(ctx, alice, c.Key.ID, UpdateParams{Roles: &wider})
		if got := fieldsOf(err); !strings.Contains(got["roles[0]"]+got["roles[1]"], "never widened") {
			t.Fatalf("widening to %v: %v", wider, err)
		}
	}
	// An admin cannot widen either.
	_, err = f.svc.Update(ctx, carol, c.Key.ID, UpdateParams{Roles: &[]string{"reports-read"}})
	if fieldsOf(err)["roles[0]"] == "" {
		t.Fatalf("an admin widened a key: %v", err)
	}
	if _, err = f.svc.Update(ctx, alice, c.Key.ID, UpdateParams{Roles: &[]string{}}); fieldsOf(err)["roles"] == "" {
		t.Fatalf("roles emptied (unlimited): %v", err)
	}
	k, _ = f.svc.Get(ctx, alice, c.Key.ID)
	if !slices.Equal(k.Roles, []string{"shop-api:orders-read"}) {
		t.Fatalf("roles now %v", k.Roles)
	}
}

func TestUpdate_Roles_UnlimitedKeyNarrowed_SameChecksAsCreate(t *testing.T) {
	f, _ := limitedFixture(t)
	ctx := context.Background()
	c := f.create(t, alice, CreateParams{Name: "k"})
	if _, err := f.svc.Update(ctx, alice, c.Key.ID, UpdateParams{Roles: &[]string{"keyward-admin"}}); !strings.Contains(fieldsOf(err)["roles[0]"], "denylist") {
		t.Fatalf("denylisted role: %v", err)
	}
	k, err := f.svc.Update(ctx, alice, c.Key.ID, UpdateParams{Roles: &[]string{"reports-read"}})
	if err != nil || !slices.Equal(k.Roles, []string{"reports-read"}) {
		t.Fatalf("%v %v", k.Roles, err)
	}
}

func TestRotate_KeepsTheLimit(t *testing.T) {
	f, _ := limitedFixture(t)
	c := f.create(t, alice, CreateParams{Name: "k", Roles: []string{"reports-read"}})
	next, err := f.svc.Rotate(context.Background(), alice, c.Key.ID, nil)
	if err != nil || !slices.Equal(next.Key.Roles, []string{"reports-read"}) {
		t.Fatalf("%v %v", next.Key.Roles, err)
	}
}
