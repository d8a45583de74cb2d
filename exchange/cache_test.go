package exchange_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/keycloak"
)

// More tokens than the bound: new ones are cached (the cache evicts, it does not
// refuse), memory stays near the bound, and tokens used often survive a scan of
// tokens used once. As the exchange does, a token missed is put again.
func TestTokenCache_MoreTokensThanBound_EvictsInsteadOfRefusing(t *testing.T) {
	const bound, hot, scan = 1000, 50, 20_000
	now := time.Now()
	c := exchange.NewTokenCache(30*time.Second, bound)
	tok := keycloak.Token{AccessToken: "t", ExpiresIn: 300}
	hotMisses := 0
	exchange := func(key string) {
		if _, ok := c.Get(key, "openid", now); !ok {
			if key[0] == 'h' {
				hotMisses++
			}
			c.Put(key, "owner", "openid", tok, now)
		}
	}
	for range 20 {
		for i := range hot {
			exchange("hot" + strconv.Itoa(i))
		}
	}
	before := heapInUse()
	for i := range scan {
		exchange("hot" + strconv.Itoa(i%hot))
		exchange("cold" + strconv.Itoa(i))
	}
	exchange("fresh")
	if _, ok := c.Get("fresh", "openid", now); !ok {
		t.Fatal("a token put after the cache filled is not served")
	}
	if grown := int64(heapInUse()) - int64(before); grown > 2<<20 {
		t.Errorf("heap grew by %d bytes for %d tokens with a bound of %d", grown, scan, bound)
	}
	// Each hot token is put once at first; a few more misses are the cache learning.
	if hotMisses > hot*3 {
		t.Errorf("hot tokens missed %d times (%d tokens, %d exchanges): the scan evicted them", hotMisses, hot, scan)
	}
}

// Drop forgets a key's tokens of every scope, DropOwner every key of one owner, DropAll
// every token; others stay.
func TestTokenCache_Drops(t *testing.T) {
	now := time.Now()
	c := exchange.NewTokenCache(30*time.Second, 0)
	tok := keycloak.Token{AccessToken: "t", ExpiresIn: 300}
	put := func(key, owner string) {
		c.Put(key, owner, "openid", tok, now)
		c.Put(key, owner, "openid email", tok, now)
	}
	has := func(key, scope string) bool { _, ok := c.Get(key, scope, now); return ok }
	put("a1", "alice")
	put("a2", "alice")
	put("b1", "bob")
	if !has("a1", "openid") || !has("a1", "openid email") {
		t.Fatal("a key's tokens of two scopes are not both kept")
	}
	c.Drop("a1")
	if has("a1", "openid") || has("a1", "openid email") || !has("a2", "openid") {
		t.Fatal("Drop(a1): wrong tokens forgotten")
	}
	put("a1", "alice")
	c.DropOwner("alice")
	if has("a1", "openid") || has("a2", "openid email") || !has("b1", "openid") {
		t.Fatal("DropOwner(alice): wrong tokens forgotten")
	}
	c.DropAll()
	if has("b1", "openid") {
		t.Fatal("DropAll left a token")
	}
}

// A token is served until the margin before it expires, with the time it has left.
func TestTokenCache_ServedUntilMargin(t *testing.T) {
	now := time.Now()
	c := exchange.NewTokenCache(30*time.Second, 0)
	c.Put("k", "o", "openid", keycloak.Token{AccessToken: "t", ExpiresIn: 300}, now)
	if got, ok := c.Get("k", "openid", now.Add(100*time.Second)); !ok || got.ExpiresIn != 200 {
		t.Fatalf("Get = %+v, %v; want expires_in 200", got, ok)
	}
	if _, ok := c.Get("k", "openid", now.Add(271*time.Second)); ok {
		t.Fatal("served within the margin")
	}
}
