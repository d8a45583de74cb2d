// Package kctest gives integration tests the real Keycloak started by `make test`
// (scripts/test.sh): its URL, a master-realm admin client, and dev-user logins.
package kctest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Nerzal/gocloak/v13"

	"github.com/keyward/keyward/internal/testkit"
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
	url := testkit.Require(t, "KEYWARD_TEST_KEYCLOAK_URL", "Keycloak", "run `make test`")
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

// adminCleanup runs fn with a fresh master-admin token when the test ends (the test's
// own context is gone by then).
func (e *Env) adminCleanup(t testing.TB, fn func(c context.Context, token string)) {
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if jwt, err := e.Admin.LoginAdmin(c, e.adminUser, e.adminPass, "master"); err == nil {
			fn(c, jwt.AccessToken)
		}
	})
}

// TempGroup creates a group of the realm (top level when parentID is empty) and
// returns its id; it is deleted, with its subgroups, when the test ends.
func (e *Env) TempGroup(t testing.TB, parentID, name string) string {
	t.Helper()
	admin := e.AdminToken(t)
	var (
		id  string
		err error
	)
	if parentID == "" {
		id, err = e.Admin.CreateGroup(ctx(t), admin, e.Realm, gocloak.Group{Name: gocloak.StringP(name)})
	} else {
		id, err = e.Admin.CreateChildGroup(ctx(t), admin, e.Realm, parentID, gocloak.Group{Name: gocloak.StringP(name)})
	}
	if err != nil {
		t.Fatalf("create group %s: %v", name, err)
	}
	e.adminCleanup(t, func(c context.Context, token string) { _ = e.Admin.DeleteGroup(c, token, e.Realm, id) })
	return id
}

// MapRealmRoleToGroup gives the group's members a realm role. The returned func takes
// it away again; it is taken away when the test ends in any case.
func (e *Env) MapRealmRoleToGroup(t testing.TB, groupID, role string) (remove func()) {
	t.Helper()
	admin := e.AdminToken(t)
	r, err := e.Admin.GetRealmRole(ctx(t), admin, e.Realm, role)
	if err != nil {
		t.Fatalf("get realm role %s: %v", role, err)
	}
	if err := e.Admin.AddRealmRoleToGroup(ctx(t), admin, e.Realm, groupID, []gocloak.Role{*r}); err != nil {
		t.Fatalf("map realm role %s to group: %v", role, err)
	}
	undo := func(c context.Context, token string) {
		_ = e.Admin.DeleteRealmRoleFromGroup(c, token, e.Realm, groupID, []gocloak.Role{*r})
	}
	e.adminCleanup(t, undo)
	return func() {
		t.Helper()
		if err := e.Admin.DeleteRealmRoleFromGroup(ctx(t), e.AdminToken(t), e.Realm, groupID, []gocloak.Role{*r}); err != nil {
			t.Fatalf("unmap realm role %s: %v", role, err)
		}
	}
}

// MapClientRoleToGroup gives the group's members a role of the client clientID (e.g.
// realm-management view-users). The returned func takes it away again; it is taken
// away when the test ends in any case.
func (e *Env) MapClientRoleToGroup(t testing.TB, groupID, clientID, role string) (remove func()) {
	t.Helper()
	admin := e.AdminToken(t)
	cid := e.ClientUUID(t, clientID)
	r, err := e.Admin.GetClientRole(ctx(t), admin, e.Realm, cid, role)
	if err != nil {
		t.Fatalf("get client role %s/%s: %v", clientID, role, err)
	}
	if err := e.Admin.AddClientRolesToGroup(ctx(t), admin, e.Realm, cid, groupID, []gocloak.Role{*r}); err != nil {
		t.Fatalf("map client role %s/%s to group: %v", clientID, role, err)
	}
	e.adminCleanup(t, func(c context.Context, token string) {
		_ = e.Admin.DeleteClientRoleFromGroup(c, token, e.Realm, cid, groupID, []gocloak.Role{*r})
	})
	return func() {
		t.Helper()
		if err := e.Admin.DeleteClientRoleFromGroup(ctx(t), e.AdminToken(t), e.Realm, cid, groupID, []gocloak.Role{*r}); err != nil {
			t.Fatalf("unmap client role %s/%s: %v", clientID, role, err)
		}
	}
}

// LossMode says what a LossyProxy does with the requests that create a client
// (POST /admin/realms/{realm}/clients).
type LossMode int

const (
	// Forward passes them on and their answers back, like every other request.
	Forward LossMode = iota
	// DropAnswer lets Keycloak create the client, then closes the caller's connection
	// without an answer: a dropped connection.
	DropAnswer
	// StallAnswer lets Keycloak create the client, then answers nothing until the caller
	// gives up: a timeout.
	StallAnswer
	// HoldRequest closes the caller's connection at once and keeps the request; Release
	// forwards it later: Keycloak commits the client after the caller has moved on.
	HoldRequest
)

var clientsPath = regexp.MustCompile(`^/admin/realms/[^/]+/clients$`)

// LossyProxy stands between the code under test and Keycloak (at URL) and forwards
// everything, except that it can lose the answers of client creations while Keycloak
// does create the clients, and fail client look-ups by client_id.
type LossyProxy struct {
	URL    string
	target string
	rp     *httputil.ReverseProxy

	mu          sync.Mutex
	mode        LossMode
	failLookups bool
	lost        []int // Keycloak's statuses of the creations whose answers were lost
	held        []heldRequest
}

type heldRequest struct {
	method, uri string
	header      http.Header
	body        []byte
}

// NewLossyProxy starts a proxy in front of target (a base URL such as e.URL); it
// stops when the test ends.
func NewLossyProxy(t testing.TB, target string) *LossyProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &LossyProxy{target: strings.TrimRight(target, "/"), rp: httputil.NewSingleHostReverseProxy(u)}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// SetMode chooses what happens to the next client creations.
func (p *LossyProxy) SetMode(m LossMode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = m
}

// FailClientLookups makes GET /admin/realms/{realm}/clients?clientId=… lose their
// connection (on) or pass (off).
func (p *LossyProxy) FailClientLookups(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failLookups = on
}

// Lost returns the statuses Keycloak gave to the creations whose answers the caller
// never got (201: the client exists).
func (p *LossyProxy) Lost() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int{}, p.lost...)
}

// Release forwards the held creations to Keycloak now and returns its statuses.
func (p *LossyProxy) Release(t testing.TB) []int {
	t.Helper()
	p.mu.Lock()
	held := p.held
	p.held = nil
	p.mu.Unlock()
	out := []int{}
	for _, h := range held {
		status, err := p.forward(h)
		if err != nil {
			t.Fatalf("release a held request: %v", err)
		}
		out = append(out, status)
	}
	return out
}

func (p *LossyProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	mode, failLookups := p.mode, p.failLookups
	p.mu.Unlock()
	create := r.Method == http.MethodPost && clientsPath.MatchString(r.URL.Path)
	lookup := r.Method == http.MethodGet && clientsPath.MatchString(r.URL.Path) && r.URL.Query().Get("clientId") != ""
	switch {
	case create && mode != Forward:
		body, err := io.ReadAll(r.Body)
		if err != nil {
			hangUp(w)
			return
		}
		h := heldRequest{method: r.Method, uri: r.URL.RequestURI(), header: r.Header.Clone(), body: body}
		if mode == HoldRequest {
			p.mu.Lock()
			p.held = append(p.held, h)
			p.mu.Unlock()
			hangUp(w)
			return
		}
		status, err := p.forward(h)
		if err == nil {
			p.mu.Lock()
			p.lost = append(p.lost, status)
			p.mu.Unlock()
		}
		if mode == StallAnswer {
			select { // until the caller gives up; the bound only keeps a broken test from hanging
			case <-r.Context().Done():
			case <-time.After(2 * time.Minute):
			}
		}
		hangUp(w)
	case lookup && failLookups:
		hangUp(w)
	default:
		p.rp.ServeHTTP(w, r)
	}
}

// forward sends h to Keycloak on a context of its own: the caller's going away must
// not stop Keycloak from doing the work.
func (p *LossyProxy) forward(h heldRequest) (int, error) {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(c, h.method, p.target+h.uri, bytes.NewReader(h.body))
	if err != nil {
		return 0, err
	}
	req.Header = h.header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// hangUp closes the caller's connection without a word.
func hangUp(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler) // net/http closes the connection without answering
}
