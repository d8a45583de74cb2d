// Package exchange is the exchange core: the API key format, the verification pipeline
// that turns a presented key into a Keycloak-issued token (with the role denylist and
// the failure throttle), the token minting strategy and the token cache. The key
// lifecycle is package keys. It knows nothing of HTTP or SQL.
package exchange

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/cidrlist"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/ratelimit"
)

// Outcome is the result of one exchange, for the answer, logs, metrics and usage.
type Outcome string

// Outcomes. Every refusal of a key maps to one answer outside (401 invalid_grant), so
// that a caller cannot tell an unknown key from an expired one or a refused address;
// the distinction is kept for logs, metrics and usage.
const (
	OutcomeIssued      Outcome = "issued"
	OutcomeMalformed   Outcome = "malformed"
	OutcomeUnknownKey  Outcome = "unknown_key"
	OutcomeExpired     Outcome = "expired"
	OutcomeInactive    Outcome = "inactive"
	OutcomeIPDenied    Outcome = "ip_denied"
	OutcomeRateLimited Outcome = "rate_limited"
	OutcomeUserRefused Outcome = "user_refused"
	// OutcomeDeniedRole: Keycloak issued a token carrying a denylisted role (e.g. a
	// realm-management role): Keyward does not hand it out.
	OutcomeDeniedRole Outcome = "denied_role"
	// OutcomeNotPerson: the key's owner is a service account; keys belong to people.
	OutcomeNotPerson Outcome = "owner_not_person"
	// OutcomeThrottled: the client address spent its budget of failed exchanges.
	OutcomeThrottled    Outcome = "throttled"
	OutcomeInvalidScope Outcome = "invalid_scope"
	OutcomeUnavailable  Outcome = "unavailable"
	OutcomeError        Outcome = "error"
)

// Request is what the caller presented.
type Request struct {
	APIKey   string
	Scope    string     // optional, space-separated; may narrow the key's scopes
	ClientIP netip.Addr // the caller's address as the HTTP layer determined it
	Via      string     // the route the key came through: ViaToken (the default) or ViaForwardAuth
}

// Routes an exchange comes through, for metrics and logs: /v1/token, where a program
// asks for a token, and /v1/forward-auth, where a gateway trades a key at the door.
const (
	ViaToken       = api.ViaToken
	ViaForwardAuth = api.ViaForwardAuth
)

// Result carries the token on success. Err is internal detail for logs only.
type Result struct {
	Outcome    Outcome
	KeyID      string
	Token      keycloak.Token
	Cached     bool
	RetryAfter time.Duration // for OutcomeRateLimited
	Err        error
}

// KeyFinder looks keys up by their public part, with the fields the exchange checks.
type KeyFinder interface {
	KeyForExchange(ctx context.Context, lookupID string) (models.Key, error)
}

// TokenMinter obtains a token issued by Keycloak for a key's owner: the one place that
// knows which Keycloak mechanism is used.
type TokenMinter interface {
	// Prepare runs when a key is created for owner (e.g. linking the user).
	Prepare(ctx context.Context, owner Owner) error
	// Mint asks Keycloak for the owner's token with the given scope.
	Mint(ctx context.Context, ownerID, scope string) (keycloak.Token, error)
}

// Limiter decides whether a key may make one more request now.
type Limiter interface {
	Allow(ctx context.Context, id string, l ratelimit.Limit) (ratelimit.Decision, error)
}

// PrincipalChecker tells service-account users from people.
type PrincipalChecker interface {
	IsServiceAccount(ctx context.Context, userID, username string) (bool, error)
}

// Observer receives measurements of the exchange path (Prometheus in production).
type Observer interface {
	ObserveExchange(outcome, via string, d time.Duration)
	ObserveKeycloak(op string, d time.Duration, err error)
	CacheHit()
	CacheMiss()
	Denied(reason string)
	DatabaseError(op string)
}

type nopObserver struct{}

func (nopObserver) ObserveExchange(string, string, time.Duration) {}
func (nopObserver) ObserveKeycloak(string, time.Duration, error)  {}
func (nopObserver) CacheHit()                                     {}
func (nopObserver) CacheMiss()                                    {}
func (nopObserver) Denied(string)                                 {}
func (nopObserver) DatabaseError(string)                          {}

// ExchangerConfig wires the verification pipeline; Keys, Hasher and Minter are required.
type ExchangerConfig struct {
	// Keys finds keys; a *KeyState also makes a key the store announces changed lose
	// its tokens in Cache (KeyState.ForgetTokensIn).
	Keys    KeyFinder
	Hasher  *Hasher
	Minter  TokenMinter
	Usage   *Usage      // nil: no usage counting
	Limiter Limiter     // nil: no rate limiting
	Limits  LimitPolicy // default limit for keys without one of their own
	Cache   *TokenCache // nil: every exchange asks Keycloak
	// Deny: roles an issued token must not carry (realm-management:* always).
	Deny RoleDenylist
	// Limited mints the tokens of keys limited to roles (a *LimitedMinter); nil:
	// such keys are refused (OutcomeError), never minted unrestricted.
	Limited LimitedKeyMinter
	// Principals, when set, refuses tokens whose subject is a service account.
	Principals PrincipalChecker
	// Failures, when set, bounds failed exchanges per client address.
	Failures *FailureThrottle
	Observe  Observer
	Clock    func() time.Time
	// KeyClients and ConsumerMinter exchange consumer keys (consumermint.go); nil:
	// consumer keys are refused.
	KeyClients     KeyClients
	ConsumerMinter ConsumerKeyMinter
}

// Exchanger verifies presented keys and mints tokens for them.
type Exchanger struct {
	cfg ExchangerConfig
}

// NewExchanger wires the verification pipeline.
func NewExchanger(cfg ExchangerConfig) *Exchanger {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Observe == nil {
		cfg.Observe = nopObserver{}
	}
	if ks, ok := cfg.Keys.(*KeyState); ok && cfg.Cache != nil {
		ks.ForgetTokensIn(cfg.Cache)
	}
	return &Exchanger{cfg: cfg}
}

// Exchange runs the pipeline: parse and checksum (no I/O), look-up, constant-time hash
// comparison, key state, client address, rate limit, scope, then the token cache or
// the Keycloak grant.
func (e *Exchanger) Exchange(ctx context.Context, req Request) Result {
	start := time.Now() // latency is wall time; cfg.Clock is for expiry decisions
	res := e.exchange(ctx, req)
	via := req.Via
	if via == "" {
		via = ViaToken
	}
	e.cfg.Observe.ObserveExchange(string(res.Outcome), via, time.Since(start))
	switch res.Outcome {
	case OutcomeIssued, OutcomeUnavailable, OutcomeError:
	default:
		e.cfg.Observe.Denied(string(res.Outcome))
	}
	if spendsFailureBudget(res.Outcome) {
		e.cfg.Failures.Fail(req.ClientIP)
	}
	var ip string
	if req.ClientIP.IsValid() {
		ip = req.ClientIP.String()
	}
	e.cfg.Usage.Record(res.KeyID, res.Outcome, via, ip, e.cfg.Clock())
	return res
}

// spendsFailureBudget: the outcomes of a wrong or dead credential. Refusals of a good
// key (rate limit, scope) and outages are not the caller's guessing.
func spendsFailureBudget(o Outcome) bool {
	switch o {
	case OutcomeMalformed, OutcomeUnknownKey, OutcomeExpired, OutcomeInactive, OutcomeIPDenied:
		return true
	}
	return false
}

func (e *Exchanger) exchange(ctx context.Context, req Request) Result {
	if wait, blocked := e.cfg.Failures.Blocked(req.ClientIP); blocked {
		return Result{Outcome: OutcomeThrottled, RetryAfter: wait}
	}
	requested, err := NormalizeScope(req.Scope)
	if err != nil {
		return Result{Outcome: OutcomeInvalidScope, Err: err}
	}
	parsed, err := ParseKey(req.APIKey)
	if err != nil {
		return Result{Outcome: OutcomeMalformed}
	}
	// Taken before the key is read: a token minted from a key (or consumer) that
	// changed meanwhile is not cached.
	version := e.cfg.Cache.Version(parsed.LookupID)
	key, res := e.verify(ctx, req, parsed)
	if res.Outcome != "" {
		return res
	}
	res = Result{KeyID: key.ID}
	if res.Outcome, res.RetryAfter, res.Err = e.limit(ctx, key); res.Outcome != "" {
		return res
	}
	scope, ok := narrowScope(key.Scopes, requested)
	if !ok {
		res.Outcome = OutcomeInvalidScope
		return res
	}
	now := e.cfg.Clock()
	if e.cfg.Cache != nil {
		if tok, hit := e.cfg.Cache.Get(key.ID, scope, now); hit {
			e.cfg.Observe.CacheHit()
			res.Outcome, res.Token, res.Cached = OutcomeIssued, tok, true
			return res
		}
		e.cfg.Observe.CacheMiss()
	}
	res = e.mint(ctx, key, scope)
	if res.Outcome == OutcomeIssued {
		e.cfg.Cache.PutSince(version, key.ID, key.LookupID, key.OwnerID, scope, res.Token, now)
	}
	return res
}

// verify finds the presented key and checks it is live and used from an allowed
// address. A refusal comes back as a Result with an Outcome.
func (e *Exchanger) verify(ctx context.Context, req Request, parsed ParsedKey) (models.Key, Result) {
	key, err := e.cfg.Keys.KeyForExchange(ctx, parsed.LookupID)
	if errors.Is(err, models.ErrNotFound) {
		return models.Key{}, Result{Outcome: OutcomeUnknownKey}
	}
	if err != nil {
		e.cfg.Observe.DatabaseError("key_lookup")
		return models.Key{}, Result{Outcome: OutcomeUnavailable, Err: fmt.Errorf("look up key: %w", err)}
	}
	if !e.cfg.Hasher.Matches(parsed.Secret, key.SecretHash) || !parsed.SameEnv(key.Environment) || key.DeletedAt != nil {
		return models.Key{}, Result{Outcome: OutcomeUnknownKey}
	}
	key.LookupID = parsed.LookupID // what the store's announcements name
	refuse := func(o Outcome) (models.Key, Result) { return key, Result{Outcome: o, KeyID: key.ID} }
	switch {
	case !key.Enabled:
		return refuse(OutcomeInactive)
	case key.ExpiresAt != nil && !e.cfg.Clock().Before(*key.ExpiresAt):
		return refuse(OutcomeExpired)
	case !cidrlist.Allows(key.IPAllowlist, req.ClientIP):
		return refuse(OutcomeIPDenied)
	}
	return key, Result{}
}

// limit spends one request of the key's rate limit; an Outcome when it may not.
func (e *Exchanger) limit(ctx context.Context, key models.Key) (Outcome, time.Duration, error) {
	l, limited := e.cfg.Limits.For(key)
	if !limited || e.cfg.Limiter == nil {
		return "", 0, nil
	}
	d, err := e.cfg.Limiter.Allow(ctx, key.ID, l)
	switch {
	case err != nil:
		// Fail closed: an unchecked limit would let abuse through.
		return OutcomeUnavailable, 0, fmt.Errorf("rate limiter: %w", err)
	case !d.Allowed:
		return OutcomeRateLimited, d.RetryAfter, nil
	}
	return "", 0, nil
}

// mint asks Keycloak for the owner's token and checks it before it is handed out.
func (e *Exchanger) mint(ctx context.Context, key models.Key, scope string) Result {
	if key.OwnerType == models.OwnerConsumer {
		return e.mintConsumer(ctx, key, scope)
	}
	kcStart := time.Now()
	var tok keycloak.Token
	var err error
	if roleIDs := key.RoleIDs(); roleIDs != nil {
		tok, err = e.mintLimited(ctx, key, scope, roleIDs)
	} else {
		tok, err = e.cfg.Minter.Mint(ctx, key.OwnerID, scope)
	}
	e.cfg.Observe.ObserveKeycloak("jwt_bearer_grant", time.Since(kcStart), err)
	res := Result{KeyID: key.ID}
	if err != nil {
		res.Outcome, res.Err = failedMint(err, keycloak.ErrInvalidGrant, OutcomeUserRefused), err
		return res
	}
	if refused := e.check(ctx, key, tok); refused.Outcome != "" {
		refused.KeyID = key.ID
		return refused
	}
	res.Outcome, res.Token = OutcomeIssued, tok
	return res
}

// failedMint is the outcome of a mint Keycloak gave no token for: refusal is how this
// grant's Keycloak refuses the principal, answered as refused.
func failedMint(err, refusal error, refused Outcome) Outcome {
	var held *WithheldError
	switch {
	case errors.As(err, &held):
		return held.Outcome
	case errors.Is(err, refusal):
		return refused
	case errors.Is(err, keycloak.ErrInvalidScope):
		return OutcomeInvalidScope
	case errors.Is(err, keycloak.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return OutcomeUnavailable
	}
	return OutcomeError
}

// check looks at the token Keycloak issued before it is handed out (fail closed):
// it must be the owner's, carry no denylisted role, and not be a service account's —
// whatever the realm's scoping says.
func (e *Exchanger) check(ctx context.Context, key models.Key, tok keycloak.Token) Result {
	claims, err := keycloak.ReadIssued(tok.AccessToken)
	if err != nil {
		return Result{Outcome: OutcomeError, Err: err}
	}
	if claims.Subject != key.OwnerID {
		return Result{Outcome: OutcomeError, Err: fmt.Errorf("keycloak issued a token for another subject")}
	}
	if role, denied := e.cfg.Deny.Match(claims.Roles); denied {
		return Result{Outcome: OutcomeDeniedRole, Err: fmt.Errorf("issued token carries the denied role %s", role)}
	}
	if e.cfg.Principals != nil {
		sa, err := e.cfg.Principals.IsServiceAccount(ctx, claims.Subject, claims.Username)
		switch {
		case err != nil:
			return Result{Outcome: OutcomeUnavailable, Err: fmt.Errorf("is the owner a person: %w", err)}
		case sa:
			return Result{Outcome: OutcomeNotPerson, Err: fmt.Errorf("the key's owner %s is a service account", claims.Username)}
		}
	}
	return Result{}
}

// Owner is the Keycloak user a key belongs to.
type Owner struct {
	ID       string
	Username string
}

// Bounds of scopes: what a key may hold and a request may ask for.
const (
	MaxScopeParamLen = 2048
	maxScopeLen      = 64
)

var scopePattern = regexp.MustCompile(api.ScopePattern)

// ScopeNameOK says whether s is a scope name keys may hold: 1..64 of letters, digits
// and _ . : / -.
func ScopeNameOK(s string) bool { return scopePattern.MatchString(s) }

// NormalizeScope checks a requested scope parameter and returns it sorted and without
// repeats, so that equal requests compare and cache as equal. At most api.ScopesMax
// scopes, each a scope name as keys store them.
func NormalizeScope(raw string) (string, error) {
	if len(raw) > MaxScopeParamLen {
		return "", fmt.Errorf("the scope parameter is longer than %d bytes", MaxScopeParamLen)
	}
	fields := strings.Fields(raw)
	if len(fields) > api.ScopesMax {
		return "", fmt.Errorf("at most %d scopes may be requested", api.ScopesMax)
	}
	for _, f := range fields {
		if !scopePattern.MatchString(f) {
			return "", fmt.Errorf("each scope is 1..%d characters of letters, digits and _ . : / -", maxScopeLen)
		}
	}
	slices.Sort(fields)
	return strings.Join(slices.Compact(fields), " "), nil
}

// narrowScope returns the scope to request: the key's scopes, or the requested subset
// of them (normalised: sorted, no repeats). A request may narrow, never widen; ok is
// false when it tries.
func narrowScope(keyScopes, requested string) (string, bool) {
	allowed := strings.Fields(keyScopes)
	want := strings.Fields(requested)
	if len(want) == 0 {
		slices.Sort(allowed)
		return strings.Join(slices.Compact(allowed), " "), true
	}
	for _, w := range want {
		if !slices.Contains(allowed, w) {
			return "", false
		}
	}
	return strings.Join(want, " "), true
}
