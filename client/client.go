// Package client is the Go client of Keyward: an oauth2.TokenSource that trades a
// personal API key for a Keycloak access token at Keyward's /v1/token, and reuses that
// token until shortly before it expires.
//
//	ts, err := client.FromEnv() // KEYWARD_URL, KEYWARD_API_KEY
//	if err != nil { ... }
//	resp, err := ts.Client(ctx).Get("https://api.example.com/reports")
//
// Manager (manage.go) calls the management API with a person's Keycloak token: keys,
// and for admins consumers, OAuth clients and ACL groups; Discover reads what Keyward
// publishes about its realm.
//
// The API key is sent to Keyward only, never to the APIs the token is used at, and it
// never appears in an error or a log line of this package. A redirect from the Keyward
// URL is not followed, and plain http is refused unless Keyward is on this machine or
// AllowInsecureHTTP says so.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/keyward/keyward/api"
)

// Environment variables read by FromEnv.
const (
	EnvURL    = "KEYWARD_URL"
	EnvAPIKey = "KEYWARD_API_KEY"
	// EnvAllowInsecureHTTP=true sets Config.AllowInsecureHTTP.
	EnvAllowInsecureHTTP = "KEYWARD_ALLOW_INSECURE_HTTP"
)

const (
	defaultTimeout     = 10 * time.Second
	defaultEarlyExpiry = 30 * time.Second
	// Token responses are a few KiB; anything much larger is not Keyward.
	maxResponseBytes = 1 << 20
)

// Config configures a TokenSource. URL and APIKey are required.
type Config struct {
	// URL is Keyward's base URL, e.g. https://keyward.example.com.
	URL string
	// APIKey is the personal API key (kw_live_… or kw_test_…).
	APIKey string
	// Scope optionally narrows the token's scope (space-separated).
	Scope string
	// HTTPClient makes the exchange calls; nil means a client with a 10 s timeout.
	HTTPClient *http.Client
	// EarlyExpiry is how long before its expiry a token is replaced; 0 means 30 s
	// (at most half the token's lifetime), so a token never expires in flight.
	EarlyExpiry time.Duration
	// AllowInsecureHTTP accepts an http:// URL of another machine, which sends the key
	// across the network in clear; without it only loopback (127.0.0.0/8, ::1,
	// localhost) may be plain http.
	AllowInsecureHTTP bool
}

// TokenSource trades an API key for access tokens and caches the current one. It is
// safe for concurrent use: concurrent callers share one exchange.
type TokenSource struct {
	tokenURL    string
	apiKey      string
	scope       string
	httpClient  *http.Client
	earlyExpiry time.Duration
	now         func() time.Time

	// sem is a one-slot lock that a waiting caller can give up on when its context ends.
	sem     chan struct{}
	current *oauth2.Token
	renewAt time.Time
}

var _ oauth2.TokenSource = (*TokenSource)(nil)

// New returns a TokenSource for cfg. It makes no network call.
func New(cfg Config) (*TokenSource, error) {
	var problems []string
	base, err := checkURL("the Keyward URL", cfg.URL, "the API key", cfg.AllowInsecureHTTP)
	if err != nil {
		problems = append(problems, err.Error())
	}
	if strings.TrimSpace(cfg.APIKey) == "" {
		problems = append(problems, "the API key is empty")
	}
	if cfg.EarlyExpiry < 0 {
		problems = append(problems, "EarlyExpiry is negative")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("keyward client: %s", strings.Join(problems, "; "))
	}
	hc := http.Client{Timeout: defaultTimeout}
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient // a copy: the caller's client keeps its own redirect policy
	}
	// Never follow a redirect: the key is for the configured URL only, and net/http
	// would copy X-API-Key to any host it is redirected to.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if cfg.EarlyExpiry == 0 {
		cfg.EarlyExpiry = defaultEarlyExpiry
	}
	return &TokenSource{
		tokenURL:    base.String() + "/v1/token",
		apiKey:      strings.TrimSpace(cfg.APIKey),
		scope:       cfg.Scope,
		httpClient:  &hc,
		earlyExpiry: cfg.EarlyExpiry,
		now:         time.Now,
		sem:         make(chan struct{}, 1),
	}, nil
}

// FromEnv returns a TokenSource for the Keyward at $KEYWARD_URL and the key in
// $KEYWARD_API_KEY, so that no key is written in code; $KEYWARD_ALLOW_INSECURE_HTTP=true
// sets AllowInsecureHTTP.
func FromEnv() (*TokenSource, error) { return FromLookup(os.Getenv) }

// FromLookup is FromEnv with the variables read through getenv (a command line that
// takes the key from a file, a test).
func FromLookup(getenv func(string) string) (*TokenSource, error) {
	var missing []string
	for _, name := range []string{EnvURL, EnvAPIKey} {
		if getenv(name) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("keyward client: %s not set in the environment", strings.Join(missing, " and "))
	}
	insecure := false
	if v := getenv(EnvAllowInsecureHTTP); v != "" {
		var err error
		if insecure, err = strconv.ParseBool(v); err != nil {
			return nil, fmt.Errorf("keyward client: %s=%q is neither true nor false", EnvAllowInsecureHTTP, v)
		}
	}
	return New(Config{URL: getenv(EnvURL), APIKey: getenv(EnvAPIKey), AllowInsecureHTTP: insecure})
}

// CheckURL is the check this package makes before it sends credentials (what) to a
// URL (name says which, for the message): http(s), and plain http only to this machine
// unless allowInsecureHTTP says the network is trusted. For programs, such as the
// `keyward proxy` sidecar, that send credentials to Keyward or onwards themselves.
func CheckURL(name, raw, what string, allowInsecureHTTP bool) error {
	_, err := checkURL(name, raw, what, allowInsecureHTTP)
	return err
}

// checkURL parses an http(s) base URL that credentials (what) will be sent to: plain
// http only to this machine, unless insecure says the network is trusted.
func checkURL(name, raw, what string, insecure bool) (*url.URL, error) {
	base, err := url.Parse(strings.TrimRight(raw, "/"))
	switch {
	case raw == "":
		return nil, fmt.Errorf("%s is empty", name)
	case err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "":
		return nil, fmt.Errorf("%s %q is not an http(s) URL", name, raw)
	case base.Scheme == "http" && !insecure && !isLoopback(base.Hostname()):
		return nil, fmt.Errorf("%s %q is plain http to another machine, which would send "+
			"%s across the network in clear: use https, or set AllowInsecureHTTP (%s=true) on a network you trust",
			name, raw, what, EnvAllowInsecureHTTP)
	}
	return base, nil
}

// isLoopback reports whether host names this machine without DNS: localhost or a
// loopback address. Other names may resolve anywhere.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Token returns the cached access token, or trades the API key for a new one when the
// cached one is missing or about to expire. It implements oauth2.TokenSource.
func (ts *TokenSource) Token() (*oauth2.Token, error) {
	return ts.TokenContext(context.Background())
}

// TokenContext is Token bounded by ctx.
func (ts *TokenSource) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	select {
	case ts.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("keyward token: %w", ctx.Err())
	}
	defer func() { <-ts.sem }()

	if ts.current != nil && ts.now().Before(ts.renewAt) {
		return copyToken(ts.current), nil
	}
	tok, lifetime, err := ts.exchange(ctx)
	if err != nil {
		return nil, err
	}
	early := ts.earlyExpiry
	if half := lifetime / 2; early > half {
		early = half
	}
	ts.current = tok
	ts.renewAt = tok.Expiry.Add(-early)
	return copyToken(tok), nil
}

// Client returns an *http.Client that sets a current access token on every request.
// Like oauth2.NewClient, it builds on the *http.Client in ctx (oauth2.HTTPClient), if
// any; unlike it, it adds no second cache, so EarlyExpiry is what decides renewal.
func (ts *TokenSource) Client(ctx context.Context) *http.Client {
	base := oauth2.NewClient(ctx, nil)
	return &http.Client{
		Transport:     &oauth2.Transport{Base: base.Transport, Source: ts},
		CheckRedirect: base.CheckRedirect,
		Jar:           base.Jar,
		Timeout:       base.Timeout,
	}
}

// copyToken keeps callers from changing the cached token.
func copyToken(t *oauth2.Token) *oauth2.Token {
	c := *t
	return &c
}

func (ts *TokenSource) exchange(ctx context.Context) (*oauth2.Token, time.Duration, error) {
	var body io.Reader
	if ts.scope != "" {
		body = strings.NewReader(url.Values{"scope": {ts.scope}}.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.tokenURL, body)
	if err != nil {
		return nil, 0, fmt.Errorf("keyward token: build request: %w", err)
	}
	req.Header.Set("X-API-Key", ts.apiKey)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	sent := ts.now()
	resp, err := ts.httpClient.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, 0, fmt.Errorf("keyward token: %w", ctxErr)
		}
		// *url.Error names the URL, never the header that carries the key.
		return nil, 0, &Error{kind: ErrUnavailable, Description: "cannot reach Keyward", cause: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return nil, 0, redirectError(resp)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, 0, &Error{kind: ErrUnavailable, StatusCode: resp.StatusCode, Description: "reading Keyward's answer failed", cause: err}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, 0, responseError(resp, raw, ts.now())
	}
	var tr api.Token
	if err := json.Unmarshal(raw, &tr); err != nil || tr.AccessToken == "" {
		return nil, 0, &Error{StatusCode: resp.StatusCode, Description: "Keyward's answer is not a token response"}
	}
	if tr.TokenType != "" && !strings.EqualFold(tr.TokenType, "Bearer") {
		return nil, 0, &Error{StatusCode: resp.StatusCode, Description: fmt.Sprintf("unsupported token type %q", tr.TokenType)}
	}
	if tr.ExpiresIn <= 0 {
		return nil, 0, &Error{StatusCode: resp.StatusCode, Description: "the token response has no expires_in"}
	}
	lifetime := time.Duration(tr.ExpiresIn) * time.Second
	tok := &oauth2.Token{
		AccessToken: tr.AccessToken,
		TokenType:   "Bearer",
		// Counted from the moment the request left: the token cannot outlive that.
		Expiry:    sent.Add(lifetime),
		ExpiresIn: int64(tr.ExpiresIn),
	}
	return tok.WithExtra(map[string]any{"scope": tr.Scope}), lifetime, nil
}

// redirectError names where the redirect pointed (without its query), so the caller
// can fix the URL; retrying would not help.
func redirectError(resp *http.Response) *Error {
	where := "an address it did not give"
	if loc, err := resp.Location(); err == nil {
		where = (&url.URL{Scheme: loc.Scheme, Host: loc.Host, Path: loc.Path}).String()
	}
	return &Error{StatusCode: resp.StatusCode, Description: "the Keyward URL answered with a redirect to " + where +
		", which is not followed so that the API key reaches the configured URL only: if that is Keyward, configure it as the URL"}
}

// responseError turns a refused exchange into an Error a caller can act on.
func responseError(resp *http.Response, raw []byte, now time.Time) *Error {
	var er api.OAuthError
	_ = json.Unmarshal(raw, &er) // a proxy's HTML error page is still classified by status
	e := &Error{
		StatusCode:  resp.StatusCode,
		Code:        er.Error,
		Description: er.Description,
		RetryAfter:  parseRetryAfter(resp.Header.Get("Retry-After"), now),
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		e.kind = ErrRateLimited
	case resp.StatusCode == http.StatusUnauthorized || er.Error == "invalid_grant":
		e.kind = ErrInvalidKey
	case resp.StatusCode >= 500:
		e.kind = ErrUnavailable
	}
	return e
}

// parseRetryAfter reads delay-seconds or an HTTP date (RFC 9110 §10.2.3); 0 if absent
// or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// Errors a caller decides on, tested with errors.Is; errors.As with *Error gives the
// details (RetryAfter in particular).
var (
	// ErrInvalidKey: the key is unknown, revoked, expired or disabled, or its user is
	// disabled. Retrying does not help: a new key is needed.
	ErrInvalidKey = errors.New("API key refused")
	// ErrRateLimited: too many exchanges for this key; wait Error.RetryAfter.
	ErrRateLimited = errors.New("rate limited")
	// ErrUnavailable: Keyward, or Keycloak behind it, cannot answer now; retry with
	// backoff (Error.RetryAfter, when set, is the server's hint).
	ErrUnavailable = errors.New("service unavailable")
)

// Error is a failed exchange. Its text never contains the API key.
type Error struct {
	StatusCode  int           // HTTP status; 0 when Keyward could not be reached
	Code        string        // RFC 6749 error code, e.g. invalid_grant
	Description string        // the server's error_description, or what went wrong
	RetryAfter  time.Duration // the Retry-After header of a 429 or 503; 0 when absent

	kind  error // one of the sentinels above, or nil (a request Keyward refused)
	cause error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("keyward token")
	if e.kind != nil {
		b.WriteString(": " + e.kind.Error())
	}
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.StatusCode)
	}
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Description != "" {
		b.WriteString(": " + e.Description)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.cause != nil {
		b.WriteString(": " + e.cause.Error())
	}
	return b.String()
}

// Unwrap exposes the sentinel and the transport error, if any.
func (e *Error) Unwrap() []error {
	var errs []error
	for _, err := range []error{e.kind, e.cause} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}
