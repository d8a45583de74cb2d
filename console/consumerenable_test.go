package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/provisioning"
)

// enablingProv is consumerProv whose consumer can be disabled and enabled.
type enablingProv struct {
	consumerProv
	enabled *bool
}

func (p enablingProv) Consumer(context.Context, string) (provisioning.Consumer, error) {
	return provisioning.Consumer{ID: "c1", Name: "shop", ACLGroups: []string{}, Enabled: *p.enabled}, nil
}
func (p enablingProv) UpdateConsumer(_ context.Context, _ audit.Actor, id string, patch provisioning.ConsumerPatch) (provisioning.Consumer, error) {
	if patch.Enabled == nil || patch.Name != nil || patch.ACLGroups != nil || patch.Description != nil {
		panic("the button changes enabled only")
	}
	*p.enabled = *patch.Enabled
	return provisioning.Consumer{ID: id, Name: "shop", ACLGroups: []string{}, Enabled: *p.enabled}, nil
}

// The consumer's page says whether it is enabled and has the button that flips it.
func TestConsumerPage_DisableEnable(t *testing.T) {
	h := newHarness(t)
	h.realm.claims = keycloak.Claims{Subject: "u1", Username: "carol", RealmRoles: []string{"keyward-admin"}}
	on := true
	h.c.cfg.Keys, h.c.cfg.Provisioning = &consumerKeysAPI{}, enablingProv{enabled: &on}
	h.login()
	csrf := h.c.cfg.Secrets.csrfToken(h.cookie[sessionCookie])
	for _, step := range []struct {
		button, post, flash string
		after               bool
	}{
		{`id="consumer-disable"`, "/admin/consumers/c1/disable", "consdisabled", false},
		{`id="consumer-enable"`, "/admin/consumers/c1/enable", "consenabled", true},
	} {
		rec := h.do("GET", "/admin/consumers/c1", nil)
		want := map[bool]string{true: `id="consumer-enabled">yes`, false: `id="consumer-enabled">no`}[on]
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), step.button) || !strings.Contains(rec.Body.String(), want) {
			t.Fatalf("page before %s: %d %s", step.post, rec.Code, rec.Body.String())
		}
		rec = h.do("POST", step.post, url.Values{"csrf": {csrf}}, "Origin", "http://console.test")
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/admin/consumers/c1?done="+step.flash || on != step.after {
			t.Fatalf("%s: %d %s, enabled %v", step.post, rec.Code, rec.Header().Get("Location"), on)
		}
	}
}
