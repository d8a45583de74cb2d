package gateway

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/keyward/keyward/exchange"
)

func newKey(t *testing.T) string {
	t.Helper()
	k, err := exchange.GenerateKey(exchange.EnvTest)
	if err != nil {
		t.Fatal(err)
	}
	return k.String()
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// jwt is shaped like a Keycloak access token: three base64url parts, no kw_ prefix.
const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"

func TestKeyFrom(t *testing.T) {
	key, other := newKey(t), newKey(t)
	tests := []struct {
		name    string
		headers [][2]string // in the order sent
		want    string      // "" = no key
	}{
		{"X-API-Key", [][2]string{{"X-API-Key", key}}, key},
		{"X-API-Key lower-case name", [][2]string{{"x-api-key", key}}, key},
		{"X-API-Key padded", [][2]string{{"X-API-Key", "  " + key + " "}}, key},
		{"X-API-Key empty", [][2]string{{"X-API-Key", ""}}, ""},
		{"ApiKey scheme", [][2]string{{"Authorization", "ApiKey " + key}}, key},
		{"apikey scheme lower case", [][2]string{{"Authorization", "apikey " + key}}, key},
		{"APIKEY scheme upper case", [][2]string{{"Authorization", "APIKEY " + key}}, key},
		{"ApiKey without a credential", [][2]string{{"Authorization", "ApiKey "}}, ""},
		{"Bearer key", [][2]string{{"Authorization", "Bearer " + key}}, key},
		{"bearer key lower case", [][2]string{{"Authorization", "bearer " + key}}, key},
		{"Bearer JWT is not a key", [][2]string{{"Authorization", "Bearer " + jwt}}, ""},
		{"Bearer opaque token is not a key", [][2]string{{"Authorization", "Bearer abc.def"}}, ""},
		{"Basic key as password, any user", [][2]string{{"Authorization", basic("analyst@example.com", key)}}, key},
		{"Basic key as password, empty user", [][2]string{{"Authorization", basic("", key)}}, key},
		{"Basic key as user, empty password", [][2]string{{"Authorization", basic(key, "")}}, key},
		{"Basic key as user, no colon", [][2]string{{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(key))}}, key},
		{"basic scheme lower case", [][2]string{{"Authorization", "basic " + base64.StdEncoding.EncodeToString([]byte(":"+key))}}, key},
		{"Basic both empty", [][2]string{{"Authorization", basic("", "")}}, ""},
		{"Basic malformed base64", [][2]string{{"Authorization", "Basic !!not-base64!!"}}, ""},
		{"Basic unpadded base64", [][2]string{{"Authorization", "Basic " + base64.RawStdEncoding.EncodeToString([]byte("u:"+key+"x"))}}, ""},
		{"Basic without a credential", [][2]string{{"Authorization", "Basic"}}, ""},
		{"unknown scheme", [][2]string{{"Authorization", "Token " + key}}, ""},
		{"scheme alone is a key-shaped word", [][2]string{{"Authorization", key}}, ""},
		{"no header", nil, ""},
		{"X-API-Key before Authorization: ApiKey", [][2]string{{"Authorization", "ApiKey " + other}, {"X-API-Key", key}}, key},
		{"X-API-Key before Basic", [][2]string{{"Authorization", basic("u", other)}, {"X-API-Key", key}}, key},
		{"X-API-Key with a Bearer JWT beside it", [][2]string{{"Authorization", "Bearer " + jwt}, {"X-API-Key", key}}, key},
		{"empty X-API-Key falls to Authorization", [][2]string{{"X-API-Key", ""}, {"Authorization", "ApiKey " + key}}, key},
		{"first X-API-Key of two", [][2]string{{"X-API-Key", key}, {"X-API-Key", other}}, key},
		{"first Authorization of two", [][2]string{{"Authorization", "Bearer " + jwt}, {"Authorization", "ApiKey " + other}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, kv := range tt.headers {
				h.Add(kv[0], kv[1])
			}
			got, ok := KeyFrom(h)
			if got != tt.want || ok != (tt.want != "") {
				t.Fatalf("KeyFrom = (%q, %v), want (%q, %v)", redact(got), ok, redact(tt.want), tt.want != "")
			}
		})
	}
}

// A key in the query string is never read: KeyFrom takes headers only, so even a
// request whose URL carries the key in every usual parameter name yields none.
func TestKeyFrom_QueryStringNotRead(t *testing.T) {
	key := newKey(t)
	q := url.Values{"api_key": {key}, "apikey": {key}, "key": {key}, "access_token": {key}, "X-API-Key": {key}}
	r := httptest.NewRequest(http.MethodGet, "/v1/forward-auth/data.csv?"+q.Encode(), nil)
	if got, ok := KeyFrom(r.Header); ok {
		t.Fatalf("a key was read from a request whose only key is in the query: %q", redact(got))
	}
}

func TestStripKey_RemovesEveryForm(t *testing.T) {
	key := newKey(t)
	forms := map[string][2]string{
		"X-API-Key":       {"X-API-Key", key},
		"ApiKey":          {"Authorization", "ApiKey " + key},
		"Bearer key":      {"Authorization", "Bearer " + key},
		"Bearer JWT":      {"Authorization", "Bearer " + jwt},
		"Basic password":  {"Authorization", basic("u", key)},
		"Basic user":      {"Authorization", basic(key, "")},
		"unknown scheme":  {"Authorization", "Token " + key},
		"no scheme":       {"Authorization", key},
		"malformed Basic": {"Authorization", "Basic ???"},
	}
	for name, kv := range forms {
		t.Run(name, func(t *testing.T) {
			h := http.Header{}
			h.Add(kv[0], kv[1])
			h.Add(kv[0], kv[1])            // repeated
			h["x-api-key"] = []string{key} // a name net/http would not have built
			h["authorization"] = []string{"ApiKey " + key}
			h.Set("Accept", "text/csv")
			StripKey(h)
			for n, vs := range h {
				for _, v := range vs {
					if n != "Accept" {
						t.Fatalf("header %s survived StripKey", n)
					}
					if v != "text/csv" {
						t.Fatalf("StripKey changed another header")
					}
				}
			}
			if _, ok := KeyFrom(h); ok {
				t.Fatal("a key can still be read after StripKey")
			}
		})
	}
}

func redact(s string) string {
	if len(s) > 12 {
		return s[:12] + "…"
	}
	return s
}
