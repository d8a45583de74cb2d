package handlers

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/testkit"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/keys"
	"github.com/keyward/keyward/models"
)

// consumerKeysFake is provisioning's side of consumer keys (the consumer shop and its
// key client) and the consumer minter, which issues its service account's token.
type consumerKeysFake struct {
	client keycloak.KeyClientIDs
	gone   bool
}

const shopConsumerID = "0b0e7c3e-5f7a-4b8e-9c59-2b1f6f2d3a11"

func (f *consumerKeysFake) KeyConsumer(_ context.Context, idOrName string) (keys.Consumer, error) {
	if !f.gone && (idOrName == "shop" || idOrName == shopConsumerID) {
		return keys.Consumer{ID: shopConsumerID, Name: "shop"}, nil
	}
	return keys.Consumer{}, models.ErrNotFound
}
func (f *consumerKeysFake) PrepareKeyClient(context.Context, string) error { return nil }
func (f *consumerKeysFake) KeyClientOf(context.Context, string) (keycloak.KeyClientIDs, error) {
	if f.gone {
		return keycloak.KeyClientIDs{}, models.ErrNotFound
	}
	return f.client, nil
}
func (f *consumerKeysFake) Mint(_ context.Context, c keycloak.KeyClientIDs, _ string) (keycloak.Token, error) {
	return keycloak.Token{AccessToken: testkit.IssuedToken(c.ServiceAccountID, "service-account-"+c.ClientID, nil, nil), ExpiresIn: 300}, nil
}

func withConsumerKeys(f *consumerKeysFake) harnessOption {
	return func(c *harnessConfig) { c.consumerKeys = f }
}

func newConsumerHarness(t *testing.T) (*harness, *consumerKeysFake) {
	f := &consumerKeysFake{client: keycloak.KeyClientIDs{ID: "kc-1", ClientID: "kw-keys-" + shopConsumerID, ServiceAccountID: "sa-shop"}}
	return newHarness(t, withConsumerKeys(f)), f
}

// --- 201, 200 ---

func TestConsumerKey_201_ShowsWhoseItIs_ExchangedForTheServiceAccount(t *testing.T) {
	h, _ := newConsumerHarness(t)
	got := h.createKey(t, "carol-token", `{"name":"orders","consumer":"shop"}`)
	ref, _ := got["consumer"].(map[string]any)
	if got["owner_type"] != "consumer" || ref["id"] != shopConsumerID || ref["name"] != "shop" ||
		got["owner"] != "consumer:"+shopConsumerID || got["owner_username"] != "shop" {
		t.Fatalf("created %v", got)
	}
	mine := h.createKey(t, "alice-token", `{"name":"mine"}`)
	if mine["owner_type"] != "user" || mine["consumer"] != nil {
		t.Fatalf("a user's key %v", mine)
	}
	key := got["key"].(string)
	// The person checks do not apply: the token is the key client's service account's
	// (which the Principals fake calls a service account).
	rec := h.do("POST", "/v1/token", "", "", "", "X-API-Key", key)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), testkit.IssuedToken("sa-shop", "service-account-kw-keys-"+shopConsumerID, nil, nil)) {
		t.Fatalf("/v1/token: %d %s", rec.Code, rec.Body.String())
	}
	rec = h.forward("GET", "/v1/forward-auth/orders", "", "X-API-Key", key)
	if rec.Code != http.StatusOK || !strings.HasSuffix(rec.Header().Get("Authorization"), testkit.IssuedToken("sa-shop", "service-account-kw-keys-"+shopConsumerID, nil, nil)) {
		t.Fatalf("the door: %d", rec.Code)
	}
	list := h.mustStatus(t, 200, "GET", "/v1/keys?consumer=shop", "carol-token", "")
	if items := list["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != got["id"] {
		t.Fatalf("the consumer's keys: %v", items)
	}
}

// --- 400, 403, 404 ---

func TestConsumerKey_400_403_404(t *testing.T) {
	h, _ := newConsumerHarness(t)
	body := h.mustStatus(t, 403, "POST", "/v1/keys", "alice-token", `{"name":"x","consumer":"shop"}`)
	mustMention(t, body, "admins")
	body = h.mustStatus(t, 400, "POST", "/v1/keys", "carol-token", `{"name":"x","consumer":"nope"}`)
	mustMention(t, body, "consumer")
	body = h.mustStatus(t, 400, "POST", "/v1/keys", "carol-token", `{"name":"x","consumer":"shop","owner":"alice"}`)
	mustMention(t, body, "consumer")
	h.mustStatus(t, 400, "POST", "/v1/keys", "carol-token", `{"name":"x","consumer":"`+strings.Repeat("s", 65)+`"}`)
	h.mustStatus(t, 403, "GET", "/v1/keys?consumer=shop", "alice-token", "")
	id := h.createKey(t, "carol-token", `{"name":"orders","consumer":"shop"}`)["id"].(string)
	for _, m := range []struct{ method, path, body string }{
		{"GET", "/v1/keys/" + id, ""}, {"PATCH", "/v1/keys/" + id, `{"enabled":false}`}, {"DELETE", "/v1/keys/" + id, ""},
		{"POST", "/v1/keys/" + id + "/rotate", ""}, {"GET", "/v1/keys/" + id + "/usage", ""},
	} {
		h.mustStatus(t, 404, m.method, m.path, "alice-token", m.body)
	}
	if list := h.mustStatus(t, 200, "GET", "/v1/keys", "alice-token", ""); len(list["items"].([]any)) != 0 {
		t.Fatalf("alice's list: %v", list)
	}
}

// --- 401 ---

func TestConsumerKey_401_ConsumerGone(t *testing.T) {
	h, f := newConsumerHarness(t)
	key := h.createKey(t, "carol-token", `{"name":"orders","consumer":"shop"}`)["key"].(string)
	f.gone = true
	if code := h.exchangeStatus(key); code != http.StatusUnauthorized {
		t.Fatalf("a deleted consumer's key: %d", code)
	}
}
