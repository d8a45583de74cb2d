package provisioning

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
)

var ctx = context.Background()

// fieldsOf returns the field names of a validation error, or fails.
func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	var verr *errs.Validation
	if !errors.As(err, &verr) {
		t.Fatalf("error %v is not a validation error", err)
	}
	var out []string
	for _, f := range verr.Fields {
		out = append(out, f.Field)
	}
	return out
}

func wantConflict(t *testing.T, err error, mentions string) {
	t.Helper()
	if !errors.Is(err, ErrConflict) || errs.KindOf(err) != errs.Conflict {
		t.Fatalf("error %v, want a conflict", err)
	}
	if detail := errs.MessageOf(err); !strings.Contains(detail, mentions) {
		t.Fatalf("conflict %q does not mention %q", detail, mentions)
	}
}

func TestACLGroups_ParentCreatedOnce_GroupsUnderIt(t *testing.T) {
	e := newEnv(t)
	a := e.group(t, "analytics")
	e.group(t, "billing")
	if a.Path != "/keyward-acl/analytics" {
		t.Fatalf("path %q, want it under the parent", a.Path)
	}
	list, err := e.svc.ListACLGroups(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "analytics" || list[1].Name != "billing" {
		t.Fatalf("list %+v %v", list, err)
	}
	if n := e.kc.Calls("CreateGroup"); n != 3 { // the parent once, then two groups
		t.Fatalf("CreateGroup called %d times, want 3", n)
	}
	_, err = e.svc.CreateACLGroup(ctx, admin, ACLGroupInput{Name: "analytics"})
	wantConflict(t, err, "exists already")
}

func TestACLGroups_ParentDeletedBehindOurBack_Recreated(t *testing.T) {
	e := newEnv(t)
	e.group(t, "a")
	parent, _ := e.kc.GroupByPath(ctx, "/keyward-acl")
	_ = e.kc.DeleteGroup(ctx, parent.ID)
	list, err := e.svc.ListACLGroups(ctx)
	if err != nil || len(list) != 0 {
		t.Fatalf("after the parent vanished: %+v %v", list, err)
	}
	if _, err := e.kc.GroupByPath(ctx, "/keyward-acl"); err != nil {
		t.Fatal("the parent was not created again")
	}
}

func TestACLGroups_TopLevelMode_OnlyWithExplicitOptIn(t *testing.T) {
	e := newEnv(t)
	for _, parent := range []string{"/", ""} {
		_, err := New(e.kc, e.store, Config{ParentGroup: parent})
		if err == nil || !strings.Contains(err.Error(), "AllowTopLevel") || !strings.Contains(err.Error(), "carry roles") {
			t.Fatalf("parent %q without AllowTopLevel: %v, want a refusal saying why", parent, err)
		}
	}
	svc, err := New(e.kc, e.store, Config{ParentGroup: "/", AllowTopLevel: true})
	if err != nil {
		t.Fatal(err)
	}
	g, err := svc.CreateACLGroup(ctx, admin, ACLGroupInput{Name: "finance"})
	if err != nil || g.Path != "/finance" {
		t.Fatalf("top-level group: %+v %v", g, err)
	}
	if _, err := New(e.kc, e.store, Config{ParentGroup: "../x"}); err == nil {
		t.Fatal("a parent name that is not a group name was accepted")
	}
}

func TestACLGroups_Create_BadInput(t *testing.T) {
	e := newEnv(t)
	for name, in := range map[string]ACLGroupInput{
		"empty":                    {},
		"upper case":               {Name: "Finance"},
		"dot dot":                  {Name: ".."},
		"slash":                    {Name: "a/b"},
		"too long":                 {Name: strings.Repeat("a", 65)},
		"sql":                      {Name: "a'; drop table--"},
		"bad utf-8":                {Name: "a\xff"},
		"long desc":                {Name: "ok", Description: strings.Repeat("d", 501)},
		"desc past Keycloak's 255": {Name: "ok", Description: strings.Repeat("é", api.KeycloakDescriptionMax+1)},
		"control in desc":          {Name: "ok", Description: "a\x00b"},
	} {
		_, err := e.svc.CreateACLGroup(ctx, admin, in)
		if len(fieldsOf(t, err)) == 0 {
			t.Errorf("%s: accepted", name)
		}
	}
	if n := e.kc.Calls("CreateGroup"); n != 0 {
		t.Fatalf("Keycloak was called %d times for bad input", n)
	}
}

func TestACLGroups_Delete_InUseOrWithMembers_Conflict(t *testing.T) {
	e := newEnv(t)
	e.group(t, "used")
	e.group(t, "member")
	e.group(t, "free")
	e.consumer(t, "team", "used")
	wantConflict(t, e.svc.DeleteACLGroup(ctx, admin, "used"), "used by 1 consumer")

	// A Keycloak user (not Keyward's) in the group.
	g, _ := e.kc.GroupByPath(ctx, "/keyward-acl/member")
	e.kc.SetMembers("alice", g.ID)
	wantConflict(t, e.svc.DeleteACLGroup(ctx, admin, "member"), "has members")

	if err := e.svc.DeleteACLGroup(ctx, admin, "free"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DeleteACLGroup(ctx, admin, "free"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("deleting twice: %v", err)
	}
	if !strings.Contains(e.actions(t), "acl_group.delete") {
		t.Fatal("the deletion is not in the audit trail")
	}
}

func TestConsumers_Create_BadInput_AllFieldsReported(t *testing.T) {
	e := newEnv(t)
	e.group(t, "known")
	cases := []struct {
		name string
		in   ConsumerInput
		want []string
	}{
		{"name missing", ConsumerInput{}, []string{"name"}},
		{"name upper case", ConsumerInput{Name: "Team"}, []string{"name"}},
		{"name with space", ConsumerInput{Name: "a b"}, []string{"name"}},
		{"name 65 chars", ConsumerInput{Name: strings.Repeat("a", 65)}, []string{"name"}},
		{"name hostile", ConsumerInput{Name: "<script>"}, []string{"name"}},
		{"name invalid utf-8", ConsumerInput{Name: "\xff"}, []string{"name"}},
		{"environment", ConsumerInput{Name: "a", Environment: "prod"}, []string{"environment"}},
		{"description", ConsumerInput{Name: "a", Description: strings.Repeat("é", 501)}, []string{"description"}},
		{"group malformed", ConsumerInput{Name: "a", ACLGroups: []string{"known", "Bad"}}, []string{"acl_groups[1]"}},
		{"group twice", ConsumerInput{Name: "a", ACLGroups: []string{"known", "known"}}, []string{"acl_groups[1]"}},
		{"group unknown", ConsumerInput{Name: "a", ACLGroups: []string{"known", "nope"}}, []string{"acl_groups[1]"}},
		{"everything", ConsumerInput{Name: "A", Environment: "x", Description: "\x01"}, []string{"name", "description", "environment"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.CreateConsumer(ctx, admin, tc.in)
			if got := fieldsOf(t, err); !slices.Equal(got, tc.want) {
				t.Fatalf("fields %v, want %v", got, tc.want)
			}
		})
	}
	if page, _ := e.svc.ListConsumers(ctx, ConsumerQuery{}); len(page.Items) != 0 {
		t.Fatal("a consumer was stored for bad input")
	}
}

func TestConsumers_CreateGetListDelete_Audited(t *testing.T) {
	e := newEnv(t)
	e.group(t, "b")
	e.group(t, "a")
	c, err := e.svc.CreateConsumer(ctx, admin, ConsumerInput{Name: "._team-1", Description: "Team One", ACLGroups: []string{"b", "a"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Environment != "production" || !slices.Equal(c.ACLGroups, []string{"a", "b"}) {
		t.Fatalf("created %+v", c)
	}
	got, err := e.svc.Consumer(ctx, c.ID)
	if err != nil || got.Name != "._team-1" {
		t.Fatalf("get %+v %v", got, err)
	}
	_, err = e.svc.CreateConsumer(ctx, admin, ConsumerInput{Name: "._team-1"})
	wantConflict(t, err, "exists already")
	if err := e.svc.DeleteConsumer(ctx, admin, c.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Consumer(ctx, c.ID); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("deleted consumer: %v", err)
	}
	evs := e.audits(t)
	var create, del *models.AuditEvent
	for i := range evs {
		switch evs[i].Action {
		case "consumer.create":
			create = &evs[i]
		case "consumer.delete":
			del = &evs[i]
		}
	}
	if create == nil || del == nil || create.TargetType != "consumer" || create.TargetID != c.ID ||
		create.ActorName != "carol" || create.RequestID != "req-1" || !strings.Contains(create.Details, `"acl_groups":["a","b"]`) {
		t.Fatalf("audit trail %+v", evs)
	}
}

func TestConsumers_List_FilterSortPage(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"delta", "alpha", "charlie", "bravo", "echo"} {
		env := "production"
		if n == "charlie" || n == "echo" {
			env = "staging"
		}
		if _, err := e.svc.CreateConsumer(ctx, admin, ConsumerInput{Name: n, Environment: env, Description: "team " + strings.ToUpper(n)}); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Second)
	}
	names := func(q ConsumerQuery) ([]string, string) { t.Helper(); return e.listConsumers(t, q) }
	if got, next := names(ConsumerQuery{}); !slices.Equal(got, []string{"alpha", "bravo", "charlie", "delta", "echo"}) || next != "" {
		t.Fatalf("default order %v, next %q", got, next)
	}
	if got, _ := names(ConsumerQuery{Sort: "-created_at"}); !slices.Equal(got, []string{"echo", "bravo", "charlie", "alpha", "delta"}) {
		t.Fatalf("newest first %v", got)
	}
	if got, _ := names(ConsumerQuery{Environment: "staging"}); !slices.Equal(got, []string{"charlie", "echo"}) {
		t.Fatalf("staging %v", got)
	}
	if got, _ := names(ConsumerQuery{Q: "TEAM B"}); !slices.Equal(got, []string{"bravo"}) {
		t.Fatalf("q %v", got)
	}
	var all []string
	cur := ""
	for i := 0; i < 5; i++ {
		got, next := names(ConsumerQuery{Sort: "-name", Limit: 2, Cursor: cur})
		all = append(all, got...)
		if next == "" {
			break
		}
		cur = next
	}
	if !slices.Equal(all, []string{"echo", "delta", "charlie", "bravo", "alpha"}) {
		t.Fatalf("pages %v", all)
	}
	_, first := names(ConsumerQuery{Limit: 2})
	for name, q := range map[string]ConsumerQuery{
		"sort":                   {Sort: "size"},
		"limit":                  {Limit: 201},
		"negative limit":         {Limit: -1},
		"environment":            {Environment: "prod"},
		"cursor garbage":         {Cursor: "!!!"},
		"cursor of another sort": {Sort: "created_at", Cursor: first},
		"q too long":             {Q: strings.Repeat("q", 101)},
		"q control":              {Q: "a\x00"},
	} {
		if _, err := e.svc.ListConsumers(ctx, q); err == nil {
			t.Errorf("%s: accepted", name)
		} else {
			fieldsOf(t, err)
		}
	}
}

func TestClients_Create_ServiceAccountInConsumerGroups_SecretOnlyInAnswer(t *testing.T) {
	e := newEnv(t)
	e.group(t, "a")
	e.group(t, "b")
	cons := e.consumer(t, "shop", "a", "b")
	created, err := e.svc.CreateClient(ctx, admin, cons.ID, ClientInput{
		Description: "orders", RedirectURIs: []string{"https://shop.example/cb", "http://127.0.0.1:8765/cb"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(created.ClientID, "shop-") || !clientIDPattern.MatchString(created.ClientID) ||
		created.Name != created.ClientID || created.Secret == "" || !created.Enabled || created.Realm != "keyward" ||
		created.Protocol != "openid-connect" || created.ConsumerName != "shop" || !slices.Equal(created.ACLGroups, []string{"a", "b"}) {
		t.Fatalf("created %+v", created.Client)
	}
	if got := e.kc.groupsOf(t, created.ClientID); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("service account groups %v", got)
	}
	info, _ := e.kc.ServiceClientByClientID(ctx, created.ClientID)
	if info.Attributes[AttrClientID] != created.ID || info.Attributes[AttrConsumerID] != cons.ID || !info.StandardFlowEnabled {
		t.Fatalf("keycloak client %+v", info)
	}
	got, err := e.svc.Client(ctx, created.ID)
	if err != nil || got.ClientID != created.ClientID || got.KeycloakID != info.ID || got.Name != created.ClientID ||
		info.Name != created.ClientID {
		t.Fatalf("get %+v %v", got, err)
	}
	for _, ev := range e.audits(t) {
		if strings.Contains(ev.Details, created.Secret) {
			t.Fatalf("the secret is in the audit trail (%s)", ev.Action)
		}
	}
	if !strings.Contains(e.actions(t), "client.create") {
		t.Fatal("client.create not audited")
	}
}

func TestClients_Create_BadInput(t *testing.T) {
	e := newEnv(t)
	cons := e.consumer(t, "shop")
	cases := []struct {
		name string
		in   ClientInput
		want []string
	}{
		{"client_id short", ClientInput{ClientID: "ab"}, []string{"client_id"}},
		{"client_id upper", ClientInput{ClientID: "Shop-1"}, []string{"client_id"}},
		{"client_id leading dot", ClientInput{ClientID: ".shop"}, []string{"client_id"}},
		{"client_id slash", ClientInput{ClientID: "shop/1"}, []string{"client_id"}},
		{"name long", ClientInput{Name: strings.Repeat("n", 101)}, []string{"name"}},
		{"description past Keycloak's 255", ClientInput{Description: strings.Repeat("d", api.KeycloakDescriptionMax+1)}, []string{"description"}},
		{"name newline", ClientInput{Name: "a\nb"}, []string{"name"}},
		{"http redirect", ClientInput{RedirectURIs: []string{"http://shop.example/cb"}}, []string{"redirect_uris[0]"}},
		{"wildcard redirect", ClientInput{RedirectURIs: []string{"https://shop.example/*"}}, []string{"redirect_uris[0]"}},
		{"relative redirect", ClientInput{RedirectURIs: []string{"/cb"}}, []string{"redirect_uris[0]"}},
		{"javascript redirect", ClientInput{RedirectURIs: []string{"javascript:alert(1)"}}, []string{"redirect_uris[0]"}},
		{"fragment", ClientInput{RedirectURIs: []string{"https://a.example/#x"}}, []string{"redirect_uris[0]"}},
		{"user info", ClientInput{RedirectURIs: []string{"https://u:p@a.example/"}}, []string{"redirect_uris[0]"}},
		{"loopback lookalike", ClientInput{RedirectURIs: []string{"http://127.0.0.1.evil.example/cb"}}, []string{"redirect_uris[0]"}},
		{"twice", ClientInput{RedirectURIs: []string{"https://a.example/", "https://a.example/"}}, []string{"redirect_uris[1]"}},
		{"too many", ClientInput{RedirectURIs: slices.Repeat([]string{"https://a.example/"}, 21)}, []string{"redirect_uris"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.CreateClient(ctx, admin, cons.ID, tc.in)
			if got := fieldsOf(t, err); !slices.Equal(got, tc.want) {
				t.Fatalf("fields %v, want %v", got, tc.want)
			}
		})
	}
	for _, ok := range []string{"http://localhost:3000/cb", "http://[::1]/cb", "https://x.example/a?b=c", "http://127.0.0.1/"} {
		if msg := redirectProblem(ok); msg != "" {
			t.Errorf("%s refused: %s", ok, msg)
		}
	}
	if e.kc.ClientCount() != 0 {
		t.Fatal("a Keycloak client was made for bad input")
	}
	if _, err := e.svc.CreateClient(ctx, admin, uuid.NewString(), ClientInput{}); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("unknown consumer: %v", err)
	}
}

func TestClients_Create_ClientIDTaken_Conflict_NothingLeft(t *testing.T) {
	e := newEnv(t)
	cons := e.consumer(t, "shop")
	e.client(t, cons.ID, "shop-main")
	_, err := e.svc.CreateClient(ctx, admin, cons.ID, ClientInput{ClientID: "shop-main"})
	wantConflict(t, err, "shop-main")
	// Taken in the realm by a client Keyward does not know.
	_, _ = e.kc.CreateServiceClient(ctx, keycloak.ServiceClient{ClientID: "foreign"})
	_, err = e.svc.CreateClient(ctx, admin, cons.ID, ClientInput{ClientID: "foreign"})
	wantConflict(t, err, "exists in the realm")
	page, _ := e.svc.ListClients(ctx, ClientQuery{})
	all, _ := e.store.ListClients(ctx, models.ClientFilter{})
	if len(page.Items) != 1 || len(all) != 1 || e.kc.ClientCount() != 2 {
		t.Fatalf("rows %d/%d, keycloak clients %d", len(page.Items), len(all), e.kc.ClientCount())
	}
}

// The two failures of the issue: Keycloak after the client exists, the database after
// Keycloak changed. Either way nothing is left behind.
func TestClients_Create_FailureMidway_NothingLeftBehind(t *testing.T) {
	for _, tc := range []struct {
		name   string
		inject func(e *env)
	}{
		{"keycloak fails joining a group", func(e *env) { e.kc.FailOn("AddUserToGroup", keycloak.ErrUnavailable, 1) }},
		{"keycloak fails reading the secret", func(e *env) { e.kc.FailOn("ClientSecret", errors.New("boom"), 0) }},
		{"keycloak fails finding the service account", func(e *env) { e.kc.FailOn("ServiceAccountUserID", keycloak.ErrUnavailable, 0) }},
		{"database fails after keycloak", func(e *env) { e.store.failOn("ActivateClient", errors.New("disk full")) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.group(t, "a")
			e.group(t, "b")
			cons := e.consumer(t, "shop", "a", "b")
			tc.inject(e)
			_, err := e.svc.CreateClient(ctx, admin, cons.ID, ClientInput{ClientID: "shop-1"})
			if err == nil {
				t.Fatal("creation succeeded despite the failure")
			}
			if e.kc.HasClient("shop-1") {
				t.Fatal("the Keycloak client was left behind")
			}
			if rows, _ := e.store.ClientsOfConsumer(ctx, cons.ID); len(rows) != 0 {
				t.Fatalf("rows left behind: %+v", rows)
			}
			if strings.Contains(e.actions(t), "client.create") {
				t.Fatal("a failed creation was audited as done")
			}
			e.kc.Heal()
			e.store.heal()
			if _, err := e.svc.CreateClient(ctx, admin, cons.ID, ClientInput{ClientID: "shop-1"}); err != nil {
				t.Fatalf("retry after the failure: %v", err)
			}
		})
	}
}

func TestClients_Create_CompensationFailsToo_ReconcileRemovesIt(t *testing.T) {
	e := newEnv(t)
	cons := e.consumer(t, "shop")
	e.store.failOn("ActivateClient", errors.New("db down"))
	e.kc.FailAlways("DeleteServiceClient", keycloak.ErrUnavailable, 0)
	if _, err := e.svc.CreateClient(ctx, admin, cons.ID, ClientInput{ClientID: "shop-1"}); err == nil {
		t.Fatal("creation succeeded")
	}
	rows, _ := e.store.ClientsOfConsumer(ctx, cons.ID)
	if len(rows) != 1 || rows[0].State != models.ClientPending || !e.kc.HasClient("shop-1") {
		t.Fatalf("the pending row must stay to record the Keycloak client: %+v", rows)
	}
	if page, _ := e.svc.ListClients(ctx, ClientQuery{}); len(page.Items) != 0 {
		t.Fatal("a pending client is listed")
	}
	e.store.heal()
	e.kc.Heal()
	if rep, err := e.svc.Reconcile(ctx); err != nil || rep.Settled != 0 || !e.kc.HasClient("shop-1") {
		t.Fatalf("a fresh pending row was settled (it may be in flight): %+v %v", rep, err)
	}
	e.clock.Advance(10 * time.Minute)
	rep, err := e.svc.Reconcile(ctx)
	if err != nil || rep.Settled != 1 {
		t.Fatalf("reconcile: %+v %v", rep, err)
	}
	if e.kc.HasClient("shop-1") {
		t.Fatal("reconcile left the Keycloak client")
	}
	if rows, _ := e.store.ClientsOfConsumer(ctx, cons.ID); len(rows) != 0 {
		t.Fatal("reconcile left the row")
	}
	if !strings.Contains(e.actions(t), "client.reconcile") {
		t.Fatal("reconcile's change is not audited")
	}
}

func TestReconcile_PendingRowWithoutKeycloakID_SparesForeignClientOfThatName(t *testing.T) {
	e := newEnv(t)
	cons := e.consumer(t, "shop")
	// A crash right after the row was written: no Keycloak client of ours, but a
	// foreign one of the same client_id appeared since.
	row := models.Client{ConsumerID: cons.ID, ClientID: "shop-x", State: models.ClientPending, CreatedAt: e.clock.Now()}
	if err := e.store.CreateClient(ctx, &row); err != nil {
		t.Fatal(err)
	}
	_, _ = e.kc.CreateServiceClient(ctx, keycloak.ServiceClient{ClientID: "shop-x", Attributes: map[string]string{AttrClientID: "someone-else"}})
	e.clock.Advance(10 * time.Minute)
	if rep, err := e.svc.Reconcile(ctx); err != nil || rep.Settled != 1 {
		t.Fatalf("reconcile %+v %v", rep, err)
	}
	if !e.kc.HasClient("shop-x") {
		t.Fatal("reconcile deleted a client that is not Keyward's")
	}
}

func TestConsumers_UpdateGroups_EveryClientFollows(t *testing.T) {
	e := newEnv(t)
	for _, g := range []string{"a", "b", "c"} {
		e.group(t, g)
	}
	cons := e.consumer(t, "shop", "a", "b")
	c1, c2 := e.client(t, cons.ID, "shop-1"), e.client(t, cons.ID, "shop-2")
	groups := []string{"b", "c"}
	got, err := e.svc.UpdateConsumer(ctx, admin, cons.ID, ConsumerPatch{ACLGroups: &groups})
	if err != nil || !slices.Equal(got.ACLGroups, []string{"b", "c"}) {
		t.Fatalf("update %+v %v", got, err)
	}
	for _, c := range []CreatedClient{c1, c2} {
		if g := e.kc.groupsOf(t, c.ClientID); !slices.Equal(g, []string{"b", "c"}) {
			t.Fatalf("%s groups %v", c.ClientID, g)
		}
		res, err := e.svc.TestClient(ctx, admin, c.ID, c.Secret)
		if err != nil || !res.Valid || !res.ACLClaimPresent || !slices.Equal(res.ACLGroups, []string{"b", "c"}) {
			t.Fatalf("next token of %s: %+v %v", c.ClientID, res, err)
		}
		view, _ := e.svc.Client(ctx, c.ID)
		if !slices.Equal(view.ACLGroups, []string{"b", "c"}) {
			t.Fatalf("client shows %v", view.ACLGroups)
		}
	}
	evs := e.audits(t)
	last := evs[len(evs)-3] // consumer.update, then two client.test
	if last.Action != "consumer.update" || !strings.Contains(last.Details, `"acl_groups_added":["c"]`) ||
		!strings.Contains(last.Details, `"acl_groups_removed":["a"]`) {
		t.Fatalf("audit %+v", last)
	}
}

func TestConsumers_UpdateGroups_FailureMidway_MembershipsAndRowUnchanged(t *testing.T) {
	for _, tc := range []struct {
		name   string
		inject func(e *env)
	}{
		{"keycloak fails on the second client", func(e *env) { e.kc.FailOn("AddUserToGroup", keycloak.ErrUnavailable, 1) }},
		{"keycloak fails removing", func(e *env) { e.kc.FailOn("RemoveUserFromGroup", errors.New("boom"), 1) }},
		{"database fails after keycloak", func(e *env) { e.store.failOn("UpdateConsumer", errors.New("db down")) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			for _, g := range []string{"a", "b", "c"} {
				e.group(t, g)
			}
			cons := e.consumer(t, "shop", "a", "b")
			c1, c2 := e.client(t, cons.ID, "shop-1"), e.client(t, cons.ID, "shop-2")
			tc.inject(e)
			groups := []string{"c"}
			if _, err := e.svc.UpdateConsumer(ctx, admin, cons.ID, ConsumerPatch{ACLGroups: &groups}); err == nil {
				t.Fatal("update succeeded despite the failure")
			}
			e.kc.Heal()
			for _, c := range []CreatedClient{c1, c2} {
				if g := e.kc.groupsOf(t, c.ClientID); !slices.Equal(g, []string{"a", "b"}) {
					t.Fatalf("%s left in %v, want [a b]", c.ClientID, g)
				}
			}
			stored, _ := e.store.ConsumerByID(ctx, cons.ID) // the row: Version 1 is never updated
			if !slices.Equal(stored.ACLGroups, []string{"a", "b"}) || stored.Version != 1 {
				t.Fatalf("stored %+v", stored)
			}
		})
	}
}

func TestConsumers_UpdateGroups_KeycloakDownDuringUndo_ReconcileRepairs(t *testing.T) {
	e := newEnv(t)
	for _, g := range []string{"a", "b"} {
		e.group(t, g)
	}
	cons := e.consumer(t, "shop", "a")
	c1, c2 := e.client(t, cons.ID, "shop-1"), e.client(t, cons.ID, "shop-2")
	e.kc.FailAlways("AddUserToGroup", keycloak.ErrUnavailable, 1)
	e.kc.FailAlways("RemoveUserFromGroup", keycloak.ErrUnavailable, 0)
	groups := []string{"b"}
	if _, err := e.svc.UpdateConsumer(ctx, admin, cons.ID, ConsumerPatch{ACLGroups: &groups}); err == nil {
		t.Fatal("update succeeded")
	}
	// The first client handled joined b and could not be taken out again.
	g1, g2 := e.kc.groupsOf(t, c1.ClientID), e.kc.groupsOf(t, c2.ClientID)
	if !slices.Equal(g1, []string{"a", "b"}) && !slices.Equal(g2, []string{"a", "b"}) {
		t.Fatalf("precondition: one client should be left in [a b]: %v %v", g1, g2)
	}
	e.kc.Heal()
	rep, err := e.svc.Reconcile(ctx)
	if err != nil || rep.MembershipsFixed != 1 {
		t.Fatalf("reconcile %+v %v", rep, err)
	}
	for _, c := range []CreatedClient{c1, c2} {
		if g := e.kc.groupsOf(t, c.ClientID); !slices.Equal(g, []string{"a"}) {
			t.Fatalf("%s in %v after reconcile, want the stored [a]", c.ClientID, g)
		}
	}
}

func TestReconcile_MembershipDrift_Repaired_NonACLGroupsUntouched(t *testing.T) {
	e := newEnv(t)
	e.group(t, "a")
	e.group(t, "b")
	cons := e.consumer(t, "shop", "a")
	c := e.client(t, cons.ID, "shop-1")
	// Drift: someone removed "a" and added "b" in Keycloak, and a non-ACL group.
	ga, _ := e.kc.GroupByPath(ctx, "/keyward-acl/a")
	gb, _ := e.kc.GroupByPath(ctx, "/keyward-acl/b")
	other, _ := e.kc.CreateGroup(ctx, "", "not-acl", "")
	info, _ := e.kc.ServiceClientByClientID(ctx, "shop-1")
	sa := kcClient(t, e, info.ID).ServiceAccount
	_ = e.kc.RemoveUserFromGroup(ctx, sa, ga.ID)
	_ = e.kc.AddUserToGroup(ctx, sa, gb.ID)
	_ = e.kc.AddUserToGroup(ctx, sa, other.ID)
	rep, err := e.svc.Reconcile(ctx)
	if err != nil || rep.MembershipsFixed != 2 {
		t.Fatalf("reconcile %+v %v", rep, err)
	}
	if g := e.kc.groupsOf(t, c.ClientID); !slices.Equal(g, []string{"a", "not-acl"}) {
		t.Fatalf("after reconcile %v", g)
	}
	if rep, _ := e.svc.Reconcile(ctx); rep.MembershipsFixed != 0 {
		t.Fatal("a second pass changed something")
	}
}

func TestConsumers_Delete_WithClients_ConflictUnlessCascade(t *testing.T) {
	e := newEnv(t)
	cons := e.consumer(t, "shop")
	e.client(t, cons.ID, "shop-1")
	e.client(t, cons.ID, "shop-2")
	wantConflict(t, e.svc.DeleteConsumer(ctx, admin, cons.ID, false), "2 client(s)")
	if e.kc.ClientCount() != 2 {
		t.Fatal("a refused delete removed clients")
	}
	// A Keycloak failure stops the cascade with a consistent state.
	e.kc.FailOn("DeleteServiceClient", keycloak.ErrUnavailable, 1)
	if err := e.svc.DeleteConsumer(ctx, admin, cons.ID, true); !errors.Is(err, keycloak.ErrUnavailable) {
		t.Fatalf("cascade with Keycloak failing: %v", err)
	}
	page, _ := e.svc.ListClients(ctx, ClientQuery{ConsumerID: cons.ID})
	if len(page.Items) != 1 || e.kc.ClientCount() != 1 || !e.kc.HasClient(page.Items[0].ClientID) {
		t.Fatalf("after a stopped cascade: %d rows, %d keycloak clients", len(page.Items), e.kc.ClientCount())
	}
	e.kc.Heal()
	if err := e.svc.DeleteConsumer(ctx, admin, cons.ID, true); err != nil {
		t.Fatal(err)
	}
	if e.kc.ClientCount() != 0 {
		t.Fatal("cascade left Keycloak clients")
	}
	if _, err := e.svc.Consumer(ctx, cons.ID); !errors.Is(err, models.ErrNotFound) {
		t.Fatal("consumer still there")
	}
}

func TestClients_UpdateDisable_TokenRefused_DatabaseFailureRestoresKeycloak(t *testing.T) {
	e := newEnv(t)
	cons := e.consumer(t, "shop")
	c := e.client(t, cons.ID, "shop-1")
	off := false
	e.store.failOn("UpdateClient", errors.New("db down"))
	if _, err := e.svc.UpdateClient(ctx, admin, c.ID, ClientPatch{Enabled: &off}); err == nil {
		t.Fatal("update succeeded")
	}
	if res, _ := e.svc.TestClient(ctx, admin, c.ID, c.Secret); !res.Valid {
		t.Fatal("a failed update left the client disabled in Keycloak")
	}
	e.store.heal()
	got, err := e.svc.UpdateClient(ctx, admin, c.ID, ClientPatch{Enabled: &off})
	if err != nil || got.Enabled {
		t.Fatalf("disable %+v %v", got, err)
	}
	res, err := e.svc.TestClient(ctx, admin, c.ID, c.Secret)
	if err != nil || res.Valid || res.Error != "invalid_client" {
		t.Fatalf("disabled client test %+v %v", res, err)
	}
	if page, _ := e.svc.ListClients(ctx, ClientQuery{Enabled: &off}); len(page.Items) != 1 {
		t.Fatal("enabled=false filter")
	}
	for name, p := range map[string]ClientPatch{
		"nothing":      {},
		"empty name":   {Name: new("  ")},
		"bad redirect": {RedirectURIs: &[]string{"ftp://x"}},
	} {
		if _, err := e.svc.UpdateClient(ctx, admin, c.ID, p); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func TestClients_Secret_ViewRegenerate_Audited_OldSecretDies(t *testing.T) {
	e := newEnv(t)
	cons := e.consumer(t, "shop")
	c := e.client(t, cons.ID, "shop-1")
	seen, err := e.svc.ClientSecret(ctx, admin, c.ID)
	if err != nil || seen.Value != c.Secret || seen.ClientID != "shop-1" {
		t.Fatalf("view %+v %v", seen, err)
	}
	fresh, err := e.svc.RegenerateClientSecret(ctx, admin, c.ID)
	if err != nil || fresh.Value == c.Secret {
		t.Fatalf("regenerate %v", err)
	}
	if res, _ := e.svc.TestClient(ctx, admin, c.ID, c.Secret); res.Valid {
		t.Fatal("the old secret still works")
	}
	if res, _ := e.svc.TestClient(ctx, admin, c.ID, fresh.Value); !res.Valid {
		t.Fatal("the new secret does not work")
	}
	acts := e.actions(t)
	for _, want := range []string{"client.secret.view", "client.secret.regenerate", "client.test"} {
		if !strings.Contains(acts, want) {
			t.Fatalf("%s not audited: %s", want, acts)
		}
	}
	for _, ev := range e.audits(t) {
		for _, s := range []string{c.Secret, fresh.Value} {
			if strings.Contains(ev.Details, s) || strings.Contains(ev.TargetID, s) {
				t.Fatalf("secret in the audit trail (%s)", ev.Action)
			}
		}
	}
	for name, s := range map[string]string{"empty": "", "too long": strings.Repeat("s", 1025), "control": "a\nb"} {
		if _, err := e.svc.TestClient(ctx, admin, c.ID, s); len(fieldsOf(t, err)) == 0 {
			t.Errorf("%s secret accepted", name)
		}
	}
}

func TestClients_Delete_KeycloakFails_ClientStaysVisible(t *testing.T) {
	e := newEnv(t)
	cons := e.consumer(t, "shop")
	c := e.client(t, cons.ID, "shop-1")
	e.kc.FailOn("DeleteServiceClient", keycloak.ErrUnavailable, 0)
	if err := e.svc.DeleteClient(ctx, admin, c.ID); !errors.Is(err, keycloak.ErrUnavailable) {
		t.Fatalf("delete: %v", err)
	}
	if _, err := e.svc.Client(ctx, c.ID); err != nil {
		t.Fatalf("the client vanished from Keyward although Keycloak kept it: %v", err)
	}
	e.kc.Heal()
	e.store.failOn("DeleteClient", errors.New("db down"))
	if err := e.svc.DeleteClient(ctx, admin, c.ID); err == nil {
		t.Fatal("delete succeeded")
	}
	if e.kc.HasClient("shop-1") {
		t.Fatal("the Keycloak client should be gone")
	}
	if _, err := e.svc.Client(ctx, c.ID); !errors.Is(err, models.ErrNotFound) {
		t.Fatal("a half-deleted client is shown")
	}
	e.store.heal()
	e.clock.Advance(10 * time.Minute)
	if rep, err := e.svc.Reconcile(ctx); err != nil || rep.Settled != 1 {
		t.Fatalf("reconcile %+v %v", rep, err)
	}
	if rows, _ := e.store.ClientsOfConsumer(ctx, cons.ID); len(rows) != 0 {
		t.Fatal("the deleting row outlived reconcile")
	}
}

func TestClients_List_Filters(t *testing.T) {
	e := newEnv(t)
	shop := e.consumer(t, "shop")
	lab, _ := e.svc.CreateConsumer(ctx, admin, ConsumerInput{Name: "lab", Environment: "development"})
	e.client(t, shop.ID, "shop-orders")
	e.clock.Advance(time.Second)
	e.client(t, lab.ID, "lab-exp")
	ids := func(q ClientQuery) []string {
		t.Helper()
		page, err := e.svc.ListClients(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range page.Items {
			out = append(out, c.ClientID)
		}
		return out
	}
	for name, tc := range map[string]struct {
		q    ClientQuery
		want []string
	}{
		"default newest first": {ClientQuery{}, []string{"lab-exp", "shop-orders"}},
		"by client_id":         {ClientQuery{Sort: "client_id"}, []string{"lab-exp", "shop-orders"}},
		"consumer":             {ClientQuery{ConsumerID: shop.ID}, []string{"shop-orders"}},
		"environment":          {ClientQuery{Environment: "development"}, []string{"lab-exp"}},
		"q":                    {ClientQuery{Q: "ORDERS"}, []string{"shop-orders"}},
	} {
		if got := ids(tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
	if _, err := e.svc.ListClients(ctx, ClientQuery{ConsumerID: "x"}); !slices.Equal(fieldsOf(t, err), []string{"consumer"}) {
		t.Fatal("a consumer filter that is not an id was accepted")
	}
}

func TestGenerateClientID_FitsTheRule(t *testing.T) {
	for _, name := range []string{"shop", "._-x", "...", strings.Repeat("a", 64), "a"} {
		id := generateClientID(name)
		if !clientIDPattern.MatchString(id) {
			t.Errorf("generated %q from %q breaks the rule", id, name)
		}
	}
	if generateClientID("shop") == generateClientID("shop") {
		t.Fatal("two generated ids are equal")
	}
}
