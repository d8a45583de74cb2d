package middleware

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// serve runs one request through v.Middleware(opts...) in front of a handler that
// echoes the subject it finds in the context.
func serve(t *testing.T, v *Verifier, authorization string, opts ...Option) *httptest.ResponseRecorder {
	t.Helper()
	h := v.Middleware(opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := ClaimsFromContext(r.Context())
		if !ok {
			t.Error("handler reached without claims in the context")
			return
		}
		w.Write([]byte(c.Subject))
	}))
	req := httptest.NewRequest(http.MethodGet, "/reports", nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// problemOf checks the answer is a problem document of the status and returns it.
func problemOf(t *testing.T, rec *httptest.ResponseRecorder, status int) problem {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q", ct)
	}
	var p problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if p.Status != status || p.Title != http.StatusText(status) || p.Detail == "" {
		t.Fatalf("problem %+v", p)
	}
	return p
}

func TestMiddleware_ValidToken_HandlerSeesClaims(t *testing.T) {
	realm := newFakeRealm(t)
	v := newTestVerifier(t, Config{Issuer: realm.issuer})
	rec := serve(t, v, "Bearer "+realm.sign(t, "rsa-1", realm.claims(time.Now())),
		RequireGroup("engineering"), RequireScope("email"), RequireRealmRole("offline_access"))
	if rec.Code != http.StatusOK || rec.Body.String() != "5b1f2b8e-alice" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

func TestMiddleware_SchemeIsCaseInsensitive(t *testing.T) {
	realm := newFakeRealm(t)
	v := newTestVerifier(t, Config{Issuer: realm.issuer})
	if rec := serve(t, v, "bearer "+realm.sign(t, "rsa-1", realm.claims(time.Now()))); rec.Code != http.StatusOK {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

func TestMiddleware_NoBearerToken_401ChallengeWithoutErrorCode(t *testing.T) {
	realm := newFakeRealm(t)
	v := newTestVerifier(t, Config{Issuer: realm.issuer})
	for _, auth := range []string{"", "Basic YWxpY2U6YWxpY2U=", "ApiKey kw_live_x"} {
		rec := serve(t, v, auth)
		problemOf(t, rec, http.StatusUnauthorized)
		if got := rec.Header().Get("WWW-Authenticate"); got != `Bearer realm="test"` {
			t.Errorf("Authorization %q: WWW-Authenticate %q", auth, got)
		}
	}
}

func TestMiddleware_InvalidToken_401InvalidToken(t *testing.T) {
	realm := newFakeRealm(t)
	v := newTestVerifier(t, Config{Issuer: realm.issuer, Realm: "demo-api"})
	claims := realm.claims(time.Now())
	claims["exp"] = time.Now().Add(-time.Hour).Unix()
	cases := map[string]string{
		"expired": "Bearer " + realm.sign(t, "rsa-1", claims),
		"empty":   "Bearer ",
		"garbage": "Bearer not-a-token",
	}
	wantDesc := map[string]string{
		"expired": "the access token has expired",
		"empty":   "the bearer token is empty",
		"garbage": "the access token is not a JWT",
	}
	for name, auth := range cases {
		t.Run(name, func(t *testing.T) {
			rec := serve(t, v, auth)
			p := problemOf(t, rec, http.StatusUnauthorized)
			want := `Bearer realm="demo-api", error="invalid_token", error_description="` + wantDesc[name] + `"`
			if got := rec.Header().Get("WWW-Authenticate"); got != want || p.Detail != wantDesc[name] {
				t.Errorf("WWW-Authenticate %q, detail %q; want %q", got, p.Detail, want)
			}
		})
	}
}

func TestMiddleware_RequirementNotMet_403InsufficientScope(t *testing.T) {
	realm := newFakeRealm(t)
	v := newTestVerifier(t, Config{Issuer: realm.issuer})
	token := "Bearer " + realm.sign(t, "rsa-1", realm.claims(time.Now()))
	cases := []struct {
		name      string
		opts      []Option
		wantExtra string
		wantIn    string
	}{
		{"group", []Option{RequireGroup("finance")}, "", "ACL group finance"},
		{"realm role", []Option{RequireRealmRole("keyward-admin")}, "", "realm role keyward-admin"},
		{"scope", []Option{RequireScope("reports:write")}, `, scope="reports:write"`, "scope reports:write"},
		{"one of several", []Option{RequireGroup("engineering"), RequireGroup("finance")}, "", "ACL group finance"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(t, v, token, tc.opts...)
			p := problemOf(t, rec, http.StatusForbidden)
			want := `Bearer realm="test", error="insufficient_scope", error_description="` + p.Detail + `"` + tc.wantExtra
			if got := rec.Header().Get("WWW-Authenticate"); got != want || !strings.Contains(p.Detail, tc.wantIn) {
				t.Errorf("WWW-Authenticate %q, detail %q; want %q", got, p.Detail, want)
			}
		})
	}
}

func TestMiddleware_RealmUnreachable_503(t *testing.T) {
	realm := newFakeRealm(t)
	v := newTestVerifier(t, Config{Issuer: realm.issuer})
	token := "Bearer " + realm.sign(t, "rsa-1", realm.claims(time.Now()))
	realm.down.Store(true)
	rec := serve(t, v, token)
	problemOf(t, rec, http.StatusServiceUnavailable)
	if rec.Header().Get("Retry-After") == "" || rec.Header().Get("WWW-Authenticate") != "" {
		t.Fatalf("headers %v: want Retry-After and no challenge (the token is not at fault)", rec.Header())
	}
}

func TestContextWithClaims_RoundTrip(t *testing.T) {
	if _, ok := ClaimsFromContext(t.Context()); ok {
		t.Fatal("claims found in an empty context")
	}
	want := &Claims{Subject: "s"}
	got, ok := ClaimsFromContext(ContextWithClaims(t.Context(), want))
	if !ok || got != want {
		t.Fatalf("got %v %v", got, ok)
	}
}
