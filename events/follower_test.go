package events

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
)

// Unit tests of the cursor and the reactions, with Keycloak's feeds and the keys
// service faked at their interfaces and the real store (SQLite); the real Keycloak is
// followed in cmd/keyward/kcevents_e2e_test.go.

type fakeFeed struct {
	mu     sync.Mutex
	admin  []keycloak.AdminEvent
	user   []keycloak.UserEvent
	users  map[string]keycloak.User
	config keycloak.EventsConfig
	cfgErr error
	fail   error
}

func (f *fakeFeed) EventsConfig(context.Context) (keycloak.EventsConfig, error) {
	return f.config, f.cfgErr
}

func (f *fakeFeed) AdminEvents(_ context.Context, from int64, _ []string, first, max int) ([]keycloak.AdminEvent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	var out []keycloak.AdminEvent
	for _, e := range f.admin {
		if e.TimeMillis >= from {
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b keycloak.AdminEvent) int { return int(a.TimeMillis - b.TimeMillis) })
	if first >= len(out) {
		return nil, nil
	}
	return out[first:min(len(out), first+max)], nil
}

func (f *fakeFeed) UserEvents(_ context.Context, from int64, _ []string, first, max int) ([]keycloak.UserEvent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []keycloak.UserEvent
	for _, e := range f.user {
		if e.TimeMillis >= from {
			out = append(out, e)
		}
	}
	if first >= len(out) {
		return nil, nil
	}
	return out[first:min(len(out), first+max)], nil
}

func (f *fakeFeed) FindUser(_ context.Context, id string) (keycloak.User, error) {
	u, ok := f.users[id]
	if !ok {
		return keycloak.User{}, keycloak.ErrNotFound
	}
	return u, nil
}

// fakeKeys records what the follower asked of the keys service.
type fakeKeys struct {
	mu      sync.Mutex
	calls   []string
	failFor string
}

func (k *fakeKeys) record(what, owner string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.failFor != "" && owner == k.failFor {
		return errors.New("store down")
	}
	k.calls = append(k.calls, what+" "+owner)
	return nil
}

func (k *fakeKeys) RevokeAllOfOwner(_ context.Context, a audit.Actor, owner string, d map[string]any) (int, error) {
	if a.Name != "keycloak" || d["event_id"] == nil {
		return 0, errors.New("not audited as Keycloak's event")
	}
	return 1, k.record("revoke", owner)
}

func (k *fakeKeys) SetOwnerDisabled(_ context.Context, _ audit.Actor, owner string, disabled bool, _ map[string]any) (int, error) {
	return 1, k.record(map[bool]string{true: "owner-disabled", false: "owner-enabled"}[disabled], owner)
}

func (k *fakeKeys) DisableAllOfOwner(_ context.Context, _ audit.Actor, owner string, _ time.Time, _ map[string]any) (int, error) {
	return 1, k.record("disable", owner)
}

func (k *fakeKeys) DropOwnerTokens(owner string) { _ = k.record("drop", owner) }

func (k *fakeKeys) DropConsumerTokens(consumerID string) { _ = k.record("drop-consumer", consumerID) }

func (k *fakeKeys) got() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.calls)
}

func openStore(t *testing.T) *models.Store {
	t.Helper()
	s, err := models.Open(context.Background(), t.TempDir()+"/keyward.db", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func newFollower(feed Feed, s Store, k Keys, now time.Time, holder string) *Follower {
	return New(Config{Feed: feed, Store: s, Keys: k, Clock: func() time.Time { return now }, Holder: holder,
		OnCredentialReset: OnResetDisable, WatchTokens: true})
}

func del(id string, at int64, user string) keycloak.AdminEvent {
	return keycloak.AdminEvent{ID: id, TimeMillis: at, OperationType: "DELETE", ResourceType: "USER", ResourcePath: "users/" + user}
}

func TestFollower_SameMillisecondAndRestart_EachEventOnce(t *testing.T) {
	now := time.UnixMilli(1_000_000_000)
	feed := &fakeFeed{}
	store := openStore(t)
	keys := &fakeKeys{}
	f := newFollower(feed, store, keys, now, "a")
	f.Poll(context.Background()) // first start: the cursor is "now"
	at := now.UnixMilli()
	feed.admin = append(feed.admin, del("e1", at+10, "u1"), del("e2", at+10, "u2"))
	f.Poll(context.Background())
	// A third event at the very millisecond of the others, stored after they were read.
	feed.admin = append(feed.admin, del("e3", at+10, "u3"))
	f.Poll(context.Background())
	// A restart: a new follower on the same store reads the same feed.
	g := newFollower(feed, store, keys, now, "a")
	g.Poll(context.Background())
	feed.admin = append(feed.admin, del("e4", at+20, "u4"))
	g.Poll(context.Background())
	var revoked []string
	for _, c := range keys.got() {
		if strings.HasPrefix(c, "revoke ") {
			revoked = append(revoked, c)
		}
	}
	if want := []string{"revoke u1", "revoke u2", "revoke u3", "revoke u4"}; !slices.Equal(revoked, want) {
		t.Fatalf("revocations %v, want each user once, in order: %v", revoked, want)
	}
}

func TestFollower_ReactionFails_RetriedAtNextPoll_LaterEventsWait(t *testing.T) {
	now := time.UnixMilli(2_000_000_000)
	feed := &fakeFeed{}
	store := openStore(t)
	keys := &fakeKeys{failFor: "u1"}
	f := newFollower(feed, store, keys, now, "a")
	f.Poll(context.Background())
	at := now.UnixMilli()
	feed.admin = append(feed.admin, del("e1", at+1, "u1"), del("e2", at+2, "u2"))
	f.Poll(context.Background())
	if slices.Contains(keys.got(), "revoke u2") {
		t.Fatal("an event after a failed one was applied before it")
	}
	keys.mu.Lock()
	keys.failFor = ""
	keys.mu.Unlock()
	f.Poll(context.Background())
	got := keys.got()
	if !slices.Contains(got, "revoke u1") || !slices.Contains(got, "revoke u2") {
		t.Fatalf("after the store is back: %v", got)
	}
}

func TestFollower_Reactions(t *testing.T) {
	now := time.UnixMilli(3_000_000_000)
	at := now.UnixMilli() + 1
	feed := &fakeFeed{users: map[string]keycloak.User{
		"off": {ID: "off", Enabled: false}, "on": {ID: "on", Enabled: true},
	}}
	feed.admin = []keycloak.AdminEvent{
		{ID: "a1", TimeMillis: at, OperationType: "UPDATE", ResourceType: "USER", ResourcePath: "users/off"},
		{ID: "a2", TimeMillis: at, OperationType: "UPDATE", ResourceType: "USER", ResourcePath: "users/on"},
		{ID: "a3", TimeMillis: at, OperationType: "UPDATE", ResourceType: "USER", ResourcePath: "users/gone"},
		{ID: "a4", TimeMillis: at, OperationType: "ACTION", ResourceType: "USER", ResourcePath: "users/pw/reset-password"},
		{ID: "a5", TimeMillis: at, OperationType: "ACTION", ResourceType: "USER", ResourcePath: "users/out/logout"},
		{ID: "a6", TimeMillis: at, OperationType: "CREATE", ResourceType: "GROUP_MEMBERSHIP", ResourcePath: "users/grp/groups/g1"},
		{ID: "a7", TimeMillis: at, OperationType: "DELETE", ResourceType: "REALM_ROLE_MAPPING", ResourcePath: "users/role/role-mappings/realm"},
		{ID: "a8", TimeMillis: at, OperationType: "CREATE", ResourceType: "REALM_ROLE_MAPPING", ResourcePath: "groups/g1/role-mappings/realm"},
		{ID: "a9", TimeMillis: at, OperationType: "CREATE", ResourceType: "GROUP", ResourcePath: "groups/g2"},
	}
	feed.user = []keycloak.UserEvent{
		{ID: "u1", TimeMillis: at, Type: "UPDATE_PASSWORD", UserID: "self"},
		{ID: "u2", TimeMillis: at, Type: "UPDATE_CREDENTIAL", UserID: "otp", Details: map[string]string{"credential_type": "otp"}},
		{ID: "u3", TimeMillis: at, Type: "UPDATE_CREDENTIAL", UserID: "cred", Details: map[string]string{"credential_type": "password"}},
	}
	keys := &fakeKeys{}
	store := openStore(t)
	if err := store.SaveEventCursor(context.Background(), feedAdmin, models.Cursor{TimeMillis: now.UnixMilli()}); err != nil {
		t.Fatal(err)
	}
	if err := store.SaveEventCursor(context.Background(), feedUser, models.Cursor{TimeMillis: now.UnixMilli()}); err != nil {
		t.Fatal(err)
	}
	f := New(Config{Feed: feed, Store: store, Keys: keys, Clock: func() time.Time { return now.Add(-time.Minute) },
		Holder: "a", OnCredentialReset: OnResetDisable, WatchTokens: true})
	f.Poll(context.Background())
	got := keys.got()
	for _, want := range []string{"owner-disabled off", "owner-enabled on", "disable pw", "disable out", "disable self",
		"disable cred", "drop grp", "drop role", "drop ", "drop off"} {
		if !slices.Contains(got, want) {
			t.Errorf("missing %q in %v", want, got)
		}
	}
	for _, never := range []string{"disable otp", "owner-disabled gone", "owner-enabled gone"} {
		if slices.Contains(got, never) {
			t.Errorf("unexpected %q in %v", never, got)
		}
	}
	if n := strings.Count(strings.Join(got, "|"), "drop |"); n != 1 {
		t.Errorf("dropped every token %d times (a group's role mapping, not a new group), want 1: %v", n, got)
	}
}

func TestFollower_ResetNone_KeysUntouched_UserFeedNotRead(t *testing.T) {
	now := time.UnixMilli(4_000_000_000)
	feed := &fakeFeed{admin: []keycloak.AdminEvent{{ID: "a", TimeMillis: now.UnixMilli() + 1, OperationType: "ACTION",
		ResourceType: "USER", ResourcePath: "users/pw/reset-password"}}}
	keys := &fakeKeys{}
	store := openStore(t)
	_ = store.SaveEventCursor(context.Background(), feedAdmin, models.Cursor{TimeMillis: now.UnixMilli()})
	f := New(Config{Feed: feed, Store: store, Keys: keys, Clock: func() time.Time { return now }, Holder: "a"})
	f.Poll(context.Background())
	if slices.Contains(keys.got(), "disable pw") {
		t.Fatal("KEYWARD_ON_CREDENTIAL_RESET=none disabled keys")
	}
	if _, found, _ := store.EventCursor(context.Background(), feedUser); found {
		t.Fatal("the user-event feed was read though nothing reacts to it")
	}
}

func TestFollower_TwoOnOneStore_OnlyTheLeaseHolderReacts(t *testing.T) {
	now := time.UnixMilli(5_000_000_000)
	feed := &fakeFeed{}
	store := openStore(t)
	ka, kb := &fakeKeys{}, &fakeKeys{}
	a := New(Config{Feed: feed, Store: store, Keys: ka, Clock: func() time.Time { return now }, Holder: "a"})
	b := New(Config{Feed: feed, Store: store, Keys: kb, Clock: func() time.Time { return now }, Holder: "b"})
	a.Poll(context.Background())
	b.Poll(context.Background())
	feed.admin = append(feed.admin, del("e1", now.UnixMilli()+1, "u1"))
	a.Poll(context.Background())
	b.Poll(context.Background())
	if !slices.Contains(ka.got(), "revoke u1") || slices.Contains(kb.got(), "revoke u1") {
		t.Fatalf("a: %v, b: %v; want only the holder a to react", ka.got(), kb.got())
	}
}

func TestFollower_EventsOffOrRefused_WarnsOnce(t *testing.T) {
	for name, feed := range map[string]*fakeFeed{
		"admin events off": {config: keycloak.EventsConfig{EventsEnabled: true}},
		"refused":          {cfgErr: keycloak.ErrEventsRefused, fail: keycloak.ErrEventsRefused},
	} {
		t.Run(name, func(t *testing.T) {
			core, logs := observer.New(zap.WarnLevel)
			f := New(Config{Feed: feed, Store: openStore(t), Keys: &fakeKeys{}, Log: zap.New(core), Holder: "a"})
			f.CheckRealm(context.Background())
			f.Poll(context.Background())
			f.Poll(context.Background())
			if logs.Len() != 1 {
				t.Fatalf("%d warnings, want exactly one: %v", logs.Len(), logs.All())
			}
		})
	}
}

// A consumer key's token is its key client's service account's, whose user id is not
// the key's owner: a realm admin changing that user (its groups, say) or the key
// client itself (disabled, deleted) drops the consumer's cached tokens. Other clients'
// events, and a new client, drop nothing.
func TestFollower_KeyClientOrItsServiceAccountChanged_ConsumersTokensDropped(t *testing.T) {
	now := time.UnixMilli(6_000_000_000)
	at := now.UnixMilli() + 1
	store := openStore(t)
	ctx := context.Background()
	cons := &models.Consumer{Name: "shop", Environment: "production"}
	if err := store.CreateConsumer(ctx, cons); err != nil {
		t.Fatal(err)
	}
	kc := models.ConsumerKeyClient{ConsumerID: cons.ID, KeycloakID: "kc-shop", ClientID: "kw-keys-" + cons.ID, ServiceAccountID: "sa-shop"}
	if err := store.SaveConsumerKeyClient(ctx, kc); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ev   keycloak.AdminEvent
		drop bool
	}{
		{"service account joins a group", keycloak.AdminEvent{OperationType: "CREATE", ResourceType: "GROUP_MEMBERSHIP", ResourcePath: "users/sa-shop/groups/g1"}, true},
		{"service account leaves a group", keycloak.AdminEvent{OperationType: "DELETE", ResourceType: "GROUP_MEMBERSHIP", ResourcePath: "users/sa-shop/groups/g1"}, true},
		{"service account given a role", keycloak.AdminEvent{OperationType: "CREATE", ResourceType: "REALM_ROLE_MAPPING", ResourcePath: "users/sa-shop/role-mappings/realm"}, true},
		{"service account updated", keycloak.AdminEvent{OperationType: "UPDATE", ResourceType: "USER", ResourcePath: "users/sa-shop"}, true},
		{"key client disabled", keycloak.AdminEvent{OperationType: "UPDATE", ResourceType: "CLIENT", ResourcePath: "clients/kc-shop"}, true},
		{"key client deleted", keycloak.AdminEvent{OperationType: "DELETE", ResourceType: "CLIENT", ResourcePath: "clients/kc-shop"}, true},
		{"another client updated", keycloak.AdminEvent{OperationType: "UPDATE", ResourceType: "CLIENT", ResourcePath: "clients/kc-other"}, false},
		{"a client created", keycloak.AdminEvent{OperationType: "CREATE", ResourceType: "CLIENT", ResourcePath: "clients/kc-shop"}, false},
		{"a person joins a group", keycloak.AdminEvent{OperationType: "CREATE", ResourceType: "GROUP_MEMBERSHIP", ResourcePath: "users/alice/groups/g1"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := tc.ev
			ev.ID, ev.TimeMillis = "ev-"+tc.name, at
			keys := &fakeKeys{}
			f := New(Config{Feed: &fakeFeed{admin: []keycloak.AdminEvent{ev}}, Store: store, Keys: keys,
				Clock: func() time.Time { return now }, Holder: "h-" + tc.name, WatchTokens: true})
			f.Poll(ctx)
			if got := slices.Contains(keys.got(), "drop-consumer "+cons.ID); got != tc.drop {
				t.Fatalf("consumer's tokens dropped: %v, want %v (calls %v)", got, tc.drop, keys.got())
			}
		})
	}
}

// The store down while an event names a user: the event is read again at the next
// poll, so a key client's change is not lost.
func TestFollower_KeyClientLookupFails_EventRetried(t *testing.T) {
	now := time.UnixMilli(7_000_000_000)
	store := &failingLookup{Store: openStore(t)}
	cons := &models.Consumer{Name: "shop", Environment: "production"}
	if err := store.CreateConsumer(context.Background(), cons); err != nil {
		t.Fatal(err)
	}
	_ = store.SaveConsumerKeyClient(context.Background(), models.ConsumerKeyClient{ConsumerID: cons.ID, KeycloakID: "kc", ClientID: "c", ServiceAccountID: "sa"})
	keys := &fakeKeys{}
	feed := &fakeFeed{admin: []keycloak.AdminEvent{{ID: "e1", TimeMillis: now.UnixMilli() + 1, OperationType: "CREATE",
		ResourceType: "GROUP_MEMBERSHIP", ResourcePath: "users/sa/groups/g"}}}
	f := New(Config{Feed: feed, Store: store, Keys: keys, Clock: func() time.Time { return now }, Holder: "a", WatchTokens: true})
	store.fail = true
	f.Poll(context.Background())
	store.fail = false
	f.Poll(context.Background())
	if !slices.Contains(keys.got(), "drop-consumer "+cons.ID) {
		t.Fatalf("the event was not retried: %v", keys.got())
	}
}

type failingLookup struct {
	*models.Store
	fail bool
}

func (s *failingLookup) ConsumerOfKeyClient(ctx context.Context, id string) (string, error) {
	if s.fail {
		return "", errors.New("store down")
	}
	return s.Store.ConsumerOfKeyClient(ctx, id)
}
