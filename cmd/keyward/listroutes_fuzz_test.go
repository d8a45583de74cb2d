package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/kctest"
	"github.com/keyward/keyward/internal/pgtest"
)

// The list routes and the query parameters FuzzListRoutes fills; a path's {id} takes
// the fuzzed text too.
var fuzzedLists = []struct {
	path, accept string
	params       []string
}{
	{"/v1/keys", "", []string{"owner", "q", "cursor", "status", "environment", "expires", "sort", "order", "limit"}},
	{"/v1/audit", "", []string{"owner", "key", "target_type", "target_id", "since", "until", "cursor", "limit"}},
	{"/v1/audit", "application/x-ndjson", []string{"owner", "key", "target_type", "target_id", "since", "until"}},
	{"/v1/consumers", "", []string{"q", "environment", "sort", "cursor", "limit"}},
	{"/v1/clients", "", []string{"consumer", "environment", "enabled", "q", "sort", "cursor", "limit"}},
	{"/v1/webhooks", "", []string{"cursor", "limit"}},
	{"/v1/webhooks/{id}/deliveries", "", []string{"cursor", "limit"}},
}

// FuzzListRoutes sends arbitrary text as the owner, search and paging parameters of
// every list route, as an admin and as a user, to a Keyward on the real Keycloak with
// each store. Whatever the text, the answer is never 5xx (Keycloak refusing an owner
// as malformed was one), and a refusal is problem+json.
func FuzzListRoutes(f *testing.F) {
	values := []string{
		"alice", "alice\x00", "a\x00b", "\xff\xfe", "00000000-0000-0000-0000-00000000000\x00",
		"00000000-0000-0000-0000-000000000000", "%", "%00", "*", "alice\n", "\u202e", "' OR 1=1 --", `\`, "../x",
		" ", "", strings.Repeat("a", 300), strings.Repeat("é", 5000), "a\tb", "ü", "2026-01-01T00:00:00Z", "-1",
	}
	for r, route := range fuzzedLists {
		for p := range route.params {
			for _, v := range values {
				f.Add(uint8(r), uint8(p), v)
			}
		}
	}
	kc := kctest.Require(f)
	backends := map[string]string{"postgres": startApp(f, kc, pgtest.DSN(f)).url, "sqlite": startApp(f, kc, "").url}
	callers := map[string]string{"admin": kc.Login(f, "carol"), "user": kc.Login(f, "alice")}
	f.Fuzz(func(t *testing.T, r, p uint8, value string) {
		route := fuzzedLists[int(r)%len(fuzzedLists)]
		param := route.params[int(p)%len(route.params)]
		path := strings.ReplaceAll(route.path, "{id}", url.PathEscape(value))
		target := path + "?" + url.Values{param: {value}}.Encode()
		for backend, base := range backends {
			for caller, token := range callers {
				req, err := http.NewRequest("GET", base+target, nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer "+token)
				if route.accept != "" {
					req.Header.Set("Accept", route.accept)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatalf("%s %s as %s: %v", backend, target, caller, err)
				}
				resp.Body.Close()
				if resp.StatusCode >= 500 {
					t.Fatalf("%s: GET %s as %s: %d", backend, target, caller, resp.StatusCode)
				}
				if ct := resp.Header.Get("Content-Type"); resp.StatusCode >= 400 && !strings.HasPrefix(ct, "application/problem+json") {
					t.Fatalf("%s: GET %s as %s: %d with %q", backend, target, caller, resp.StatusCode, ct)
				}
			}
		}
	})
}

// An owner Keycloak refuses as malformed, or text that cannot name a user, is the
// caller's mistake: 400 naming owner, for the list and for a create on behalf.
func TestKeys_MalformedOwner_400NamesOwner(t *testing.T) {
	kc := kctest.Require(t)
	app := startApp(t, kc, "")
	carol := kc.Login(t, "carol")
	for _, owner := range []string{"alice\x00", "00000000-0000-0000-0000-00000000000\x00", "ali\nce", strings.Repeat("a", 256)} {
		list := call(t, "GET", app.url+"/v1/keys?"+url.Values{"owner": {owner}}.Encode(), nil, "Authorization", "Bearer "+carol)
		create := jsonPost(t, app.url+"/v1/keys", carol, `{"name":"x","owner":`+strconvQuote(owner)+`}`)
		for what, got := range map[string]reply{"list": list, "create": create} {
			if got.status != http.StatusBadRequest || !strings.Contains(got.raw, `"field":"owner"`) {
				t.Errorf("%s with owner %q: %d %s", what, owner, got.status, got.raw)
			}
		}
	}
	if got := call(t, "GET", app.url+"/v1/keys?owner=nobody-such", nil, "Authorization", "Bearer "+carol); got.status != http.StatusOK {
		t.Fatalf("an unknown owner lists nothing: %d %s", got.status, got.raw)
	}
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
