package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
)

// The static server is the recipe's location / without what makes it a door, in front
// of the recipe's own upstream; the recipe itself goes in unchanged but for its ports.
func TestNginxFiles_StaticServerDerivedFromTheRecipe(t *testing.T) {
	src, err := os.ReadFile("../../deploy/gateway/nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	files, err := nginxFiles(string(src), "/tmp/x", "127.0.0.1:8085", "127.0.0.1:8086", "127.0.0.1:8082", "127.0.0.1:8088", false)
	if err != nil {
		t.Fatal(err)
	}
	keyed, static := files["keyward.conf"], files["static.conf"]
	for _, want := range []string{"listen 127.0.0.1:8085;", "server 127.0.0.1:8082;", "server 127.0.0.1:8088;", "auth_request /.keyward/forward-auth;"} {
		if !strings.Contains(keyed, want) {
			t.Errorf("the filled recipe lacks %q", want)
		}
	}
	if regexp.MustCompile(`\$\{[A-Z_]+\}`).MatchString(keyed) {
		t.Error("a placeholder is left in the recipe")
	}
	for _, want := range []string{"listen 127.0.0.1:8086;", "proxy_pass http://keyward_protected_api;", "proxy_set_header X-API-Key \"\";", "proxy_http_version 1.1;"} {
		if !strings.Contains(static, want) {
			t.Errorf("the static server lacks %q:\n%s", want, static)
		}
	}
	for _, banned := range []string{"auth_request", "$keyward_", "Authorization", "error_page", "forward-auth"} {
		if strings.Contains(static, banned) {
			t.Errorf("the static server has %q:\n%s", banned, static)
		}
	}
	if !strings.Contains(files["nginx.conf"], "include /tmp/x/static.conf;") || strings.Contains(files["nginx.conf"], "user root") {
		t.Errorf("main configuration:\n%s", files["nginx.conf"])
	}
	if _, err := staticServer("server { listen 1; }", "127.0.0.1:1"); err == nil {
		t.Error("a recipe without location / gave a static server")
	}
}

func TestUpstream_RefusesWhatTheDoorShouldHaveStripped(t *testing.T) {
	h := upstreamHandler()
	for name, hdr := range map[string][2]string{
		"token":      {"Authorization", "Bearer eyJhbGciOi.x.y"},
		"key bearer": {"Authorization", "Bearer kw_abc"},
		"basic":      {"Authorization", "Basic a3dfYWJjOg=="},
		"x-api-key":  {"X-API-Key", "kw_abc"},
		"nothing":    {"Accept", "*/*"},
	} {
		req := httptest.NewRequest(http.MethodGet, "/api/report", nil)
		req.Header.Set(hdr[0], hdr[1])
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if want := map[bool]int{true: 200, false: 401}[name == "token"]; w.Code != want {
			t.Errorf("%s: %d, want %d", name, w.Code, want)
		}
	}
}

func TestParseBenchOutput(t *testing.T) {
	out := `goos: linux
BenchmarkForwardAuth_CacheHit/nop-log-2         	  700000	      1712 ns/op	    1201 B/op	      14 allocs/op
BenchmarkForwardAuth_CacheHit/production-2      	  500000	      2412 ns/op	    1450 B/op	      17 allocs/op
BenchmarkToken_CacheHit/production-2            	  500000	      3000 ns/op	    1450 B/op	      25 allocs/op
PASS`
	rs := parseBenchOutput(out)
	if len(rs) != 2 || rs[1].name != "production" || rs[1].nsPerOp != 2412 || rs[1].allocsPerOp != 17 || rs[0].name != "nop-log" {
		t.Fatalf("%+v", rs)
	}
}
