package handlers

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/testkit/fakekc"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/keys"
)

// Keys limited to roles through HTTP: what the routes answer, Keycloak faked.

type fakeRoleLimits struct{ forbidden string }

func (fakeRoleLimits) ExchangeCeiling(context.Context) (keycloak.Roles, bool, error) {
	return keycloak.Roles{}, true, nil
}

func (f fakeRoleLimits) EnsureRoleScope(_ context.Context, r keycloak.RoleMapping) (keycloak.RoleScope, error) {
	if r.Role == f.forbidden {
		return keycloak.RoleScope{}, &keycloak.RoleScopeForbiddenError{Role: r}
	}
	return keycloak.RoleScope{RoleID: "id-" + r.Role}, nil
}

func limitedHarness(t *testing.T) *harness {
	return newHarness(t, withKeys(func(c *keys.Config) {
		c.RoleLimits = fakeRoleLimits{forbidden: "reports-write"}
		c.Roles = fakekc.Roles{"alice-id": {Realm: []string{"reports-read", "reports-write"},
			Clients: map[string][]string{"shop-api": {"orders-read"}}}}
	}))
}

func TestCreateKey_Roles_201_Shown(t *testing.T) {
	h := limitedHarness(t)
	k := h.mustStatus(t, http.StatusCreated, "POST", "/v1/keys", "alice-token", `{"name":"r","roles":["reports-read","shop-api:orders-read"]}`)
	roles, _ := k["roles"].([]any)
	if len(roles) != 2 || roles[0] != "reports-read" || roles[1] != "shop-api:orders-read" {
		t.Fatalf("roles %v", k["roles"])
	}
	got := h.mustStatus(t, http.StatusOK, "GET", "/v1/keys/"+k["id"].(string), "alice-token", "")
	if len(got["roles"].([]any)) != 2 {
		t.Fatalf("GET roles %v", got["roles"])
	}
	plain := h.mustStatus(t, http.StatusCreated, "POST", "/v1/keys", "alice-token", `{"name":"p"}`)
	if _, ok := plain["roles"]; ok {
		t.Fatalf("an unrestricted key shows roles: %v", plain["roles"])
	}
}

func TestCreateKey_Roles_400_NamesTheRole(t *testing.T) {
	h := limitedHarness(t)
	for body, wants := range map[string][]string{
		`{"name":"r","roles":["reports-read","finance-read"]}`:     {`"roles[1]"`, "not a role alice holds"},
		`{"name":"r","roles":["reports-read"],"acl_groups":["x"]}`: {`"acl_groups"`, "Keycloak cannot limit"},
	} {
		rec := h.do("POST", "/v1/keys", "alice-token", "application/json", body)
		for _, want := range wants {
			if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), want) {
				t.Errorf("%s: %d %s; want %s", body, rec.Code, rec.Body.String(), want)
			}
		}
	}
	if len(h.keys(t)) != 0 {
		t.Fatal("a key was written")
	}
}

func TestCreateKey_Roles_409_RealmMustPermit(t *testing.T) {
	h := limitedHarness(t)
	rec := h.do("POST", "/v1/keys", "alice-token", "application/json", `{"name":"r","roles":["reports-write"]}`)
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "map-role-client-scope") {
		t.Fatalf("%d %s", rec.Code, rec.Body.String())
	}
}

func TestUpdateKey_Roles_NarrowOnly(t *testing.T) {
	h := limitedHarness(t)
	k := h.mustStatus(t, http.StatusCreated, "POST", "/v1/keys", "alice-token", `{"name":"r","roles":["reports-read","shop-api:orders-read"]}`)
	path := "/v1/keys/" + k["id"].(string)
	got := h.mustStatus(t, http.StatusOK, "PATCH", path, "alice-token", `{"roles":["reports-read"]}`)
	if roles := got["roles"].([]any); len(roles) != 1 || roles[0] != "reports-read" {
		t.Fatalf("narrowed to %v", roles)
	}
	h.mustStatus(t, http.StatusBadRequest, "PATCH", path, "alice-token", `{"roles":["reports-read","shop-api:orders-read"]}`)
	h.mustStatus(t, http.StatusBadRequest, "PATCH", path, "alice-token", `{"roles":[]}`)
}

// The harness's exchange has no limited minter: a limited key is refused, never
// minted with all of its owner's roles.
func TestToken_LimitedKey_WithoutLimitedMinter_NotMinted(t *testing.T) {
	h := limitedHarness(t)
	k := h.mustStatus(t, http.StatusCreated, "POST", "/v1/keys", "alice-token", `{"name":"r","roles":["reports-read"]}`)
	if code := h.exchangeStatus(k["key"].(string)); code != http.StatusInternalServerError {
		t.Fatalf("exchange %d, want the refusal of a server that cannot enforce the limit", code)
	}
}
