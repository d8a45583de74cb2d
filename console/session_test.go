package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/reqinfo"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/ratelimit"
)

// Unit tests of sessions and login with small fakes at the console's interfaces; the
// browser tests (cmd/keyward/console_e2e_test.go) run the same on the real Keycloak.

type memSessions struct {
	mu   sync.Mutex
	rows map[string]models.ConsoleSession
}

func (m *memSessions) CreateConsoleSession(_ context.Context, cs *models.ConsoleSession) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rows[cs.IDHash] = *cs
	return nil
}

func (m *memSessions) ConsoleSessionByHash(_ context.Context, h string) (models.ConsoleSession, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cs, ok := m.rows[h]
	if !ok {
		return cs, models.ErrNotFound
	}
	return cs, nil
}

func (m *memSessions) UpdateConsoleSession(_ context.Context, cs *models.ConsoleSession) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.rows[cs.IDHash]
	if !ok {
		return models.ErrNotFound
	}
	old.Tokens, old.AccessExpiresAt, old.RefreshedAt, old.LastSeenAt = cs.Tokens, cs.AccessExpiresAt, cs.RefreshedAt, cs.LastSeenAt
	m.rows[cs.IDHash] = old
	return nil
}

func (m *memSessions) DeleteConsoleSession(_ context.Context, h string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.rows, h)
	return nil
}

// fakeRealm issues "tokens" that are plain names; the verifier reads them back.
type fakeRealm struct {
	mu         sync.Mutex
	lastAuth   keycloak.AuthRequest
	claims     keycloak.Claims // what the access token says
	idSubject  string
	refuse     bool // refresh answers invalid_grant (user disabled)
	refreshes  int
	logouts    int
	wrongNonce bool
	callback   string // the redirect URI the console must send with the code
}

func (f *fakeRealm) AuthCodeURL(r keycloak.AuthRequest) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastAuth = r
	return "http://kc.test/auth?state=" + url.QueryEscape(r.State)
}
func (f *fakeRealm) EndSessionURL(hint, redirect string) string {
	return "http://kc.test/logout?id_token_hint=" + hint
}
func (f *fakeRealm) Exchange(_ context.Context, code, verifier, redirectURI string) (keycloak.Tokens, error) {
	if code != "good-code" || pkceChallenge(verifier) != f.lastAuth.CodeChallenge || redirectURI != f.callback {
		return keycloak.Tokens{}, keycloak.ErrInvalidGrant
	}
	return keycloak.Tokens{AccessToken: "access-1", RefreshToken: "refresh-1", IDToken: "id-1", ExpiresIn: 300}, nil
}
func (f *fakeRealm) Refresh(_ context.Context, rt string) (keycloak.Tokens, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refreshes++
	if f.refuse {
		return keycloak.Tokens{}, keycloak.ErrInvalidGrant
	}
	return keycloak.Tokens{AccessToken: "access-2", RefreshToken: "refresh-2", ExpiresIn: 300}, nil
}
func (f *fakeRealm) Logout(context.Context, string) error { f.logouts++; return nil }
func (f *fakeRealm) VerifyIDToken(_ context.Context, raw, nonce string) (keycloak.IDClaims, error) {
	if f.wrongNonce || nonce != f.lastAuth.Nonce {
		return keycloak.IDClaims{}, keycloak.ErrInvalidToken
	}
	return keycloak.IDClaims{Subject: f.idSubject}, nil
}
func (f *fakeRealm) Verify(_ context.Context, raw string) (keycloak.Claims, error) {
	if !strings.HasPrefix(raw, "access-") {
		return keycloak.Claims{}, keycloak.ErrInvalidToken
	}
	return f.claims, nil
}

type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

type harness struct {
	t      *testing.T
	base   string
	c      *Console
	realm  *fakeRealm
	store  *memSessions
	clock  *fakeClock
	cookie map[string]string
}

func newHarness(t *testing.T) *harness { return newHarnessAt(t, "http://console.test") }

// newHarnessAt serves the console at base (its public URL, http or https).
func newHarnessAt(t *testing.T, base string) *harness {
	secrets, err := SecretsFrom(bytes.Repeat([]byte("p"), 32))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, base: base, realm: &fakeRealm{claims: keycloak.Claims{Subject: "u1", Username: "alice"}, idSubject: "u1", callback: base + "/auth/callback"},
		store: &memSessions{rows: map[string]models.ConsoleSession{}}, clock: &fakeClock{now: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)},
		cookie: map[string]string{}}
	h.c, err = New(Config{URL: base, KeycloakOrigin: "http://kc.test", OIDC: h.realm, Verifier: h.realm,
		KeyTokenClients: []string{"keyward", "keyward-limited"}, AdminRole: "keyward-admin", Sessions: h.store, Secrets: secrets,
		SessionIdle: 30 * time.Minute, SessionMax: 8 * time.Hour, RefreshEvery: time.Minute, Clock: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// do sends a request with the harness's cookies and keeps what the answer sets.
func (h *harness) do(method, target string, form url.Values, headers ...string) *httptest.ResponseRecorder {
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req := httptest.NewRequest(method, h.base+target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	for k, v := range h.cookie {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	rec := httptest.NewRecorder()
	h.c.ServeHTTP(rec, req)
	for _, ck := range rec.Result().Cookies() {
		if ck.MaxAge < 0 {
			delete(h.cookie, ck.Name)
		} else {
			h.cookie[ck.Name] = ck.Value
		}
	}
	return rec
}

// login runs /login and the callback as Keycloak would answer it.
func (h *harness) login() {
	h.t.Helper()
	if rec := h.do("GET", "/login?next=/keys", nil); rec.Code != http.StatusSeeOther {
		h.t.Fatalf("login: %d", rec.Code)
	}
	rec := h.do("GET", "/auth/callback?code=good-code&state="+url.QueryEscape(h.realm.lastAuth.State), nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/keys" || h.cookie[h.c.cookieName(sessionCookie)] == "" {
		h.t.Fatalf("callback: %d %s %v", rec.Code, rec.Header().Get("Location"), h.cookie)
	}
}

// loggedIn tells whether the root sends the browser to its keys (a session) or to the
// login (none).
func (h *harness) loggedIn() bool {
	h.t.Helper()
	rec := h.do("GET", "/", nil)
	switch loc := rec.Header().Get("Location"); {
	case loc == "/keys":
		return true
	case strings.HasPrefix(loc, "/login"):
		return false
	default:
		h.t.Fatalf("root answered %d %s", rec.Code, loc)
		return false
	}
}

func TestSession_IdleTimeout_EndsSession(t *testing.T) {
	h := newHarness(t)
	h.login()
	h.clock.now = h.clock.now.Add(29 * time.Minute)
	if !h.loggedIn() {
		t.Fatal("out before the idle timeout")
	}
	h.clock.now = h.clock.now.Add(30 * time.Minute)
	if h.loggedIn() {
		t.Fatal("still in after 30 idle minutes")
	}
	if len(h.store.rows) != 0 {
		t.Fatalf("the ended session is still stored: %d rows", len(h.store.rows))
	}
}

func TestSession_AbsoluteTimeout_EndsBusySession(t *testing.T) {
	h := newHarness(t)
	h.login()
	for i := 0; i < 31; i++ { // busy every 15 minutes for 7h45m
		h.clock.now = h.clock.now.Add(15 * time.Minute)
		if !h.loggedIn() {
			t.Fatalf("out after %v of use", time.Duration(i+1)*15*time.Minute)
		}
	}
	h.clock.now = h.clock.now.Add(15 * time.Minute)
	if h.loggedIn() {
		t.Fatal("still in 8 hours after login")
	}
}

func TestSession_RefreshRefused_EndsSession(t *testing.T) {
	h := newHarness(t)
	h.login()
	h.clock.now = h.clock.now.Add(2 * time.Minute)
	if !h.loggedIn() || h.realm.refreshes != 1 {
		t.Fatalf("refresh after the interval: %d refreshes", h.realm.refreshes)
	}
	h.realm.refuse = true // the user was disabled in Keycloak
	h.clock.now = h.clock.now.Add(2 * time.Minute)
	if h.loggedIn() {
		t.Fatal("a session Keycloak no longer refreshes is still in")
	}
}

func TestSession_TokensSealedAndBoundToTheirRow(t *testing.T) {
	h := newHarness(t)
	h.login()
	for idHash, cs := range h.store.rows {
		if bytes.Contains(cs.Tokens, []byte("access-1")) || bytes.Contains(cs.Tokens, []byte("refresh-1")) {
			t.Fatal("tokens stored in clear")
		}
		if idHash == h.cookie[sessionCookie] || strings.Contains(string(cs.Tokens), h.cookie[sessionCookie]) {
			t.Fatal("the store holds the session id itself")
		}
		if _, err := h.c.cfg.Secrets.openFor(strings.Repeat("0", 64), cs.Tokens); err == nil {
			t.Fatal("sealed tokens open under another row's id")
		}
		if _, ok := h.store.rows[hashID(h.cookie[sessionCookie])]; !ok {
			t.Fatal("no row for the cookie's id hash")
		}
	}
}

func TestLogin_RotatesSessionID(t *testing.T) {
	h := newHarness(t)
	h.login()
	first := h.cookie[sessionCookie]
	h.login()
	if h.cookie[sessionCookie] == first {
		t.Fatal("a second login kept the session id")
	}
	if _, ok := h.store.rows[hashID(first)]; ok {
		t.Fatal("the session before the login still exists")
	}
}

func TestCallback_Refused(t *testing.T) {
	cases := []struct {
		name  string
		setup func(h *harness) string // returns the callback query
	}{
		{"state of another login", func(h *harness) string { return "code=good-code&state=forged" }},
		{"no pending login cookie", func(h *harness) string {
			delete(h.cookie, loginCookie)
			return "code=good-code&state=" + url.QueryEscape(h.realm.lastAuth.State)
		}},
		{"bad code", func(h *harness) string { return "code=stolen&state=" + url.QueryEscape(h.realm.lastAuth.State) }},
		{"nonce mismatch", func(h *harness) string {
			h.realm.wrongNonce = true
			return "code=good-code&state=" + url.QueryEscape(h.realm.lastAuth.State)
		}},
		{"access token of another subject", func(h *harness) string {
			h.realm.idSubject = "u2"
			return "code=good-code&state=" + url.QueryEscape(h.realm.lastAuth.State)
		}},
		{"login took too long", func(h *harness) string {
			h.clock.now = h.clock.now.Add(11 * time.Minute)
			return "code=good-code&state=" + url.QueryEscape(h.realm.lastAuth.State)
		}},
		{"service-account token", func(h *harness) string {
			h.realm.claims.ClientCredentials = true
			return "code=good-code&state=" + url.QueryEscape(h.realm.lastAuth.State)
		}},
		{"token minted for an API key", func(h *harness) string {
			h.realm.claims.AuthParty = "keyward"
			return "code=good-code&state=" + url.QueryEscape(h.realm.lastAuth.State)
		}},
		{"token minted for a role-limited API key", func(h *harness) string {
			h.realm.claims.AuthParty = "keyward-limited"
			return "code=good-code&state=" + url.QueryEscape(h.realm.lastAuth.State)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.do("GET", "/login", nil)
			rec := h.do("GET", "/auth/callback?"+tc.setup(h), nil)
			if rec.Code < 400 || h.cookie[sessionCookie] != "" {
				t.Fatalf("callback answered %d, session cookie %q", rec.Code, h.cookie[sessionCookie])
			}
			if h.loggedIn() {
				t.Fatal("logged in")
			}
		})
	}
}

func TestCallback_Replayed_Refused(t *testing.T) {
	h := newHarness(t)
	h.do("GET", "/login", nil)
	pending := h.cookie[loginCookie]
	query := "/auth/callback?code=good-code&state=" + url.QueryEscape(h.realm.lastAuth.State)
	h.do("GET", query, nil)
	delete(h.cookie, sessionCookie)
	h.cookie[loginCookie] = pending // the attacker replays the browser's cookie and the answer
	if rec := h.do("GET", query, nil); rec.Code != http.StatusBadRequest || h.cookie[sessionCookie] != "" {
		t.Fatalf("replayed callback: %d", rec.Code)
	}
}

func TestPost_CSRFAndOrigin(t *testing.T) {
	h := newHarness(t)
	h.login()
	csrf := h.c.cfg.Secrets.csrfToken(h.cookie[sessionCookie])
	cases := []struct {
		name    string
		form    url.Values
		headers []string
		want    int
	}{
		{"no token", url.Values{}, []string{"Origin", "http://console.test"}, http.StatusForbidden},
		{"token of another session", url.Values{"csrf": {h.c.cfg.Secrets.csrfToken("other")}}, []string{"Origin", "http://console.test"}, http.StatusForbidden},
		{"foreign origin", url.Values{"csrf": {csrf}}, []string{"Origin", "http://evil.test"}, http.StatusForbidden},
		{"null origin, cross-site fetch", url.Values{"csrf": {csrf}}, []string{"Origin", "null", "Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"null origin, same-origin fetch", url.Values{"csrf": {csrf}}, []string{"Origin", "null", "Sec-Fetch-Site", "same-origin"}, http.StatusSeeOther},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if rec := h.do("POST", "/logout", tc.form, tc.headers...); rec.Code != tc.want {
				t.Fatalf("POST /logout: %d, want %d", rec.Code, tc.want)
			}
		})
	}
	if h.loggedIn() || h.realm.logouts != 1 {
		t.Fatalf("the accepted logout: still in %v, Keycloak logouts %d", h.loggedIn(), h.realm.logouts)
	}
}

func TestHeaders_EveryPage(t *testing.T) {
	h := newHarness(t)
	for _, path := range []string{"/logged-out", "/no-such-page", "/"} {
		rec := h.do("GET", path, nil)
		hd := rec.Header()
		csp := hd.Get("Content-Security-Policy")
		if strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") ||
			hd.Get("Referrer-Policy") != "no-referrer" || hd.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", path, hd)
		}
	}
	if rec := h.do("GET", "/logged-out", nil); rec.Header().Get("Cache-Control") != "no-store" || strings.Contains(rec.Body.String(), "<script>") {
		t.Errorf("page: cache %q, inline script %v", rec.Header().Get("Cache-Control"), strings.Contains(rec.Body.String(), "<script>"))
	}
}

// The return path after a login stays on the console: every way a browser could read
// another host out of a Location (tabs and newlines it drops, `\` it reads as `/`,
// leading spaces it strips, look-alike slashes, schemes), raw or percent-encoded, falls
// back to the key list.
func TestSafeNext_OnlyPathsOfThisSite(t *testing.T) {
	accepted := []string{
		"/", "/keys", "/keys/", "/keys?x=1", "/keys/abc", "/keys/abc/edit", "/keys#frag",
		"/admin/consumers/c1?tab=clients#clients", "/keys?q=a%2Fb", "/keys?q=%C3%A9", "/keys?q=a+b%20c",
	}
	refused := map[string]string{
		"empty":                           "",
		"relative":                        "keys",
		"leading space":                   " /keys",
		"leading spaces, two slashes":     "  //evil.example/x",
		"leading tab":                     "\t/keys",
		"tab":                             "/\t/evil.example/x",
		"tab, encoded":                    "/%09/evil.example/x",
		"tab in the query":                "/keys?x=\t",
		"tab in the query, encoded":       "/keys?x=%09",
		"CR, encoded":                     "/%0d/evil.example",
		"LF, encoded":                     "/%0a/evil.example",
		"CRLF, encoded upper":             "/%0D%0A/evil.example",
		"header injection":                "/keys\r\nSet-Cookie: x=1",
		"LF in the fragment":              "/keys#%0a",
		"NUL":                             "/keys\x00",
		"DEL":                             "/keys\x7f",
		"DEL, encoded":                    "/keys?x=%7f",
		"slash backslash":                 "/\\evil.example",
		"slash backslash, encoded":        "/%5cevil.example",
		"slash backslash, encoded upper":  "/%5Cevil.example",
		"backslash slash":                 "\\/evil.example",
		"two backslashes":                 "\\\\evil.example",
		"backslash in the query":          "/keys?x=\\",
		"backslash in the query, encoded": "/keys?x=%5c",
		"two slashes":                     "//evil.example",
		"three slashes":                   "///evil.example",
		"slash, encoded slash":            "/%2f/evil.example",
		"encoded slashes":                 "/%2F%2Fevil.example",
		"division slash":                  "/\u2215evil.example",
		"division slashes":                "\u2215\u2215evil.example",
		"fullwidth slashes":               "\uff0f\uff0fevil.example",
		"slash, fullwidth slash":          "/\uff0fevil.example",
		"fraction slash":                  "/\u2044evil.example",
		"division slash, encoded":         "/%E2%88%95evil.example",
		"fullwidth slashes, encoded":      "/%EF%BC%8F%EF%BC%8Fevil.example",
		"other non-ASCII":                 "/k\u00e9ys",
		"non-ASCII byte":                  "/keys?\xff",
		"https URL":                       "https://evil.example",
		"http URL":                        "http://evil.example/x",
		"scheme without slashes":          "http:evil.example",
		"scheme, one slash":               "http:/evil.example",
		"javascript":                      "javascript:alert(1)",
		"data":                            "data:text/html,<script>alert(1)</script>",
		"space after the slash":           "/ /evil.example",
		"space in the path":               "/keys /x",
		"the login":                       "/login",
		"the login, encoded letter":       "/%6cogin",
		"the login with a next":           "/login?next=//x",
		"the callback":                    "/auth/callback",
		"the callback with a code":        "/auth/callback?code=x",
		"dot segments":                    "/keys/../login",
		"dot segment":                     "/./keys",
		"trailing dot":                    "/keys/.",
		"encoded dots":                    "/%2e%2e/login",
		"two slashes inside":              "/keys//x",
		"bad escape":                      "/keys%zz",
		"cut escape":                      "/keys%",
		"cut escape in the query":         "/keys?x=%",
		"too long":                        "/" + strings.Repeat("a", 1024),
	}
	for _, in := range accepted {
		if got := safeNext(in); got != in {
			t.Errorf("safeNext(%q) = %q, want it kept", in, got)
		}
	}
	for name, in := range refused {
		if got := safeNext(in); got != "/keys" {
			t.Errorf("%s: safeNext(%q) = %q, want /keys", name, in, got)
		}
	}
}

// Through the login itself: what /login is given is where the callback sends the
// browser, or the key list when it is not a path of this site.
func TestLogin_NextOutsideTheSite_EndsOnTheKeyList(t *testing.T) {
	for next, want := range map[string]string{
		"/\t/evil.example/x": "/keys", "/%5cevil.example": "/keys", "//evil.example": "/keys",
		"/\u2215evil.example": "/keys", "https://evil.example/": "/keys", "/keys/abc?x=1": "/keys/abc?x=1",
	} {
		h := newHarness(t)
		if rec := h.do("GET", "/login?next="+url.QueryEscape(next), nil); rec.Code != http.StatusSeeOther {
			t.Fatalf("login: %d", rec.Code)
		}
		rec := h.do("GET", "/auth/callback?code=good-code&state="+url.QueryEscape(h.realm.lastAuth.State), nil)
		if loc := rec.Header().Get("Location"); rec.Code != http.StatusSeeOther || loc != want {
			t.Errorf("next %q: callback %d to %q, want %q", next, rec.Code, loc, want)
		}
	}
}

// The callback checks the stored return path again: a pending login whose sealed
// state names another host (stored before a stricter check, say) still ends on /keys.
func TestCallback_StoredNextChecksAgain(t *testing.T) {
	h := newHarness(t)
	h.do("GET", "/login?next=/keys/abc", nil)
	idHash := hashID(h.cookie[loginCookie])
	row := h.store.rows[idHash]
	plain, err := h.c.cfg.Secrets.openFor(idHash, row.LoginState)
	if err != nil {
		t.Fatal(err)
	}
	var ls loginState
	if err := json.Unmarshal(plain, &ls); err != nil || ls.Next != "/keys/abc" {
		t.Fatalf("stored next %q (%v)", ls.Next, err)
	}
	ls.Next = "/\t/evil.example/x"
	plain, _ = json.Marshal(ls)
	if row.LoginState, err = h.c.cfg.Secrets.sealFor(idHash, plain); err != nil {
		t.Fatal(err)
	}
	h.store.rows[idHash] = row
	rec := h.do("GET", "/auth/callback?code=good-code&state="+url.QueryEscape(ls.State), nil)
	if loc := rec.Header().Get("Location"); rec.Code != http.StatusSeeOther || loc != "/keys" {
		t.Fatalf("callback %d to %q, want /keys", rec.Code, loc)
	}
}

func TestSecrets_PepperTooShort_Refused(t *testing.T) {
	if _, err := SecretsFrom([]byte("short")); err == nil {
		t.Fatal("a short pepper was accepted")
	}
	a, _ := SecretsFrom(bytes.Repeat([]byte("a"), 32))
	b, _ := SecretsFrom(bytes.Repeat([]byte("b"), 32))
	sealed, err := a.sealFor("row", []byte("tok"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.openFor("row", sealed); err == nil {
		t.Fatal("another pepper opens the sealed tokens")
	}
	if a.csrfToken("s") == b.csrfToken("s") || a.csrfValid("s", a.csrfToken("t")) {
		t.Fatal("CSRF tokens do not depend on key and session")
	}
}

// On https the console's cookies carry the __Host- prefix (so Secure, Path=/, no
// Domain: browsers keep them for this host only), and only the prefixed names are
// read: a plain kw_session, as a sibling subdomain could set one, is no session, and a
// plain kw_login finishes no login. On http (development) the names are plain.
func TestCookies_HostPrefixExactlyWhenTheConsoleIsHTTPS(t *testing.T) {
	for _, tc := range []struct{ base, session, login string }{
		{"http://console.test", "kw_session", "kw_login"},
		{"https://console.test", "__Host-kw_session", "__Host-kw_login"},
	} {
		h := newHarnessAt(t, tc.base)
		https := strings.HasPrefix(tc.base, "https://")
		check := func(rec *httptest.ResponseRecorder, want string) {
			t.Helper()
			cks := rec.Result().Cookies()
			if len(cks) != 1 || cks[0].Name != want {
				t.Fatalf("%s: cookies set %v, want one named %s", tc.base, cks, want)
			}
			if ck := cks[0]; ck.Secure != https || ck.Path != "/" || ck.Domain != "" || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
				t.Errorf("%s: cookie %s: Secure %v Path %q Domain %q HttpOnly %v SameSite %v",
					tc.base, ck.Name, ck.Secure, ck.Path, ck.Domain, ck.HttpOnly, ck.SameSite)
			}
		}
		check(h.do("GET", "/login?next=/keys", nil), tc.login)
		rec := h.do("GET", "/auth/callback?code=good-code&state="+url.QueryEscape(h.realm.lastAuth.State), nil)
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("%s: callback %d", tc.base, rec.Code)
		}
		var set []string
		for _, ck := range rec.Result().Cookies() {
			set = append(set, ck.Name)
		}
		if !slices.Contains(set, tc.session) || h.cookie[tc.session] == "" || !h.loggedIn() {
			t.Fatalf("%s: after the callback cookies %v, session %v", tc.base, set, h.loggedIn())
		}
		if !https {
			continue
		}

		// The same session id under the plain name is not read.
		sid := h.cookie[tc.session]
		delete(h.cookie, tc.session)
		h.cookie["kw_session"] = sid
		if h.loggedIn() {
			t.Fatal("https: a plain kw_session cookie was taken as a session")
		}
		// Nor is a login finished with the plain name of the login cookie.
		delete(h.cookie, "kw_session")
		h.do("GET", "/login?next=/keys", nil)
		h.cookie["kw_login"] = h.cookie[tc.login]
		delete(h.cookie, tc.login)
		rec = h.do("GET", "/auth/callback?code=good-code&state="+url.QueryEscape(h.realm.lastAuth.State), nil)
		if rec.Code != http.StatusBadRequest || h.cookie[tc.session] != "" {
			t.Fatalf("https: a plain kw_login finished a login: %d", rec.Code)
		}
	}
	c, err := New(Config{URL: "https://console.example", Secrets: Secrets{}})
	if err != nil || c.cookieName(sessionCookie) != "__Host-kw_session" {
		t.Fatalf("an https console URL must prefix its cookies (%v)", err)
	}
}

// failingLimiter stands for a rate-limit backend that cannot be reached.
type failingLimiter struct{}

func (failingLimiter) Allow(context.Context, string, ratelimit.Limit) (ratelimit.Decision, error) {
	return ratelimit.Decision{}, errors.New("redis: connection refused")
}

// Every login started is a row in the store until it ends: an address that starts
// more than LoginRate a minute is answered 429 with the wait, and writes nothing more;
// another address is not held back; a limiter that fails refuses (503), writing nothing.
func TestLogin_StartsPerAddressBounded(t *testing.T) {
	h := newHarness(t)
	h.c.cfg.LoginLimiter = ratelimit.NewMemory(h.clock.Now)
	h.c.cfg.LoginRate = 3
	start := func(ip string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "http://console.test/login?next=/keys", nil)
		req = req.WithContext(reqinfo.With(req.Context(), reqinfo.Info{ClientIP: ip, RequestID: "r1"}))
		rec := httptest.NewRecorder()
		h.c.ServeHTTP(rec, req)
		return rec
	}
	for i := range 3 {
		if rec := start("192.0.2.7"); rec.Code != http.StatusSeeOther {
			t.Fatalf("login %d: %d", i+1, rec.Code)
		}
	}
	rows := len(h.store.rows)
	rec := start("192.0.2.7")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "20" ||
		!strings.Contains(rec.Body.String(), "Too many logins were started from your address. Try again in 20 seconds.") {
		t.Fatalf("fourth login in a minute: %d Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	if rec.Header().Get("Set-Cookie") != "" || len(h.store.rows) != rows {
		t.Fatalf("a refused login set a cookie or wrote a row (%d rows, were %d)", len(h.store.rows), rows)
	}
	if rec := start("198.51.100.1"); rec.Code != http.StatusSeeOther {
		t.Fatalf("another address: %d", rec.Code)
	}
	h.clock.now = h.clock.now.Add(20 * time.Second)
	if rec := start("192.0.2.7"); rec.Code != http.StatusSeeOther {
		t.Fatalf("after the wait: %d", rec.Code)
	}

	h.c.cfg.LoginLimiter = failingLimiter{}
	rows = len(h.store.rows)
	rec = start("203.0.113.9")
	if rec.Code != http.StatusServiceUnavailable || strings.Contains(rec.Body.String(), "redis") || len(h.store.rows) != rows {
		t.Fatalf("limiter down: %d, %d rows (were %d)", rec.Code, len(h.store.rows), rows)
	}
}

// The pages added for editing keys and consumers and for webhooks are behind the same
// doors as the rest: no session → the login (GET) or 401 (POST); a session without the
// CSRF token → 403; a person who is not an admin → 403 on the admin pages. None
// reaches its service (the harness has none: reaching one would panic).
func TestNewPages_RefusedWithoutSessionTokenOrRole(t *testing.T) {
	h := newHarness(t)
	gets := []string{"/keys/k1/edit", "/admin/webhooks", "/admin/webhooks/w1", "/admin/webhooks/w1/delete"}
	posts := []string{"/keys/k1/edit", "/admin/consumers/c1", "/admin/consumers/c1/keys", "/admin/consumers/c1/disable", "/admin/consumers/c1/enable", "/admin/webhooks", "/admin/webhooks/w1", "/admin/webhooks/w1/enable",
		"/admin/webhooks/w1/disable", "/admin/webhooks/w1/secret", "/admin/webhooks/w1/delete", "/admin/webhooks/w1/deliveries/d1/redeliver"}
	origin := []string{"Origin", "http://console.test"}
	for _, p := range gets {
		if rec := h.do("GET", p, nil); rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/login?next=") {
			t.Errorf("GET %s without a session: %d %s", p, rec.Code, rec.Header().Get("Location"))
		}
	}
	for _, p := range posts {
		if rec := h.do("POST", p, url.Values{"name": {"x"}}, origin...); rec.Code != http.StatusUnauthorized {
			t.Errorf("POST %s without a session: %d", p, rec.Code)
		}
	}
	h.login() // alice, no admin role
	for _, p := range posts {
		if rec := h.do("POST", p, url.Values{"name": {"x"}}, origin...); rec.Code != http.StatusForbidden {
			t.Errorf("POST %s without the CSRF token: %d", p, rec.Code)
		}
	}
	for _, p := range gets[1:] {
		if rec := h.do("GET", p, nil); rec.Code != http.StatusForbidden {
			t.Errorf("GET %s as a non-admin: %d", p, rec.Code)
		}
	}
}
