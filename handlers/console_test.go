package handlers

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"go.uber.org/zap"

	"github.com/keyward/keyward/internal/reqinfo"
)

// The console takes the paths no API route takes, outside /v1/: the API keeps its own
// routes and its problem+json 404s, and the console learns the client address and id.
func TestConsole_MountedBesideTheAPI(t *testing.T) {
	var seen reqinfo.Info
	console := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = reqinfo.From(r.Context())
		w.WriteHeader(http.StatusTeapot)
	})
	e := New(Config{Log: zap.NewNop(), JWKS: jwk.NewSet(), Database: pinger{}, Keycloak: pinger{}, Console: console})
	for _, tc := range []struct {
		method, path string
		want         int
		problem      bool
	}{
		{"GET", "/", http.StatusTeapot, false},
		{"GET", "/keys/abc", http.StatusTeapot, false},
		{"POST", "/logout", http.StatusTeapot, false},
		{"GET", "/healthz", http.StatusOK, false},
		{"GET", "/v1/no-such-route", http.StatusNotFound, true},
		{"GET", "/v1/keys", http.StatusUnauthorized, true},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(tc.method, tc.path, nil)
		e.ServeHTTP(rec, req)
		if rec.Code != tc.want || (rec.Header().Get("Content-Type") == "application/problem+json") != tc.problem {
			t.Errorf("%s %s: %d %q", tc.method, tc.path, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
	if seen.ClientIP != "192.0.2.1" || seen.RequestID == "" {
		t.Fatalf("the console was told %+v", seen)
	}
}
