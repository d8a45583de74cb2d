package provisioning

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/internal/testkit"
	"github.com/keyward/keyward/internal/testkit/fakekc"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
)

// fakeKeycloak is the in-memory Keycloak admin API with failure injection; the real
// one is exercised in integration_test.go.
type fakeKeycloak struct{ *fakekc.Admin }

// setRoles maps roles to the group at path (none: removes them all).
func (f fakeKeycloak) setRoles(t *testing.T, path string, roles ...keycloak.RoleMapping) {
	t.Helper()
	if !f.SetGroupRoles(path, roles...) {
		t.Fatalf("no group %s", path)
	}
}

// groupsOf names the groups a client's service account is in, sorted.
func (f fakeKeycloak) groupsOf(t *testing.T, clientID string) []string {
	t.Helper()
	groups, ok := f.GroupsOf(clientID)
	if !ok {
		t.Fatalf("no Keycloak client %q", clientID)
	}
	return groups
}

// kcClient is the Keycloak client of that id, as the fake holds it.
func kcClient(t *testing.T, e *env, id string) fakekc.Client {
	t.Helper()
	cl, ok := e.kc.Client(id)
	if !ok {
		t.Fatalf("no Keycloak client %s", id)
	}
	return cl
}

// failingStore is the real store with failure injection on chosen methods.
type failingStore struct {
	*models.Store
	mu   sync.Mutex
	fail map[string]error
}

func (s *failingStore) failOn(method string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[method] = err
}

func (s *failingStore) heal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = map[string]error{}
}

func (s *failingStore) check(method string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fail[method]; err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	return nil
}

func (s *failingStore) ActivateClient(ctx context.Context, id, kc, sa string) error {
	if err := s.check("ActivateClient"); err != nil {
		return err
	}
	return s.Store.ActivateClient(ctx, id, kc, sa)
}

func (s *failingStore) DeleteClient(ctx context.Context, id string) error {
	if err := s.check("DeleteClient"); err != nil {
		return err
	}
	return s.Store.DeleteClient(ctx, id)
}

func (s *failingStore) UpdateConsumer(ctx context.Context, c *models.Consumer) error {
	if err := s.check("UpdateConsumer"); err != nil {
		return err
	}
	return s.Store.UpdateConsumer(ctx, c)
}

func (s *failingStore) UpdateClient(ctx context.Context, c *models.Client) error {
	if err := s.check("UpdateClient"); err != nil {
		return err
	}
	return s.Store.UpdateClient(ctx, c)
}

func (s *failingStore) SetClientState(ctx context.Context, id, from, to string) error {
	if err := s.check("SetClientState"); err != nil {
		return err
	}
	return s.Store.SetClientState(ctx, id, from, to)
}

type env struct {
	svc     *Service
	kc      fakeKeycloak
	store   *failingStore
	clock   *testkit.Clock
	audit   *flakyAudit
	metrics *fakeMetrics
	logs    *observer.ObservedLogs
}

// flakyAudit is the audit store; fail makes RecordAudit fail, as a full disk would.
type flakyAudit struct {
	audit.Store
	fail atomic.Bool
}

func (f *flakyAudit) RecordAudit(ctx context.Context, ev *models.AuditEvent) error {
	if f.fail.Load() {
		return errors.New("disk full")
	}
	return f.Store.RecordAudit(ctx, ev)
}

// testRedirectHosts are the hosts the tests' redirect URIs name.
var testRedirectHosts = []string{"shop.example", "a.example", "x", "127.0.0.1"}

// fakeMetrics keeps what Reconcile reported (-1: never set).
type fakeMetrics struct{ withRoles, unrepaired atomic.Int64 }

func newFakeMetrics() *fakeMetrics {
	m := &fakeMetrics{}
	m.withRoles.Store(-1)
	m.unrepaired.Store(-1)
	return m
}

func (m *fakeMetrics) SetACLGroupsWithRoles(n int) { m.withRoles.Store(int64(n)) }
func (m *fakeMetrics) SetClientsUnrepaired(n int)  { m.unrepaired.Store(int64(n)) }

var admin = audit.Actor{ID: "carol-id", Name: "carol", IP: "127.0.0.1", RequestID: "req-1", Admin: true}

// newEnv wires the service on the fake Keycloak and a fresh SQLite store.
func newEnv(tb testing.TB, kcs ...Keycloak) *env {
	tb.Helper()
	st, err := models.Open(context.Background(), filepath.Join(tb.TempDir(), "p.db"), nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	fs := &failingStore{Store: st, fail: map[string]error{}}
	fk := fakeKeycloak{fakekc.NewAdmin()}
	var kc Keycloak = fk
	if len(kcs) > 0 {
		kc = kcs[0]
	}
	// The store stamps rows with the real time: the test clock starts there.
	clk := testkit.NewClock(time.Now())
	// Audit events get strictly growing times, so that their order is the order of record.
	var seq sync.Mutex
	tick := time.Now()
	auditClock := func() time.Time {
		seq.Lock()
		defer seq.Unlock()
		tick = tick.Add(time.Millisecond)
		return tick
	}
	core, logs := observer.New(zap.DebugLevel)
	fa := &flakyAudit{Store: st}
	m := newFakeMetrics()
	svc, err := New(kc, fs, Config{Realm: "keyward", ParentGroup: "keyward-acl", Clock: clk.Now, Log: zap.New(core),
		Audit: audit.NewRecorder(fa, zap.NewNop(), auditClock), Metrics: m, RedirectHosts: testRedirectHosts})
	if err != nil {
		tb.Fatal(err)
	}
	return &env{svc: svc, kc: fk, store: fs, clock: clk, audit: fa, metrics: m, logs: logs}
}

func (e *env) group(t *testing.T, name string) ACLGroup {
	t.Helper()
	g, err := e.svc.CreateACLGroup(context.Background(), admin, ACLGroupInput{Name: name})
	if err != nil {
		t.Fatalf("create ACL group %s: %v", name, err)
	}
	return g
}

func (e *env) consumer(t *testing.T, name string, groups ...string) Consumer {
	t.Helper()
	c, err := e.svc.CreateConsumer(context.Background(), admin, ConsumerInput{Name: name, ACLGroups: groups})
	if err != nil {
		t.Fatalf("create consumer %s: %v", name, err)
	}
	return c
}

func (e *env) client(t *testing.T, consumerID, clientID string) CreatedClient {
	t.Helper()
	c, err := e.svc.CreateClient(context.Background(), admin, consumerID, ClientInput{ClientID: clientID})
	if err != nil {
		t.Fatalf("create client %s: %v", clientID, err)
	}
	return c
}

// audits returns every audit event, oldest first.
func (e *env) audits(t *testing.T) []models.AuditEvent {
	t.Helper()
	list, err := e.store.ListAudit(context.Background(), models.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
		list[i], list[j] = list[j], list[i]
	}
	return list
}

func (e *env) actions(t *testing.T) string {
	var out []string
	for _, ev := range e.audits(t) {
		out = append(out, ev.Action)
	}
	return strings.Join(out, ",")
}
