package deploy

// The gateway recipes that cannot run here (Traefik and Envoy: no Debian package, no
// container image) are decoded strictly by the gateways' own types
// (deploy/tools/gatewaycheck: Envoy's protos from go-control-plane with their
// validation rules, Traefik's dynamic configuration as its file provider decodes it),
// and what keeps the key at the door is read from the decoded configuration. nginx and
// caddy run in cmd/keyward/gateway_e2e_test.go.

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/gatewaytest"
)

var (
	envoyValues = map[string]string{"LISTEN_PORT": "8080", "KEYWARD_HOST": "keyward.internal",
		"KEYWARD_PORT": "8081", "UPSTREAM_HOST": "api.internal", "UPSTREAM_PORT": "9000"}
	traefikValues = map[string]string{"KEYWARD_URL": "https://keyward.internal:8443", "UPSTREAM_URL": "http://api.internal:9000"}
)

// gatewayCheck decodes text as the gateway's configuration; it returns the decoded
// configuration, or the checker's complaint.
func gatewayCheck(t *testing.T, gateway, text string) (map[string]any, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "recipe.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool(t, "gatewaycheck"), gateway, path).Output()
	if err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Fatalf("gatewaycheck: %v", err)
		}
		return nil, string(exit.Stderr)
	}
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("gatewaycheck output: %v", err)
	}
	return doc, ""
}

// find returns every value stored under key anywhere in v.
func find(v any, key string) []any {
	var out []any
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if k == key {
				out = append(out, x)
			}
			out = append(out, find(x, key)...)
		}
	case []any:
		for _, x := range v {
			out = append(out, find(x, key)...)
		}
	}
	return out
}

// exacts returns the exact-match patterns of the string matchers under key.
func exacts(v any, key string) []string {
	var out []string
	for _, m := range find(v, key) {
		for _, e := range find(m, "exact") {
			out = append(out, e.(string))
		}
	}
	return out
}

func mustDecode(t *testing.T, gateway, text string) map[string]any {
	t.Helper()
	doc, complaint := gatewayCheck(t, gateway, text)
	if doc == nil {
		t.Fatalf("the %s recipe does not decode: %s", gateway, complaint)
	}
	return doc
}

func TestGatewayRecipe_Envoy_ExtAuthzKeepsTheKeyAtTheDoor(t *testing.T) {
	doc := mustDecode(t, "envoy", gatewaytest.Fill(t, "envoy.yaml", envoyValues))
	if got := find(doc, "path_prefix"); len(got) != 1 || got[0] != "/v1/forward-auth" {
		t.Errorf("path_prefix %v", got)
	}
	if got := exacts(doc, "allowed_upstream_headers"); !slices.Equal(got, []string{"authorization"}) {
		t.Errorf("allowed_upstream_headers %v, want authorization only", got)
	}
	if got := exacts(doc, "allowed_client_headers"); !slices.Contains(got, "www-authenticate") || !slices.Contains(got, "retry-after") {
		t.Errorf("allowed_client_headers %v, want www-authenticate and retry-after", got)
	}
	if got := exacts(doc, "allowed_headers"); !slices.Contains(got, "x-api-key") || !slices.Contains(got, "x-forwarded-for") {
		t.Errorf("headers sent to Keyward %v, want x-api-key and x-forwarded-for besides the defaults", got)
	}
	if got := find(doc, "request_headers_to_remove"); len(got) != 1 || !slices.Contains(got[0].([]any), any("x-api-key")) {
		t.Errorf("request_headers_to_remove %v, want x-api-key", got)
	}
	if got := find(doc, "use_remote_address"); len(got) != 1 || got[0] != true {
		t.Errorf("use_remote_address %v: X-Forwarded-For must end with the client's address", got)
	}
	if got := find(doc, "failure_mode_allow"); len(got) != 0 && got[0] != false {
		t.Errorf("failure_mode_allow %v: Keyward unreachable must not open the door", got)
	}
	filters := find(doc, "http_filters")
	if len(filters) != 1 || len(filters[0].([]any)) != 2 ||
		filters[0].([]any)[0].(map[string]any)["name"] != "envoy.filters.http.ext_authz" {
		t.Errorf("http_filters %v: ext_authz first, then the router", filters)
	}
}

func TestGatewayRecipe_Traefik_ForwardAuthKeepsTheKeyAtTheDoor(t *testing.T) {
	doc := mustDecode(t, "traefik", gatewaytest.Fill(t, "traefik.yml", traefikValues))
	var conf struct {
		HTTP struct {
			Routers map[string]struct {
				Middlewares []string `json:"middlewares"`
			} `json:"routers"`
			Middlewares map[string]struct {
				ForwardAuth *struct {
					Address             string   `json:"address"`
					TrustForwardHeader  bool     `json:"trustForwardHeader"`
					AuthResponseHeaders []string `json:"authResponseHeaders"`
				} `json:"forwardAuth"`
				Headers *struct {
					CustomRequestHeaders map[string]string `json:"customRequestHeaders"`
				} `json:"headers"`
			} `json:"middlewares"`
		} `json:"http"`
	}
	b, _ := json.Marshal(doc)
	if err := json.Unmarshal(b, &conf); err != nil {
		t.Fatal(err)
	}
	fa := conf.HTTP.Middlewares["keyward-forward-auth"].ForwardAuth
	if fa == nil || fa.Address != traefikValues["KEYWARD_URL"]+"/v1/forward-auth" ||
		!slices.Equal(fa.AuthResponseHeaders, []string{"Authorization"}) || fa.TrustForwardHeader {
		t.Errorf("forwardAuth %+v: Keyward's /v1/forward-auth, Authorization copied, the client's X-Forwarded-For not trusted", fa)
	}
	strip := conf.HTTP.Middlewares["keyward-strip-key"].Headers
	if v, ok := strip.CustomRequestHeaders["X-API-Key"]; strip == nil || !ok || v != "" {
		t.Errorf("keyward-strip-key %+v: X-API-Key must be removed", strip)
	}
	if got := conf.HTTP.Routers["protected-api"].Middlewares; !slices.Equal(got, []string{"keyward-forward-auth", "keyward-strip-key"}) {
		t.Errorf("router middlewares %v: forward-auth first (it reads the key), then the strip", got)
	}
}

// The checker is strict: a misspelled field or a broken rule fails, so a recipe that
// decodes is one the gateway would load.
func TestGatewayRecipes_MistakesAreCaught(t *testing.T) {
	envoy := gatewaytest.Fill(t, "envoy.yaml", envoyValues)
	traefik := gatewaytest.Fill(t, "traefik.yml", traefikValues)
	cases := []struct{ name, gateway, text, want string }{
		{"envoy, misspelled field", "envoy", strings.Replace(envoy, "allowed_upstream_headers:", "allowed_upstream_header:", 1), "allowed_upstream_header"},
		{"envoy, inside a typed_config", "envoy", strings.Replace(envoy, "path_prefix:", "path_prefx:", 1), "path_prefx"},
		{"envoy, a rule broken", "envoy", strings.Replace(envoy, "stat_prefix: protected_api", `stat_prefix: ""`, 1), "StatPrefix"},
		{"envoy, unknown typed_config", "envoy", strings.Replace(envoy, "ext_authz.v3.ExtAuthz", "ext_authz.v3.ExtAuth", 1), "ExtAuth"},
		{"traefik, misspelled field", "traefik", strings.Replace(traefik, "authResponseHeaders:", "authResponseHeader:", 1), "authResponseHeader"},
		{"traefik, unknown middleware", "traefik", strings.Replace(traefik, "forwardAuth:", "forwardAuthz:", 1), "forwardAuthz"},
	}
	for _, c := range cases {
		if c.text == envoy || c.text == traefik {
			t.Fatalf("%s: the recipe no longer has the text the case changes", c.name)
		}
		doc, complaint := gatewayCheck(t, c.gateway, c.text)
		if doc != nil || !strings.Contains(complaint, c.want) {
			t.Errorf("%s: decoded=%v, complaint %q", c.name, doc != nil, complaint)
		}
	}
}
