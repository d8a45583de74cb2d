// Package apitest serves the real API (handlers.New over the real services and an
// SQLite store) with Keycloak faked at its interfaces, on an httptest server, for the
// tests of other packages (the command line's). It is the handlers harness's pieces,
// kept thin: bearer tokens are looked up in a fixed table instead of verified.
package apitest

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"go.uber.org/zap"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/handlers"
	"github.com/keyward/keyward/internal/testkit"
	"github.com/keyward/keyward/internal/testkit/fakekc"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/keys"
	"github.com/keyward/keyward/leaks"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/provisioning"
	"github.com/keyward/keyward/ratelimit"
	"github.com/keyward/keyward/webhooks"
)

// The bearer tokens the server takes: a plain user (alice), another (bob) and an admin
// (carol, keyward-admin).
const (
	UserToken  = "alice-token"
	OtherToken = "bob-token"
	AdminToken = "carol-token"
)

// Server is a running API.
type Server struct {
	URL   string
	Store *models.Store
	Clock *testkit.Clock
	// Usage holds the exchanges' counters until Flush writes them (keys usage).
	Usage *exchange.Usage
}

// New serves the API until t ends.
func New(t testing.TB) *Server {
	t.Helper()
	gin.SetMode(gin.TestMode)
	store, err := models.Open(context.Background(), filepath.Join(t.TempDir(), "keyward.db"), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	store.UseOutbox(webhooks.Outbox) // audit events queue deliveries, which nothing sends
	h, err := exchange.NewHasher([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	deny, err := exchange.NewRoleDenylist([]string{"realm-admin", "keyward-admin"})
	if err != nil {
		t.Fatal(err)
	}
	clock := testkit.NewClock(time.Now().UTC())
	rec := audit.NewRecorder(store, zap.NewNop(), clock.Now)
	limits := exchange.LimitPolicy{Default: ratelimit.Limit{Requests: 1000, Window: time.Minute}, AllowUnlimited: true}
	m := minter{}
	usage := exchange.NewUsage(store, zap.NewNop(), time.Hour)
	svc := keys.New(keys.Config{
		Users: fakekc.Users{
			"alice": {ID: "alice-id", Username: "alice", Enabled: true},
			"bob":   {ID: "bob-id", Username: "bob", Enabled: true},
			"carol": {ID: "carol-id", Username: "carol", Enabled: true},
		},
		Roles: fakekc.Roles{"carol-id": {Realm: []string{"default-roles-keyward", "keyward-admin"}},
			"alice-id": {Realm: []string{"reports-read", "reports-write"}, Clients: map[string][]string{"shop-api": {"orders-read"}}}},
		RoleLimits:   roleLimits{},
		Deny:         deny,
		OwnerMaxRate: ratelimit.Limit{Requests: 10000, Window: time.Minute},
		Store:        store, Hasher: h, Minter: m, Usage: store, Limits: limits, Clock: clock.Now, Audit: rec,
	})
	box, err := webhooks.NewSecretBox([]byte(strings.Repeat("w", 32)))
	if err != nil {
		t.Fatal(err)
	}
	guard, err := webhooks.NewGuard([]string{"127.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	admin := fakekc.NewAdmin()
	prov, err := provisioning.New(admin, store, provisioning.Config{Realm: "keyward", ParentGroup: "keyward-acl",
		RedirectHosts: []string{"app.example.com"}, Clock: clock.Now, Log: zap.NewNop(), Audit: rec})
	if err != nil {
		t.Fatal(err)
	}
	// Consumer keys: made and listed here; their exchange is tried on the real Keycloak.
	prov.UseKeyClients(provisioning.KeyClients{Keycloak: admin, Store: store, Keys: svc, JWKSURL: "http://keyward.test/.well-known/jwks.json"})
	svc.UseConsumers(prov)
	engine := handlers.New(handlers.Config{
		Log: zap.NewNop(),
		Verifier: verifier{
			UserToken:  {Subject: "alice-id", Username: "alice", AuthParty: "keyward-cli"},
			OtherToken: {Subject: "bob-id", Username: "bob", AuthParty: "keyward-cli"},
			AdminToken: {Subject: "carol-id", Username: "carol", AuthParty: "keyward-cli", RealmRoles: []string{"keyward-admin"}},
		},
		Keys: svc,
		Exchanger: exchange.NewExchanger(exchange.ExchangerConfig{
			Keys: store, Hasher: h, Minter: m, Usage: usage, Limits: limits, Limited: limitedMinter{},
			Limiter: ratelimit.NewMemory(clock.Now), Clock: clock.Now,
		}),
		Audit:           audit.NewReader(store),
		Provisioning:    prov,
		AdminRole:       "keyward-admin",
		Webhooks:        webhooks.NewService(webhooks.ServiceConfig{Store: store, Box: box, Guard: guard, Audit: rec, Clock: clock.Now}),
		JWKS:            jwk.NewSet(),
		KeyTokenClients: []string{"keyward", "keyward-limited"},
		Database:        pinger{},
		Keycloak:        pinger{},
		Leaks: leaks.New(leaks.Config{Store: store, Hasher: h, Audit: rec, Clock: clock.Now,
			Limiter: ratelimit.NewMemory(clock.Now), Rate: 20}),
		Clock: clock.Now,
	})
	srv := httptest.NewServer(engine)
	t.Cleanup(srv.Close)
	return &Server{URL: srv.URL, Store: store, Clock: clock, Usage: usage}
}

// roleLimits: every role is within the exchange client's scope; a role's id is
// "id-" + its text.
type roleLimits struct{}

func (roleLimits) ExchangeCeiling(context.Context) (keycloak.Roles, bool, error) {
	return keycloak.Roles{}, true, nil
}

func (roleLimits) EnsureRoleScope(_ context.Context, r keycloak.RoleMapping) (keycloak.RoleScope, error) {
	id := "id-" + r.Client + ":" + r.Role
	return keycloak.RoleScope{Name: keycloak.RoleScopeName(id), RoleID: id}, nil
}

// verifier takes the tokens of its table.
type verifier map[string]keycloak.Claims

func (v verifier) Verify(_ context.Context, raw string) (keycloak.Claims, error) {
	c, ok := v[raw]
	if !ok {
		return keycloak.Claims{}, keycloak.ErrInvalidToken
	}
	return c, nil
}

// minter mints an unsigned token for the key's owner.
type minter struct{}

func (minter) Prepare(context.Context, exchange.Owner) error { return nil }

func (minter) Mint(_ context.Context, owner, scope string) (keycloak.Token, error) {
	return keycloak.Token{AccessToken: testkit.IssuedToken(owner, owner, nil, nil), ExpiresIn: 300, Scope: scope}, nil
}

// limitedMinter mints a limited key's token as Keycloak would for an owner holding
// none of the key's roles: the owner's, without roles.
type limitedMinter struct{}

func (limitedMinter) Mint(_ context.Context, owner, scope string, _ []string) (keycloak.Token, error) {
	return minter{}.Mint(context.Background(), owner, scope)
}

type pinger struct{}

func (pinger) Ping(context.Context) error { return nil }
