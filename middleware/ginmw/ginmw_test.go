package ginmw_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/keyward/keyward/middleware"
	"github.com/keyward/keyward/middleware/ginmw"
)

// realm serves a discovery document and a one-key JWKS, and signs tokens with that key.
func realm(t *testing.T) (issuer string, sign func(groups ...string) string) {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := jwk.FromRaw(priv)
	key.Set(jwk.KeyIDKey, "k1")
	key.Set(jwk.AlgorithmKey, jwa.RS256)
	pub, _ := key.PublicKey()
	set := jwk.NewSet()
	set.AddKey(pub)
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/realms/r/.well-known/openid-configuration":
			json.NewEncoder(w).Encode(map[string]string{"issuer": srv.URL + "/realms/r", "jwks_uri": srv.URL + "/certs"})
		case "/certs":
			json.NewEncoder(w).Encode(set)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	issuer = srv.URL + "/realms/r"
	return issuer, func(groups ...string) string {
		tok, _ := jwt.NewBuilder().Issuer(issuer).Subject("user-1").Expiration(time.Now().Add(time.Minute)).
			Claim("typ", "Bearer").Claim("acl_groups", groups).Build()
		signed, err := jwt.Sign(tok, jwt.WithKey(jwa.RS256, key))
		if err != nil {
			t.Fatal(err)
		}
		return string(signed)
	}
}

func TestAuthenticate_GinRoutes(t *testing.T) {
	gin.SetMode(gin.TestMode)
	issuer, sign := realm(t)
	v, err := middleware.NewVerifier(middleware.Config{Issuer: issuer})
	if err != nil {
		t.Fatal(err)
	}
	r := gin.New()
	reached := 0
	handler := func(c *gin.Context) {
		reached++
		claims, ok := middleware.ClaimsFromContext(c.Request.Context())
		if !ok {
			c.String(http.StatusInternalServerError, "no claims")
			return
		}
		c.String(http.StatusOK, claims.Subject)
	}
	r.GET("/me", ginmw.Authenticate(v), handler)
	r.GET("/engineering", ginmw.Authenticate(v, middleware.RequireGroup("engineering")), handler)

	cases := []struct {
		name, path, token string
		status            int
		challenge         string
	}{
		{"valid token", "/me", sign("finance"), http.StatusOK, ""},
		{"group held", "/engineering", sign("engineering"), http.StatusOK, ""},
		{"group missing", "/engineering", sign("finance"), http.StatusForbidden,
			`Bearer realm="r", error="insufficient_scope", error_description="this resource requires the ACL group engineering"`},
		{"no token", "/me", "", http.StatusUnauthorized, `Bearer realm="r"`},
		{"bad token", "/me", "x.y.z", http.StatusUnauthorized,
			`Bearer realm="r", error="invalid_token", error_description="the access token is not a JWT"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			rec := httptest.NewRecorder()
			before := reached
			r.ServeHTTP(rec, req)
			if rec.Code != tc.status || rec.Header().Get("WWW-Authenticate") != tc.challenge {
				t.Fatalf("%d %q %s; want %d %q", rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Body, tc.status, tc.challenge)
			}
			if tc.status == http.StatusOK && rec.Body.String() != "user-1" {
				t.Fatalf("handler saw subject %q", rec.Body)
			}
			if ran := reached > before; ran != (tc.status == http.StatusOK) {
				t.Fatalf("the route's handler ran: %v, for a %d answer", ran, tc.status)
			}
			if tc.status != http.StatusOK && rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("refusal is %q, not problem+json: %s", rec.Header().Get("Content-Type"), rec.Body)
			}
		})
	}
}
