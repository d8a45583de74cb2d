package main

// `keyward-bench scale-run`: the measured part of `make bench-scale` on a store that
// scale-load filled and a Keyward started on it (scripts/bench-scale.sh): exchanges of
// a Zipf choice of the active keys through /v1/token and /v1/forward-auth while an
// admin writes keys at a fixed rate, then the list and audit queries, a usage flush,
// the query plans, and one markdown table.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

type scaleConfig struct {
	dsn, keywardURL, keycloakURL, realm, cliClient string
	keysFile, out, explainOut                      string
	concurrency, writesPerSecond, reps             int
	warmup, duration                               time.Duration
	zipfS                                          float64
	startup                                        time.Duration
	pid                                            int
	flushKeys                                      int
}

func scaleRun(args []string) error {
	fs := flag.NewFlagSet("scale-run", flag.ContinueOnError)
	var c scaleConfig
	fs.StringVar(&c.dsn, "dsn", "", "the store scale-load filled")
	fs.StringVar(&c.keywardURL, "keyward", "", "the Keyward on it (loopback only)")
	fs.StringVar(&c.keycloakURL, "keycloak", "", "Keycloak base URL (loopback only)")
	fs.StringVar(&c.realm, "realm", "keyward", "realm")
	fs.StringVar(&c.cliClient, "cli-client", "keyward-cli", "public client for the dev users' password logins")
	fs.StringVar(&c.keysFile, "keys-file", "", "the active keys' texts (scale-load -keys-out)")
	fs.StringVar(&c.out, "out", "", "also write the report there")
	fs.StringVar(&c.explainOut, "explain-out", "", "write the plans of the slow queries there")
	fs.IntVar(&c.concurrency, "concurrency", 16, "exchanges in flight")
	fs.IntVar(&c.writesPerSecond, "writes", 20, "key writes per second through the API (create, update, delete in turn)")
	fs.IntVar(&c.reps, "reps", 40, "requests of each list and audit query")
	fs.DurationVar(&c.warmup, "warmup", 20*time.Second, "exchanges before the measured window, not counted")
	fs.DurationVar(&c.duration, "duration", 60*time.Second, "measured exchange window")
	fs.Float64Var(&c.zipfS, "zipf-s", 1.1, "the Zipf exponent of the key choice (> 1)")
	fs.DurationVar(&c.startup, "startup", 0, "the Keyward's start-up time (process start → /readyz 200), for the report")
	fs.IntVar(&c.pid, "pid", 0, "the Keyward's process id: its RSS goes in the report")
	fs.IntVar(&c.flushKeys, "flush-keys", 1000, "keys in the timed usage flush")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.dsn == "" || c.keywardURL == "" || c.keycloakURL == "" || c.keysFile == "" {
		return errors.New("-dsn, -keyward, -keycloak and -keys-file are required")
	}
	if c.zipfS <= 1 || c.concurrency < 1 || c.writesPerSecond < 0 || c.duration <= 0 || c.reps < 1 {
		return errors.New("-zipf-s > 1, -concurrency and -reps ≥ 1, -duration > 0")
	}
	for _, u := range []string{c.keywardURL, c.keycloakURL} {
		if err := loopbackOnly(u); err != nil {
			return err
		}
	}
	if c.warmup+c.duration > 5*time.Minute {
		return errors.New("-warmup + -duration must stay within 5 minutes (the admin's token lifetime, the 10-minute budget)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Minute)
	defer cancel()
	return (&scaleBench{c: c}).run(ctx)
}

type scaleBench struct {
	c      scaleConfig
	client *http.Client
	conn   *pgx.Conn
	keys   []string
	users  map[string]scaleUser // alice, bob (active owners) and carol (the admin)
	r      scaleResult
}

type scaleUser struct{ token, sub string }

// scaleResult is what the report shows.
type scaleResult struct {
	rows                      map[string]int64
	exchanges, errors         int64
	lastError                 string
	samples                   []time.Duration
	tokenHit, tokenMiss       float64
	keyStateHit, keyStateMiss float64 // from /metrics when Keyward has the counters
	storeReads                int64
	writes, writeErrors       int64
	lastWriteError            string
	writeSamples              []time.Duration
	queries                   []queryResult
	flush                     []time.Duration
	rssKiB                    int64
	elapsed                   time.Duration
}

type queryResult struct {
	name    string
	samples []time.Duration
	errors  int
	lastErr string
	rows    int
}

func (b *scaleBench) run(ctx context.Context) error {
	b.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: loopbackDialer(),
		MaxIdleConnsPerHost: b.c.concurrency + 4, DisableCompression: true}}
	var err error
	if b.keys, err = readLines(b.c.keysFile); err != nil {
		return err
	}
	if b.conn, err = pgx.Connect(ctx, b.c.dsn); err != nil {
		return err
	}
	defer b.conn.Close(ctx)
	if err := b.logIn(ctx); err != nil {
		return err
	}
	if err := b.mapOwners(ctx); err != nil {
		return err
	}
	if err := b.exchangeLoad(ctx); err != nil {
		return err
	}
	// A fresh admin token: the load may have outlived half of the first one's life.
	if err := b.logIn(ctx); err != nil {
		return err
	}
	if err := b.queries(ctx); err != nil {
		return err
	}
	if b.r.flush, err = flushTimes(ctx, b.c.dsn, firstKeyIDs(min(b.c.flushKeys, len(b.keys))), 5); err != nil {
		return fmt.Errorf("usage flush: %w", err)
	}
	if b.r.rows, err = tableRows(ctx, b.conn); err != nil {
		return err
	}
	b.r.rssKiB = rssKiB(b.c.pid)
	if b.c.explainOut != "" {
		plans, err := slowQueries(ctx, b.conn, b.users["alice"].sub)
		if err != nil {
			return err
		}
		text, err := explain(ctx, b.conn, plans)
		if err != nil {
			return err
		}
		if err := os.WriteFile(b.c.explainOut, []byte(text), 0o644); err != nil {
			return err
		}
	}
	report := b.report()
	fmt.Print(report)
	if b.c.out != "" {
		return os.WriteFile(b.c.out, []byte(report), 0o644)
	}
	return nil
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" {
			out = append(out, t)
		}
	}
	if len(out) == 0 && sc.Err() == nil {
		return nil, fmt.Errorf("%s: no keys", path)
	}
	return out, sc.Err()
}

// logIn runs the dev users' password grants (their passwords are their names).
func (b *scaleBench) logIn(ctx context.Context) error {
	b.users = map[string]scaleUser{}
	endpoint := strings.TrimRight(b.c.keycloakURL, "/") + "/realms/" + url.PathEscape(b.c.realm) + "/protocol/openid-connect/token"
	for _, name := range append(slices.Clone(activeOwners), "carol") {
		body, err := b.do(ctx, http.MethodPost, endpoint, "", url.Values{"grant_type": {"password"}, "client_id": {b.c.cliClient},
			"username": {name}, "password": {name}, "scope": {"openid"}}.Encode(), http.StatusOK)
		if err != nil {
			return fmt.Errorf("log %s in: %w", name, err)
		}
		var tr struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal(body, &tr); err != nil || strings.Count(tr.AccessToken, ".") != 2 {
			return fmt.Errorf("log %s in: no access token", name)
		}
		payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(tr.AccessToken, ".")[1])
		var claims struct {
			Sub string `json:"sub"`
		}
		if err := json.Unmarshal(payload, &claims); err != nil || claims.Sub == "" {
			return fmt.Errorf("log %s in: no sub", name)
		}
		b.users[name] = scaleUser{token: tr.AccessToken, sub: claims.Sub}
	}
	return nil
}

// mapOwners gives the active keys and their audit rows to the dev users, and links each
// user to Keyward's identity provider (creating a key through the API does; it is
// deleted again) so that Keycloak grants their exchanges.
func (b *scaleBench) mapOwners(ctx context.Context) error {
	for _, name := range activeOwners {
		// Before the keys are hers: the live-key ceiling would refuse the link.
		u := b.users[name]
		id, err := b.createKey(ctx, u.token, "scale link "+strconv.FormatInt(time.Now().UnixNano(), 36))
		if err != nil {
			return fmt.Errorf("link %s: %w", name, err)
		}
		if _, err := b.do(ctx, http.MethodDelete, b.c.keywardURL+"/v1/keys/"+id, u.token, "", http.StatusNoContent); err != nil {
			return err
		}
		for _, stmt := range []string{
			"UPDATE api_keys SET owner_id = $1 WHERE owner_id = $2",
			"UPDATE audit_events SET owner_id = $1, actor_id = $1 WHERE owner_id = $2",
		} {
			if _, err := b.conn.Exec(ctx, stmt, u.sub, activeOwnerPlaceholder(name)); err != nil {
				return err
			}
		}
	}
	_, err := b.conn.Exec(ctx, "ANALYZE api_keys, audit_events")
	return err
}

func (b *scaleBench) createKey(ctx context.Context, token, name string) (string, error) {
	body, _ := json.Marshal(map[string]any{"name": name, "expires_in_days": 1})
	resp, err := b.do(ctx, http.MethodPost, b.c.keywardURL+"/v1/keys", token, string(body), http.StatusCreated)
	if err != nil {
		return "", err
	}
	var k struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(resp, &k); err != nil || k.ID == "" {
		return "", errors.New("create a key: no id in the answer")
	}
	return k.ID, nil
}

// do sends one request; a body starting with "{" is JSON, another a form.
func (b *scaleBench) do(ctx context.Context, method, u, token, body string, want int) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	if body != "" {
		ct := "application/x-www-form-urlencoded"
		if strings.HasPrefix(body, "{") {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return send(b.client, req, want)
}

// exchangeLoad runs the exchanges and the key writes together, counting only the
// measured window.
func (b *scaleBench) exchangeLoad(ctx context.Context) error {
	fmt.Fprintf(os.Stderr, "bench-scale: exchanges of %d active keys (Zipf s=%.2f), concurrency %d, %v warm-up + %v measured, %d key writes/s\n",
		len(b.keys), b.c.zipfS, b.c.concurrency, b.c.warmup, b.c.duration, b.c.writesPerSecond)
	start := time.Now()
	measureFrom, stopAt := start.Add(b.c.warmup), start.Add(b.c.warmup+b.c.duration)
	lctx, cancel := context.WithDeadline(ctx, stopAt.Add(30*time.Second))
	defer cancel()
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		from     scaleSnapshot
		fromErr  error
		snapOnce sync.Once
	)
	snap := func() { from, fromErr = b.snapshot(ctx) }
	timer := time.AfterFunc(b.c.warmup, func() { snapOnce.Do(snap) })
	defer timer.Stop()
	for w := range b.c.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			zipf := rand.NewZipf(rng, b.c.zipfS, 1, uint64(len(b.keys)-1))
			var mine []time.Duration
			var errs int64
			var lastErr string
			for i := 0; ; i++ {
				t0 := time.Now()
				if !t0.Before(stopAt) || lctx.Err() != nil {
					break
				}
				err := b.exchange(lctx, b.keys[zipf.Uint64()], i%2 == 0)
				if t0.Before(measureFrom) {
					continue
				}
				if err != nil {
					errs++
					lastErr = err.Error()
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			b.r.samples = append(b.r.samples, mine...)
			b.r.errors += errs
			if lastErr != "" {
				b.r.lastError = lastErr
			}
			mu.Unlock()
		}()
	}
	wg.Add(1)
	go func() { defer wg.Done(); b.writeKeys(lctx, measureFrom, stopAt) }()
	wg.Wait()
	snapOnce.Do(snap)
	if fromErr != nil {
		return fromErr
	}
	to, err := b.snapshot(ctx)
	if err != nil {
		return err
	}
	b.r.elapsed = time.Since(measureFrom)
	slices.Sort(b.r.samples)
	b.r.exchanges = int64(len(b.r.samples))
	b.r.tokenHit, b.r.tokenMiss = to.m.cacheHit-from.m.cacheHit, to.m.cacheMiss-from.m.cacheMiss
	b.r.keyStateHit, b.r.keyStateMiss = to.keyStateHit-from.keyStateHit, to.keyStateMiss-from.keyStateMiss
	b.r.storeReads = to.lookups - from.lookups
	slices.Sort(b.r.writeSamples)
	return nil
}

// exchange trades one key: at the door (GET /v1/forward-auth) or at POST /v1/token.
func (b *scaleBench) exchange(ctx context.Context, key string, door bool) error {
	method, path := http.MethodPost, "/v1/token"
	if door {
		method, path = http.MethodGet, "/v1/forward-auth"
	}
	req, err := http.NewRequestWithContext(ctx, method, b.c.keywardURL+path, http.NoBody)
	if err != nil {
		return err
	}
	req.Header.Set("X-API-Key", key)
	resp, err := b.client.Do(req)
	if err != nil {
		return err
	}
	buf, release, err := readBody(resp)
	defer release()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d %.120s", path, resp.StatusCode, bytes.TrimSpace(buf.Bytes()))
	}
	return nil
}

// writeKeys creates, updates and deletes carol's keys in turn through the API, at
// writesPerSecond, until stopAt; the measured window's writes are counted.
func (b *scaleBench) writeKeys(ctx context.Context, measureFrom, stopAt time.Time) {
	if b.c.writesPerSecond == 0 {
		return
	}
	carol := b.users["carol"]
	tick := time.NewTicker(time.Second / time.Duration(b.c.writesPerSecond))
	defer tick.Stop()
	var live []string
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		t0 := time.Now()
		if !t0.Before(stopAt) {
			break
		}
		var err error
		switch {
		case i%3 == 0 || len(live) == 0:
			var id string
			if id, err = b.createKey(ctx, carol.token, "scale write "+strconv.Itoa(i)); err == nil {
				live = append(live, id)
			}
		case i%3 == 1:
			_, err = b.do(ctx, http.MethodPatch, b.c.keywardURL+"/v1/keys/"+live[len(live)-1], carol.token,
				`{"description":"updated by bench-scale `+strconv.Itoa(i)+`"}`, http.StatusOK)
		default:
			id := live[len(live)-1]
			live = live[:len(live)-1]
			_, err = b.do(ctx, http.MethodDelete, b.c.keywardURL+"/v1/keys/"+id, carol.token, "", http.StatusNoContent)
		}
		if t0.Before(measureFrom) {
			continue
		}
		b.r.writes++
		if err != nil {
			b.r.writeErrors++
			b.r.lastWriteError = err.Error()
			continue
		}
		b.r.writeSamples = append(b.r.writeSamples, time.Since(t0))
	}
	for _, id := range live { // best effort
		_, _ = b.do(context.Background(), http.MethodDelete, b.c.keywardURL+"/v1/keys/"+id, carol.token, "", http.StatusNoContent)
	}
}

type scaleSnapshot struct {
	m                         keywardMetrics
	keyStateHit, keyStateMiss float64
	lookups                   int64
}

// snapshot reads Keyward's counters and the store's lookup-index scans.
func (b *scaleBench) snapshot(ctx context.Context) (scaleSnapshot, error) {
	var s scaleSnapshot
	body, err := b.do(ctx, http.MethodGet, b.c.keywardURL+"/metrics", "", "", http.StatusOK)
	if err != nil {
		return s, err
	}
	s.m = parseMetrics(body)
	// A key-state counter, where this Keyward has one.
	for _, line := range strings.Split(string(body), "\n") {
		name, value, ok := strings.Cut(line, " ")
		if !ok || !strings.HasPrefix(name, "keyward_key_state_") || !strings.Contains(name, "_total{") {
			continue
		}
		v, _ := strconv.ParseFloat(strings.TrimSpace(value), 64)
		switch {
		case strings.Contains(name, `result="hit"`):
			s.keyStateHit += v
		case strings.Contains(name, `result="miss"`):
			s.keyStateMiss += v
		}
	}
	s.lookups, err = lookupScans(ctx, b.conn)
	return s, err
}

// queries times the list and audit requests, reps of each, one at a time.
func (b *scaleBench) queries(ctx context.Context) error {
	carol, alice := b.users["carol"].token, b.users["alice"].token
	k := b.c.keywardURL + "/v1/keys"
	now := time.Now().UTC()
	window := "since=" + url.QueryEscape(now.Add(-time.Hour).Format(time.RFC3339)) + "&until=" + url.QueryEscape(now.Add(time.Minute).Format(time.RFC3339))
	for _, q := range []struct {
		name, token, url string
		deep             int // pages to walk through next_cursor; the last is timed
		export           bool
	}{
		{name: "GET /v1/keys?q=partner (admin: every owner)", token: carol, url: k + "?q=partner&limit=50"},
		{name: "GET /v1/keys?status=active&environment=staging (admin)", token: carol, url: k + "?status=active&environment=staging&limit=50"},
		{name: "GET /v1/keys (alice, 50,000 keys), first page", token: alice, url: k + "?limit=50"},
		{name: "GET /v1/keys?q=billing (alice)", token: alice, url: k + "?q=billing&limit=50"},
		{name: "GET /v1/keys deep page (admin, page 50 of 200 via cursor)", token: carol, url: k + "?limit=200", deep: 50},
		{name: "GET /v1/audit (admin)", token: carol, url: b.c.keywardURL + "/v1/audit?limit=100"},
		{name: "GET /v1/audit (alice's own)", token: alice, url: b.c.keywardURL + "/v1/audit?limit=100"},
		{name: "GET /v1/audit export, since 1 h (admin, NDJSON)", token: carol, url: b.c.keywardURL + "/v1/audit?" + window, export: true},
	} {
		r := queryResult{name: q.name}
		u := q.url
		if q.deep > 0 { // the cursor of the deep page, walked to once
			next, err := b.walk(ctx, q.token, u, q.deep-1)
			if err != nil {
				return fmt.Errorf("%s: %w", q.name, err)
			}
			u = next
		}
		reps := b.c.reps
		if q.export {
			reps = max(reps/4, 3)
		}
		// A slow query gets fewer samples, not more minutes: at most queryBudget each.
		until := time.Now().Add(queryBudget)
		for i := 0; i < reps && (i < 5 || time.Now().Before(until)); i++ {
			t0 := time.Now()
			n, err := b.get(ctx, q.token, u, q.export)
			if err != nil {
				r.errors++
				r.lastErr = err.Error()
				continue
			}
			r.samples, r.rows = append(r.samples, time.Since(t0)), n
		}
		slices.Sort(r.samples)
		b.r.queries = append(b.r.queries, r)
		fmt.Fprintf(os.Stderr, "bench-scale: %-60s p99 %s ms\n", q.name, ms(pct(r.samples, .99)))
	}
	return nil
}

// walk follows next_cursor pages times from u and gives the URL of the page after.
func (b *scaleBench) walk(ctx context.Context, token, u string, pages int) (string, error) {
	base, raw, _ := strings.Cut(u, "?")
	q, err := url.ParseQuery(raw)
	if err != nil {
		return "", err
	}
	for range pages {
		body, err := b.do(ctx, http.MethodGet, base+"?"+q.Encode(), token, "", http.StatusOK)
		if err != nil {
			return "", err
		}
		var page struct {
			NextCursor *string `json:"next_cursor"`
		}
		if err := json.Unmarshal(body, &page); err != nil || page.NextCursor == nil {
			break // fewer pages than asked: the last one
		}
		q.Set("cursor", *page.NextCursor)
	}
	return base + "?" + q.Encode(), nil
}

// get does one GET and counts the items (or NDJSON lines) it returned.
func (b *scaleBench) get(ctx context.Context, token, u string, export bool) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if export {
		req.Header.Set("Accept", ndjsonType)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("HTTP %d %.200s", resp.StatusCode, data)
	}
	if export {
		return bytes.Count(data, []byte("\n")), nil
	}
	var page struct {
		Items []json.RawMessage `json:"items"`
	}
	_ = json.Unmarshal(data, &page)
	return len(page.Items), nil
}

const ndjsonType = "application/x-ndjson"

// queryBudget bounds the time spent on the samples of one list or audit query.
const queryBudget = 10 * time.Second

// rssKiB is the resident memory of pid now, from /proc; 0 when unknown.
func rssKiB(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

func pct(s []time.Duration, p float64) time.Duration {
	return result{samples: s}.percentile(p)
}

func ratio(hit, total float64) string {
	if total <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f %%", 100*hit/total)
}

// report renders the table and the notes saying what bounds each figure.
func (b *scaleBench) report() string {
	r := b.r
	var sb strings.Builder
	fmt.Fprintf(&sb, "\nKeyward at scale (make bench-scale) — %s; %d cores (GOMAXPROCS %d) shared by PostgreSQL, Keycloak, Keyward and this generator; %s; loopback only.\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version())
	fmt.Fprintf(&sb, "Exchanges of %s active keys (Zipf s=%.2f), half /v1/token, half /v1/forward-auth, concurrency %d, %v measured after %v; %d key writes/s through the API meanwhile.\n\n",
		count(int64(len(b.keys))), b.c.zipfS, b.c.concurrency, b.c.duration, b.c.warmup, b.c.writesPerSecond)
	sb.WriteString("| measure | value | target |\n|---|---:|---|\n")
	row := func(name, value, target string) { fmt.Fprintf(&sb, "| %s | %s | %s |\n", name, value, target) }
	row("keys in the store (audit rows, usage rows)", fmt.Sprintf("%s (%s, %s)", count(r.rows["api_keys"]), count(r.rows["audit_events"]), count(r.rows["key_usage"])), "")
	row("exchanges measured (errors), req/s", fmt.Sprintf("%s (%d), %.0f", count(r.exchanges), r.errors, float64(r.exchanges)/r.elapsed.Seconds()), "")
	ksHit := "n/a"
	if total := r.keyStateHit + r.keyStateMiss; total > 0 {
		ksHit = ratio(r.keyStateHit, total) + " (Keyward's /metrics)"
	} else if n := r.exchanges + r.errors; n > 0 {
		ksHit = ratio(float64(n-r.storeReads), float64(n)) + " (1 − store reads / exchange)"
	}
	row("key-state hit ratio", ksHit, "≥ 99 % — "+verdictRatio(ksHit))
	tc := ratio(r.tokenHit, r.tokenHit+r.tokenMiss)
	row("token-cache hit ratio", tc, "≥ 99 % — "+verdictRatio(tc))
	if n := r.exchanges + r.errors; n > 0 {
		row("store reads per exchange (api_keys by lookup id)", fmt.Sprintf("%.3f", float64(r.storeReads)/float64(n)), "")
	}
	row("exchange p50 / p99 ms", ms(pct(r.samples, .5))+" / "+ms(pct(r.samples, .99)), "")
	row("key writes measured (errors), p99 ms", fmt.Sprintf("%d (%d), %s", r.writes, r.writeErrors, ms(pct(r.writeSamples, .99))), "")
	for _, q := range r.queries {
		p := pct(q.samples, .99)
		row(fmt.Sprintf("%s p99 ms (%d rows; %d samples)", q.name, q.rows, len(q.samples)), ms(p), "≤ 50 ms — "+verdict(len(q.samples) > 0 && p <= 50*time.Millisecond))
	}
	if len(r.flush) > 0 {
		row(fmt.Sprintf("usage flush of %d keys, median / max ms", min(b.c.flushKeys, len(b.keys))), ms(r.flush[len(r.flush)/2])+" / "+ms(r.flush[len(r.flush)-1]), "")
	}
	if b.c.startup > 0 {
		row("replica start-up, process start → /readyz 200", fmt.Sprintf("%.2f s", b.c.startup.Seconds()), "≤ 5 s — "+verdict(b.c.startup <= 5*time.Second))
	}
	if r.rssKiB > 0 {
		row("replica memory (RSS after the run)", fmt.Sprintf("%.0f MiB", float64(r.rssKiB)/1024), "")
	}
	sb.WriteString("\n")
	if r.errors > 0 {
		fmt.Fprintf(&sb, "- exchange errors: %d, last: %s\n", r.errors, r.lastError)
	}
	if r.writeErrors > 0 {
		fmt.Fprintf(&sb, "- key write errors: %d, last: %s\n", r.writeErrors, r.lastWriteError)
	}
	for _, q := range r.queries {
		if q.errors > 0 {
			fmt.Fprintf(&sb, "- %s: %d errors, last: %s\n", q.name, q.errors, q.lastErr)
		}
	}
	return sb.String()
}

func verdictRatio(s string) string {
	v, err := strconv.ParseFloat(strings.Fields(s + " x")[0], 64)
	if err != nil {
		return "n/a"
	}
	return verdict(v >= 99)
}
