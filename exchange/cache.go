package exchange

import (
	"sync"
	"time"

	"github.com/keyward/keyward/keycloak"
)

// TokenCache keeps the Keycloak token issued for a key and scope, and serves it until
// margin before it expires. The key's state is checked on every exchange before the
// cache is consulted, so revoking, disabling, expiring or moving a key out of an IP
// allowlist takes effect at once; Drop frees a key's entries when it changes.
//
// A cached token carries the roles the user had when it was issued: with the cache on,
// a role removed or a user disabled in Keycloak shows at the latest when the cached
// token is renewed. That is why the cache is opt-in.
type TokenCache struct {
	margin     time.Duration
	maxEntries int

	mu      sync.Mutex
	entries map[string]map[string]cachedToken // key id → scope → token
	size    int
}

type cachedToken struct {
	token     keycloak.Token
	expiresAt time.Time
}

// NewTokenCache returns a cache that stops serving a token margin before it expires.
func NewTokenCache(margin time.Duration, maxEntries int) *TokenCache {
	if maxEntries <= 0 {
		maxEntries = 100_000
	}
	return &TokenCache{margin: margin, maxEntries: maxEntries, entries: map[string]map[string]cachedToken{}}
}

// Get returns the cached token with expires_in set to the time it has left.
func (c *TokenCache) Get(keyID, scope string, now time.Time) (keycloak.Token, bool) {
	if c == nil {
		return keycloak.Token{}, false
	}
	c.mu.Lock()
	e, ok := c.entries[keyID][scope]
	c.mu.Unlock()
	if !ok || !now.Before(e.expiresAt.Add(-c.margin)) {
		return keycloak.Token{}, false
	}
	t := e.token
	t.ExpiresIn = int(e.expiresAt.Sub(now) / time.Second)
	return t, true
}

// Put caches a token issued at now.
func (c *TokenCache) Put(keyID, scope string, t keycloak.Token, now time.Time) {
	if c == nil || time.Duration(t.ExpiresIn)*time.Second <= c.margin {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.size >= c.maxEntries {
		c.evictExpired(now)
		if c.size >= c.maxEntries {
			return // full of live tokens: serve uncached rather than grow without bound
		}
	}
	byScope := c.entries[keyID]
	if byScope == nil {
		byScope = map[string]cachedToken{}
		c.entries[keyID] = byScope
	}
	if _, exists := byScope[scope]; !exists {
		c.size++
	}
	byScope[scope] = cachedToken{token: t, expiresAt: now.Add(time.Duration(t.ExpiresIn) * time.Second)}
}

// Drop forgets every token of a key.
func (c *TokenCache) Drop(keyID string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.size -= len(c.entries[keyID])
	delete(c.entries, keyID)
	c.mu.Unlock()
}

func (c *TokenCache) evictExpired(now time.Time) {
	for id, byScope := range c.entries {
		for scope, e := range byScope {
			if !now.Before(e.expiresAt.Add(-c.margin)) {
				delete(byScope, scope)
				c.size--
			}
		}
		if len(byScope) == 0 {
			delete(c.entries, id)
		}
	}
}
