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
// A cached token carries the roles the user had when it was issued: Keyward follows
// Keycloak's admin events and drops an owner's tokens (DropOwner) when their roles,
// groups or state change, so a change shows within the events poll interval (README
// "Events from Keycloak"); a change Keycloak records no admin event for shows when the
// cached token is renewed.
type TokenCache struct {
	margin     time.Duration
	maxEntries int

	mu      sync.Mutex
	entries map[string]map[string]cachedToken // key id → scope → token
	owners  map[string]map[string]bool        // owner id → key ids with entries
	ownerOf map[string]string                 // key id → owner id
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
	return &TokenCache{margin: margin, maxEntries: maxEntries, entries: map[string]map[string]cachedToken{},
		owners: map[string]map[string]bool{}, ownerOf: map[string]string{}}
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

// Put caches a token issued at now for a key of ownerID.
func (c *TokenCache) Put(keyID, ownerID, scope string, t keycloak.Token, now time.Time) {
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
		c.ownerOf[keyID] = ownerID
		if c.owners[ownerID] == nil {
			c.owners[ownerID] = map[string]bool{}
		}
		c.owners[ownerID][keyID] = true
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
	c.dropLocked(keyID)
	c.mu.Unlock()
}

// DropOwner forgets every token of every key of ownerID.
func (c *TokenCache) DropOwner(ownerID string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	for keyID := range c.owners[ownerID] {
		c.dropLocked(keyID)
	}
	c.mu.Unlock()
}

// DropAll forgets every token.
func (c *TokenCache) DropAll() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.entries, c.owners, c.ownerOf, c.size = map[string]map[string]cachedToken{}, map[string]map[string]bool{}, map[string]string{}, 0
	c.mu.Unlock()
}

func (c *TokenCache) dropLocked(keyID string) {
	c.size -= len(c.entries[keyID])
	delete(c.entries, keyID)
	if owner, ok := c.ownerOf[keyID]; ok {
		delete(c.ownerOf, keyID)
		delete(c.owners[owner], keyID)
		if len(c.owners[owner]) == 0 {
			delete(c.owners, owner)
		}
	}
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
			c.dropLocked(id)
		}
	}
}
