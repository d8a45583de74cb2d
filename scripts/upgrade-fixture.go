//go:build ignore

// upgrade-fixture writes the rows of models/testdata/upgrade into the store named by
// its argument, with the models of the release it is built in (scripts/upgrade-fixture.sh
// builds it in a worktree of that release), and prints them as that release reads
// them back (JSON), for the upgrade test to compare with.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/models"
)

// Fixed, not secret: the fixture's pepper and key (the test exchanges the key).
const (
	pepper = "upgrade-fixture-pepper-not-a-secret!"
	owner  = "11111111-1111-4111-8111-111111111111"
)

var at = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

func main() {
	ctx := context.Background()
	s, err := models.Open(ctx, os.Args[1], nil)
	check(err)
	defer s.Close()
	h, err := exchange.NewHasher([]byte(pepper))
	check(err)
	pk := exchange.ParsedKey{Env: exchange.EnvTest, LookupID: "UpgradeFix01", Secret: "UpgradeFixtureSecretNotReal00001"}
	exp := at.Add(365 * 24 * time.Hour)
	live := &models.Key{ID: "aaaaaaaa-0000-4000-8000-000000000001", OwnerID: owner, OwnerUsername: "alice",
		Name: "ci", Description: "the CI's key", LookupID: pk.LookupID, SecretHash: h.Hash(pk.Secret),
		Environment: "development", Scopes: "openid reports", Enabled: true, Metadata: `{"team":"data"}`,
		CreatedAt: at, ExpiresAt: &exp, RateLimitRequests: 100, RateLimitWindowSeconds: 60,
		IPAllowlist: "10.0.0.0/8 127.0.0.1/32", LimitSetBy: "admin"}
	disabled := &models.Key{ID: "aaaaaaaa-0000-4000-8000-000000000002", OwnerID: owner, OwnerUsername: "alice",
		Name: "old", Description: "", LookupID: "UpgradeFix02", SecretHash: h.Hash("UpgradeFixtureSecretNotReal00002"),
		Environment: "production", Scopes: "", Enabled: false, CreatedAt: at, DisabledBy: "admin", RateLimitRequests: -1}
	deleted := &models.Key{ID: "aaaaaaaa-0000-4000-8000-000000000003", OwnerID: owner, OwnerUsername: "alice",
		Name: "gone", LookupID: "UpgradeFix03", SecretHash: h.Hash("UpgradeFixtureSecretNotReal00003"),
		Environment: "staging", Enabled: true, CreatedAt: at}
	for _, k := range []*models.Key{live, disabled, deleted} {
		check(s.CreateKey(ctx, k))
	}
	check(s.DeleteKey(ctx, owner, deleted.ID, at.Add(time.Hour)))
	con := &models.Consumer{ID: "bbbbbbbb-0000-4000-8000-000000000001", Name: "billing-service",
		Description: "bills", Environment: "production", ACLGroups: []string{"billing", "reports"}, CreatedAt: at, UpdatedAt: at}
	check(s.CreateConsumer(ctx, con))
	cl := &models.Client{ID: "cccccccc-0000-4000-8000-000000000001", ConsumerID: con.ID, ClientID: "kw-billing-service",
		KeycloakID: "dddddddd-0000-4000-8000-000000000001", ServiceAccountID: "eeeeeeee-0000-4000-8000-000000000001",
		Name: "billing", Description: "the billing client", RedirectURIs: models.StringList{"https://app.example.com/cb"},
		Enabled: true, State: models.ClientActive, CreatedAt: at, UpdatedAt: at}
	check(s.CreateClient(ctx, cl))
	ep := &models.WebhookEndpoint{ID: "ffffffff-0000-4000-8000-000000000001", URL: "https://hooks.example.com/keyward",
		Description: "SIEM", EventTypes: models.StringList{"key.created", "key.revoked"}, Enabled: true,
		SecretSealed: []byte("sealed-secret-bytes-of-the-fixture"), CreatedBy: "admin", CreatedAt: at, UpdatedAt: at}
	check(s.CreateWebhookEndpoint(ctx, ep))
	check(s.RecordAudit(ctx, &models.AuditEvent{ID: "99999999-0000-4000-8000-000000000001", At: at, ActorID: owner,
		ActorName: "alice", Action: "key.create", TargetType: "key", TargetID: live.ID, OwnerID: owner,
		IP: "127.0.0.1", RequestID: "req-1", Details: `{"name":"ci"}`}))
	check(s.RecordUsage(ctx, models.UsageBatch{Counts: map[models.UsageKey]int64{
		{KeyID: live.ID, Day: "2026-11-29", Outcome: "issued", Via: "token"}:       7,
		{KeyID: live.ID, Day: "2026-11-30", Outcome: "rate_limited", Via: "token"}: 2,
	}}))

	// What this release reads back is what the next must read.
	var out struct {
		Keys      []models.Key
		Consumer  models.Consumer
		Client    models.Client
		Webhook   models.WebhookEndpoint
		Audit     []models.AuditEvent
		Usage     []models.UsageCount
		KeyText   string
		KeyPepper string
	}
	for _, k := range []*models.Key{live, disabled, deleted} {
		got, err := s.KeyByIDAnyState(ctx, k.ID)
		check(err)
		out.Keys = append(out.Keys, got)
	}
	out.Consumer, err = s.ConsumerByID(ctx, con.ID)
	check(err)
	out.Client, err = s.ClientByID(ctx, cl.ID)
	check(err)
	out.Webhook, err = s.WebhookEndpoint(ctx, ep.ID)
	check(err)
	out.Audit, err = s.ListAudit(ctx, models.AuditFilter{})
	check(err)
	out.Usage, err = s.UsageByKey(ctx, live.ID, "2026-01-01")
	check(err)
	out.KeyText, out.KeyPepper = pk.String(), pepper
	b, err := json.MarshalIndent(out, "", "  ")
	check(err)
	fmt.Println(string(b))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
