package console

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/keys"
)

// rolesKeys is the key service as the create form and the key page use it for roles.
type rolesKeys struct {
	onlyKey
	asked *keys.CreateParams
}

func (r rolesKeys) LimitableRoles(context.Context, audit.Actor) ([]string, error) {
	return []string{"reports-read", "shop-api:orders-read"}, nil
}

func (r rolesKeys) Create(_ context.Context, _ audit.Actor, p keys.CreateParams) (keys.Created, error) {
	*r.asked = p
	if slices.Contains(p.Roles, "reports-write") {
		return keys.Created{}, errs.Field("roles[0]", "reports-write is not a role alice holds")
	}
	return r.onlyKey.Create(context.Background(), audit.Actor{}, p)
}

func rolesPages(t *testing.T) (*harness, *keys.CreateParams) {
	h := keyPages(t)
	asked := &keys.CreateParams{}
	k := h.c.cfg.Keys.(onlyKey)
	k.key.Roles = []string{"reports-read"}
	h.c.cfg.Keys = rolesKeys{onlyKey: k, asked: asked}
	return h, asked
}

func TestNewKeyForm_OffersTheViewersRoles_NotACLGroups(t *testing.T) {
	h, _ := rolesPages(t)
	page := h.do("GET", "/keys/new", nil).Body.String()
	for _, want := range []string{`name="roles" value="reports-read"`, `name="roles" value="shop-api:orders-read"`,
		"ACL groups are not offered: Keycloak cannot limit"} {
		if !strings.Contains(page, want) {
			t.Errorf("the form lacks %q", want)
		}
	}
	if strings.Contains(page, `name="acl_groups"`) {
		t.Error("the form offers ACL groups")
	}
}

func TestCreateKey_CheckedRolesSent_ProblemShownOnTheForm(t *testing.T) {
	h, asked := rolesPages(t)
	form := url.Values{"csrf": {h.c.cfg.Secrets.csrfToken(h.cookie[sessionCookie])}, "name": {"reports"},
		"environment": {"production"}, "expiry": {"30"}, "roles": {"reports-read", "shop-api:orders-read"}}
	if rec := h.do("POST", "/keys", form, "Origin", "http://console.test"); rec.Code != http.StatusOK {
		t.Fatalf("create: %d", rec.Code)
	}
	if !slices.Equal(asked.Roles, []string{"reports-read", "shop-api:orders-read"}) {
		t.Fatalf("roles sent: %v", asked.Roles)
	}
	form.Set("roles", "reports-write")
	rec := h.do("POST", "/keys", form, "Origin", "http://console.test")
	if page := rec.Body.String(); rec.Code != http.StatusBadRequest || !strings.Contains(page, "reports-write is not a role alice holds") {
		t.Fatalf("refused role: %d %.2000s", rec.Code, page)
	}
}

func TestKeyPage_ShowsTheRoles(t *testing.T) {
	h, _ := rolesPages(t)
	page := h.do("GET", "/keys/k1", nil).Body.String()
	if !strings.Contains(page, `<dd id="key-roles">reports-read</dd>`) {
		t.Fatalf("the key page lacks its roles: %.3000s", page)
	}
	h.c.cfg.Keys = onlyKey{key: keys.Key{ID: "k1", Name: "plain", Status: keys.StatusActive, Metadata: []byte("{}"),
		CreatedAt: time.Now()}}
	if page := h.do("GET", "/keys/k1", nil).Body.String(); !strings.Contains(page, `<dd id="key-roles">all of the owner`) {
		t.Fatalf("an unrestricted key's page: %.3000s", page)
	}
}
