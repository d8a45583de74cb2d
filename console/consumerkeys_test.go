package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/keys"
	"github.com/keyward/keyward/provisioning"
)

// consumerKeysAPI is the key lifecycle as the consumer's page uses it.
type consumerKeysAPI struct {
	keys.API
	created keys.CreateParams
	listed  keys.ListParams
}

var shopKey = keys.Key{ID: "k1", Name: "orders", Prefix: "kw_live_AbC123xyz789", Status: keys.StatusActive,
	Consumer: &keys.Consumer{ID: "c1", Name: "shop"}, OwnerUsername: "shop"}

func (f *consumerKeysAPI) List(_ context.Context, _ audit.Actor, p keys.ListParams) (keys.Page, error) {
	f.listed = p
	return keys.Page{Items: []keys.Key{shopKey}}, nil
}

func (f *consumerKeysAPI) Create(_ context.Context, _ audit.Actor, p keys.CreateParams) (keys.Created, error) {
	f.created = p
	return keys.Created{Key: shopKey, Plaintext: "kw_live_secret-shown-once"}, nil
}

type consumerProv struct{ provisioning.API }

func (consumerProv) Consumer(context.Context, string) (provisioning.Consumer, error) {
	return provisioning.Consumer{ID: "c1", Name: "shop", ACLGroups: []string{}, ContactEmail: "team@shop.example"}, nil
}
func (consumerProv) ListClients(context.Context, provisioning.ClientQuery) (provisioning.ClientPage, error) {
	return provisioning.ClientPage{}, nil
}
func (consumerProv) ListACLGroups(context.Context) ([]provisioning.ACLGroup, error) { return nil, nil }

// The consumer's page lists its keys and makes one, shown once, for that consumer.
func TestConsumerPage_KeysListedAndCreated(t *testing.T) {
	h := newHarness(t)
	h.realm.claims = keycloak.Claims{Subject: "u1", Username: "carol", RealmRoles: []string{"keyward-admin"}}
	fk := &consumerKeysAPI{}
	h.c.cfg.Keys, h.c.cfg.Provisioning = fk, consumerProv{}
	h.login()
	rec := h.do("GET", "/admin/consumers/c1", nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `href="/keys/k1"`) ||
		!strings.Contains(rec.Body.String(), `id="create-consumer-key"`) || fk.listed.Consumer != "c1" ||
		!strings.Contains(rec.Body.String(), `value="team@shop.example"`) {
		t.Fatalf("consumer page: %d, listed %+v", rec.Code, fk.listed)
	}
	csrf := h.c.cfg.Secrets.csrfToken(h.cookie[sessionCookie])
	rec = h.do("POST", "/admin/consumers/c1/keys", url.Values{"csrf": {csrf}, "name": {"orders"}, "expiry": {"90"},
		"environment": {"staging"}}, "Origin", "http://console.test")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "kw_live_secret-shown-once") {
		t.Fatalf("create: %d", rec.Code)
	}
	if p := fk.created; p.Consumer != "c1" || p.Owner != "" || p.Name != "orders" || p.ExpiresInDays == nil || *p.ExpiresInDays != 90 || p.Environment != "staging" {
		t.Fatalf("created with %+v", p)
	}
}

// The admins' key list filters by consumer; a user's own list takes no such filter.
func TestKeyList_ConsumerFilter_AdminsOnly(t *testing.T) {
	h := newHarness(t)
	h.realm.claims = keycloak.Claims{Subject: "u1", Username: "carol", RealmRoles: []string{"keyward-admin"}}
	fk := &consumerKeysAPI{}
	h.c.cfg.Keys, h.c.cfg.Provisioning = fk, consumerProv{}
	h.login()
	rec := h.do("GET", "/admin/keys?consumer=shop", nil)
	if rec.Code != http.StatusOK || fk.listed.Consumer != "shop" || !strings.Contains(rec.Body.String(), "consumer shop") {
		t.Fatalf("admins' list: %d, listed %+v", rec.Code, fk.listed)
	}
	if rec := h.do("GET", "/keys?consumer=shop", nil); rec.Code != http.StatusOK || fk.listed.Consumer != "" || fk.listed.Owner != "u1" {
		t.Fatalf("own list: %d, listed %+v", rec.Code, fk.listed)
	}
}
