package provisioning

// Compensation and reconciliation on the real Keycloak of `make test`: failures are
// injected around the real admin client and the real store, and Keycloak itself is
// asked afterwards whether anything was left behind.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/Nerzal/gocloak/v13"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/internal/kctest"
	"github.com/keyward/keyward/internal/testkit"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
)

// flakyKeycloak fails chosen calls of the real admin client.
type flakyKeycloak struct {
	Keycloak
	mu   sync.Mutex
	fail map[string]bool
}

var errInjected = errors.New("injected failure")

func (f *flakyKeycloak) set(method string, on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[method] = on
}

func (f *flakyKeycloak) failing(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail[method] {
		return errInjected
	}
	return nil
}

func (f *flakyKeycloak) AddUserToGroup(ctx context.Context, u, g string) error {
	if err := f.failing("AddUserToGroup"); err != nil {
		return err
	}
	return f.Keycloak.AddUserToGroup(ctx, u, g)
}

func (f *flakyKeycloak) DeleteServiceClient(ctx context.Context, id string) error {
	if err := f.failing("DeleteServiceClient"); err != nil {
		return err
	}
	return f.Keycloak.DeleteServiceClient(ctx, id)
}

type realEnv struct {
	svc     *Service
	kc      *flakyKeycloak
	store   *failingStore
	clock   *testkit.Clock
	kcEnv   *kctest.Env
	prefix  string
	metrics *fakeMetrics
	logs    *observer.ObservedLogs
	// proxy is between Keyward and Keycloak when the env was made with viaProxy.
	proxy *kctest.LossyProxy
}

// realOption changes how newRealEnv wires the service.
type realOption func(*realOptions)

type realOptions struct {
	proxy    bool
	topLevel bool
}

// viaProxy makes Keyward reach Keycloak through a LossyProxy, with a short timeout.
func viaProxy(o *realOptions) { o.proxy = true }

// topLevel makes the realm's top-level groups the ACL groups.
func topLevel(o *realOptions) { o.topLevel = true }

func newRealEnv(t *testing.T, opts ...realOption) *realEnv {
	t.Helper()
	var o realOptions
	for _, opt := range opts {
		opt(&o)
	}
	kcEnv := kctest.Require(t)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	prefix := "kw-prov-it-" + hex.EncodeToString(b)
	base, timeout := kcEnv.URL, 10*time.Second
	var proxy *kctest.LossyProxy
	if o.proxy {
		proxy = kctest.NewLossyProxy(t, kcEnv.URL)
		base, timeout = proxy.URL, 3*time.Second
	}
	real := keycloak.New(keycloak.Config{BaseURL: base, Realm: kcEnv.Realm, ClientID: kcEnv.ClientID, Issuer: kcEnv.Issuer(),
		ClientSecret: kcEnv.ClientSecret, AdminClientID: kcEnv.AdminClientID, AdminClientSecret: kcEnv.AdminClientSecret, Timeout: timeout})
	st, err := models.Open(context.Background(), filepath.Join(t.TempDir(), "p.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	fs := &failingStore{Store: st, fail: map[string]error{}}
	fk := &flakyKeycloak{Keycloak: real, fail: map[string]bool{}}
	clk := testkit.NewClock(time.Now())
	core, logs := observer.New(zap.DebugLevel)
	m := newFakeMetrics()
	parent := prefix
	if o.topLevel {
		parent = "/"
	}
	svc, err := New(fk, fs, Config{Realm: kcEnv.Realm, ParentGroup: parent, AllowTopLevel: o.topLevel, Clock: clk.Now,
		Log: zap.New(core), Audit: audit.NewRecorder(st, zap.NewNop(), nil), Metrics: m, RedirectHosts: testRedirectHosts})
	if err != nil {
		t.Fatal(err)
	}
	e := &realEnv{svc: svc, kc: fk, store: fs, clock: clk, kcEnv: kcEnv, prefix: prefix, metrics: m, logs: logs, proxy: proxy}
	t.Cleanup(func() {
		// Whatever a failing test left: its clients (all named after prefix), its groups.
		ctx := context.Background()
		tok := kcEnv.AdminToken(t)
		clients, _ := kcEnv.Admin.GetClients(ctx, tok, kcEnv.Realm, gocloak.GetClientsParams{
			ClientID: gocloak.StringP(prefix), Search: gocloak.BoolP(true)})
		for _, c := range clients {
			_ = kcEnv.Admin.DeleteClient(ctx, tok, kcEnv.Realm, *c.ID)
		}
		if g, err := real.GroupByPath(ctx, "/"+prefix); err == nil {
			_ = real.DeleteGroup(ctx, g.ID)
		}
	})
	return e
}

// inKeycloak says whether Keycloak has a client of that client_id, asked as the
// master-realm admin rather than through the code under test.
func (e *realEnv) inKeycloak(t *testing.T, clientID string) bool {
	t.Helper()
	list, err := e.kcEnv.Admin.GetClients(context.Background(), e.kcEnv.AdminToken(t), e.kcEnv.Realm,
		gocloak.GetClientsParams{ClientID: gocloak.StringP(clientID)})
	if err != nil {
		t.Fatal(err)
	}
	return len(list) > 0
}

func (e *realEnv) tokenGroups(t *testing.T, clientID, secret string) []string {
	t.Helper()
	real := e.kc.Keycloak.(*keycloak.Client)
	tok, err := real.ClientCredentialsGrant(context.Background(), clientID, secret)
	if err != nil {
		t.Fatalf("client credentials grant: %v", err)
	}
	g := kctest.Strings(kctest.Claims(t, tok.AccessToken)["acl_groups"])
	slices.Sort(g)
	return g
}

func (e *realEnv) setup(t *testing.T, groups ...string) Consumer {
	t.Helper()
	for _, g := range groups {
		if _, err := e.svc.CreateACLGroup(ctx, admin, ACLGroupInput{Name: g}); err != nil {
			t.Fatal(err)
		}
	}
	c, err := e.svc.CreateConsumer(ctx, admin, ConsumerInput{Name: e.prefix, ACLGroups: groups})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestIntegration_CreateClient_FailureMidway_NothingLeftInKeycloakOrStore(t *testing.T) {
	for _, tc := range []struct {
		name   string
		inject func(e *realEnv)
	}{
		{"keycloak error after the client exists", func(e *realEnv) { e.kc.set("AddUserToGroup", true) }},
		{"database error after keycloak changed", func(e *realEnv) { e.store.failOn("ActivateClient", errInjected) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newRealEnv(t)
			cons := e.setup(t, "readers")
			tc.inject(e)
			clientID := e.prefix + "-c1"
			_, err := e.svc.CreateClient(ctx, admin, cons.ID, ClientInput{ClientID: clientID})
			if !errors.Is(err, errInjected) {
				t.Fatalf("create: %v, want the injected failure", err)
			}
			if e.inKeycloak(t, clientID) {
				t.Fatal("the Keycloak client was left behind")
			}
			if rows, _ := e.store.ClientsOfConsumer(ctx, cons.ID); len(rows) != 0 {
				t.Fatalf("rows left behind: %+v", rows)
			}
		})
	}
}

func TestIntegration_CreateClient_CompensationFails_ReconcileRemovesIt(t *testing.T) {
	e := newRealEnv(t)
	cons := e.setup(t)
	clientID := e.prefix + "-c2"
	e.store.failOn("ActivateClient", errInjected)
	e.kc.set("DeleteServiceClient", true)
	if _, err := e.svc.CreateClient(ctx, admin, cons.ID, ClientInput{ClientID: clientID}); err == nil {
		t.Fatal("create succeeded")
	}
	if !e.inKeycloak(t, clientID) {
		t.Fatal("precondition: the client should remain while Keycloak refuses deletes")
	}
	e.store.heal()
	e.kc.set("DeleteServiceClient", false)
	e.clock.Advance(10 * time.Minute)
	rep, err := e.svc.Reconcile(ctx)
	if err != nil || rep.Settled != 1 {
		t.Fatalf("reconcile: %+v %v", rep, err)
	}
	if e.inKeycloak(t, clientID) {
		t.Fatal("reconcile left the Keycloak client")
	}
}

func TestIntegration_UpdateConsumer_DatabaseFails_TokensKeepTheOldGroups(t *testing.T) {
	e := newRealEnv(t)
	cons := e.setup(t, "alpha", "beta")
	c, err := e.svc.CreateClient(ctx, admin, cons.ID, ClientInput{ClientID: e.prefix + "-c3"})
	if err != nil {
		t.Fatal(err)
	}
	if g := e.tokenGroups(t, c.ClientID, c.Secret); !slices.Equal(g, []string{"alpha", "beta"}) {
		t.Fatalf("first token carries %v, want [alpha beta]", g)
	}
	groups := []string{"beta"}
	e.store.failOn("UpdateConsumer", errInjected)
	if _, err := e.svc.UpdateConsumer(ctx, admin, cons.ID, ConsumerPatch{ACLGroups: &groups}); !errors.Is(err, errInjected) {
		t.Fatalf("update: %v", err)
	}
	if g := e.tokenGroups(t, c.ClientID, c.Secret); !slices.Equal(g, []string{"alpha", "beta"}) {
		t.Fatalf("after a failed update the token carries %v, want the old [alpha beta]", g)
	}
	e.store.heal()
	if _, err := e.svc.UpdateConsumer(ctx, admin, cons.ID, ConsumerPatch{ACLGroups: &groups}); err != nil {
		t.Fatal(err)
	}
	if g := e.tokenGroups(t, c.ClientID, c.Secret); !slices.Equal(g, []string{"beta"}) {
		t.Fatalf("after the update the token carries %v, want [beta]", g)
	}
}

func TestIntegration_DeleteConsumerCascade_RemovesClientsFromKeycloak(t *testing.T) {
	e := newRealEnv(t)
	cons := e.setup(t, "gamma")
	var ids []string
	for _, n := range []string{"-d1", "-d2"} {
		c, err := e.svc.CreateClient(ctx, admin, cons.ID, ClientInput{ClientID: e.prefix + n})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ClientID)
	}
	if err := e.svc.DeleteConsumer(ctx, admin, cons.ID, false); !errors.Is(err, ErrConflict) {
		t.Fatalf("delete without cascade: %v", err)
	}
	if err := e.svc.DeleteConsumer(ctx, admin, cons.ID, true); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if e.inKeycloak(t, id) {
			t.Fatalf("%s outlived the cascade", id)
		}
	}
	// The group is free again: no consumer, no member.
	if err := e.svc.DeleteACLGroup(ctx, admin, "gamma"); err != nil {
		t.Fatalf("deleting the freed group: %v", err)
	}
}
