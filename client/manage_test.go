package client_test

// The management client against the shared Keyward and Keycloak: a person's key
// lifecycle, and refusals turned into one classified line.

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/internal/kctest"
)

func manager(t *testing.T, env *kctest.Env, user string) *client.Manager {
	t.Helper()
	m, err := client.NewManager(client.ManagerConfig{URL: env.KeywardURL,
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: env.Login(t, user)})})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestManager_KeyLifecycle(t *testing.T) {
	env := kctest.Require(t)
	ctx := context.Background()
	m := manager(t, env, "alice")
	days := 30
	name := kctest.Unique("manager")
	created, err := m.CreateKey(ctx, client.KeyCreate{Name: name, ExpiresInDays: &days, Scopes: []string{"profile"},
		RateLimit: &client.RateLimit{Requests: 50, WindowSeconds: 60}, Metadata: json.RawMessage(`{"team":"data"}`)})
	if err != nil || !strings.HasPrefix(created.Plaintext, "kw_live_") || created.Name != name || created.OwnerUsername != "alice" {
		t.Fatalf("create: %+v %v", created.Key, err)
	}
	if !strings.Contains(string(created.Raw), `"key":`) || created.ExpiresAt == nil || created.ExpiresAt.Before(time.Now().AddDate(0, 0, 29)) {
		t.Fatalf("created: raw %d bytes, expires %v", len(created.Raw), created.ExpiresAt)
	}
	page, err := m.ListKeys(ctx, client.KeyQuery{Q: name})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != created.ID || strings.Contains(string(page.Items[0].Raw), created.Plaintext) {
		t.Fatalf("list: %+v %v", page, err)
	}
	off := false
	k, err := m.UpdateKey(ctx, created.ID, client.KeyUpdate{Enabled: &off})
	if err != nil || k.Status != "inactive" {
		t.Fatalf("disable: %s %v", k.Status, err)
	}
	grace := 2 * time.Hour
	next, err := m.RotateKey(ctx, created.ID, &grace)
	if err != nil || next.Plaintext == created.Plaintext || next.ID == created.ID {
		t.Fatalf("rotate: %v", err)
	}
	old, err := m.Key(ctx, created.ID)
	if err != nil || old.RotatedTo == nil || *old.RotatedTo != next.ID || old.GraceUntil == nil {
		t.Fatalf("old key after rotate: %+v %v", old, err)
	}
	if u, err := m.KeyUsage(ctx, next.ID, 3); err != nil || len(u.Days) != 3 || u.KeyID != next.ID {
		t.Fatalf("usage: %+v %v", u, err)
	}
	for _, id := range []string{next.ID, created.ID} {
		if err := m.RevokeKey(ctx, id); err != nil {
			t.Fatalf("revoke: %v", err)
		}
	}
	if _, err := m.Key(ctx, created.ID); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("revoked key: %v", err)
	}
}

func TestManager_RefusalsAreClassified(t *testing.T) {
	env := kctest.Require(t)
	ctx := context.Background()
	alice := manager(t, env, "alice")

	_, err := alice.CreateKey(ctx, client.KeyCreate{Name: " ", Environment: "moon"})
	var ae *client.APIError
	if !errors.Is(err, client.ErrInvalid) || !errors.As(err, &ae) || len(ae.Fields) != 2 || ae.StatusCode != 400 {
		t.Fatalf("invalid create: %v", err)
	}
	if !strings.HasPrefix(err.Error(), "invalid input: name: ") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("not one clear line: %q", err)
	}
	if _, err := alice.ListConsumers(ctx, client.ConsumerQuery{}); !errors.Is(err, client.ErrForbidden) {
		t.Fatalf("alice lists consumers: %v", err)
	}
	if _, err := alice.ListKeys(ctx, client.KeyQuery{Owner: "bob"}); !errors.Is(err, client.ErrForbidden) {
		t.Fatalf("alice lists bob's keys: %v", err)
	}
	bad, _ := client.NewManager(client.ManagerConfig{URL: env.KeywardURL,
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "not-a-token"})})
	if _, err := bad.ListKeys(ctx, client.KeyQuery{}); !errors.Is(err, client.ErrUnauthorized) || strings.Contains(err.Error(), "not-a-token") {
		t.Fatalf("bad token: %v", err)
	}
	if groups, err := manager(t, env, "carol").ListACLGroups(ctx); err != nil || len(groups) < 3 {
		t.Fatalf("carol lists ACL groups: %v %v", groups, err)
	}
	down, _ := client.NewManager(client.ManagerConfig{URL: "http://127.0.0.1:1",
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"})})
	if _, err := down.ListKeys(ctx, client.KeyQuery{}); !errors.Is(err, client.ErrUnavailable) {
		t.Fatalf("nothing listening: %v", err)
	}
	if _, err := client.NewManager(client.ManagerConfig{URL: "http://keyward.example.com",
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{})}); err == nil || !strings.Contains(err.Error(), "plain http") {
		t.Fatalf("plain http to another machine: %v", err)
	}
}

func TestDiscover_TheRealmOfKeyward(t *testing.T) {
	env := kctest.Require(t)
	d, realm, err := client.Discover(context.Background(), nil, env.KeywardURL, false)
	if err != nil || d.Issuer != env.Issuer() || d.CLIClientID != "keyward-cli" || realm.DeviceAuthorizationEndpoint == "" ||
		realm.RevocationEndpoint == "" || !strings.HasPrefix(realm.TokenEndpoint, env.Issuer()) {
		t.Fatalf("discover: %+v %+v %v", d, realm, err)
	}
}
