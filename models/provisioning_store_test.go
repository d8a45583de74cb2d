package models_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/keyward/keyward/models"
)

// The consumers-and-clients part of the conformance suite: the same tests on SQLite
// and PostgreSQL. Tests share one store per backend and run in parallel, so each
// works on its own names (a unique token) and its own consumers.

var provisioningStoreTests = []struct {
	name string
	run  func(t *testing.T, s *models.Store)
}{
	{"CreateConsumer_ThenByID_ReturnsEveryFieldAndSortedGroups", testConsumerRoundTrip},
	{"CreateConsumer_DuplicateName_AlreadyExists", testConsumerDuplicateName},
	{"CreateConsumer_TextNeitherBackendCanStore_Refused", testConsumerUnstorable},
	{"ConsumerByID_UnknownOrNotAUUID_NotFound", testConsumerByIDUnknown},
	{"UpdateConsumer_ReplacesFieldsAndGroups_BumpsVersion", testConsumerUpdate},
	{"UpdateConsumer_StaleVersion_ErrStale_NothingWritten", testConsumerUpdateStale},
	{"UpdateConsumer_NameOfAnother_AlreadyExists", testConsumerUpdateNameTaken},
	{"UpdateConsumer_Deleted_NotFound", testConsumerUpdateDeleted},
	{"DeleteConsumer_WithAnyClientRow_HasClients", testConsumerDeleteWithClients},
	{"CountConsumersWithACLGroup_CountsOnlyHolders", testCountConsumersWithGroup},
	{"ListConsumers_QueryIsLiteralAndCaseInsensitive_EnvironmentFilters", testListConsumersFilters},
	{"ListConsumers_KeysetPages_EveryRowOnceInOrder", testListConsumersPaging},
	{"ConsumersByID_ReturnsTheExistingOnes", testConsumersByID},
	{"CreateClient_UnknownConsumer_NotFound", testClientUnknownConsumer},
	{"CreateClient_DuplicateClientID_AlreadyExists", testClientDuplicateClientID},
	{"Client_PendingActivateUpdateDelete_Lifecycle", testClientLifecycle},
	{"UpdateClient_NotActive_NotFound", testClientUpdateNotActive},
	{"ListClients_FiltersByConsumerEnvironmentEnabledStateQuery", testListClientsFilters},
	{"ListClients_KeysetPages_ByClientIDAndCreatedAt", testListClientsPaging},
	{"UnsettledClients_PendingAndDeletingOlderThan_Only", testUnsettledClients},
	{"HostileStrings_ConsumersAndClients_StoredAsData", testProvisioningHostileStrings},
}

func TestProvisioningStore(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := openStore(t, b.dsn(t), nil)
			for _, tc := range provisioningStoreTests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, s)
				})
			}
		})
	}
}

func token() string { return strings.ReplaceAll(uuid.NewString(), "-", "")[:12] }

func newConsumer(t *testing.T, s *models.Store, name string, groups ...string) *models.Consumer {
	t.Helper()
	c := &models.Consumer{Name: name, Description: "team " + name, Environment: "production", ACLGroups: groups}
	if err := s.CreateConsumer(context.Background(), c); err != nil {
		t.Fatalf("CreateConsumer: %v", err)
	}
	return c
}

func newClientRow(t *testing.T, s *models.Store, consumerID, clientID, state string) *models.Client {
	t.Helper()
	c := &models.Client{ConsumerID: consumerID, ClientID: clientID, Name: "n " + clientID, State: state, Enabled: true,
		RedirectURIs: models.StringList{"https://app.example/cb"}}
	if err := s.CreateClient(context.Background(), c); err != nil {
		t.Fatalf("CreateClient: %v", err)
	}
	return c
}

func testConsumerRoundTrip(t *testing.T, s *models.Store) {
	ctx := context.Background()
	at := time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.FixedZone("x", 3600))
	c := &models.Consumer{Name: "rt-" + token(), Description: "billing team", Environment: "staging",
		ACLGroups: []string{"zeta", "alpha", "mid"}, CreatedAt: at}
	if err := s.CreateConsumer(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := uuid.Parse(c.ID); err != nil || c.Version != 1 {
		t.Fatalf("id %q version %d", c.ID, c.Version)
	}
	got, err := s.ConsumerByID(ctx, strings.ToUpper(c.ID))
	if err != nil {
		t.Fatal(err)
	}
	want := at.UTC().Truncate(time.Microsecond)
	if got.ID != c.ID || got.Name != c.Name || got.Description != "billing team" || got.Environment != "staging" ||
		!slices.Equal(got.ACLGroups, []string{"alpha", "mid", "zeta"}) || got.Version != 1 ||
		!got.CreatedAt.Equal(want) || got.CreatedAt.Location() != time.UTC || !got.UpdatedAt.Equal(want) {
		t.Fatalf("read back %+v", got)
	}
	if !got.Enabled {
		t.Fatal("a new consumer is disabled")
	}
	got.Enabled = false
	if err := s.UpdateConsumer(ctx, &got); err != nil {
		t.Fatal(err)
	}
	if again, err := s.ConsumerByID(ctx, c.ID); err != nil || again.Enabled {
		t.Fatalf("disabled consumer read back enabled=%v, %v", again.Enabled, err)
	}
	none := newConsumer(t, s, "nogroups-"+token())
	got, err = s.ConsumerByID(ctx, none.ID)
	if err != nil || got.ACLGroups == nil || len(got.ACLGroups) != 0 {
		t.Fatalf("consumer without groups: %#v %v", got.ACLGroups, err)
	}
}

func testConsumerDuplicateName(t *testing.T, s *models.Store) {
	name := "dup-" + token()
	newConsumer(t, s, name, "g1")
	err := s.CreateConsumer(context.Background(), &models.Consumer{Name: name, Environment: "production", ACLGroups: []string{"g2"}})
	wantErr(t, "second consumer of that name", err, models.ErrAlreadyExists)
	if n, _ := s.CountConsumersWithACLGroup(context.Background(), "g2"); n != 0 {
		t.Fatal("the refused consumer's groups were written")
	}
}

func testConsumerUnstorable(t *testing.T, s *models.Store) {
	for name, c := range map[string]models.Consumer{
		"NUL in name":         {Name: "a\x00b", Environment: "production"},
		"bad UTF-8 in desc":   {Name: "u-" + token(), Description: "\xff", Environment: "production"},
		"NUL in a group":      {Name: "g-" + token(), Environment: "production", ACLGroups: []string{"a\x00"}},
		"empty name":          {Name: " ", Environment: "production"},
		"id that is not UUID": {ID: "nope", Name: "i-" + token(), Environment: "production"},
	} {
		if err := s.CreateConsumer(context.Background(), &c); err == nil {
			t.Errorf("%s: stored", name)
		}
	}
}

func testConsumerByIDUnknown(t *testing.T, s *models.Store) {
	for _, id := range []string{uuid.NewString(), "not-a-uuid", "' OR 1=1 --", ""} {
		_, err := s.ConsumerByID(context.Background(), id)
		wantErr(t, "ConsumerByID("+id+")", err, models.ErrNotFound)
	}
}

func testConsumerUpdate(t *testing.T, s *models.Store) {
	ctx := context.Background()
	c := newConsumer(t, s, "up-"+token(), "a", "b")
	created := c.UpdatedAt
	next := *c
	next.Name, next.Description, next.Environment, next.ACLGroups = c.Name+"-x", "new", "development", []string{"c", "b"}
	if err := s.UpdateConsumer(ctx, &next); err != nil {
		t.Fatal(err)
	}
	if next.Version != 2 || next.UpdatedAt.Before(created) || !slices.Equal(next.ACLGroups, []string{"b", "c"}) {
		t.Fatalf("after update: %+v", next)
	}
	got, err := s.ConsumerByID(ctx, c.ID)
	if err != nil || got.Name != c.Name+"-x" || got.Description != "new" || got.Environment != "development" ||
		!slices.Equal(got.ACLGroups, []string{"b", "c"}) || got.Version != 2 || !got.CreatedAt.Equal(c.CreatedAt) {
		t.Fatalf("read back %+v %v", got, err)
	}
}

func testConsumerUpdateStale(t *testing.T, s *models.Store) {
	ctx := context.Background()
	c := newConsumer(t, s, "st-"+token(), "a")
	first, second := *c, *c
	first.ACLGroups = []string{"first"}
	if err := s.UpdateConsumer(ctx, &first); err != nil {
		t.Fatal(err)
	}
	second.ACLGroups = []string{"second"}
	wantErr(t, "update of a stale copy", s.UpdateConsumer(ctx, &second), models.ErrStale)
	got, _ := s.ConsumerByID(ctx, c.ID)
	if !slices.Equal(got.ACLGroups, []string{"first"}) || got.Version != 2 {
		t.Fatalf("stale update wrote: %+v", got)
	}
}

func testConsumerUpdateNameTaken(t *testing.T, s *models.Store) {
	a := newConsumer(t, s, "na-"+token())
	b := newConsumer(t, s, "nb-"+token(), "keep")
	next := *b
	next.Name, next.ACLGroups = a.Name, []string{"changed"}
	wantErr(t, "rename onto another's name", s.UpdateConsumer(context.Background(), &next), models.ErrAlreadyExists)
	got, _ := s.ConsumerByID(context.Background(), b.ID)
	if got.Name != b.Name || !slices.Equal(got.ACLGroups, []string{"keep"}) {
		t.Fatalf("refused update wrote: %+v", got)
	}
}

func testConsumerUpdateDeleted(t *testing.T, s *models.Store) {
	c := newConsumer(t, s, "del-"+token())
	if err := s.DeleteConsumer(context.Background(), c.ID); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "update of a deleted consumer", s.UpdateConsumer(context.Background(), c), models.ErrNotFound)
	wantErr(t, "delete twice", s.DeleteConsumer(context.Background(), c.ID), models.ErrNotFound)
}

func testConsumerDeleteWithClients(t *testing.T, s *models.Store) {
	ctx := context.Background()
	group := "grp-" + token()
	c := newConsumer(t, s, "dc-"+token(), group)
	for _, state := range []string{models.ClientPending, models.ClientDeleting} {
		cl := newClientRow(t, s, c.ID, "cl-"+token(), state)
		wantErr(t, "delete consumer with a "+state+" client", s.DeleteConsumer(ctx, c.ID), models.ErrHasClients)
		if err := s.DeleteClient(ctx, cl.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteConsumer(ctx, c.ID); err != nil {
		t.Fatalf("delete consumer without clients: %v", err)
	}
	if n, err := s.CountConsumersWithACLGroup(ctx, group); err != nil || n != 0 {
		t.Fatalf("groups of the deleted consumer remain: %d %v", n, err)
	}
}

func testCountConsumersWithGroup(t *testing.T, s *models.Store) {
	g := "cnt-" + token()
	newConsumer(t, s, "c1-"+token(), g, "other")
	newConsumer(t, s, "c2-"+token(), g)
	newConsumer(t, s, "c3-"+token(), "other")
	if n, err := s.CountConsumersWithACLGroup(context.Background(), g); err != nil || n != 2 {
		t.Fatalf("count %d %v, want 2", n, err)
	}
	if n, err := s.CountConsumersWithACLGroup(context.Background(), g[:len(g)-1]+"%"); err != nil || n != 0 {
		t.Fatalf("a pattern counted %d", n)
	}
}

func testListConsumersFilters(t *testing.T, s *models.Store) {
	ctx := context.Background()
	tok := token()
	a := newConsumer(t, s, "a_"+tok)
	b := &models.Consumer{Name: "b-" + tok, Description: "Uses 100% CPU", Environment: "development"}
	if err := s.CreateConsumer(ctx, b); err != nil {
		t.Fatal(err)
	}
	names := func(f models.ConsumerFilter) []string {
		t.Helper()
		list, err := s.ListConsumers(ctx, f)
		return listed(t, list, err, func(c models.Consumer) string { return c.Name })
	}
	if got := names(models.ConsumerFilter{Query: tok}); !slices.Equal(got, []string{a.Name, b.Name}) {
		t.Fatalf("q=%s: %v", tok, got)
	}
	if got := names(models.ConsumerFilter{Query: strings.ToUpper("a_" + tok)}); !slices.Equal(got, []string{a.Name}) {
		t.Fatalf("upper-case query: %v", got)
	}
	// '_' and '%' are literal: "a_" must not match "b-".
	if got := names(models.ConsumerFilter{Query: "_" + tok}); !slices.Equal(got, []string{a.Name}) {
		t.Fatalf("q=_%s: %v", tok, got)
	}
	if got := names(models.ConsumerFilter{Query: "100% cpu"}); !slices.Contains(got, b.Name) || slices.Contains(got, a.Name) {
		t.Fatalf("q in description: %v", got)
	}
	if got := names(models.ConsumerFilter{Query: tok, Environment: "development"}); !slices.Equal(got, []string{b.Name}) {
		t.Fatalf("environment filter: %v", got)
	}
	if got := names(models.ConsumerFilter{Query: tok, Desc: true}); !slices.Equal(got, []string{b.Name, a.Name}) {
		t.Fatalf("descending: %v", got)
	}
}

func testListConsumersPaging(t *testing.T, s *models.Store) {
	ctx := context.Background()
	tok := token()
	base := time.Now().Add(-time.Hour)
	var want []string
	for i := 0; i < 7; i++ {
		c := &models.Consumer{Name: "p" + string(rune('a'+i)) + tok, Environment: "production",
			CreatedAt: base.Add(time.Duration(i%3) * time.Minute)} // equal times: the id breaks ties
		if err := s.CreateConsumer(ctx, c); err != nil {
			t.Fatal(err)
		}
		want = append(want, c.ID)
	}
	for _, sort := range []struct {
		field string
		desc  bool
	}{{models.SortName, false}, {models.SortName, true}, {models.SortCreatedAt, false}, {models.SortCreatedAt, true}} {
		full, err := s.ListConsumers(ctx, models.ConsumerFilter{Query: tok, Sort: sort.field, Desc: sort.desc})
		if err != nil || len(full) != len(want) {
			t.Fatalf("full list: %d %v", len(full), err)
		}
		paged := pagedIDs(t, 3, func(after *models.ListPosition, limit int) ([]models.Consumer, error) {
			return s.ListConsumers(ctx, models.ConsumerFilter{Query: tok, Sort: sort.field, Desc: sort.desc, After: after, Limit: limit})
		}, consumerPosition)
		fullIDs := positionIDs(full, consumerPosition)
		if !slices.Equal(paged, fullIDs) {
			t.Fatalf("sort %+v: pages %v differ from the full list %v", sort, paged, fullIDs)
		}
		for i := 1; i < len(full); i++ {
			a, b := full[i-1], full[i]
			var inOrder bool
			if sort.field == models.SortName {
				inOrder = (a.Name < b.Name) != sort.desc
			} else {
				inOrder = a.CreatedAt.Before(b.CreatedAt) == !sort.desc || (a.CreatedAt.Equal(b.CreatedAt) && (a.ID < b.ID) != sort.desc)
			}
			if !inOrder {
				t.Fatalf("sort %+v: %v then %v", sort, a, b)
			}
		}
	}
}

func testConsumersByID(t *testing.T, s *models.Store) {
	a := newConsumer(t, s, "bi-"+token(), "g")
	b := newConsumer(t, s, "bj-"+token())
	list, err := s.ConsumersByID(context.Background(), []string{a.ID, b.ID, uuid.NewString(), "junk"})
	if err != nil || len(list) != 2 {
		t.Fatalf("%d consumers, %v", len(list), err)
	}
	for _, c := range list {
		if c.ID == a.ID && !slices.Equal(c.ACLGroups, []string{"g"}) {
			t.Fatalf("groups not loaded: %+v", c)
		}
	}
}

func testClientUnknownConsumer(t *testing.T, s *models.Store) {
	err := s.CreateClient(context.Background(), &models.Client{ConsumerID: uuid.NewString(), ClientID: "x-" + token(), State: models.ClientPending})
	wantErr(t, "client of an unknown consumer", err, models.ErrNotFound)
}

func testClientDuplicateClientID(t *testing.T, s *models.Store) {
	c := newConsumer(t, s, "cd-"+token())
	id := "same-" + token()
	newClientRow(t, s, c.ID, id, models.ClientActive)
	err := s.CreateClient(context.Background(), &models.Client{ConsumerID: c.ID, ClientID: id, State: models.ClientPending})
	wantErr(t, "second client with that client_id", err, models.ErrAlreadyExists)
}

func testClientLifecycle(t *testing.T, s *models.Store) {
	ctx := context.Background()
	cons := newConsumer(t, s, "lc-"+token())
	cl := newClientRow(t, s, cons.ID, "lc-"+token(), models.ClientPending)
	got, err := s.ClientByID(ctx, cl.ID)
	if err != nil || got.State != models.ClientPending || got.KeycloakID != "" ||
		!slices.Equal(got.RedirectURIs, []string{"https://app.example/cb"}) || !got.Enabled {
		t.Fatalf("pending row: %+v %v", got, err)
	}
	if err := s.ActivateClient(ctx, cl.ID, "kc-1", "sa-1"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "activate twice", s.ActivateClient(ctx, cl.ID, "kc-2", "sa-2"), models.ErrNotFound)
	got, _ = s.ClientByID(ctx, cl.ID)
	if got.State != models.ClientActive || got.KeycloakID != "kc-1" || got.ServiceAccountID != "sa-1" {
		t.Fatalf("active row: %+v", got)
	}
	got.Name, got.Description, got.Enabled, got.RedirectURIs = "renamed", "d", false, nil
	if err := s.UpdateClient(ctx, &got); err != nil {
		t.Fatal(err)
	}
	again, _ := s.ClientByID(ctx, cl.ID)
	if again.Name != "renamed" || again.Enabled || again.RedirectURIs == nil || len(again.RedirectURIs) != 0 ||
		again.KeycloakID != "kc-1" || again.ClientID != cl.ClientID {
		t.Fatalf("updated row: %+v", again)
	}
	wantErr(t, "state change from the wrong state", s.SetClientState(ctx, cl.ID, models.ClientPending, models.ClientDeleting), models.ErrNotFound)
	if err := s.SetClientState(ctx, cl.ID, models.ClientActive, models.ClientDeleting); err != nil {
		t.Fatal(err)
	}
	if err := s.SetClientState(ctx, cl.ID, models.ClientDeleting, "bogus"); err == nil {
		t.Fatal("an unknown state was stored")
	}
	if err := s.DeleteClient(ctx, cl.ID); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "delete twice", s.DeleteClient(ctx, cl.ID), models.ErrNotFound)
	_, err = s.ClientByID(ctx, cl.ID)
	wantErr(t, "read deleted", err, models.ErrNotFound)
}

func testClientUpdateNotActive(t *testing.T, s *models.Store) {
	cons := newConsumer(t, s, "una-"+token())
	cl := newClientRow(t, s, cons.ID, "una-"+token(), models.ClientPending)
	cl.Name = "changed"
	wantErr(t, "update pending", s.UpdateClient(context.Background(), cl), models.ErrNotFound)
}

func testListClientsFilters(t *testing.T, s *models.Store) {
	ctx := context.Background()
	tok := token()
	prod := newConsumer(t, s, "lp-"+tok)
	dev := &models.Consumer{Name: "ld-" + tok, Environment: "development"}
	if err := s.CreateConsumer(ctx, dev); err != nil {
		t.Fatal(err)
	}
	p1 := newClientRow(t, s, prod.ID, "p1-"+tok, models.ClientActive)
	p2 := newClientRow(t, s, prod.ID, "p2-"+tok, models.ClientActive)
	p2.Enabled = false
	if err := s.UpdateClient(ctx, p2); err != nil {
		t.Fatal(err)
	}
	newClientRow(t, s, prod.ID, "p3-"+tok, models.ClientPending)
	d1 := newClientRow(t, s, dev.ID, "d1-"+tok, models.ClientActive)
	ids := func(f models.ClientFilter) []string {
		t.Helper()
		f.Sort, f.State = models.SortClientID, models.ClientActive
		list, err := s.ListClients(ctx, f)
		return listed(t, list, err, func(c models.Client) string { return c.ClientID })
	}
	yes, no := true, false
	for name, tc := range map[string]struct {
		f    models.ClientFilter
		want []string
	}{
		"query":       {models.ClientFilter{Query: tok}, []string{d1.ClientID, p1.ClientID, p2.ClientID}},
		"consumer":    {models.ClientFilter{ConsumerID: prod.ID}, []string{p1.ClientID, p2.ClientID}},
		"environment": {models.ClientFilter{Query: tok, Environment: "development"}, []string{d1.ClientID}},
		"enabled":     {models.ClientFilter{ConsumerID: prod.ID, Enabled: &yes}, []string{p1.ClientID}},
		"disabled":    {models.ClientFilter{Query: tok, Enabled: &no}, []string{p2.ClientID}},
		"query name":  {models.ClientFilter{Query: "N P1-" + tok}, []string{p1.ClientID}},
		"bad id":      {models.ClientFilter{ConsumerID: "junk"}, nil},
	} {
		if got := ids(tc.f); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
	all, err := s.ListClients(ctx, models.ClientFilter{ConsumerID: prod.ID})
	if err != nil || len(all) != 3 {
		t.Fatalf("without a state filter: %d rows, %v", len(all), err)
	}
}

func testListClientsPaging(t *testing.T, s *models.Store) {
	ctx := context.Background()
	cons := newConsumer(t, s, "pg-"+token())
	base := time.Now().Add(-time.Hour)
	for i := 0; i < 5; i++ {
		c := &models.Client{ConsumerID: cons.ID, ClientID: "c" + string(rune('a'+i)) + token(), State: models.ClientActive,
			CreatedAt: base.Add(time.Duration(i%2) * time.Second)}
		if err := s.CreateClient(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	for _, sort := range []string{models.SortClientID, models.SortCreatedAt} {
		for _, desc := range []bool{false, true} {
			full, _ := s.ListClients(ctx, models.ClientFilter{ConsumerID: cons.ID, Sort: sort, Desc: desc})
			paged := pagedIDs(t, 2, func(after *models.ListPosition, limit int) ([]models.Client, error) {
				return s.ListClients(ctx, models.ClientFilter{ConsumerID: cons.ID, Sort: sort, Desc: desc, After: after, Limit: limit})
			}, clientPosition)
			fullIDs := positionIDs(full, clientPosition)
			if len(fullIDs) != 5 || !slices.Equal(paged, fullIDs) {
				t.Fatalf("%s desc=%v: pages %v, full %v", sort, desc, paged, fullIDs)
			}
		}
	}
}

func testUnsettledClients(t *testing.T, s *models.Store) {
	ctx := context.Background()
	cons := newConsumer(t, s, "us-"+token())
	pending := newClientRow(t, s, cons.ID, "pe-"+token(), models.ClientPending)
	deleting := newClientRow(t, s, cons.ID, "de-"+token(), models.ClientDeleting)
	active := newClientRow(t, s, cons.ID, "ac-"+token(), models.ClientActive)
	mine := func(before time.Time) []string {
		list, err := s.UnsettledClients(ctx, before)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range list {
			if c.ConsumerID == cons.ID {
				out = append(out, c.ID)
			}
		}
		slices.Sort(out)
		return out
	}
	if got := mine(time.Now().Add(-time.Minute)); len(got) != 0 {
		t.Fatalf("fresh rows reported unsettled: %v", got)
	}
	want := []string{pending.ID, deleting.ID}
	slices.Sort(want)
	if got := mine(time.Now().Add(time.Minute)); !slices.Equal(got, want) {
		t.Fatalf("unsettled %v, want %v (active %s excluded)", got, want, active.ID)
	}
}

func testProvisioningHostileStrings(t *testing.T, s *models.Store) {
	ctx := context.Background()
	for _, v := range []string{"'; DROP TABLE consumers; --", `<script>alert(1)</script>`, "Robert'); --", "😀 ünïcödé", `\%_`} {
		c := &models.Consumer{Name: "h-" + token(), Description: v, Environment: "production", ACLGroups: []string{v}}
		if err := s.CreateConsumer(ctx, c); err != nil {
			t.Fatalf("%q: %v", v, err)
		}
		got, err := s.ConsumerByID(ctx, c.ID)
		if err != nil || got.Description != v || !slices.Equal(got.ACLGroups, []string{v}) {
			t.Fatalf("%q read back as %+v %v", v, got, err)
		}
		cl := &models.Client{ConsumerID: c.ID, ClientID: "h-" + token(), Name: v, Description: v, State: models.ClientActive,
			RedirectURIs: models.StringList{v}}
		if err := s.CreateClient(ctx, cl); err != nil {
			t.Fatal(err)
		}
		back, err := s.ClientByID(ctx, cl.ID)
		if err != nil || back.Name != v || !slices.Equal(back.RedirectURIs, []string{v}) {
			t.Fatalf("client %q read back as %+v %v", v, back, err)
		}
		if n, err := s.CountConsumersWithACLGroup(ctx, v); err != nil || n < 1 {
			t.Fatalf("count of %q: %d %v", v, n, err)
		}
	}
	if _, err := s.ConsumerByID(ctx, "x"); !errors.Is(err, models.ErrNotFound) {
		t.Fatal(err)
	}
}

// pagedIDs walks a list page by page, limit rows a page, each page after the last row
// of the one before (as at places it), and returns the ids in the order seen. It stops
// at a short page, or after 10 pages: more would be a keyset that never ends.
func pagedIDs[T any](t *testing.T, limit int, page func(after *models.ListPosition, limit int) ([]T, error), at func(T) models.ListPosition) []string {
	t.Helper()
	var paged []string
	var after *models.ListPosition
	for range 10 {
		list, err := page(after, limit)
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, positionIDs(list, at)...)
		if len(list) < limit {
			break
		}
		last := at(list[len(list)-1])
		after = &last
	}
	return paged
}

// positionIDs is the ids of rows, in order.
func positionIDs[T any](rows []T, at func(T) models.ListPosition) []string {
	var ids []string
	for _, r := range rows {
		ids = append(ids, at(r).ID)
	}
	return ids
}

func consumerPosition(c models.Consumer) models.ListPosition {
	return models.ListPosition{Text: c.Name, At: c.CreatedAt, ID: c.ID}
}

func clientPosition(c models.Client) models.ListPosition {
	return models.ListPosition{Text: c.ClientID, At: c.CreatedAt, ID: c.ID}
}

// listed is field of each of rows, from a list that must not have failed (err).
func listed[T any](t *testing.T, rows []T, err error, field func(T) string) []string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		out = append(out, field(r))
	}
	return out
}
