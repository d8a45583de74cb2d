package provisioning

// The provisioning items of the security issue, on the fake Keycloak: ACL groups carry
// no roles; no orphan client even when Keycloak's answer is lost; a secret is never
// shown unaudited; names and descriptions render as what they store. The same attacks
// run on the real Keycloak in integration_test.go and cmd/keyward.

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap/zapcore"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
)

var (
	realmAdmin = keycloak.RoleMapping{Role: "admin"}
	viewUsers  = keycloak.RoleMapping{Client: "realm-management", Role: "view-users"}
)

// consumerNames lists the names of the consumers, as the service lists them.
func (e *env) consumerNames(t *testing.T) []string {
	t.Helper()
	names, _ := e.listConsumers(t, ConsumerQuery{Limit: api.PageLimitMax})
	return names
}

// listConsumers is the names of one page of consumers, and the cursor of the next.
func (e *env) listConsumers(t *testing.T, q ConsumerQuery) (names []string, next string) {
	t.Helper()
	page, err := e.svc.ListConsumers(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range page.Items {
		names = append(names, c.Name)
	}
	return names, page.NextCursor
}

func (e *env) clientRows(t *testing.T) []models.Client { t.Helper(); return allClientRows(t, e.store) }

// allClientRows is every client row of store, as stored.
func allClientRows(t *testing.T, store interface {
	ListClients(context.Context, models.ClientFilter) ([]models.Client, error)
}) []models.Client {
	t.Helper()
	rows, err := store.ListClients(ctx, models.ClientFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestACLGroupWithOwnRealmRole_NoConsumerOrClientJoinsIt(t *testing.T) {
	e := newEnv(t)
	e.group(t, "a")
	e.group(t, "b")
	shop := e.consumer(t, "shop", "a")
	c1 := e.client(t, shop.ID, "shop-1")
	analysts := e.consumer(t, "analysts", "b") // took b up before it gained a role
	e.kc.setRoles(t, "/keyward-acl/b", realmAdmin)

	_, err := e.svc.CreateConsumer(ctx, admin, ConsumerInput{Name: "other", ACLGroups: []string{"a", "b"}})
	wantConflict(t, err, `the ACL group "b" carries roles (realm role "admin")`)
	if names := e.consumerNames(t); slices.Contains(names, "other") {
		t.Fatal("the refused consumer was stored")
	}

	both := []string{"a", "b"}
	_, err = e.svc.UpdateConsumer(ctx, admin, shop.ID, ConsumerPatch{ACLGroups: &both})
	wantConflict(t, err, `"b"`)
	if got, _ := e.svc.Consumer(ctx, shop.ID); !slices.Equal(got.ACLGroups, []string{"a"}) {
		t.Fatalf("refused update stored groups %v", got.ACLGroups)
	}
	if g := e.kc.groupsOf(t, c1.ClientID); !slices.Equal(g, []string{"a"}) {
		t.Fatalf("refused update moved the service account into %v", g)
	}

	_, err = e.svc.CreateClient(ctx, admin, analysts.ID, ClientInput{ClientID: "analysts-1"})
	wantConflict(t, err, `"b"`)
	if e.kc.HasClient("analysts-1") || len(e.clientRows(t)) != 1 {
		t.Fatal("a refused client reached Keycloak or the store")
	}

	// A consumer in the group may still change other fields, and leave it.
	desc := "still here"
	if _, err := e.svc.UpdateConsumer(ctx, admin, analysts.ID, ConsumerPatch{Description: &desc}); err != nil {
		t.Fatalf("description change of a consumer in a tainted group: %v", err)
	}
	none := []string{}
	if _, err := e.svc.UpdateConsumer(ctx, admin, analysts.ID, ConsumerPatch{ACLGroups: &none}); err != nil {
		t.Fatalf("leaving the tainted group: %v", err)
	}

	// The role removed: allowed again.
	e.kc.setRoles(t, "/keyward-acl/b")
	if _, err := e.svc.UpdateConsumer(ctx, admin, shop.ID, ConsumerPatch{ACLGroups: &both}); err != nil {
		t.Fatalf("after the role was removed: %v", err)
	}
	if g := e.kc.groupsOf(t, c1.ClientID); !slices.Equal(g, []string{"a", "b"}) {
		t.Fatalf("service account in %v", g)
	}
	if _, err := e.svc.CreateClient(ctx, admin, shop.ID, ClientInput{ClientID: "shop-2"}); err != nil {
		t.Fatal(err)
	}
}

func TestACLGroups_ParentWithClientRole_EveryGroupRefused_NoNewGroupUnderIt(t *testing.T) {
	e := newEnv(t)
	e.group(t, "a")
	e.kc.setRoles(t, "/keyward-acl", viewUsers)
	groupsBefore := e.kc.Calls("CreateGroup")

	_, err := e.svc.CreateACLGroup(ctx, admin, ACLGroupInput{Name: "fresh"})
	wantConflict(t, err, `the ACL parent group "/keyward-acl" carries roles (client role "realm-management/view-users")`)
	if e.kc.Calls("CreateGroup") != groupsBefore {
		t.Fatal("a group was created under a parent that carries roles")
	}

	_, err = e.svc.CreateConsumer(ctx, admin, ConsumerInput{Name: "shop", ACLGroups: []string{"a"}})
	wantConflict(t, err, `the ACL group "a" inherits roles from its parent group "/keyward-acl" (client role "realm-management/view-users")`)

	// A consumer without groups is fine; its client joins no group, so it is fine too.
	plain := e.consumer(t, "plain")
	e.client(t, plain.ID, "plain-1")

	e.kc.setRoles(t, "/keyward-acl")
	e.consumer(t, "shop", "a")
	e.group(t, "fresh")
}

func TestACLGroups_RoleCheckFails_NothingWritten(t *testing.T) {
	e := newEnv(t)
	e.group(t, "a")
	e.kc.FailAlways("GroupRoleMappings", keycloak.ErrUnavailable, 0)
	if _, err := e.svc.CreateConsumer(ctx, admin, ConsumerInput{Name: "shop", ACLGroups: []string{"a"}}); !errors.Is(err, keycloak.ErrUnavailable) {
		t.Fatalf("create with the check failing: %v", err)
	}
	if len(e.consumerNames(t)) != 0 {
		t.Fatal("a consumer was stored unchecked")
	}
}

func TestReconcile_GroupGainsRole_ReportedAndNotRejoined_UntilRemoved(t *testing.T) {
	e := newEnv(t)
	e.group(t, "a")
	e.group(t, "b")
	cons := e.consumer(t, "shop", "a", "b")
	c := e.client(t, cons.ID, "shop-1")
	if rep, err := e.svc.Reconcile(ctx); err != nil || len(rep.ACLGroupsWithRoles) != 0 || e.metrics.withRoles.Load() != 0 {
		t.Fatalf("clean realm: %+v %v, metric %d", rep, err, e.metrics.withRoles.Load())
	}

	// The role appears after the consumer took the group up; someone pulled the
	// service account out of the group in Keycloak meanwhile.
	e.kc.setRoles(t, "/keyward-acl/a", realmAdmin)
	ga, _ := e.kc.GroupByPath(ctx, "/keyward-acl/a")
	info, _ := e.kc.ServiceClientByClientID(ctx, c.ClientID)
	_ = e.kc.RemoveUserFromGroup(ctx, kcClient(t, e, info.ID).ServiceAccount, ga.ID)

	rep, err := e.svc.Reconcile(ctx)
	if err != nil || !slices.Equal(rep.ACLGroupsWithRoles, []string{"a"}) || rep.MembershipsFixed != 0 {
		t.Fatalf("reconcile %+v %v", rep, err)
	}
	if n := e.metrics.withRoles.Load(); n != 1 {
		t.Fatalf("metric %d, want 1", n)
	}
	if g := e.kc.groupsOf(t, c.ClientID); !slices.Equal(g, []string{"b"}) {
		t.Fatalf("the repair put the service account back into a group that carries roles: %v", g)
	}
	logged := e.logs.FilterField(zapcore.Field{Key: "acl_group", Type: zapcore.StringType, String: "a"}).All()
	if len(logged) == 0 || logged[0].Level < zapcore.WarnLevel || !strings.Contains(logged[0].ContextMap()["problem"].(string), "realm role") {
		t.Fatalf("no warn/error line names the group: %+v", logged)
	}
	_, err = e.svc.CreateClient(ctx, admin, cons.ID, ClientInput{ClientID: "shop-2"})
	wantConflict(t, err, `"a"`)

	// The metric keeps the last complete answer when Keycloak cannot be asked.
	e.kc.FailAlways("GroupRoleMappings", keycloak.ErrUnavailable, 0)
	if _, err := e.svc.Reconcile(ctx); !errors.Is(err, keycloak.ErrUnavailable) {
		t.Fatalf("reconcile with the check failing: %v", err)
	}
	if n := e.metrics.withRoles.Load(); n != 1 {
		t.Fatalf("metric %d after an incomplete pass, want the last complete answer 1", n)
	}
	if g := e.kc.groupsOf(t, c.ClientID); !slices.Equal(g, []string{"b"}) {
		t.Fatalf("an unchecked group was joined: %v", g)
	}
	e.kc.Heal()

	// The role removed: no report, the membership comes back, clients are allowed.
	e.kc.setRoles(t, "/keyward-acl/a")
	rep, err = e.svc.Reconcile(ctx)
	if err != nil || len(rep.ACLGroupsWithRoles) != 0 || rep.MembershipsFixed != 1 || e.metrics.withRoles.Load() != 0 {
		t.Fatalf("after removal %+v %v, metric %d", rep, err, e.metrics.withRoles.Load())
	}
	if g := e.kc.groupsOf(t, c.ClientID); !slices.Equal(g, []string{"a", "b"}) {
		t.Fatalf("service account in %v", g)
	}
	e.client(t, cons.ID, "shop-2")
}

func TestClients_Create_AnswerLost_ClientFoundByAttributeAndRemoved(t *testing.T) {
	e := newEnv(t)
	cons := e.consumer(t, "shop")
	e.kc.LoseAnswer("CreateServiceClient", keycloak.ErrUnavailable)
	_, err := e.svc.CreateClient(ctx, admin, cons.ID, ClientInput{ClientID: "shop-1"})
	if !errors.Is(err, keycloak.ErrUnavailable) {
		t.Fatalf("create: %v", err)
	}
	if e.kc.HasClient("shop-1") {
		t.Fatal("the client Keycloak created was left behind")
	}
	if rows := e.clientRows(t); len(rows) != 0 {
		t.Fatalf("rows left: %+v", rows)
	}
	if strings.Contains(e.actions(t), "client.create") {
		t.Fatal("audited as created")
	}
}

func TestClients_Create_AnswerLost_LookupFailsToo_PendingRowStaysForReconcile(t *testing.T) {
	e := newEnv(t)
	cons := e.consumer(t, "shop")
	e.kc.LoseAnswer("CreateServiceClient", keycloak.ErrUnavailable)
	e.kc.FailAlways("ServiceClientByClientID", keycloak.ErrUnavailable, 0)
	if _, err := e.svc.CreateClient(ctx, admin, cons.ID, ClientInput{ClientID: "shop-1"}); err == nil {
		t.Fatal("create succeeded")
	}
	rows := e.clientRows(t)
	if len(rows) != 1 || rows[0].State != models.ClientPending || !e.kc.HasClient("shop-1") {
		t.Fatalf("want the pending row kept as the record of the client: %+v", rows)
	}
	e.kc.Heal()
	// Fresh: it may be in flight. Neither settle nor the orphan sweep touches it.
	if rep, err := e.svc.Reconcile(ctx); err != nil || rep.Settled != 0 || rep.OrphansRemoved != 0 || !e.kc.HasClient("shop-1") {
		t.Fatalf("a fresh pending client was touched: %+v %v", rep, err)
	}
	e.clock.Advance(10 * time.Minute)
	if rep, err := e.svc.Reconcile(ctx); err != nil || rep.Settled != 1 {
		t.Fatalf("reconcile %+v %v", rep, err)
	}
	if e.kc.HasClient("shop-1") || len(e.clientRows(t)) != 0 {
		t.Fatal("reconcile left the client or the row")
	}
}

// orphan makes a Keycloak client marked as Keyward's with no row behind it: what a
// lost answer leaves when Keycloak committed the client after the undo looked.
func (e *env) orphan(t *testing.T, clientID, consumerID string) {
	t.Helper()
	if _, err := e.kc.CreateServiceClient(ctx, keycloak.ServiceClient{ClientID: clientID,
		Attributes: map[string]string{AttrClientID: uuid.NewString(), AttrConsumerID: consumerID}}); err != nil {
		t.Fatal(err)
	}
}

func TestReconcile_OrphanOfThisStore_Removed_LiveAndOthersSpared(t *testing.T) {
	e := newEnv(t)
	cons := e.consumer(t, "shop")
	live := e.client(t, cons.ID, "shop-live")
	e.orphan(t, "shop-orphan", cons.ID)
	e.orphan(t, "other-store", uuid.NewString()) // a consumer of another store sharing the realm
	_, _ = e.kc.CreateServiceClient(ctx, keycloak.ServiceClient{ClientID: "foreign"})
	// A client being created right now: its pending row came first.
	inFlight := models.Client{ConsumerID: cons.ID, ClientID: "shop-inflight", State: models.ClientPending, CreatedAt: e.clock.Now()}
	if err := e.store.CreateClient(ctx, &inFlight); err != nil {
		t.Fatal(err)
	}
	_, _ = e.kc.CreateServiceClient(ctx, keycloak.ServiceClient{ClientID: "shop-inflight",
		Attributes: map[string]string{AttrClientID: inFlight.ID, AttrConsumerID: cons.ID}})

	rep, err := e.svc.Reconcile(ctx)
	if err != nil || rep.OrphansRemoved != 1 {
		t.Fatalf("reconcile %+v %v", rep, err)
	}
	if e.kc.HasClient("shop-orphan") {
		t.Fatal("the orphan is still in Keycloak")
	}
	for _, id := range []string{live.ClientID, "other-store", "foreign", "shop-inflight"} {
		if !e.kc.HasClient(id) {
			t.Fatalf("%s was deleted", id)
		}
	}
	if !strings.Contains(e.actions(t), "client.reconcile") {
		t.Fatal("the removal is not audited")
	}
	if rep, _ := e.svc.Reconcile(ctx); rep.OrphansRemoved != 0 {
		t.Fatal("a second pass removed more")
	}
}

func TestConsumers_Delete_SweepsItsOrphansFirst(t *testing.T) {
	e := newEnv(t)
	shop := e.consumer(t, "shop")
	other := e.consumer(t, "other")
	e.orphan(t, "shop-orphan", shop.ID)
	e.orphan(t, "other-orphan", other.ID)
	e.kc.FailOn("ClientsWithAttribute", keycloak.ErrUnavailable, 0)
	if err := e.svc.DeleteConsumer(ctx, admin, shop.ID, false); !errors.Is(err, keycloak.ErrUnavailable) {
		t.Fatalf("delete with the sweep failing: %v", err)
	}
	if _, err := e.svc.Consumer(ctx, shop.ID); err != nil {
		t.Fatal("the consumer went although its orphans could not be looked for")
	}
	if err := e.svc.DeleteConsumer(ctx, admin, shop.ID, false); err != nil {
		t.Fatal(err)
	}
	if e.kc.HasClient("shop-orphan") || !e.kc.HasClient("other-orphan") {
		t.Fatal("the sweep must remove the consumer's orphan and only that")
	}
}

func TestClients_Secret_AuditDown_NotShown_NotRegenerated(t *testing.T) {
	e := newEnv(t)
	cons := e.consumer(t, "shop")
	c := e.client(t, cons.ID, "shop-1")
	e.audit.fail.Store(true)

	got, err := e.svc.ClientSecret(ctx, admin, c.ID)
	if !errors.Is(err, ErrAuditUnavailable) || got.Value != "" {
		t.Fatalf("view with the audit trail down: %+v %v", got.ClientID, err)
	}
	if strings.Contains(err.Error(), c.Secret) {
		t.Fatal("the error carries the secret")
	}
	fresh, err := e.svc.RegenerateClientSecret(ctx, admin, c.ID)
	if !errors.Is(err, ErrAuditUnavailable) || fresh.Value != "" {
		t.Fatalf("regenerate with the audit trail down: %v", err)
	}
	if n := e.kc.Calls("RegenerateClientSecret"); n != 0 {
		t.Fatalf("Keycloak regenerated the secret unaudited (%d calls)", n)
	}
	if kcSecret, _ := e.kc.ClientSecret(ctx, c.KeycloakID); kcSecret != c.Secret {
		t.Fatal("the old secret no longer works after a refused regeneration")
	}

	e.audit.fail.Store(false)
	if got, err := e.svc.ClientSecret(ctx, admin, c.ID); err != nil || got.Value != c.Secret {
		t.Fatalf("view after the audit trail came back: %v", err)
	}
	views := 0
	for _, ev := range e.audits(t) {
		if ev.Action == "client.secret.view" {
			views++
		}
	}
	if views != 1 {
		t.Fatalf("%d view events, want exactly the one view that was shown", views)
	}

	// Keycloak failing after the event: a second event says it failed.
	e.kc.FailOn("RegenerateClientSecret", keycloak.ErrUnavailable, 0)
	if _, err := e.svc.RegenerateClientSecret(ctx, admin, c.ID); !errors.Is(err, keycloak.ErrUnavailable) {
		t.Fatalf("regenerate with Keycloak failing: %v", err)
	}
	if acts := e.actions(t); !strings.HasSuffix(acts, "client.secret.regenerate,client.secret.regenerate_failed") {
		t.Fatalf("audit trail %s", acts)
	}
}

// messages maps the fields of a validation error to their messages.
func messages(t *testing.T, err error) map[string]string {
	t.Helper()
	var verr *errs.Validation
	if !errors.As(err, &verr) {
		t.Fatalf("error %v is not a validation error", err)
	}
	out := map[string]string{}
	for _, f := range verr.Fields {
		out[f.Field] = f.Message
	}
	return out
}

func TestNamesAndDescriptions_InvisibleOrReorderingCharacters_Refused(t *testing.T) {
	e := newEnv(t)
	e.group(t, "a")
	cons := e.consumer(t, "shop", "a")
	c := e.client(t, cons.ID, "shop-1")
	groupsBefore, clientsBefore := e.kc.Calls("CreateGroup"), e.kc.ClientCount()

	for _, ch := range []struct{ name, r, code string }{
		{"right-to-left override", "\u202e", "U+202E"},
		{"zero-width space", "\u200b", "U+200B"},
		{"left-to-right isolate", "\u2066", "U+2066"},
		{"zero-width joiner", "\u200d", "U+200D"},
		{"line separator", "\u2028", "U+2028"},
		{"bell", "\a", "U+0007"},
	} {
		t.Run(ch.name, func(t *testing.T) {
			text := "invoice" + ch.r + "fdp.exe"
			name := "shop" + ch.r
			attempts := map[string]func() error{
				"acl group name": func() error { _, err := e.svc.CreateACLGroup(ctx, admin, ACLGroupInput{Name: "g" + ch.r}); return err },
				"acl group description": func() error {
					_, err := e.svc.CreateACLGroup(ctx, admin, ACLGroupInput{Name: "g", Description: text})
					return err
				},
				"consumer name": func() error { _, err := e.svc.CreateConsumer(ctx, admin, ConsumerInput{Name: name}); return err },
				"consumer description": func() error {
					_, err := e.svc.CreateConsumer(ctx, admin, ConsumerInput{Name: "ok", Description: text})
					return err
				},
				"consumer acl_groups": func() error {
					_, err := e.svc.CreateConsumer(ctx, admin, ConsumerInput{Name: "ok", ACLGroups: []string{"a" + ch.r}})
					return err
				},
				"consumer patch name": func() error {
					_, err := e.svc.UpdateConsumer(ctx, admin, cons.ID, ConsumerPatch{Name: &name})
					return err
				},
				"consumer patch description": func() error {
					_, err := e.svc.UpdateConsumer(ctx, admin, cons.ID, ConsumerPatch{Description: &text})
					return err
				},
				"client name": func() error {
					_, err := e.svc.CreateClient(ctx, admin, cons.ID, ClientInput{ClientID: "shop-2", Name: text})
					return err
				},
				"client description": func() error {
					_, err := e.svc.CreateClient(ctx, admin, cons.ID, ClientInput{ClientID: "shop-2", Description: text})
					return err
				},
				"client redirect": func() error {
					_, err := e.svc.CreateClient(ctx, admin, cons.ID, ClientInput{ClientID: "shop-2",
						RedirectURIs: []string{"https://shop.example/" + ch.r + "cb"}})
					return err
				},
				"client patch name": func() error {
					_, err := e.svc.UpdateClient(ctx, admin, c.ID, ClientPatch{Name: &text})
					return err
				},
				"client patch description": func() error {
					_, err := e.svc.UpdateClient(ctx, admin, c.ID, ClientPatch{Description: &text})
					return err
				},
			}
			for what, try := range attempts {
				msgs := messages(t, try())
				if len(msgs) != 1 {
					t.Errorf("%s: %v, want one field", what, msgs)
				}
				for field, msg := range msgs {
					if !strings.Contains(msg, ch.code) {
						t.Errorf("%s: %s: %q does not name %s", what, field, msg, ch.code)
					}
				}
			}
		})
	}
	if e.kc.Calls("CreateGroup") != groupsBefore || e.kc.ClientCount() != clientsBefore {
		t.Fatal("refused input reached Keycloak")
	}
	if got, _ := e.svc.Consumer(ctx, cons.ID); got.Name != "shop" || got.Description != "" {
		t.Fatalf("consumer changed: %+v", got)
	}
	if got, _ := e.svc.Client(ctx, c.ID); got.Name != "shop-1" || got.Description != "" {
		t.Fatalf("client changed: %+v", got)
	}
	if names := e.consumerNames(t); !slices.Equal(names, []string{"shop"}) {
		t.Fatalf("consumers %v", names)
	}

	// Descriptions may span lines; names may not; neither may be blank-only names.
	multi := "line one\n\tline two\r\n"
	if _, err := e.svc.UpdateConsumer(ctx, admin, cons.ID, ConsumerPatch{Description: &multi}); err != nil {
		t.Fatalf("multi-line description: %v", err)
	}
	for _, bad := range []string{"a\tb", "a\nb", "   "} {
		if _, err := e.svc.UpdateClient(ctx, admin, c.ID, ClientPatch{Name: &bad}); len(messages(t, err)) == 0 {
			t.Errorf("client name %q accepted", bad)
		}
	}
}
