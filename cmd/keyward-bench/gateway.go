package main

// The door rows: nginx running deploy/gateway/nginx.conf (keyed), a bench-only nginx
// server derived from it without auth_request (static, the limit), and `keyward proxy`,
// each in front of the cheap upstream of `keyward-bench upstream`.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/keyward/keyward/internal/recipe"
)

// upstreamBody is what the API behind the door answers: small, so that the gateway is
// what is measured.
var upstreamBody = []byte(`{"report":"ok"}` + "\n")

// upstreamHandler answers 200 when the door did its work — a Bearer token that is not a
// Keyward key, no X-API-Key — and 401 naming the problem otherwise, so that a door that
// leaks the key or drops the token shows as errors in its row.
func upstreamHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		switch {
		case len(r.Header.Values("X-API-Key")) > 0 && r.Header.Get("X-API-Key") != "":
			http.Error(w, "upstream: X-API-Key reached the API", http.StatusUnauthorized)
		case !strings.HasPrefix(auth, "Bearer ") || strings.HasPrefix(auth, "Bearer kw_"):
			http.Error(w, "upstream: no Bearer token (or a key) in Authorization", http.StatusUnauthorized)
		default:
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(upstreamBody)
		}
	})
}

// serveUpstream is `keyward-bench upstream -listen ADDR`: the upstream until SIGTERM.
func serveUpstream(args []string) error {
	fs := flag.NewFlagSet("upstream", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8088", "loopback address to serve on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := loopbackOnly("http://" + *listen); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: upstreamHandler(), ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { <-ctx.Done(); _ = srv.Close() }()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// writeNginxConf is `keyward-bench nginx-conf`: it writes into -dir the main
// configuration (every path in -dir, nothing of the machine's nginx read or written),
// the recipe with its placeholders filled, and the static server derived from it.
func writeNginxConf(args []string) error {
	fs := flag.NewFlagSet("nginx-conf", flag.ContinueOnError)
	dir := fs.String("dir", "", "the nginx prefix to write into (a fresh temporary directory)")
	recipePath := fs.String("recipe", "deploy/gateway/nginx.conf", "the nginx recipe")
	listen := fs.String("listen", "127.0.0.1:8085", "the recipe's server: with forward-auth")
	staticListen := fs.String("static-listen", "127.0.0.1:8086", "the derived server: no auth_request")
	keyward := fs.String("keyward", "127.0.0.1:8082", "Keyward for forward-auth, host:port")
	upstream := fs.String("upstream", "127.0.0.1:8088", "the upstream, host:port")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("nginx-conf: -dir is required")
	}
	for _, a := range []string{*listen, *staticListen, *keyward, *upstream} {
		if err := loopbackOnly("http://" + a); err != nil {
			return err
		}
	}
	src, err := os.ReadFile(*recipePath)
	if err != nil {
		return err
	}
	files, err := nginxFiles(string(src), *dir, *listen, *staticListen, *keyward, *upstream, os.Geteuid() == 0)
	if err != nil {
		return fmt.Errorf("%s: %w", *recipePath, err)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(*dir, name), []byte(body), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// nginxFiles builds the bench's nginx configuration: one worker, no access log (for
// both servers alike), the recipe as it is, and the static server.
func nginxFiles(src, dir, listen, staticListen, keyward, upstream string, root bool) (map[string]string, error) {
	filled, err := recipe.Fill(src, map[string]string{"LISTEN": listen, "KEYWARD_ADDR": keyward, "UPSTREAM_ADDR": upstream})
	if err != nil {
		return nil, err
	}
	static, err := staticServer(filled, staticListen)
	if err != nil {
		return nil, err
	}
	user := ""
	if root { // workers would run as nobody, who cannot write the temp dirs
		user = "user root;"
	}
	main := fmt.Sprintf(`%s
daemon off;
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %[2]s/client_body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    include %[2]s/keyward.conf;
    include %[2]s/static.conf;
}
`, user, dir)
	return map[string]string{"nginx.conf": main, "keyward.conf": filled, "static.conf": static}, nil
}

var (
	locationRoot = regexp.MustCompile(`(?m)^[ \t]*location / \{[ \t]*$`)
	// The lines of the recipe's location / that make it a door.
	doorLine = regexp.MustCompile(`^\s*(auth_request\b|auth_request_set\b|error_page\b|proxy_set_header\s+Authorization\b|#)`)
)

// staticServer derives the static limit from the filled recipe: a server on listen
// whose location / is the recipe's without auth_request, its error page and the
// Authorization it sets — the caller's Authorization then goes upstream as it came — and
// with everything else (the proxy settings, the keepalive upstream) the recipe's.
func staticServer(filled, listen string) (string, error) {
	loc := locationRoot.FindStringIndex(filled)
	if loc == nil {
		return "", errors.New("no `location / {` in the recipe")
	}
	depth, end := 0, -1
	for i := loc[0]; i < len(filled) && end < 0; i++ {
		switch filled[i] {
		case '{':
			depth++
		case '}':
			if depth--; depth == 0 {
				end = i + 1
			}
		}
	}
	if end < 0 {
		return "", errors.New("the recipe's `location /` is not closed")
	}
	var kept []string
	for _, line := range strings.Split(filled[loc[0]:end], "\n") {
		if strings.TrimSpace(line) != "" && !doorLine.MatchString(line) {
			kept = append(kept, line)
		}
	}
	block := strings.Join(kept, "\n")
	if !strings.Contains(block, "proxy_pass ") || strings.Contains(block, "auth_request") || strings.Contains(block, "$keyward_") {
		return "", errors.New("the static server could not be derived from the recipe's `location /`")
	}
	return "# Bench only: the recipe's location / minus the door, the static limit (cmd/keyward-bench).\nserver {\n    listen " +
		listen + ";\n\n" + block + "\n}\n", nil
}

// apiRequest sends one GET through a door and checks the upstream's answer; the body is
// read to the end so that the connection is reused.
func apiRequest(ctx context.Context, c *http.Client, endpoint string, hdr [2]string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return err
	}
	req.Header.Set(hdr[0], hdr[1])
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	buf, release, err := readBody(resp)
	defer release()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Equal(buf.Bytes(), upstreamBody) {
		// The upstream's own 401 says what was wrong; Keyward's problem titles carry no key.
		msg := strings.TrimSpace(string(buf.Bytes()[:min(buf.Len(), 120)]))
		return fmt.Errorf("HTTP %d %s", resp.StatusCode, msg)
	}
	return nil
}

// doorTarget is a door row: a GET of the API through nginx or the sidecar.
func (b *bench) doorTarget(ctx context.Context, row string) (*target, error) {
	cached := strings.TrimRight(b.c.cachedURL, "/")
	base, flagName, name := b.c.nginxURL, "-nginx", "nginx + forward-auth → upstream, key"
	hdr := [2]string{"X-API-Key", b.apiKey}
	switch row {
	case "static":
		base, flagName, name = b.c.staticURL, "-nginx-static", "nginx → upstream, fixed bearer (static limit)"
		if b.bearer == "" {
			token, err := b.exchangeKey(ctx, cached)
			if err != nil {
				return nil, fmt.Errorf("the static row's bearer: %w", err)
			}
			b.bearer = token
		}
		hdr = [2]string{"Authorization", "Bearer " + b.bearer}
	case "proxy":
		base, flagName, name = b.c.proxyURL, "-proxy", "`keyward proxy` → upstream, key"
	}
	if base == "" {
		return nil, fmt.Errorf("the %s row needs %s", row, flagName)
	}
	endpoint := strings.TrimRight(base, "/") + "/api/report"
	t := &target{name: name, do: func(ctx context.Context, c *http.Client) error {
		return apiRequest(ctx, c, endpoint, hdr)
	}}
	if row != "static" {
		t.metrics = cached + "/metrics" // forward-auth's cache hits and own time
	}
	return t, nil
}

// exchangeKey trades the bench key for a Keycloak access token at a Keyward.
func (b *bench) exchangeKey(ctx context.Context, base string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/token", http.NoBody)
	if err != nil {
		return "", err
	}
	req.Header.Set("X-API-Key", b.apiKey)
	body, err := b.send(req, http.StatusOK)
	if err != nil {
		return "", err
	}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		return "", errors.New("no access token in Keyward's answer")
	}
	return tr.AccessToken, nil
}

// doorRatio is a keyed door row against the static limit: its share of the static
// row's req/s and the p50 it adds.
func doorRatio(r, static result) (share float64, added time.Duration, ok bool) {
	if static.rate() <= 0 || len(static.samples) == 0 {
		return 0, 0, false
	}
	return r.rate() / static.rate(), r.percentile(.5) - static.percentile(.5), true
}

// inProcessResult is one line of `go test -bench -benchmem` output.
type inProcessResult struct {
	name           string
	nsPerOp        float64
	allocsPerOp    float64
	bytesPerOp     float64
	hasAllocs, has bool
}

// parseBenchOutput reads the BenchmarkForwardAuth_CacheHit lines of `go test -bench`
// output (name-GOMAXPROCS, iterations, then value/unit pairs).
func parseBenchOutput(out string) []inProcessResult {
	var rs []inProcessResult
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "BenchmarkForwardAuth_CacheHit") {
			continue
		}
		r := inProcessResult{name: strings.TrimPrefix(f[0], "BenchmarkForwardAuth_CacheHit/")}
		if i := strings.LastIndexByte(r.name, '-'); i > 0 {
			r.name = r.name[:i]
		}
		for i := 2; i+1 < len(f); i += 2 {
			var v float64
			if _, err := fmt.Sscan(f[i], &v); err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				r.nsPerOp, r.has = v, true
			case "B/op":
				r.bytesPerOp = v
			case "allocs/op":
				r.allocsPerOp, r.hasAllocs = v, true
			}
		}
		if r.has {
			rs = append(rs, r)
		}
	}
	return rs
}

const inProcessCommand = "go test -run '^$' -bench BenchmarkForwardAuth_CacheHit -benchmem ./handlers/"

// reportDoorTargets says how the door fared: the keyed rows against the static limit,
// and the in-process forward-auth cache hit.
func (b *bench) reportDoorTargets(sb *strings.Builder, byKey map[string]result) {
	if static, ok := byKey["static"]; ok {
		for _, k := range []string{"nginx", "proxy"} {
			r, ok := byKey[k]
			if !ok {
				continue
			}
			if share, added, ok := doorRatio(r, static); ok {
				fmt.Fprintf(sb, "- %s: ≥ 50 %% of the static limit's req/s: %.0f %% — %s; ≤ 0.5 ms added p50: %+.2f ms — %s\n",
					r.name, 100*share, verdict(share >= .5), float64(added)/1e6, verdict(added <= 500*time.Microsecond))
			}
		}
	}
	var results []inProcessResult
	if b.c.inProcess != "" {
		if out, err := os.ReadFile(b.c.inProcess); err == nil {
			results = parseBenchOutput(string(out))
		}
	}
	if len(results) == 0 {
		fmt.Fprintf(sb, "- in process, a forward-auth cache hit ≤ 5 µs and ≤ 20 allocations: `%s`\n", inProcessCommand)
		return
	}
	for _, r := range results {
		fmt.Fprintf(sb, "- in process (%s logger), a forward-auth cache hit ≤ 5 µs and ≤ 20 allocations: %.2f µs, %.0f allocations (%.0f B) — %s\n",
			r.name, r.nsPerOp/1e3, r.allocsPerOp, r.bytesPerOp, verdict(r.nsPerOp <= 5000 && r.hasAllocs && r.allocsPerOp <= 20))
	}
}
