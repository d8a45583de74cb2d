// Package kctest gives integration tests the real Keycloak started by `make test`
// (scripts/test.sh): its URL, a master-realm admin client, and dev-user logins.
package kctest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Nerzal/gocloak/v13"
)

// Env describes the Keycloak under test.
type Env struct {
	URL          string // e.g. http://127.0.0.1:8180
	Realm        string
	ClientID     string
	ClientSecret string
	// AdminClientID / AdminClientSecret: the client Keyward makes admin calls as.
	AdminClientID     string
	AdminClientSecret string
	// PublicURL is the issuer the realm's identity provider trusts; Keycloak fetches
	// the assertion keys from the shared Keyward there.
	PublicURL string
	// KeywardURL is the shared Keyward started by `make test` (same as PublicURL).
	KeywardURL string
	// SigningKeyFile is the shared Keyward's key: in-process instances sign with it too.
	SigningKeyFile string
	Admin          *gocloak.GoCloak
	adminUser      string
	adminPass      string
}

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// Require returns the environment, skipping the test when no Keycloak is configured,
// or failing it when KEYWARD_REQUIRE_INTEGRATION=1 (as in `make test`).
func Require(t testing.TB) *Env {
	t.Helper()
	url := os.Getenv("KEYWARD_TEST_KEYCLOAK_URL")
	if url == "" {
		if os.Getenv("KEYWARD_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("KEYWARD_TEST_KEYCLOAK_URL is not set but integration tests are required: run `make test`")
		}
		t.Skip("no Keycloak: set KEYWARD_TEST_KEYCLOAK_URL or run `make test`")
	}
	return &Env{
		URL:               strings.TrimRight(url, "/"),
		Realm:             getenv("KEYWARD_TEST_REALM", "keyward"),
		ClientID:          getenv("KEYWARD_TEST_CLIENT_ID", "keyward"),
		ClientSecret:      getenv("KEYWARD_TEST_CLIENT_SECRET", "keyward-dev-secret"),
		AdminClientID:     getenv("KEYWARD_TEST_ADMIN_CLIENT_ID", "keyward-management"),
		AdminClientSecret: getenv("KEYWARD_TEST_ADMIN_CLIENT_SECRET", "keyward-management-dev-secret"),
		PublicURL:         getenv("KEYWARD_TEST_PUBLIC_URL", "http://127.0.0.1:8080"),
		KeywardURL:        getenv("KEYWARD_TEST_KEYWARD_URL", "http://127.0.0.1:8080"),
		SigningKeyFile:    os.Getenv("KEYWARD_TEST_SIGNING_KEY_FILE"),
		Admin:             gocloak.NewClient(url),
		adminUser:         getenv("KEYCLOAK_ADMIN_USER", "admin"),
		adminPass:         getenv("KEYCLOAK_ADMIN_PASSWORD", "admin"),
	}
}

// Issuer is the realm's issuer URL.
func (e *Env) Issuer() string { return e.URL + "/realms/" + e.Realm }

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// AdminToken logs in as the master-realm bootstrap admin.
func (e *Env) AdminToken(t testing.TB) string {
	t.Helper()
	jwt, err := e.Admin.LoginAdmin(ctx(t), e.adminUser, e.adminPass, "master")
	if err != nil {
		t.Fatalf("admin login: %v", err)
	}
	return jwt.AccessToken
}

// Login returns a user's access token from the public client keyward-cli (password grant).
func (e *Env) Login(t testing.TB, username string) string {
	t.Helper()
	jwt, err := e.Admin.GetToken(ctx(t), e.Realm, gocloak.TokenOptions{
		ClientID:  gocloak.StringP("keyward-cli"),
		GrantType: gocloak.StringP("password"),
		Username:  gocloak.StringP(username),
		Password:  gocloak.StringP(username),
	})
	if err != nil {
		t.Fatalf("login as %s: %v", username, err)
	}
	return jwt.AccessToken
}

// UserID looks a dev user up by username.
func (e *Env) UserID(t testing.TB, username string) string {
	t.Helper()
	users, err := e.Admin.GetUsers(ctx(t), e.AdminToken(t), e.Realm, gocloak.GetUsersParams{
		Username: gocloak.StringP(username), Exact: gocloak.BoolP(true),
	})
	if err != nil || len(users) != 1 {
		t.Fatalf("find user %s: %v (%d found)", username, err, len(users))
	}
	return *users[0].ID
}

// Claims decodes a JWT's payload without verifying it: for assertions on tokens
// that the test has just received from Keycloak.
func Claims(t testing.TB, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("decode payload: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("payload: %v", err)
	}
	return m
}

// RealmRoles lists realm_access.roles of decoded claims.
func RealmRoles(claims map[string]any) []string {
	var out []string
	ra, _ := claims["realm_access"].(map[string]any)
	roles, _ := ra["roles"].([]any)
	for _, r := range roles {
		if s, ok := r.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// Strings turns a JSON array claim into strings.
func Strings(v any) []string {
	arr, _ := v.([]any)
	out := make([]string, 0, len(arr))
	for _, x := range arr {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// TempUser creates an enabled user of the realm, password = username, removed when the
// test ends. Tests that disable or change a user use one, so that tests of other
// packages running at the same time keep their alice, bob and carol.
func (e *Env) TempUser(t testing.TB, prefix string) (id, username string) {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	username = fmt.Sprintf("%s-%x", prefix, b)
	admin := e.AdminToken(t)
	id, err := e.Admin.CreateUser(ctx(t), admin, e.Realm, gocloak.User{
		Username:      gocloak.StringP(username),
		Email:         gocloak.StringP(username + "@example.test"),
		FirstName:     gocloak.StringP("Temp"),
		LastName:      gocloak.StringP("User"),
		Enabled:       gocloak.BoolP(true),
		EmailVerified: gocloak.BoolP(true),
	})
	if err != nil {
		t.Fatalf("create user %s: %v", username, err)
	}
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if jwt, err := e.Admin.LoginAdmin(c, e.adminUser, e.adminPass, "master"); err == nil {
			_ = e.Admin.DeleteUser(c, jwt.AccessToken, e.Realm, id)
		}
	})
	if err := e.Admin.SetPassword(ctx(t), admin, id, e.Realm, username, false); err != nil {
		t.Fatalf("set password of %s: %v", username, err)
	}
	return id, username
}

// TempRealmRole creates a realm role, removed when the test ends.
func (e *Env) TempRealmRole(t testing.TB, name string) gocloak.Role {
	t.Helper()
	admin := e.AdminToken(t)
	_ = e.Admin.DeleteRealmRole(ctx(t), admin, e.Realm, name)
	if _, err := e.Admin.CreateRealmRole(ctx(t), admin, e.Realm, gocloak.Role{Name: gocloak.StringP(name)}); err != nil {
		t.Fatalf("create role %s: %v", name, err)
	}
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if jwt, err := e.Admin.LoginAdmin(c, e.adminUser, e.adminPass, "master"); err == nil {
			_ = e.Admin.DeleteRealmRole(c, jwt.AccessToken, e.Realm, name)
		}
	})
	role, err := e.Admin.GetRealmRole(ctx(t), admin, e.Realm, name)
	if err != nil {
		t.Fatalf("get role %s: %v", name, err)
	}
	return *role
}

// ClientUUID is Keycloak's internal id of a client of the realm.
func (e *Env) ClientUUID(t testing.TB, clientID string) string {
	t.Helper()
	list, err := e.Admin.GetClients(ctx(t), e.AdminToken(t), e.Realm, gocloak.GetClientsParams{ClientID: gocloak.StringP(clientID)})
	if err != nil || len(list) != 1 {
		t.Fatalf("find client %s: %v (%d found)", clientID, err, len(list))
	}
	return *list[0].ID
}

// AddToExchangeScope puts realm roles into a client's scope mappings (the roles its
// tokens may carry when it does not have the full scope); removed when the test ends.
func (e *Env) AddToExchangeScope(t testing.TB, clientID string, roles ...gocloak.Role) {
	t.Helper()
	id := e.ClientUUID(t, clientID)
	if err := e.Admin.CreateClientScopeMappingsRealmRoles(ctx(t), e.AdminToken(t), e.Realm, id, roles); err != nil {
		t.Fatalf("scope mapping on %s: %v", clientID, err)
	}
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if jwt, err := e.Admin.LoginAdmin(c, e.adminUser, e.adminPass, "master"); err == nil {
			_ = e.Admin.DeleteClientScopeMappingsRealmRoles(c, jwt.AccessToken, e.Realm, id, roles)
		}
	})
}
