package exchange

import (
	"sync"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/keyward/keyward/keycloak"
)

// TokenCache keeps the Keycloak token issued for a key and scope, and serves it until
// margin before it expires. The key's state is checked on every exchange before the
// cache is consulted, so revoking, disabling, expiring or moving a key out of an IP
// allowlist takes effect at once; Drop frees a key's entries when it changes.
//
// A cached token carries the roles the user had when it was issued: Keyward follows
// Keycloak's admin events and drops an owner's tokens (DropOwner) when their roles,
// groups or state change, so a change shows within the events poll interval (docs/administering/audit.md); a change Keycloak records no admin event for shows when the
// cached token is renewed.
//
// Memory is bounded as the key state's is (an otter cache, W-TinyLFU): past maxEntries
// tokens the least likely to be used again are evicted, rather than new ones refused.
type TokenCache struct {
	margin time.Duration

	// entries holds each key's tokens by scope; a key's tokens are replaced, never
	// changed in place, so that Get reads them without a lock. Weighed by tokens.
	entries *otter.Cache[string, *keyTokens] // key id → tokens
	// mu serialises writers: a Put's read-copy-write of a key's tokens, and drops.
	mu sync.Mutex
}

type keyTokens struct {
	owner   string
	byScope map[string]cachedToken
}

type cachedToken struct {
	token     keycloak.Token
	expiresAt time.Time
}

// NewTokenCache returns a cache of about maxEntries tokens (0: 100,000) that stops
// serving a token margin before it expires.
func NewTokenCache(margin time.Duration, maxEntries int) *TokenCache {
	if maxEntries <= 0 {
		maxEntries = 100_000
	}
	return &TokenCache{margin: margin, entries: otter.Must(&otter.Options[string, *keyTokens]{
		MaximumWeight: uint64(maxEntries),
		Weigher:       func(_ string, t *keyTokens) uint32 { return uint32(len(t.byScope)) },
	})}
}

// Get returns the cached token with expires_in set to the time it has left.
func (c *TokenCache) Get(keyID, scope string, now time.Time) (keycloak.Token, bool) {
	if c == nil {
		return keycloak.Token{}, false
	}
	ts, ok := c.entries.GetIfPresent(keyID)
	if !ok {
		return keycloak.Token{}, false
	}
	e, ok := ts.byScope[scope]
	if !ok || !now.Before(e.expiresAt.Add(-c.margin)) {
		return keycloak.Token{}, false
	}
	t := e.token
	t.ExpiresIn = int(e.expiresAt.Sub(now) / time.Second)
	return t, true
}

// Put caches a token issued at now for a key of ownerID.
func (c *TokenCache) Put(keyID, ownerID, scope string, t keycloak.Token, now time.Time) {
	if c == nil || time.Duration(t.ExpiresIn)*time.Second <= c.margin {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	byScope := map[string]cachedToken{}
	if old, ok := c.entries.GetIfPresent(keyID); ok {
		for s, e := range old.byScope { // expired tokens of other scopes leave here
			if now.Before(e.expiresAt.Add(-c.margin)) {
				byScope[s] = e
			}
		}
	}
	byScope[scope] = cachedToken{token: t, expiresAt: now.Add(time.Duration(t.ExpiresIn) * time.Second)}
	c.entries.Set(keyID, &keyTokens{owner: ownerID, byScope: byScope})
}

// Drop forgets every token of a key.
func (c *TokenCache) Drop(keyID string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.entries.Invalidate(keyID)
	c.mu.Unlock()
}

// DropOwner forgets every token of every key of ownerID. It visits every cached key:
// owners' changes are rare next to exchanges, and an index by owner would have to
// follow evictions.
func (c *TokenCache) DropOwner(ownerID string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var ids []string
	for id, ts := range c.entries.All() {
		if ts.owner == ownerID {
			ids = append(ids, id)
		}
	}
	for _, id := range ids {
		c.entries.Invalidate(id)
	}
}

// DropAll forgets every token.
func (c *TokenCache) DropAll() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.entries.InvalidateAll()
	c.mu.Unlock()
}
