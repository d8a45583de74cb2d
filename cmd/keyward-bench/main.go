// Command keyward-bench measures Keyward's exchange against Keycloak's own token
// endpoint, side by side, on a running dev stack, and prints one markdown table.
// scripts/bench.sh (`make bench`) starts what of the stack is missing and Keywards of
// its own on the stack's store, runs it, and stops what it started.
//
// Rows, each at the same fixed concurrency, each after a warm-up that is not counted:
//
//	cc      Keycloak client-credentials grant of the client `keyward-management`, direct
//	jwt     Keycloak JWT Authorization Grant, direct: the assertion Keyward would sign
//	        (the key its store signs with now, read from the KEYWARD_* settings as a
//	        replica reads it; same issuer, audience, subject; fresh jti), posted as
//	        Keyward posts it
//	off     Keyward POST /v1/token with the token cache off
//	on      Keyward POST /v1/token with the token cache on (a second Keyward, all hits)
//	rr      the same over three cache-on replicas, the generator sending round robin
//	bare    a bare net/http handler in this process answering a token-sized JSON: the
//	        physical limit of this path on this machine (one loopback HTTP exchange)
//	static  nginx → upstream with a fixed valid bearer, no auth_request: the door's limit
//	nginx   nginx running deploy/gateway/nginx.conf, forward-auth to the cache-on
//	        Keyward → upstream, with the key
//	proxy   `keyward proxy` → upstream, with the key (forward-auth to the cache-on Keyward)
//
// Every row is given as a ratio to the client-credentials row and to the bare row, the
// keyed door rows to the static one too. The upstream is `keyward-bench upstream`, and
// `keyward-bench nginx-conf` writes nginx's configuration (gateway.go).
// Then, one request at a time, the jwt and off rows alternate request by request: at
// 16 in flight a saturated machine turns any CPU Keyward takes from Keycloak into
// queueing, and this shows the latency Keyward itself adds. With -watch it reports the
// CPU each process used per row, and from Keyward's /metrics its own time per exchange
// and the cache hits.
//
// It sets itself up: alice logs in (keyward-cli password grant), creates an API key
// whose rate limit cannot bind (which also links her to Keyward's identity provider),
// and the key is deleted at the end. It talks to loopback addresses only, and refuses a
// plan longer than three minutes.
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/keyward/keyward/exchange"
)

// maxWall bounds the whole run, set-up and warm-ups included.
const maxWall = 4 * time.Minute

// setupBudget is kept free of the plan for logging in, creating the key and the final
// clean-up.
const setupBudget = 20 * time.Second

type config struct {
	keycloakURL, realm      string
	keywardURL, cachedURL   string
	replicaURLs             string
	publicURL               string
	clientID, clientSecret  string
	ccClient, ccSecret      string
	cliClient, user, passwd string
	rows                    string
	concurrency             int
	initialWarmup, warmup   time.Duration
	duration, timeout       time.Duration
	maxRequests             int64
	probeWarmup, probe      time.Duration
	watch                   string
	keycloakVersion         string
	out                     string
	// The door rows: the nginx servers and the sidecar, their timing, and the output of
	// the in-process forward-auth benchmark.
	staticURL, nginxURL, proxyURL string
	doorWarmup, doorDuration      time.Duration
	inProcess                     string
}

func main() {
	subcommands := map[string]func([]string) error{
		"upstream": serveUpstream, "nginx-conf": writeNginxConf, // gateway.go
		"scale-load": scaleLoad, "scale-run": scaleRun, "scale-sql": scaleSQL, // make bench-scale
	}
	if len(os.Args) > 1 && subcommands[os.Args[1]] != nil {
		run := subcommands[os.Args[1]]
		if err := run(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "keyward-bench "+os.Args[1]+":", err)
			os.Exit(1)
		}
		return
	}
	var c config
	flag.StringVar(&c.keycloakURL, "keycloak", "http://127.0.0.1:8180", "Keycloak base URL (loopback only)")
	flag.StringVar(&c.realm, "realm", "keyward", "realm")
	flag.StringVar(&c.keywardURL, "keyward", "http://127.0.0.1:8080", "Keyward with the token cache off (loopback only)")
	flag.StringVar(&c.cachedURL, "keyward-cached", "http://127.0.0.1:8081", "Keyward with KEYWARD_TOKEN_CACHE=true (loopback only)")
	flag.StringVar(&c.replicaURLs, "keyward-replicas", "", "comma-separated cache-on Keywards on one store, for the rr row (loopback only)")
	flag.StringVar(&c.publicURL, "public-url", "", "Keyward's KEYWARD_PUBLIC_URL, the assertions' issuer, where Keycloak fetches the signing keys (default: -keyward)")
	flag.StringVar(&c.clientID, "client-id", "keyward", "Keyward's confidential client")
	flag.StringVar(&c.clientSecret, "client-secret", "keyward-dev-secret", "its secret (the dev realm's)")
	flag.StringVar(&c.ccClient, "cc-client", "keyward-management", "a confidential client with a service account, for the client-credentials row (the exchange client has none)")
	flag.StringVar(&c.ccSecret, "cc-secret", "keyward-management-dev-secret", "its secret (the dev realm's)")
	flag.StringVar(&c.cliClient, "cli-client", "keyward-cli", "public client for alice's password login")
	flag.StringVar(&c.user, "user", "alice", "dev user who owns the bench key")
	flag.StringVar(&c.passwd, "password", "alice", "her password")
	flag.StringVar(&c.rows, "rows", "bare,cc,jwt,off,on,rr,static,nginx,proxy", "rows to run, in order: bare, cc, jwt, off, on, rr, static, nginx, proxy")
	flag.IntVar(&c.concurrency, "concurrency", 16, "requests in flight, the same for every row")
	flag.DurationVar(&c.initialWarmup, "initial-warmup", 30*time.Second, "warm-up of Keycloak's JIT before the first row, over every grant, not counted")
	flag.DurationVar(&c.warmup, "warmup", 5*time.Second, "warm-up of each row, not counted")
	flag.DurationVar(&c.duration, "duration", 15*time.Second, "measured time per row")
	flag.DurationVar(&c.timeout, "timeout", 10*time.Second, "timeout of one request")
	flag.DurationVar(&c.probeWarmup, "probe-warmup", 2*time.Second, "warm-up of the concurrency-1 probe")
	flag.DurationVar(&c.probe, "probe", 16*time.Second, "measured time of the concurrency-1 probe, direct JWT grant and cache off alternating, which shows the latency Keyward adds; 0: none")
	flag.StringVar(&c.watch, "watch", "", "processes whose CPU use to report per row, name=pid,… (children included), e.g. keycloak=123,keyward=456")
	flag.Int64Var(&c.maxRequests, "max-requests", 2_000_000, "measured requests per row at most (bounds memory for samples)")
	flag.StringVar(&c.keycloakVersion, "keycloak-version", "", "Keycloak version, for the report")
	flag.StringVar(&c.out, "out", "", "also write the report to this file")
	flag.StringVar(&c.staticURL, "nginx-static", "", "the static row's nginx server, no auth_request (keyward-bench nginx-conf; loopback only)")
	flag.StringVar(&c.nginxURL, "nginx", "", "the nginx row's server, deploy/gateway/nginx.conf (loopback only)")
	flag.StringVar(&c.proxyURL, "proxy", "", "the proxy row's `keyward proxy` (loopback only)")
	flag.DurationVar(&c.doorWarmup, "door-warmup", 3*time.Second, "warm-up of each door row (static, nginx, proxy), not counted")
	flag.DurationVar(&c.doorDuration, "door-duration", 10*time.Second, "measured time per door row")
	flag.StringVar(&c.inProcess, "in-process", "", "output of `go test -bench BenchmarkForwardAuth_CacheHit -benchmem ./handlers/`, for the report")
	flag.Parse()
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "keyward-bench:", err)
		os.Exit(1)
	}
}

func run(c config) error {
	if c.publicURL == "" {
		c.publicURL = c.keywardURL
	}
	rows, err := parseRows(c.rows)
	if err != nil {
		return err
	}
	if err := c.check(rows); err != nil {
		return err
	}
	if err := c.loopbackOnly(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, maxWall)
	defer cancel()

	watched, err := parseWatch(c.watch)
	if err != nil {
		return err
	}
	b, err := newBench(ctx, c)
	if err != nil {
		return err
	}
	defer b.cleanup()
	b.watched = watched

	targets, err := b.targets(ctx, rows)
	if err != nil {
		return err
	}
	b.warmKeycloak(ctx, rows, targets)
	var results, probes []result
	for _, r := range rows {
		warmup, duration := c.warmup, c.duration
		if isDoor(r) {
			warmup, duration = c.doorWarmup, c.doorDuration
		}
		res, err := b.row(ctx, targets[r], r, c.concurrency, warmup, duration)
		if err != nil {
			return err
		}
		results = append(results, res)
	}
	// At the same concurrency a saturated machine turns any CPU Keyward takes from
	// Keycloak into queueing for every request; one request at a time shows the latency
	// Keyward itself adds. The two alternate, request by request, so that both meet the
	// same Keycloak (JIT, caches, background work).
	if c.probe > 0 && targets["jwt"] != nil && targets["off"] != nil {
		if probes, err = b.probe(ctx, targets["jwt"], targets["off"], targets["bare"]); err != nil {
			return err
		}
	}
	report := b.report(results, probes)
	fmt.Print(report)
	if c.out != "" {
		if err := os.WriteFile(c.out, []byte(report), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// loopbackOnly refuses any URL the bench would load that is not on this machine.
func (c config) loopbackOnly() error {
	for _, u := range append([]string{c.keycloakURL, c.keywardURL, c.cachedURL}, c.replicas()...) {
		if err := loopbackOnly(u); err != nil {
			return err
		}
	}
	for _, u := range []string{c.staticURL, c.nginxURL, c.proxyURL} {
		if u == "" {
			continue // refused by its row's target if the row runs
		}
		if err := loopbackOnly(u); err != nil {
			return err
		}
	}
	return nil
}

// warmKeycloak loads the rows that reach Keycloak for the initial warm-up, unreported.
func (b *bench) warmKeycloak(ctx context.Context, rows []string, targets map[string]*target) {
	if b.c.initialWarmup <= 0 {
		return
	}
	var kc []*target
	for _, r := range rows {
		if !slices.Contains([]string{"on", "rr", "bare", "static", "nginx", "proxy"}, r) { // these rows do not reach Keycloak
			kc = append(kc, targets[r])
		}
	}
	fmt.Fprintf(os.Stderr, "warming up Keycloak for %v (%d grants, concurrency %d)\n", b.c.initialWarmup, len(kc), b.c.concurrency)
	b.load(ctx, kc, b.c.concurrency, 0, b.c.initialWarmup)
}

// targets builds each row's target and sends it one request first, so that a
// misconfiguration fails here with Keycloak's or Keyward's answer rather than as a row
// of errors.
func (b *bench) targets(ctx context.Context, rows []string) (map[string]*target, error) {
	targets := map[string]*target{}
	for _, r := range rows {
		t, err := b.target(ctx, r)
		if err != nil {
			return nil, err
		}
		if err := t.do(ctx, b.client); err != nil {
			return nil, fmt.Errorf("%s: first request: %w", t.name, err)
		}
		targets[r] = t
	}
	return targets, nil
}

// probe runs the direct JWT grant and Keyward cache off one request at a time,
// alternating, and the bare handler between them when it is a row: one loopback HTTP
// exchange, the hop Keyward adds in front of Keycloak.
func (b *bench) probe(ctx context.Context, jwt, off, bare *target) ([]result, error) {
	fmt.Fprintf(os.Stderr, "%-40s concurrency  1, warm-up %v, measuring %v ...", "JWT direct and cache off, alternating", b.c.probeWarmup, b.c.probe)
	targets, keys := []*target{jwt, off}, []string{"jwt", "off"}
	if bare != nil {
		targets, keys = append(targets, bare), append(keys, "bare")
	}
	probes := b.load(ctx, targets, 1, b.c.probeWarmup, b.c.probe)
	if ctx.Err() != nil {
		return nil, fmt.Errorf("stopped: %w", context.Cause(ctx))
	}
	for i := range probes {
		probes[i].key, probes[i].concurrency = keys[i], 1
	}
	fmt.Fprintf(os.Stderr, " %.0f + %.0f req/s\n", probes[0].rate(), probes[1].rate())
	return probes, nil
}

// replicas lists -keyward-replicas.
func (c config) replicas() []string {
	var out []string
	for _, u := range strings.Split(c.replicaURLs, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, strings.TrimRight(u, "/"))
		}
	}
	return out
}

// isDoor tells the rows of a gateway in front of an API, timed by -door-*.
func isDoor(row string) bool { return row == "static" || row == "nginx" || row == "proxy" }

func parseRows(s string) ([]string, error) {
	var rows []string
	for _, r := range strings.Split(s, ",") {
		r = strings.TrimSpace(r)
		switch r {
		case "cc", "jwt", "off", "on", "rr", "bare", "static", "nginx", "proxy":
			if slices.Contains(rows, r) {
				return nil, fmt.Errorf("row %q twice", r)
			}
			rows = append(rows, r)
		default:
			return nil, fmt.Errorf("unknown row %q (want bare, cc, jwt, off, on, rr, static, nginx, proxy)", r)
		}
	}
	return rows, nil
}

// check refuses plans that cannot finish within maxWall, or make no sense.
func (c config) check(rows []string) error {
	switch {
	case c.concurrency < 1 || c.concurrency > 1024:
		return errors.New("-concurrency must be 1..1024")
	case c.duration <= 0 || c.doorDuration <= 0 || c.warmup < 0 || c.doorWarmup < 0 || c.initialWarmup < 0 || c.probe < 0 || c.probeWarmup < 0:
		return errors.New("-duration and -door-duration must be positive, -probe and warm-ups not negative")
	case c.maxRequests < 1 || c.maxRequests > 20_000_000:
		return errors.New("-max-requests must be 1..20,000,000")
	}
	plan := c.initialWarmup + c.probeWarmup + c.probe
	for _, r := range rows {
		if isDoor(r) {
			plan += c.doorWarmup + c.doorDuration
		} else {
			plan += c.warmup + c.duration
		}
	}
	if plan+setupBudget > maxWall {
		return fmt.Errorf("the plan takes %v, more than the %v bound less %v of set-up: shorten -duration or the warm-ups",
			plan, maxWall, setupBudget)
	}
	return nil
}

// loopbackOnly refuses a URL whose host is not a loopback address: a load generator
// must not be pointed at someone else's server by mistake.
func loopbackOnly(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("refusing %s: only loopback targets (127.0.0.1, ::1, localhost) are allowed", raw)
}

// loopbackDialer enforces loopbackOnly on every connection too (redirects, names).
func loopbackDialer() func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if ip, ok := conn.RemoteAddr().(*net.TCPAddr); !ok || !ip.IP.IsLoopback() {
			conn.Close()
			return nil, fmt.Errorf("refusing a connection to %s: not loopback", conn.RemoteAddr())
		}
		return conn, nil
	}
}

type bench struct {
	c       config
	client  *http.Client
	issuer  string // the realm's issuer: the assertions' audience
	subject string // alice's user id
	apiKey  string
	keyID   string
	token   string // alice's access token, to delete the key at the end
	signer  *exchange.Signer
	// stopSigner ends the signer's store reading
	stopSigner func()
	watched    []watched
	bareURL    string // the bare handler, once started
	bearer     string // the static row's fixed valid bearer, once fetched
}

// row measures one target at the given concurrency, with Keyward's cache counters and
// the watched processes' CPU around it.
func (b *bench) row(ctx context.Context, t *target, key string, concurrency int, warmup, measure time.Duration) (result, error) {
	fmt.Fprintf(os.Stderr, "%-40s concurrency %2d, warm-up %v, measuring %v ...", t.name, concurrency, warmup, measure)
	res := b.load(ctx, []*target{t}, concurrency, warmup, measure)[0]
	if ctx.Err() != nil {
		return res, fmt.Errorf("stopped: %w", context.Cause(ctx))
	}
	fmt.Fprintf(os.Stderr, " %.0f req/s\n", res.rate())
	res.key, res.concurrency = key, concurrency
	return res, nil
}

func newBench(ctx context.Context, c config) (*bench, error) {
	tr := &http.Transport{
		DialContext:         loopbackDialer(),
		MaxIdleConns:        4 * c.concurrency,
		MaxIdleConnsPerHost: c.concurrency,
		MaxConnsPerHost:     c.concurrency,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	b := &bench{
		c: c,
		client: &http.Client{Transport: tr, Timeout: c.timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		issuer: strings.TrimRight(c.keycloakURL, "/") + "/realms/" + url.PathEscape(c.realm),
	}
	if err := b.login(ctx); err != nil {
		return nil, err
	}
	if err := b.createKey(ctx); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *bench) tokenEndpoint() string { return b.issuer + "/protocol/openid-connect/token" }

// login runs alice's password grant and reads her user id from the token's sub.
func (b *bench) login(ctx context.Context) error {
	body, err := b.postForm(ctx, b.tokenEndpoint(), url.Values{
		"grant_type": {"password"}, "client_id": {b.c.cliClient},
		"username": {b.c.user}, "password": {b.c.passwd}, "scope": {"openid"},
	}, nil)
	if err != nil {
		return fmt.Errorf("log %s in at %s: %w", b.c.user, b.c.cliClient, err)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		return fmt.Errorf("log %s in: no access token in the answer", b.c.user)
	}
	parts := strings.Split(tr.AccessToken, ".")
	if len(parts) != 3 {
		return errors.New("login: the access token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return fmt.Errorf("login: token payload: %w", err)
	}
	var claims struct {
		Sub string `json:"sub"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil || claims.Sub == "" {
		return errors.New("login: the access token has no sub")
	}
	b.token, b.subject = tr.AccessToken, claims.Sub
	return nil
}

// createKey creates alice's bench key through Keyward, which also links her to the
// identity provider that the JWT Authorization Grant needs.
func (b *bench) createKey(ctx context.Context) error {
	reqBody, _ := json.Marshal(map[string]any{
		"name":            "keyward-bench " + time.Now().UTC().Format("20060102T150405.000"),
		"description":     "load test key (cmd/keyward-bench), deleted at the end of the run",
		"expires_in_days": 1,
		// A limit that cannot bind, so that it does not bound the numbers.
		"rate_limit": map[string]int{"requests": 1_000_000, "window_seconds": 1},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(b.c.keywardURL, "/")+"/v1/keys", bytes.NewReader(reqBody))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+b.token)
	req.Header.Set("Content-Type", "application/json")
	body, err := b.send(req, http.StatusCreated)
	if err != nil {
		return fmt.Errorf("create the bench key: %w", err)
	}
	var created struct {
		ID  string `json:"id"`
		Key string `json:"key"`
	}
	if err := json.Unmarshal(body, &created); err != nil || created.Key == "" {
		return errors.New("create the bench key: no key in the answer")
	}
	b.apiKey, b.keyID = created.Key, created.ID
	return nil
}

// cleanup deletes the bench key (best effort: the dev stack is thrown away anyway).
func (b *bench) cleanup() {
	if b.stopSigner != nil {
		b.stopSigner()
	}
	if b.keyID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, strings.TrimRight(b.c.keywardURL, "/")+"/v1/keys/"+url.PathEscape(b.keyID), nil)
	if err != nil {
		return
	}
	req.Header.Set("Authorization", "Bearer "+b.token)
	if _, err := b.send(req, http.StatusNoContent); err != nil {
		fmt.Fprintln(os.Stderr, "keyward-bench: could not delete the bench key:", err)
	}
}

func (b *bench) postForm(ctx context.Context, endpoint string, form url.Values, hdr http.Header) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header[k] = v
	}
	return b.send(req, http.StatusOK)
}

// send does one request and returns its body when the status is want.
func (b *bench) send(req *http.Request, want int) ([]byte, error) {
	return send(b.client, req, want)
}

// send does one request and returns its body (at most 16 MiB: a page of keys at scale)
// when the status is want. Error texts carry the status and the error's code, title
// and description only: never a token or a key.
func send(client *http.Client, req *http.Request, want int) ([]byte, error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		var e struct {
			Error  string `json:"error"`
			Desc   string `json:"error_description"`
			Title  string `json:"title"`
			Detail string `json:"detail"`
		}
		_ = json.Unmarshal(body, &e)
		msg := e.Error + e.Title
		if d := e.Desc + e.Detail; d != "" {
			msg += ": " + d
		}
		return nil, fmt.Errorf("%s %s: HTTP %d %s", req.Method, req.URL.Path, resp.StatusCode, msg)
	}
	return body, nil
}

// target is one row: how to make one request of it.
type target struct {
	name    string
	metrics string // Keyward's /metrics, to count cache hits; "" for Keycloak rows
	// metricsAll: the replicas' /metrics (the rr row), summed
	metricsAll []string
	do         func(ctx context.Context, c *http.Client) error
}

func metricsURLs(bases []string) []string {
	out := make([]string, len(bases))
	for i, u := range bases {
		out[i] = u + "/metrics"
	}
	return out
}

// startBare serves, on a loopback port of this process, what a token endpoint answers
// at best: a fixed token-sized JSON body for any POST, with no work behind it.
func startBare() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	body := []byte(`{"access_token":"` + strings.Repeat("x", 1400) +
		`","token_type":"Bearer","expires_in":300,"issued_token_type":"urn:ietf:params:oauth:token-type:access_token","scope":"openid profile email"}`)
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(body)
	})}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// readBody reads a response to the end (at most 1 MiB), so that its connection is
// reused, into a pooled buffer that release gives back; it closes the body.
func readBody(resp *http.Response) (*bytes.Buffer, func(), error) {
	defer resp.Body.Close()
	buf := bodyPool.Get().(*bytes.Buffer)
	buf.Reset()
	_, err := buf.ReadFrom(io.LimitReader(resp.Body, 1<<20))
	return buf, func() { bodyPool.Put(buf) }, err
}

// tokenRequest sends one token request and checks that an access token came back. The
// body is read to the end so that the connection is reused.
func tokenRequest(ctx context.Context, c *http.Client, endpoint string, body string, hdr [][2]string) error {
	var rd io.Reader = http.NoBody
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, rd)
	if err != nil {
		return err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "application/json")
	for _, h := range hdr {
		req.Header.Set(h[0], h[1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	buf, release, err := readBody(resp)
	defer release()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(buf.Bytes(), []byte(`"access_token":"`)) {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(buf.Bytes(), &e)
		return fmt.Errorf("HTTP %d %s", resp.StatusCode, e.Error)
	}
	return nil
}

func (b *bench) target(ctx context.Context, row string) (*target, error) {
	kcToken := b.tokenEndpoint()
	switch row {
	case "cc":
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {b.c.ccClient},
			"client_secret": {b.c.ccSecret}}.Encode()
		return &target{name: "Keycloak client-credentials grant, direct", do: func(ctx context.Context, c *http.Client) error {
			return tokenRequest(ctx, c, kcToken, form, nil)
		}}, nil
	case "jwt":
		if b.signer == nil {
			// Keyward's own code and its store's key: the assertion is the one Keyward
			// would send, signed with a key Keycloak trusts.
			s, stop, err := storeSigner(ctx, os.Getenv, b.c.publicURL, b.issuer)
			if err != nil {
				return nil, fmt.Errorf("the jwt row: %w", err)
			}
			b.signer, b.stopSigner = s, stop
			if err := checkPublished(ctx, b.client, b.c.publicURL, s, b.subject); err != nil {
				return nil, fmt.Errorf("the jwt row: %w", err)
			}
		}
		s, sub := b.signer, b.subject
		return &target{name: "Keycloak JWT Authorization Grant, direct", do: func(ctx context.Context, c *http.Client) error {
			// Signed per request, fresh jti each time (Keycloak refuses reuse), and timed
			// with the request: Keyward pays the same on every cache miss.
			assertion, err := s.Assertion(sub)
			if err != nil {
				return err
			}
			// As keycloak.Client.JWTBearerGrant posts it; "openid" is what Keyward asks
			// for a key without scopes.
			form := url.Values{
				"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {assertion},
				"client_id": {b.c.clientID}, "client_secret": {b.c.clientSecret}, "scope": {"openid"},
			}.Encode()
			return tokenRequest(ctx, c, kcToken, form, nil)
		}}, nil
	case "bare":
		if b.bareURL == "" {
			u, err := startBare()
			if err != nil {
				return nil, err
			}
			b.bareURL = u
		}
		endpoint := b.bareURL + "/v1/token"
		hdr := [][2]string{{"X-API-Key", b.apiKey}}
		return &target{name: "bare net/http handler (this process)", do: func(ctx context.Context, c *http.Client) error {
			return tokenRequest(ctx, c, endpoint, "", hdr)
		}}, nil
	case "static", "nginx", "proxy":
		return b.doorTarget(ctx, row)
	case "rr":
		urls := b.c.replicas()
		if len(urls) == 0 {
			return nil, errors.New("the rr row needs -keyward-replicas")
		}
		var next atomic.Uint64
		hdr := [][2]string{{"X-API-Key", b.apiKey}}
		return &target{name: fmt.Sprintf("Keyward cache on, %d replicas round robin", len(urls)), metricsAll: metricsURLs(urls),
			do: func(ctx context.Context, c *http.Client) error {
				return tokenRequest(ctx, c, urls[next.Add(1)%uint64(len(urls))]+"/v1/token", "", hdr)
			}}, nil
	case "off", "on":
		base, name := strings.TrimRight(b.c.keywardURL, "/"), "Keyward /v1/token, cache off"
		if row == "on" {
			base, name = strings.TrimRight(b.c.cachedURL, "/"), "Keyward /v1/token, cache on (hits)"
		}
		hdr := [][2]string{{"X-API-Key", b.apiKey}}
		return &target{name: name, metrics: base + "/metrics", do: func(ctx context.Context, c *http.Client) error {
			return tokenRequest(ctx, c, base+"/v1/token", "", hdr)
		}}, nil
	}
	return nil, fmt.Errorf("unknown row %q", row)
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64)
}

// report renders the table, the CPU each process used, the concurrency-1 probe and
// the targets, as markdown.
func (b *bench) report(results, probes []result) string {
	byKey := map[string]result{}
	for _, r := range results {
		byKey[r.key] = r
	}
	var sb strings.Builder
	b.reportRows(&sb, results, byKey)
	b.reportNotes(&sb, results, probes)
	b.reportCPU(&sb, results, probes)
	probeJWT, probeOff := reportProbes(&sb, probes)
	b.reportTargets(&sb, byKey, probeJWT, probeOff)
	return sb.String()
}

// reportRows is the heading and the main table, each row with its ratio.
func (b *bench) reportRows(sb *strings.Builder, results []result, byKey map[string]result) {
	fmt.Fprintf(sb, "\nKeyward exchange vs Keycloak token endpoint, and at the door — %s; %d cores (GOMAXPROCS %d) shared by Keycloak, Keyward and this generator; Keycloak %s; %s\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), runtime.GOMAXPROCS(0), orUnknown(b.c.keycloakVersion), runtime.Version())
	fmt.Fprintf(sb, "Concurrency %d for every row; %v measured per row after a %v warm-up (the door rows: %v after %v; and %v of Keycloak warm-up before the first row); loopback only.\n\n",
		b.c.concurrency, b.c.duration, b.c.warmup, b.c.doorDuration, b.c.doorWarmup, b.c.initialWarmup)
	sb.WriteString("| row | req/s | p50 ms | p99 ms | × client-credentials | % of bare handler | ratio | requests | errors |\n")
	sb.WriteString("|---|---:|---:|---:|---:|---:|---|---:|---:|\n")
	for _, r := range results {
		ratio := ""
		switch r.key {
		case "off":
			if j, ok := byKey["jwt"]; ok && j.rate() > 0 {
				ratio = fmt.Sprintf("%.2f× JWT direct req/s, p50 %+.2f ms", r.rate()/j.rate(), float64(r.percentile(.5)-j.percentile(.5))/1e6)
			}
		case "nginx", "proxy":
			if share, added, ok := doorRatio(r, byKey["static"]); ok {
				ratio = fmt.Sprintf("%.0f %% of static req/s (target ≥ 50 %%), p50 %+.2f ms (target ≤ +0.50)", 100*share, float64(added)/1e6)
			}
		}
		xcc, pbare := "", ""
		if cc, ok := byKey["cc"]; ok && cc.rate() > 0 {
			xcc = fmt.Sprintf("%.1f×", r.rate()/cc.rate())
		}
		if bare, ok := byKey["bare"]; ok && bare.rate() > 0 {
			pbare = fmt.Sprintf("%.0f %%", 100*r.rate()/bare.rate())
		}
		fmt.Fprintf(sb, "| %s | %.0f | %s | %s | %s | %s | %s | %d | %d |\n",
			r.name, r.rate(), ms(r.percentile(.5)), ms(r.percentile(.99)), xcc, pbare, ratio, len(r.samples), r.errors)
	}
	sb.WriteString("\n")
}

// reportNotes lists errors, Keyward's own time and the cache-hit share per row.
func (b *bench) reportNotes(sb *strings.Builder, results, probes []result) {
	for _, r := range append(slices.Clone(results), probes...) {
		if r.errors > 0 {
			fmt.Fprintf(sb, "- %s (concurrency %d): %d errors, last: %s\n", r.name, r.concurrency, r.errors, r.lastError)
		}
		if own, ok := r.metrics.ownSeconds(); ok {
			fmt.Fprintf(sb, "- %s (concurrency %d): Keyward's own time per exchange, outside its Keycloak call: %.3f ms mean (its /metrics)\n",
				r.name, r.concurrency, own*1e3)
		}
		if r.key == "on" && r.concurrency == b.c.concurrency {
			if total := r.metrics.cacheHit + r.metrics.cacheMiss; total > 0 {
				fmt.Fprintf(sb, "- cache-on row: %.0f of %.0f token-cache look-ups were hits (Keyward's /metrics)\n", r.metrics.cacheHit, total)
			} else {
				sb.WriteString("- cache-on row: Keyward's /metrics showed no cache look-up: is KEYWARD_TOKEN_CACHE=true on -keyward-cached?\n")
			}
		}
	}
}

// reportCPU is the table of cores busy per process during each measured row.
func (b *bench) reportCPU(sb *strings.Builder, results, probes []result) {
	if len(b.watched) == 0 {
		return
	}
	sb.WriteString("\nCPU during each measured row, in cores busy (of " + strconv.Itoa(runtime.NumCPU()) + "):\n\n| row |")
	for _, w := range b.watched {
		sb.WriteString(" " + w.name + " |")
	}
	sb.WriteString(" generator | total |\n|---|")
	sb.WriteString(strings.Repeat("---:|", len(b.watched)+2) + "\n")
	rows := slices.Clone(results)
	if len(probes) > 0 { // one window for both
		p := probes[0]
		p.name = "JWT direct and cache off, alternating"
		rows = append(rows, p)
	}
	for _, r := range rows {
		if len(r.cpu) == 0 {
			continue
		}
		fmt.Fprintf(sb, "| %s (c=%d) |", r.name, r.concurrency)
		total := 0.0
		for _, v := range r.cpu {
			fmt.Fprintf(sb, " %.2f |", v)
			total += v
		}
		fmt.Fprintf(sb, " %.2f |\n", total)
	}
}

// reportProbes is the concurrency-1 table; it returns its two rows.
func reportProbes(sb *strings.Builder, probes []result) (probeJWT, probeOff *result) {
	if len(probes) == 0 {
		return nil, nil
	}
	sb.WriteString("\nOne request at a time (concurrency 1), the direct JWT grant and Keyward cache off alternating, request by request: the latency Keyward adds without queueing (req/s: each one's share):\n\n")
	sb.WriteString("| row | req/s | p50 ms | p99 ms | requests | errors |\n|---|---:|---:|---:|---:|---:|\n")
	for i := range probes {
		r := &probes[i]
		fmt.Fprintf(sb, "| %s | %.0f | %s | %s | %d | %d |\n", r.name, r.rate(), ms(r.percentile(.5)), ms(r.percentile(.99)), len(r.samples), r.errors)
		switch r.key {
		case "jwt":
			probeJWT = r
		case "off":
			probeOff = r
		}
	}
	return probeJWT, probeOff
}

// reportTargets says how each target fared (reported, not asserted).
func (b *bench) reportTargets(sb *strings.Builder, byKey map[string]result, probeJWT, probeOff *result) {
	sb.WriteString("\nTargets (reported, not asserted):\n")
	if off, ok := byKey["off"]; ok {
		if j, ok := byKey["jwt"]; ok {
			d := off.percentile(.5) - j.percentile(.5)
			fmt.Fprintf(sb, "- cache-off overhead ≤ 1 ms p50 over the direct JWT grant, at concurrency %d: %+.2f ms — %s\n",
				b.c.concurrency, float64(d)/1e6, verdict(d <= time.Millisecond))
		}
	}
	if probeJWT != nil && probeOff != nil {
		d := probeOff.percentile(.5) - probeJWT.percentile(.5)
		fmt.Fprintf(sb, "- the same at concurrency 1: %+.2f ms — %s\n", float64(d)/1e6, verdict(d <= time.Millisecond))
	}
	if on, ok := byKey["on"]; ok {
		if cc, ok := byKey["cc"]; ok && cc.rate() > 0 {
			x := on.rate() / cc.rate()
			fmt.Fprintf(sb, "- cache-hit throughput ≥ 30× client-credentials: %.1f× — %s\n", x, verdict(x >= 30))
		}
		if bare, ok := byKey["bare"]; ok && bare.rate() > 0 {
			x := on.rate() / bare.rate()
			fmt.Fprintf(sb, "- cache-hit throughput ≥ 50 %% of the bare handler: %.0f %% — %s\n", 100*x, verdict(x >= .5))
		}
	}
	sb.WriteString("- ≤ 30 allocations per cache-hit request: `go test -run '^$' -bench BenchmarkToken_CacheHit -benchmem ./handlers/`\n")
	b.reportDoorTargets(sb, byKey)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}

func orUnknown(s string) string {
	if s == "" {
		return "(version not given)"
	}
	return s
}
