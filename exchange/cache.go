package exchange

import (
	"hash/fnv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
)

// TokenCache keeps the Keycloak token issued for a key and scope, and serves it until
// margin before it expires. The key's state is checked on every exchange before the
// cache is consulted, so revoking, disabling, expiring or moving a key out of an IP
// allowlist takes effect at once; Drop frees a key's entries when it changes.
//
// A cached token carries the roles the user had when it was issued: Keyward follows
// Keycloak's admin events and drops an owner's tokens (DropOwner) when their roles,
// groups or state change, so a change shows within the events poll interval (docs/administering/audit.md); a change Keycloak records no admin event for shows when the
// cached token is renewed. A key the store announces changed (models.Store.WatchKeys,
// through KeyState) loses its tokens on every replica at once (DropLookup): so does
// every key of a consumer disabled or moved to other ACL groups.
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
	// Drops are counted, so that a token minted before one is not cached after it
	// (PutSince): the key it was minted for may have changed meanwhile. A key's drops
	// count in its stripe (by lookup id), an owner's or all keys' in epoch: a drop of
	// one key does not keep the tokens of every other key being minted out of the cache.
	epoch   atomic.Uint64
	stripes [versionStripes]atomic.Uint64
	// lookups finds the key id of a lookup id, which the store's announcements name;
	// entries' deletions keep it to the keys in entries.
	lookupMu sync.Mutex
	lookups  map[string]string
}

type keyTokens struct {
	owner   string
	lookup  string // "" when put without one (Put)
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
	c := &TokenCache{margin: margin, lookups: map[string]string{}}
	c.entries = otter.Must(&otter.Options[string, *keyTokens]{
		MaximumWeight: uint64(maxEntries),
		Weigher:       func(_ string, t *keyTokens) uint32 { return uint32(len(t.byScope)) },
		// Under the entry's bucket lock: only lookupMu is taken here, and nothing holding
		// lookupMu calls the cache.
		OnAtomicDeletion: func(e otter.DeletionEvent[string, *keyTokens]) {
			if e.Cause == otter.CauseReplacement || e.Value.lookup == "" {
				return
			}
			c.lookupMu.Lock()
			if c.lookups[e.Value.lookup] == e.Key {
				delete(c.lookups, e.Value.lookup)
			}
			c.lookupMu.Unlock()
		},
	})
	return c
}

// versionStripes is how many stripes the keys' drop counts are spread over.
const versionStripes = 256

func stripe(lookupID string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(lookupID))
	return int(h.Sum32() % versionStripes)
}

// Version changes with every drop that may concern the key of lookupID:
// PutSince(Version(lookupID) taken before the key was read) caches a token only if
// nothing of that key was dropped since.
func (c *TokenCache) Version(lookupID string) uint64 {
	if c == nil {
		return 0
	}
	// Both only grow: the sum changes when either does.
	return c.epoch.Load() + c.stripes[stripe(lookupID)].Load()
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
	c.put(false, 0, keyID, "", ownerID, scope, t, now)
}

// PutSince caches a token issued at now for the key of keyID and lookupID, owned by
// ownerID, unless a drop happened since version (Version): a token minted from a
// key, a consumer or a user that changed meanwhile is not kept for the next exchange.
func (c *TokenCache) PutSince(version uint64, keyID, lookupID, ownerID, scope string, t keycloak.Token, now time.Time) {
	c.put(true, version, keyID, lookupID, ownerID, scope, t, now)
}

func (c *TokenCache) put(check bool, version uint64, keyID, lookupID, ownerID, scope string, t keycloak.Token, now time.Time) {
	if c == nil || time.Duration(t.ExpiresIn)*time.Second <= c.margin {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if check && c.epoch.Load()+c.stripes[stripe(lookupID)].Load() != version {
		return
	}
	byScope := map[string]cachedToken{}
	if old, ok := c.entries.GetIfPresent(keyID); ok {
		for s, e := range old.byScope { // expired tokens of other scopes leave here
			if now.Before(e.expiresAt.Add(-c.margin)) {
				byScope[s] = e
			}
		}
	}
	byScope[scope] = cachedToken{token: t, expiresAt: now.Add(time.Duration(t.ExpiresIn) * time.Second)}
	c.entries.Set(keyID, &keyTokens{owner: ownerID, lookup: lookupID, byScope: byScope})
	if lookupID == "" {
		return
	}
	// Indexed after the Set, then checked: an entry evicted before it was indexed
	// (admission refused it, say) must not leave its index behind.
	c.lookupMu.Lock()
	c.lookups[lookupID] = keyID
	c.lookupMu.Unlock()
	if _, ok := c.entries.GetEntryQuietly(keyID); !ok {
		c.lookupMu.Lock()
		if c.lookups[lookupID] == keyID {
			delete(c.lookups, lookupID)
		}
		c.lookupMu.Unlock()
	}
}

// indexed is how many lookup ids are indexed (tests).
func (c *TokenCache) indexed() int {
	c.lookupMu.Lock()
	defer c.lookupMu.Unlock()
	return len(c.lookups)
}

// Drop forgets every token of a key.
func (c *TokenCache) Drop(keyID string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	// A key without tokens here has no lookup id to count under; the store's
	// announcement of the write that caused this drop counts it (DropLookup).
	if ts, ok := c.entries.GetIfPresent(keyID); ok && ts.lookup != "" {
		c.stripes[stripe(ts.lookup)].Add(1)
	}
	c.entries.Invalidate(keyID)
	c.mu.Unlock()
}

// DropLookup forgets every token of the key of lookupID (models.AllKeys: of every
// key): the store announced that it changed.
func (c *TokenCache) DropLookup(lookupID string) {
	if c == nil {
		return
	}
	if lookupID == models.AllKeys {
		c.DropAll()
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stripes[stripe(lookupID)].Add(1)
	c.lookupMu.Lock()
	keyID, ok := c.lookups[lookupID]
	c.lookupMu.Unlock()
	if ok {
		c.entries.Invalidate(keyID)
	}
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
	c.epoch.Add(1)
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
	c.epoch.Add(1)
	c.entries.InvalidateAll()
	c.lookupMu.Lock()
	clear(c.lookups)
	c.lookupMu.Unlock()
	c.mu.Unlock()
}
