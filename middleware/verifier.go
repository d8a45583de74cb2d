// Package middleware protects a resource server with Keycloak access tokens: it verifies
// the bearer JWT against the realm's discovery document and JWKS (signature by an
// asymmetric key only, issuer, expiry, optional audience), puts the claims in the request
// context, and answers 401/403 as RFC 9457 problem+json with an RFC 6750
// WWW-Authenticate header. Gin users take it through the ginmw subpackage.
//
// It depends on Keycloak only, never on Keyward: a token that Keyward obtained for an
// API key is an ordinary Keycloak access token. (Its one import from this module is the
// leaf internal/jwtalg, the list of accepted algorithms it shares with Keyward's own
// verifier.)
package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/keyward/keyward/internal/jwtalg"
)

var (
	// ErrInvalidToken: the token is not a valid access token of the realm (401).
	ErrInvalidToken = errors.New("invalid access token")
	// ErrUnavailable: the realm's discovery document or keys cannot be had now (503).
	ErrUnavailable = errors.New("realm keys unavailable")
)

const (
	defaultLeeway  = 30 * time.Second
	defaultTimeout = 10 * time.Second
	// Keys are refetched this often even when every kid is known, so that a key the
	// realm removed stops being accepted.
	keysMaxAge = time.Hour
	// Fetches are at least this far apart, so forged kids cannot turn into a flood of
	// requests to Keycloak, nor an outage into every request waiting on it.
	minRefetch = 10 * time.Second
	// After a failed fetch the next waits this long, doubling with each further
	// failure up to minRefetch: a blip heals within a second, an outage costs Keycloak
	// one request per minRefetch.
	firstRetry = time.Second
	// Discovery documents and key sets are small.
	maxDocBytes = 1 << 20
)

// Config configures a Verifier. Issuer is required.
type Config struct {
	// Issuer is the realm's issuer, e.g. https://sso.example.com/realms/acme: tokens
	// must carry it as `iss`, and the discovery document is read below it.
	Issuer string
	// Audience, when set, must be among the token's `aud` (e.g. the resource server's
	// client id in Keycloak).
	Audience string
	// Realm names the protection space in WWW-Authenticate; empty means the Keycloak
	// realm's name, taken from Issuer.
	Realm string
	// Leeway is the clock skew tolerated on exp, nbf and iat; 0 means 30 s.
	Leeway time.Duration
	// HTTPClient fetches the discovery document and the JWKS; nil means a client with a
	// 10 s timeout. Whatever the client, a fetch gives up after 10 s.
	HTTPClient *http.Client
}

// Verifier checks access tokens of one Keycloak realm. It fetches the discovery
// document and keys on first use, caches them, and refetches on an unknown kid. It is
// safe for concurrent use.
type Verifier struct {
	issuer       string
	audience     string
	realm        string
	leeway       time.Duration
	http         *http.Client
	fetchTimeout time.Duration
	now          func() time.Time

	mu          sync.RWMutex
	jwksURI     string
	keys        jwk.Set
	fetchedAt   time.Time
	lastAttempt time.Time     // when the last fetch ended
	lastErr     error         // of the last fetch
	failures    int           // fetches failed in a row
	inflight    chan struct{} // closed when the running fetch ends; nil when none runs
}

// NewVerifier checks cfg and returns a Verifier; it makes no network call, so a
// resource server can start before Keycloak does.
func NewVerifier(cfg Config) (*Verifier, error) {
	iss, err := url.Parse(cfg.Issuer)
	if cfg.Issuer == "" || err != nil || (iss.Scheme != "http" && iss.Scheme != "https") || iss.Host == "" {
		return nil, fmt.Errorf("middleware: issuer %q is not an http(s) URL", cfg.Issuer)
	}
	if cfg.Leeway < 0 {
		return nil, errors.New("middleware: leeway is negative")
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = defaultLeeway
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: defaultTimeout}
	}
	if cfg.Realm == "" {
		path := strings.TrimRight(iss.Path, "/")
		cfg.Realm = path[strings.LastIndex(path, "/")+1:]
	}
	return &Verifier{
		issuer:   cfg.Issuer,
		audience: cfg.Audience,
		realm:    cfg.Realm,
		leeway:   cfg.Leeway,
		http:     cfg.HTTPClient,
		// Its own bound: the fetch runs on no request's context.
		fetchTimeout: defaultTimeout,
		now:          time.Now,
	}, nil
}

// tokenError is a refusal with a description fit for the caller (error_description),
// and the reason for whoever debugs.
type tokenError struct {
	description string
	cause       error
}

func (e *tokenError) Error() string {
	if e.cause == nil {
		return ErrInvalidToken.Error() + ": " + e.description
	}
	return ErrInvalidToken.Error() + ": " + e.description + ": " + e.cause.Error()
}

func (e *tokenError) Unwrap() error { return ErrInvalidToken }

func refuse(description string, cause error) error {
	return &tokenError{description: description, cause: cause}
}

// Verify checks a raw access token and returns its claims. Errors wrap ErrInvalidToken
// or ErrUnavailable; their text never contains the token.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Claims, error) {
	if strings.Count(raw, ".") != 2 {
		return nil, refuse("the access token is not a JWT", nil)
	}
	msg, err := jws.Parse([]byte(raw))
	if err != nil || len(msg.Signatures()) != 1 {
		return nil, refuse("the access token is not a JWT", err)
	}
	hdr := msg.Signatures()[0].ProtectedHeaders()
	alg := hdr.Algorithm()
	// Asymmetric only (jwtalg): never HMAC keyed with the realm's public key, never none.
	if !jwtalg.Accepted(alg) {
		return nil, refuse("the access token is invalid", fmt.Errorf("algorithm %q is not accepted", alg))
	}
	key, err := v.key(ctx, hdr.KeyID(), alg)
	if err != nil {
		return nil, err
	}
	opts := []jwt.ParseOption{
		jwt.WithKey(alg, key),
		jwt.WithValidate(true),
		jwt.WithIssuer(v.issuer),
		jwt.WithAcceptableSkew(v.leeway),
		jwt.WithClock(jwt.ClockFunc(v.now)),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
	}
	if v.audience != "" {
		opts = append(opts, jwt.WithAudience(v.audience))
	}
	tok, err := jwt.Parse([]byte(raw), opts...)
	if err != nil {
		return nil, refuse(describe(err), err)
	}
	// Keycloak signs ID and logout tokens with the same keys: only access tokens pass.
	if typ, ok := tok.Get("typ"); ok && typ != "Bearer" {
		return nil, refuse("the token is not an access token", fmt.Errorf("typ %v", typ))
	}
	return claimsOf(tok)
}

// describe says why a token was refused, in words a caller can act on, without the
// token's contents.
func describe(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired()):
		return "the access token has expired"
	case errors.Is(err, jwt.ErrTokenNotYetValid()), errors.Is(err, jwt.ErrInvalidIssuedAt()):
		return "the access token is not valid yet"
	case errors.Is(err, jwt.ErrInvalidIssuer()):
		return "the access token was issued by another issuer"
	case errors.Is(err, jwt.ErrInvalidAudience()):
		return "the access token is not meant for this API"
	default:
		return "the access token is invalid"
	}
}

// key finds the verification key for kid. The realm's keys are fetched when there are
// none yet, when they are old, or when kid is unknown (Keycloak rotated its keys); fetch
// attempts are at least minRefetch apart after a success and a growing backoff apart
// after a failure, so neither forged kids nor a Keycloak outage make every request wait
// on Keycloak.
func (v *Verifier) key(ctx context.Context, kid string, alg jwa.SignatureAlgorithm) (jwk.Key, error) {
	if kid == "" {
		return nil, refuse("the access token is invalid", errors.New("no kid in the header"))
	}
	keys, due, lastErr := v.state(kid)
	if due {
		if err := v.awaitFetch(ctx, kid); err != nil {
			return nil, err
		}
		keys, _, lastErr = v.state(kid)
	}
	if keys == nil {
		if lastErr == nil {
			lastErr = fmt.Errorf("%w: the realm's keys are not fetched yet", ErrUnavailable)
		}
		return nil, lastErr
	}
	// When a refresh failed, the keys known before still serve: Keycloak down for a
	// moment must not refuse tokens signed by a key seen a minute ago.
	k, ok := keys.LookupKeyID(kid)
	if !ok {
		return nil, refuse("the access token is invalid", fmt.Errorf("no key %q in the realm's JWKS", kid))
	}
	return usable(k, alg)
}

// state returns the known keys, whether a fetch is due for kid, and the error of the
// last fetch attempt.
func (v *Verifier) state(kid string) (jwk.Set, bool, error) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.keys, v.dueLocked(kid), v.lastErr
}

// dueLocked says whether kid calls for a fetch now; the caller holds mu.
func (v *Verifier) dueLocked(kid string) bool {
	now := v.now()
	needed := v.keys == nil || now.Sub(v.fetchedAt) >= keysMaxAge
	if !needed {
		_, known := v.keys.LookupKeyID(kid)
		needed = !known
	}
	wait := minRefetch
	if v.lastErr != nil {
		wait = retryBackoff(v.failures)
	}
	return needed && (v.lastAttempt.IsZero() || now.Sub(v.lastAttempt) >= wait)
}

// retryBackoff is the wait after the given number of failed fetches in a row.
func retryBackoff(failures int) time.Duration {
	d := firstRetry
	for i := 1; i < failures && d < minRefetch; i++ {
		d *= 2
	}
	return min(d, minRefetch)
}

// awaitFetch starts a fetch unless one is running, and waits for it to end or for ctx
// to. The fetch runs on a context of its own: a request that gives up (its client hung
// up, its deadline passed) leaves it running for the requests after it, and its
// giving up is never taken for the realm's failure.
func (v *Verifier) awaitFetch(ctx context.Context, kid string) error {
	v.mu.Lock()
	done := v.inflight
	if done == nil {
		if !v.dueLocked(kid) { // another request's fetch has just ended
			v.mu.Unlock()
			return nil
		}
		done = make(chan struct{})
		v.inflight = done
		go v.refresh(done)
	}
	v.mu.Unlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: gave up waiting for the realm's keys: %w", ErrUnavailable, ctx.Err())
	}
}

// usable refuses a key that does not fit the token's algorithm (jwtalg.Fits): an
// encryption key, a key of another type, or one pinned to another algorithm.
func usable(k jwk.Key, alg jwa.SignatureAlgorithm) (jwk.Key, error) {
	if err := jwtalg.Fits(k, alg); err != nil {
		return nil, refuse("the access token is invalid", err)
	}
	return k, nil
}

// refresh fetches the discovery document (until it has succeeded once) and the key
// set, then closes done. On failure the keys known before stay.
func (v *Verifier) refresh(done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), v.fetchTimeout)
	defer cancel()
	v.mu.RLock()
	jwksURI := v.jwksURI
	v.mu.RUnlock()

	set, err := v.fetch(ctx, jwksURI)
	v.mu.Lock()
	defer v.mu.Unlock()
	// The backoff counts from the end of the attempt: a fetch that timed out must not
	// be retried at once.
	v.lastAttempt, v.lastErr, v.inflight = v.now(), err, nil
	if err != nil {
		v.failures++
	} else {
		v.failures = 0
		v.keys, v.fetchedAt, v.jwksURI = set.keys, v.lastAttempt, set.uri
	}
	close(done)
}

type fetched struct {
	uri  string
	keys jwk.Set
}

func (v *Verifier) fetch(ctx context.Context, jwksURI string) (fetched, error) {
	if jwksURI == "" {
		var err error
		if jwksURI, err = v.discover(ctx); err != nil {
			return fetched{}, err
		}
	}
	body, err := v.get(ctx, jwksURI)
	if err != nil {
		return fetched{}, err
	}
	set, err := jwk.Parse(body)
	if err != nil {
		return fetched{}, fmt.Errorf("%w: %s: %v", ErrUnavailable, jwksURI, err)
	}
	return fetched{uri: jwksURI, keys: set}, nil
}

// discover reads jwks_uri from the realm's OpenID discovery document, which must name
// the configured issuer (OpenID Connect Discovery §4.3).
func (v *Verifier) discover(ctx context.Context) (string, error) {
	docURL := strings.TrimRight(v.issuer, "/") + "/.well-known/openid-configuration"
	body, err := v.get(ctx, docURL)
	if err != nil {
		return "", err
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrUnavailable, docURL, err)
	}
	if doc.Issuer != v.issuer {
		return "", fmt.Errorf("%w: %s names issuer %q, not %q (set Config.Issuer to the realm's exact issuer)",
			ErrUnavailable, docURL, doc.Issuer, v.issuer)
	}
	if u, err := url.Parse(doc.JWKSURI); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%w: %s: jwks_uri %q is not an http(s) URL", ErrUnavailable, docURL, doc.JWKSURI)
	}
	return doc.JWKSURI, nil
}

// get fetches a small JSON document.
func (v *Verifier) get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: GET %s: HTTP %d", ErrUnavailable, u, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocBytes))
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s: %v", ErrUnavailable, u, err)
	}
	return body, nil
}
