package keycloak

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/keyward/keyward/internal/jwtalg"
)

// ErrInvalidToken: the bearer token is not a valid access token of the realm.
var ErrInvalidToken = errors.New("invalid access token")

// ErrWrongAudience: a valid token of the realm, but not meant for Keyward (its `aud`
// lacks the required audience). It wraps ErrInvalidToken.
var ErrWrongAudience = fmt.Errorf("%w: audience", ErrInvalidToken)

// Claims are the parts of a Keycloak access token Keyward acts on.
type Claims struct {
	Subject    string
	Username   string
	AuthParty  string // azp: the client the token was issued to
	RealmRoles []string
	ExpiresAt  time.Time
	// ClientCredentials: the token came from a client-credentials grant (Keycloak's
	// service_account scope puts the client's id in a client_id claim).
	ClientCredentials bool
}

// HasRealmRole reports whether the token carries the realm role.
func (c Claims) HasRealmRole(role string) bool {
	for _, r := range c.RealmRoles {
		if r == role {
			return true
		}
	}
	return false
}

// Verifier checks Keycloak access tokens against the realm's JWKS. Keys are cached and
// refetched when a token names an unknown `kid` (Keycloak rotated its keys), at most
// once per minRefetch so forged kids cannot turn into a request flood.
type Verifier struct {
	issuer     string
	certsURL   string
	audience   string
	skew       time.Duration
	cache      *jwk.Cache
	minRefetch time.Duration
	timeout    time.Duration
	clock      func() time.Time

	mu          sync.Mutex
	lastRefetch time.Time
}

// VerifierConfig configures a Verifier; Audience is optional.
type VerifierConfig struct {
	Issuer   string
	CertsURL string
	Audience string
	Timeout  time.Duration
	Clock    func() time.Time
}

// NewVerifier registers the realm's JWKS in a background-refreshed cache bound to ctx.
func NewVerifier(ctx context.Context, cfg VerifierConfig) (*Verifier, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	cache := jwk.NewCache(ctx)
	err := cache.Register(cfg.CertsURL,
		jwk.WithMinRefreshInterval(15*time.Minute),
		jwk.WithHTTPClient(&http.Client{Timeout: cfg.Timeout}))
	if err != nil {
		return nil, fmt.Errorf("register realm jwks: %w", err)
	}
	return &Verifier{
		issuer:     cfg.Issuer,
		certsURL:   cfg.CertsURL,
		audience:   cfg.Audience,
		skew:       30 * time.Second,
		cache:      cache,
		minRefetch: 10 * time.Second,
		timeout:    cfg.Timeout,
		clock:      cfg.Clock,
	}, nil
}

// TokenVerifier checks access tokens: what the management API and the console take,
// so that their tests can stand in a fake; Verifier implements it.
type TokenVerifier interface {
	Verify(ctx context.Context, raw string) (Claims, error)
}

var _ TokenVerifier = (*Verifier)(nil)

// Verify checks signature (by an algorithm of jwtalg's list, with the realm key the
// header names), issuer, expiry (and audience when configured) and returns the claims.
// Errors wrap ErrInvalidToken or ErrUnavailable (JWKS unreachable).
func (v *Verifier) Verify(ctx context.Context, raw string) (Claims, error) {
	tok, err := v.verified(ctx, raw)
	if err != nil {
		return Claims{}, err
	}
	if v.audience != "" && !slices.Contains(tok.Audience(), v.audience) {
		return Claims{}, fmt.Errorf("%w: %q is not among %q", ErrWrongAudience, v.audience, tok.Audience())
	}
	// Only access tokens: ID and logout tokens are signed by the same keys.
	if typ, _ := tok.Get("typ"); typ != nil && typ != "Bearer" {
		return Claims{}, fmt.Errorf("%w: token type %v", ErrInvalidToken, typ)
	}
	claims := Claims{Subject: tok.Subject(), ExpiresAt: tok.Expiration()}
	if u, ok := tok.Get("preferred_username"); ok {
		claims.Username, _ = u.(string)
	}
	if azp, ok := tok.Get("azp"); ok {
		claims.AuthParty, _ = azp.(string)
	}
	for _, name := range []string{"client_id", "clientId"} {
		if v, ok := tok.Get(name); ok && v != nil && v != "" {
			claims.ClientCredentials = true
		}
	}
	if ra, ok := tok.Get("realm_access"); ok {
		if m, ok := ra.(map[string]any); ok {
			if roles, ok := m["roles"].([]any); ok {
				for _, r := range roles {
					if s, ok := r.(string); ok {
						claims.RealmRoles = append(claims.RealmRoles, s)
					}
				}
			}
		}
	}
	return claims, nil
}

// verified checks signature, issuer and expiry of a JWT of the realm, whatever its type.
func (v *Verifier) verified(ctx context.Context, raw string) (jwt.Token, error) {
	msg, err := jws.Parse([]byte(raw))
	if err != nil || len(msg.Signatures()) != 1 {
		return nil, fmt.Errorf("%w: not a signed JWT", ErrInvalidToken)
	}
	hdr := msg.Signatures()[0].ProtectedHeaders()
	alg, kid := hdr.Algorithm(), hdr.KeyID()
	// Asymmetric only: never HMAC keyed with the realm's public key, never none.
	if !jwtalg.Accepted(alg) {
		return nil, fmt.Errorf("%w: algorithm %q is not accepted", ErrInvalidToken, alg)
	}
	set, err := v.keySet(ctx, kid)
	if err != nil {
		return nil, err
	}
	key, ok := set.LookupKeyID(kid)
	if !ok || kid == "" {
		return nil, fmt.Errorf("%w: no key %q in the realm's JWKS", ErrInvalidToken, kid)
	}
	if err := jwtalg.Fits(key, alg); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	opts := []jwt.ParseOption{
		jwt.WithKey(alg, key),
		jwt.WithValidate(true),
		jwt.WithIssuer(v.issuer),
		jwt.WithAcceptableSkew(v.skew),
		jwt.WithClock(jwt.ClockFunc(v.clock)),
		jwt.WithRequiredClaim("exp"),
		jwt.WithRequiredClaim("sub"),
	}
	tok, err := jwt.Parse([]byte(raw), opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	return tok, nil
}

func (v *Verifier) keySet(ctx context.Context, kid string) (jwk.Set, error) {
	set, err := v.cache.Get(ctx, v.certsURL)
	if err != nil {
		return nil, fmt.Errorf("%w: realm jwks: %v", ErrUnavailable, err)
	}
	if _, ok := set.LookupKeyID(kid); ok || kid == "" {
		return set, nil
	}
	v.mu.Lock()
	due := v.clock().Sub(v.lastRefetch) >= v.minRefetch
	if due {
		v.lastRefetch = v.clock()
	}
	v.mu.Unlock()
	if !due {
		return set, nil
	}
	// The refetch is the verifier's, not the request's: a caller that gives up must not
	// spend the refetch slot with nothing fetched.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), v.timeout)
	defer cancel()
	set, err = v.cache.Refresh(rctx, v.certsURL)
	if err != nil {
		return nil, fmt.Errorf("%w: realm jwks: %v", ErrUnavailable, err)
	}
	return set, nil
}
