package provisioning

// The security issue's provisioning items as an attacker (or bad luck) would try them,
// on the real Keycloak of `make test`: role mappings put on ACL groups and their
// parent, and Keycloak's answer to a client creation lost on the way back.

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/keyward/keyward/internal/kctest"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
)

func (e *realEnv) groupID(t *testing.T, path string) string {
	t.Helper()
	g, err := e.kc.GroupByPath(ctx, path)
	if err != nil {
		t.Fatalf("group %s: %v", path, err)
	}
	return g.ID
}

func (e *realEnv) rows(t *testing.T) []models.Client { t.Helper(); return allClientRows(t, e.store) }

func TestIntegration_ACLGroupWithRealmRole_Refused_UntilRemoved(t *testing.T) {
	e := newRealEnv(t)
	e.setup(t, "clean", "tainted")
	role := e.kcEnv.TempRealmRole(t, e.prefix+"-role")
	unmap := e.kcEnv.MapRealmRoleToGroup(t, e.groupID(t, "/"+e.prefix+"/tainted"), *role.Name)

	_, err := e.svc.CreateConsumer(ctx, admin, ConsumerInput{Name: e.prefix + "-new", ACLGroups: []string{"clean", "tainted"}})
	wantConflict(t, err, `the ACL group "tainted" carries roles (realm role "`+*role.Name+`")`)
	// Also the realm's composite default role, which every user holds anyway: still a role.
	unmapDefault := e.kcEnv.MapRealmRoleToGroup(t, e.groupID(t, "/"+e.prefix+"/clean"), "default-roles-"+e.kcEnv.Realm)
	_, err = e.svc.CreateConsumer(ctx, admin, ConsumerInput{Name: e.prefix + "-new", ACLGroups: []string{"clean"}})
	wantConflict(t, err, `"clean"`)
	unmapDefault()
	unmap()
	if _, err := e.svc.CreateConsumer(ctx, admin, ConsumerInput{Name: e.prefix + "-new", ACLGroups: []string{"clean", "tainted"}}); err != nil {
		t.Fatalf("after the roles were removed: %v", err)
	}
}

func TestIntegration_ParentWithClientRole_EveryACLGroupRefused(t *testing.T) {
	e := newRealEnv(t)
	cons := e.setup(t, "readers") // the consumer took the group up before
	unmap := e.kcEnv.MapClientRoleToGroup(t, e.groupID(t, "/"+e.prefix), "realm-management", "view-users")

	_, err := e.svc.CreateACLGroup(ctx, admin, ACLGroupInput{Name: "writers"})
	wantConflict(t, err, `the ACL parent group "/`+e.prefix+`" carries roles (client role "realm-management/view-users")`)
	if _, err := e.kc.GroupByPath(ctx, "/"+e.prefix+"/writers"); !errors.Is(err, keycloak.ErrNotFound) {
		t.Fatalf("the group was created under a parent that carries roles: %v", err)
	}
	_, err = e.svc.CreateConsumer(ctx, admin, ConsumerInput{Name: e.prefix + "-other", ACLGroups: []string{"readers"}})
	wantConflict(t, err, `the ACL group "readers" inherits roles from its parent group "/`+e.prefix+`"`)
	clientID := e.prefix + "-c"
	_, err = e.svc.CreateClient(ctx, admin, cons.ID, ClientInput{ClientID: clientID})
	wantConflict(t, err, `"readers"`)
	if e.inKeycloak(t, clientID) || len(e.rows(t)) != 0 {
		t.Fatal("a refused client reached Keycloak or the store")
	}

	unmap()
	c, err := e.svc.CreateClient(ctx, admin, cons.ID, ClientInput{ClientID: clientID})
	if err != nil {
		t.Fatalf("after the role was removed: %v", err)
	}
	if g := e.tokenGroups(t, c.ClientID, c.Secret); !slices.Equal(g, []string{"readers"}) {
		t.Fatalf("token acl_groups %v", g)
	}
}

func TestIntegration_GroupGainsRoleAfterUse_ReconcileReports_NewClientRefused(t *testing.T) {
	e := newRealEnv(t)
	cons := e.setup(t, "ops")
	first, err := e.svc.CreateClient(ctx, admin, cons.ID, ClientInput{ClientID: e.prefix + "-c1"})
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := e.svc.Reconcile(ctx); err != nil || len(rep.ACLGroupsWithRoles) != 0 || e.metrics.withRoles.Load() != 0 {
		t.Fatalf("before: %+v %v", rep, err)
	}

	role := e.kcEnv.TempRealmRole(t, e.prefix+"-role")
	unmap := e.kcEnv.MapRealmRoleToGroup(t, e.groupID(t, "/"+e.prefix+"/ops"), *role.Name)
	// The service account holds the role now; its client is not full-scope, so the
	// token still does not carry it. The group is reported all the same: any member
	// gets the role through every full-scope client of the realm.
	claims := kctest.Claims(t, mustToken(t, e, first))
	if slices.Contains(kctest.RealmRoles(claims), *role.Name) {
		t.Fatal("a no-scope client's token carries the role its service account got through a group")
	}

	rep, err := e.svc.Reconcile(ctx)
	if err != nil || !slices.Equal(rep.ACLGroupsWithRoles, []string{"ops"}) {
		t.Fatalf("reconcile: %+v %v", rep, err)
	}
	if n := e.metrics.withRoles.Load(); n != 1 {
		t.Fatalf("metric %d, want 1", n)
	}
	lines := e.logs.FilterField(zapcore.Field{Key: "acl_group", Type: zapcore.StringType, String: "ops"}).All()
	if len(lines) == 0 || lines[0].Level < zapcore.WarnLevel || !strings.Contains(lines[0].ContextMap()["problem"].(string), *role.Name) {
		t.Fatalf("no warn/error line names the group and its role: %+v", lines)
	}
	_, err = e.svc.CreateClient(ctx, admin, cons.ID, ClientInput{ClientID: e.prefix + "-c2"})
	wantConflict(t, err, `"ops"`)
	if e.inKeycloak(t, e.prefix+"-c2") {
		t.Fatal("the refused client is in Keycloak")
	}

	unmap()
	if rep, err := e.svc.Reconcile(ctx); err != nil || len(rep.ACLGroupsWithRoles) != 0 || e.metrics.withRoles.Load() != 0 {
		t.Fatalf("after the role was removed: %+v %v, metric %d", rep, err, e.metrics.withRoles.Load())
	}
	if _, err := e.svc.CreateClient(ctx, admin, cons.ID, ClientInput{ClientID: e.prefix + "-c2"}); err != nil {
		t.Fatalf("after the role was removed: %v", err)
	}
}

func mustToken(t *testing.T, e *realEnv, c CreatedClient) string {
	t.Helper()
	tok, err := e.kc.ClientCredentialsGrant(ctx, c.ClientID, c.Secret)
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

func TestIntegration_TopLevelMode_TopLevelGroupWithRole_Refused(t *testing.T) {
	e := newRealEnv(t, topLevel)
	name := e.prefix + "-admins"
	id := e.kcEnv.TempGroup(t, "", name)
	e.kcEnv.MapClientRoleToGroup(t, id, "realm-management", "manage-users")
	_, err := e.svc.CreateConsumer(ctx, admin, ConsumerInput{Name: e.prefix, ACLGroups: []string{name}})
	wantConflict(t, err, `the ACL group "`+name+`" carries roles (client role "realm-management/manage-users")`)
}

// The answer to Keyward's client creation is lost after Keycloak made the client.
func TestIntegration_CreateClient_AnswerLost_NoOrphanNoRow(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode kctest.LossMode
	}{
		{"connection dropped", kctest.DropAnswer},
		{"timeout", kctest.StallAnswer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newRealEnv(t, viaProxy)
			cons := e.setup(t, "readers")
			clientID := e.prefix + "-lost"
			e.proxy.SetMode(tc.mode)
			_, err := e.svc.CreateClient(ctx, admin, cons.ID, ClientInput{ClientID: clientID})
			if !errors.Is(err, keycloak.ErrUnavailable) {
				t.Fatalf("create: %v, want Keycloak unavailable", err)
			}
			if lost := e.proxy.Lost(); !slices.Equal(lost, []int{201}) {
				t.Fatalf("precondition: Keycloak should have created the client (answers lost: %v)", lost)
			}
			if e.inKeycloak(t, clientID) {
				t.Fatal("the client Keycloak created is left behind")
			}
			if rows := e.rows(t); len(rows) != 0 {
				t.Fatalf("rows left: %+v", rows)
			}
			e.proxy.SetMode(kctest.Forward)
			if _, err := e.svc.CreateClient(ctx, admin, cons.ID, ClientInput{ClientID: clientID}); err != nil {
				t.Fatalf("retry: %v", err)
			}
		})
	}
}

func TestIntegration_CreateClient_AnswerLost_LookupFails_ReconcileFinishes(t *testing.T) {
	e := newRealEnv(t, viaProxy)
	cons := e.setup(t)
	clientID := e.prefix + "-lost"
	e.proxy.SetMode(kctest.DropAnswer)
	e.proxy.FailClientLookups(true)
	if _, err := e.svc.CreateClient(ctx, admin, cons.ID, ClientInput{ClientID: clientID}); err == nil {
		t.Fatal("create succeeded")
	}
	rows := e.rows(t)
	if len(rows) != 1 || rows[0].State != models.ClientPending || !e.inKeycloak(t, clientID) {
		t.Fatalf("the pending row must stay as the record of the client: %+v", rows)
	}
	e.proxy.SetMode(kctest.Forward)
	e.proxy.FailClientLookups(false)
	if rep, err := e.svc.Reconcile(ctx); err != nil || rep.Settled != 0 || rep.OrphansRemoved != 0 || !e.inKeycloak(t, clientID) {
		t.Fatalf("a fresh pending client (maybe in flight) was touched: %+v %v", rep, err)
	}
	e.clock.Advance(10 * time.Minute)
	if rep, err := e.svc.Reconcile(ctx); err != nil || rep.Settled != 1 {
		t.Fatalf("reconcile: %+v %v", rep, err)
	}
	if e.inKeycloak(t, clientID) || len(e.rows(t)) != 0 {
		t.Fatal("reconcile left the client or the row")
	}
}

// Keycloak commits the client only after Keyward gave up and undid the row: the
// repair pass finds the client by Keyward's attribute and removes it.
func TestIntegration_CreateClient_KeycloakCommitsAfterTheUndo_RepairRemovesOrphan(t *testing.T) {
	e := newRealEnv(t, viaProxy)
	cons := e.setup(t)
	clientID := e.prefix + "-late"
	e.proxy.SetMode(kctest.HoldRequest)
	if _, err := e.svc.CreateClient(ctx, admin, cons.ID, ClientInput{ClientID: clientID}); !errors.Is(err, keycloak.ErrUnavailable) {
		t.Fatalf("create: %v", err)
	}
	if len(e.rows(t)) != 0 || e.inKeycloak(t, clientID) {
		t.Fatal("precondition: the undo found nothing to delete and removed the row")
	}
	if got := e.proxy.Release(t); !slices.Equal(got, []int{201}) {
		t.Fatalf("the late creation: %v", got)
	}
	if !e.inKeycloak(t, clientID) {
		t.Fatal("precondition: the late client exists")
	}
	e.proxy.SetMode(kctest.Forward)
	// Other Keyward instances' clients in this realm (other tests, other stores) carry
	// the attribute too: the pass must remove this one and only ours.
	rep, err := e.svc.Reconcile(ctx)
	if err != nil || rep.OrphansRemoved != 1 {
		t.Fatalf("reconcile: %+v %v", rep, err)
	}
	if e.inKeycloak(t, clientID) {
		t.Fatal("the orphan is still in Keycloak")
	}
}
