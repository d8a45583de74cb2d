package provisioning

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/internal/testkit"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
)

// fakeKeycloak is an in-memory Keycloak admin API with failure injection, for the
// rules and the compensation paths; the real one is exercised in integration_test.go.
type fakeKeycloak struct {
	mu       sync.Mutex
	groups   map[string]keycloak.Group // by id
	parentOf map[string]string         // group id → parent id ("" top level)
	clients  map[string]*fakeClient    // by Keycloak id
	members  map[string]map[string]bool
	roles    map[string][]keycloak.RoleMapping // group id → its own role mappings
	// fail makes the named method fail with the error, after skip successful calls.
	fail  map[string]failure
	calls map[string]int
	// lost makes the next call of the named method do its work and then fail: the
	// answer was lost on the way back (a timeout, a dropped connection).
	lost map[string]error
}

type failure struct {
	err    error
	skip   int
	always bool // else only the one call after skip fails: a transient failure
}

type fakeClient struct {
	info   keycloak.ClientInfo
	secret string
	sa     string
	// scope are role scope mappings a realm admin put on the client; realm roles (no
	// Client) cannot be removed by Keyward, as in Keycloak without manage-realm.
	scope []keycloak.RoleMapping
}

func newFakeKeycloak() *fakeKeycloak {
	return &fakeKeycloak{groups: map[string]keycloak.Group{}, parentOf: map[string]string{},
		clients: map[string]*fakeClient{}, members: map[string]map[string]bool{}, fail: map[string]failure{},
		calls: map[string]int{}, roles: map[string][]keycloak.RoleMapping{}, lost: map[string]error{}}
}

func randID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// failOn makes the (skip+1)th call of method fail with err, once.
func (f *fakeKeycloak) failOn(method string, err error, skip int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[method] = failure{err: err, skip: skip}
	f.calls[method] = 0
}

// failAlways makes method fail with err from its (skip+1)th call on: Keycloak down.
func (f *fakeKeycloak) failAlways(method string, err error, skip int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[method] = failure{err: err, skip: skip, always: true}
	f.calls[method] = 0
}

func (f *fakeKeycloak) heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = map[string]failure{}
	f.lost = map[string]error{}
}

// loseAnswer makes the next call of method succeed in Keycloak and fail for the caller.
func (f *fakeKeycloak) loseAnswer(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lost[method] = err
}

// answerLost must be called with f.mu held, after the method did its work.
func (f *fakeKeycloak) answerLost(method string) error {
	err := f.lost[method]
	delete(f.lost, method)
	return err
}

// enter must be called with f.mu held.
func (f *fakeKeycloak) enter(method string) error {
	f.calls[method]++
	if fl, ok := f.fail[method]; ok && (f.calls[method] == fl.skip+1 || (fl.always && f.calls[method] > fl.skip)) {
		return fmt.Errorf("%s: %w", method, fl.err)
	}
	return nil
}

func (f *fakeKeycloak) GroupByPath(_ context.Context, path string) (keycloak.Group, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("GroupByPath"); err != nil {
		return keycloak.Group{}, err
	}
	for _, g := range f.groups {
		if g.Path == path {
			return g, nil
		}
	}
	return keycloak.Group{}, keycloak.ErrNotFound
}

func (f *fakeKeycloak) CreateGroup(_ context.Context, parentID, name, description string) (keycloak.Group, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("CreateGroup"); err != nil {
		return keycloak.Group{}, err
	}
	path := "/" + name
	if parentID != "" {
		p, ok := f.groups[parentID]
		if !ok {
			return keycloak.Group{}, keycloak.ErrNotFound
		}
		path = p.Path + "/" + name
	}
	for id, g := range f.groups {
		if f.parentOf[id] == parentID && g.Name == name {
			return keycloak.Group{}, keycloak.ErrConflict
		}
	}
	g := keycloak.Group{ID: randID(), Name: name, Path: path, Description: description, ParentID: parentID}
	f.groups[g.ID], f.parentOf[g.ID] = g, parentID
	return g, nil
}

func (f *fakeKeycloak) Group(_ context.Context, id string) (keycloak.Group, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("Group"); err != nil {
		return keycloak.Group{}, err
	}
	g, ok := f.groups[id]
	if !ok {
		return keycloak.Group{}, keycloak.ErrNotFound
	}
	return g, nil
}

func (f *fakeKeycloak) GroupRoleMappings(_ context.Context, id string) ([]keycloak.RoleMapping, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("GroupRoleMappings"); err != nil {
		return nil, err
	}
	if _, ok := f.groups[id]; !ok {
		return nil, keycloak.ErrNotFound
	}
	return append([]keycloak.RoleMapping{}, f.roles[id]...), nil
}

// setRoles maps roles to the group at path (none: removes them all).
func (f *fakeKeycloak) setRoles(t *testing.T, path string, roles ...keycloak.RoleMapping) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, g := range f.groups {
		if g.Path == path {
			f.roles[id] = roles
			return
		}
	}
	t.Fatalf("no group %s", path)
}

func (f *fakeKeycloak) ChildGroups(_ context.Context, parentID string) ([]keycloak.Group, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ChildGroups"); err != nil {
		return nil, err
	}
	if _, ok := f.groups[parentID]; parentID != "" && !ok {
		return nil, keycloak.ErrNotFound
	}
	out := []keycloak.Group{}
	for id, g := range f.groups {
		if f.parentOf[id] == parentID {
			out = append(out, g)
		}
	}
	return out, nil
}

func (f *fakeKeycloak) DeleteGroup(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("DeleteGroup"); err != nil {
		return err
	}
	if _, ok := f.groups[id]; !ok {
		return keycloak.ErrNotFound
	}
	delete(f.groups, id)
	for _, m := range f.members {
		delete(m, id)
	}
	return nil
}

func (f *fakeKeycloak) GroupHasMembers(_ context.Context, id string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("GroupHasMembers"); err != nil {
		return false, err
	}
	for _, m := range f.members {
		if m[id] {
			return true, nil
		}
	}
	return false, nil
}

func (f *fakeKeycloak) CreateServiceClient(_ context.Context, c keycloak.ServiceClient) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("CreateServiceClient"); err != nil {
		return "", err
	}
	for _, cl := range f.clients {
		if cl.info.ClientID == c.ClientID {
			return "", keycloak.ErrConflict
		}
	}
	id, sa := randID(), randID()
	attrs := map[string]string{}
	for k, v := range c.Attributes {
		attrs[k] = v
	}
	f.clients[id] = &fakeClient{sa: sa, secret: "secret-" + randID() + randID(), info: keycloak.ClientInfo{
		ID: id, ClientID: c.ClientID, Name: c.Name, Description: c.Description, Protocol: "openid-connect",
		Enabled: true, ServiceAccountsEnabled: true, StandardFlowEnabled: len(c.RedirectURIs) > 0,
		RedirectURIs: append([]string{}, c.RedirectURIs...), Attributes: attrs, ACLMapper: true,
		ConsentRequired: len(c.RedirectURIs) > 0,
	}}
	f.members[sa] = map[string]bool{}
	if err := f.answerLost("CreateServiceClient"); err != nil {
		return "", fmt.Errorf("CreateServiceClient: %w", err)
	}
	return id, nil
}

func (f *fakeKeycloak) ServiceClientByClientID(_ context.Context, clientID string) (keycloak.ClientInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ServiceClientByClientID"); err != nil {
		return keycloak.ClientInfo{}, err
	}
	for _, cl := range f.clients {
		if cl.info.ClientID == clientID {
			return cl.info, nil
		}
	}
	return keycloak.ClientInfo{}, keycloak.ErrNotFound
}

func (f *fakeKeycloak) ClientsWithAttribute(_ context.Context, key string) ([]keycloak.ClientInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ClientsWithAttribute"); err != nil {
		return nil, err
	}
	out := []keycloak.ClientInfo{}
	for _, cl := range f.clients {
		if _, ok := cl.info.Attributes[key]; ok {
			out = append(out, cl.info)
		}
	}
	return out, nil
}

func (f *fakeKeycloak) UpdateServiceClient(_ context.Context, id string, ch keycloak.ClientChange) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("UpdateServiceClient"); err != nil {
		return err
	}
	cl, ok := f.clients[id]
	if !ok {
		return keycloak.ErrNotFound
	}
	if ch.Name != nil {
		cl.info.Name = *ch.Name
	}
	if ch.Description != nil {
		cl.info.Description = *ch.Description
	}
	if ch.Enabled != nil {
		cl.info.Enabled = *ch.Enabled
	}
	if ch.RedirectURIs != nil {
		cl.info.RedirectURIs = append([]string{}, *ch.RedirectURIs...)
		cl.info.StandardFlowEnabled = len(cl.info.RedirectURIs) > 0
		if len(cl.info.RedirectURIs) > 0 {
			cl.info.ConsentRequired = true
		}
	}
	if ch.ConsentRequired != nil {
		cl.info.ConsentRequired = *ch.ConsentRequired
	}
	cl.info.FullScopeAllowed = false
	return nil
}

func (f *fakeKeycloak) ServiceClient(_ context.Context, id string) (keycloak.ClientInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ServiceClient"); err != nil {
		return keycloak.ClientInfo{}, err
	}
	cl, ok := f.clients[id]
	if !ok {
		return keycloak.ClientInfo{}, keycloak.ErrNotFound
	}
	return cl.info, nil
}

func (f *fakeKeycloak) ClearClientScopeMappings(_ context.Context, id string) (removed, kept []keycloak.RoleMapping, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ClearClientScopeMappings"); err != nil {
		return nil, nil, err
	}
	cl, ok := f.clients[id]
	if !ok {
		return nil, nil, keycloak.ErrNotFound
	}
	for _, r := range cl.scope {
		if r.Client == "" {
			kept = append(kept, r)
		} else {
			removed = append(removed, r)
		}
	}
	cl.scope = kept
	if len(kept) > 0 {
		err = keycloak.ErrRealmScopeForbidden
	}
	return removed, kept, err
}

// tamper changes a client as a realm admin could in Keycloak's console.
func (f *fakeKeycloak) tamper(clientID string, fn func(cl *fakeClient)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, cl := range f.clients {
		if cl.info.ClientID == clientID {
			fn(cl)
		}
	}
}

func (f *fakeKeycloak) DeleteServiceClient(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("DeleteServiceClient"); err != nil {
		return err
	}
	cl, ok := f.clients[id]
	if !ok {
		return keycloak.ErrNotFound
	}
	delete(f.members, cl.sa)
	delete(f.clients, id)
	return nil
}

func (f *fakeKeycloak) ClientSecret(_ context.Context, id string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ClientSecret"); err != nil {
		return "", err
	}
	cl, ok := f.clients[id]
	if !ok {
		return "", keycloak.ErrNotFound
	}
	return cl.secret, nil
}

func (f *fakeKeycloak) RegenerateClientSecret(_ context.Context, id string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("RegenerateClientSecret"); err != nil {
		return "", err
	}
	cl, ok := f.clients[id]
	if !ok {
		return "", keycloak.ErrNotFound
	}
	cl.secret = "secret-" + randID() + randID()
	return cl.secret, nil
}

func (f *fakeKeycloak) ServiceAccountUserID(_ context.Context, id string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ServiceAccountUserID"); err != nil {
		return "", err
	}
	cl, ok := f.clients[id]
	if !ok {
		return "", keycloak.ErrNotFound
	}
	return cl.sa, nil
}

func (f *fakeKeycloak) UserGroups(_ context.Context, userID string) ([]keycloak.Group, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("UserGroups"); err != nil {
		return nil, err
	}
	m, ok := f.members[userID]
	if !ok {
		return nil, keycloak.ErrNotFound
	}
	out := []keycloak.Group{}
	for gid := range m {
		out = append(out, f.groups[gid])
	}
	return out, nil
}

func (f *fakeKeycloak) AddUserToGroup(_ context.Context, userID, groupID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("AddUserToGroup"); err != nil {
		return err
	}
	m, ok := f.members[userID]
	if _, g := f.groups[groupID]; !ok || !g {
		return keycloak.ErrNotFound
	}
	m[groupID] = true
	return nil
}

func (f *fakeKeycloak) RemoveUserFromGroup(_ context.Context, userID, groupID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("RemoveUserFromGroup"); err != nil {
		return err
	}
	m, ok := f.members[userID]
	if !ok {
		return keycloak.ErrNotFound
	}
	delete(m, groupID)
	return nil
}

// ClientCredentialsGrant issues an unsigned JWT-shaped token carrying acl_groups, as
// the realm's mapper would.
func (f *fakeKeycloak) ClientCredentialsGrant(_ context.Context, clientID, secret string) (keycloak.Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ClientCredentialsGrant"); err != nil {
		return keycloak.Token{}, err
	}
	for _, cl := range f.clients {
		if cl.info.ClientID != clientID {
			continue
		}
		if !cl.info.Enabled || cl.secret != secret {
			return keycloak.Token{}, keycloak.ErrInvalidClient
		}
		groups := []string{}
		for gid := range f.members[cl.sa] {
			groups = append(groups, f.groups[gid].Name)
		}
		sort.Strings(groups)
		enc := func(v any) string {
			b, _ := json.Marshal(v)
			return base64.RawURLEncoding.EncodeToString(b)
		}
		tok := enc(map[string]any{"alg": "RS256", "typ": "JWT"}) + "." +
			enc(map[string]any{"azp": clientID, "acl_groups": groups}) + ".sig"
		return keycloak.Token{AccessToken: tok, ExpiresIn: 300, Scope: "profile email"}, nil
	}
	return keycloak.Token{}, keycloak.ErrInvalidClient
}

// groupsOf names the groups a client's service account is in, sorted.
func (f *fakeKeycloak) groupsOf(t *testing.T, clientID string) []string {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, cl := range f.clients {
		if cl.info.ClientID == clientID {
			out := []string{}
			for gid := range f.members[cl.sa] {
				out = append(out, f.groups[gid].Name)
			}
			sort.Strings(out)
			return out
		}
	}
	t.Fatalf("no Keycloak client %q", clientID)
	return nil
}

func (f *fakeKeycloak) clientCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.clients)
}

func (f *fakeKeycloak) hasClient(clientID string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, cl := range f.clients {
		if cl.info.ClientID == clientID {
			return true
		}
	}
	return false
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
	kc      *fakeKeycloak
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
	fk := newFakeKeycloak()
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
