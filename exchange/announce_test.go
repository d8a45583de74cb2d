package exchange

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
)

// A change the store announces for a key (models.Store.WatchKeys) reaches its cached
// tokens too, not only the key state: a consumer disabled or moved to other groups
// changes no key row, so without it a replica would serve the cached token until it
// expired.

// switchableConsumer is KeyClientOf (provisioning) and the key client's grant: the
// consumer can be disabled, its groups changed; tokens name the groups they were
// minted with.
type switchableConsumer struct {
	mu       sync.Mutex
	disabled bool
	groups   string
	mints    int
}

func (c *switchableConsumer) KeyClientOf(context.Context, string) (keycloak.KeyClientIDs, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.disabled {
		return keycloak.KeyClientIDs{}, fmt.Errorf("the consumer is disabled: %w", models.ErrNotFound)
	}
	return keycloak.KeyClientIDs{ID: "kc", ClientID: "kw-keys-c1", ServiceAccountID: "sa"}, nil
}

func (c *switchableConsumer) Mint(context.Context, keycloak.KeyClientIDs, string) (keycloak.Token, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mints++
	return keycloak.Token{AccessToken: "token-" + strconv.Itoa(c.mints) + "-" + c.groups, ExpiresIn: 300}, nil
}

func (c *switchableConsumer) set(disabled bool, groups string) {
	c.mu.Lock()
	c.disabled, c.groups = disabled, groups
	c.mu.Unlock()
}

func TestExchange_ConsumerChangeAnnounced_CachedTokenDropped_ReMinted(t *testing.T) {
	consumerKey := func(k *models.Key) {
		k.OwnerType, k.ConsumerID, k.OwnerID = models.OwnerConsumer, "c1", models.ConsumerOwnerID("c1")
	}
	f := newFixture(t, consumerKey)
	other := newFixture(t, consumerKey)
	f.store[other.row.LookupID] = other.row
	state := NewKeyState(f.store, 0, time.Hour, f.clock.Now)
	state.Listening(true, time.Time{})
	cons := &switchableConsumer{groups: "a"}
	e := NewExchanger(ExchangerConfig{Keys: state, Hasher: testHasher(t), Minter: f.minter,
		Cache: NewTokenCache(30*time.Second, 0), Clock: f.clock.Now, KeyClients: cons, ConsumerMinter: cons})
	exchange := func(key string) Result { return e.Exchange(context.Background(), Request{APIKey: key}) }

	first := exchange(f.key)
	exchange(other.key)
	if again := exchange(f.key); !again.Cached || again.Token.AccessToken != first.Token.AccessToken {
		t.Fatalf("second exchange not served from the cache: %+v", again)
	}
	// Disabled: the key row is the same, only the announcement tells.
	cons.set(true, "a")
	if got := exchange(f.key); !got.Cached {
		t.Fatalf("before the announcement: %+v (the test would show nothing)", got)
	}
	state.KeyChanged(f.row.LookupID)
	if got := exchange(f.key); got.Outcome != OutcomeInactive {
		t.Fatalf("a disabled consumer's key after the announcement: %q (cached %v)", got.Outcome, got.Cached)
	}
	if got := exchange(other.key); !got.Cached {
		t.Fatal("another key's token was dropped with it")
	}
	// Enabled again in other groups: a token minted anew, with them.
	cons.set(false, "b")
	state.KeyChanged(f.row.LookupID)
	got := exchange(f.key)
	if got.Outcome != OutcomeIssued || got.Cached || got.Token.AccessToken != "token-3-b" {
		t.Fatalf("enabled again in group b: %q cached %v token %q", got.Outcome, got.Cached, got.Token.AccessToken)
	}
	// Every key at once (a resynchronisation).
	state.KeyChanged(models.AllKeys)
	if got := exchange(other.key); got.Cached {
		t.Fatal("AllKeys left a token")
	}
}

// A token minted from a key read before a drop of that key (or of its owner, or of
// every key) is not cached after it: the next exchange would otherwise be served a
// token of the consumer as it was. Another key's drop does not keep it out.
func TestTokenCache_PutSince_DropMeanwhile_NotKept(t *testing.T) {
	now := time.Now()
	tok := keycloak.Token{AccessToken: "t", ExpiresIn: 300}
	for name, drop := range map[string]func(c *TokenCache){
		"the key's announcement": func(c *TokenCache) { c.DropLookup("lk1") },
		"its owner":              func(c *TokenCache) { c.DropOwner("o") },
		"every key":              func(c *TokenCache) { c.DropAll() },
	} {
		c := NewTokenCache(30*time.Second, 0)
		v := c.Version("lk1")
		drop(c)
		c.PutSince(v, "k1", "lk1", "o", "openid", tok, now)
		if _, ok := c.Get("k1", "openid", now); ok {
			t.Fatalf("a token minted before a drop of %s was cached", name)
		}
		c.PutSince(c.Version("lk1"), "k1", "lk1", "o", "openid", tok, now)
		if _, ok := c.Get("k1", "openid", now); !ok {
			t.Fatalf("after a drop of %s, a token minted with nothing dropped since was not cached", name)
		}
	}
	c := NewTokenCache(30*time.Second, 0)
	v := c.Version("lk1")
	for i := range 100 { // other keys' announcements (their stripes may meet lk1's: not all)
		if other := "lk-other-" + strconv.Itoa(i); stripe(other) != stripe("lk1") {
			c.DropLookup(other)
		}
	}
	c.PutSince(v, "k1", "lk1", "o", "openid", tok, now)
	if _, ok := c.Get("k1", "openid", now); !ok {
		t.Fatal("other keys' drops kept a key's token out of the cache")
	}
}

// DropLookup forgets the tokens of the key of that lookup id, every scope, and no
// other; the lookup index follows evictions, so it stays near the cache's bound.
func TestTokenCache_DropLookup_IndexFollowsEvictions(t *testing.T) {
	now := time.Now()
	c := NewTokenCache(30*time.Second, 100)
	tok := keycloak.Token{AccessToken: "t", ExpiresIn: 300}
	for _, scope := range []string{"openid", "openid email"} {
		c.PutSince(c.Version("lk1"), "k1", "lk1", "o", scope, tok, now)
		c.PutSince(c.Version("lk2"), "k2", "lk2", "o", scope, tok, now)
	}
	c.DropLookup("lk1")
	for _, scope := range []string{"openid", "openid email"} {
		if _, ok := c.Get("k1", scope, now); ok {
			t.Fatalf("k1's %q token survived DropLookup", scope)
		}
		if _, ok := c.Get("k2", scope, now); !ok {
			t.Fatalf("k2's %q token was dropped", scope)
		}
	}
	for i := range 20_000 {
		id := strconv.Itoa(i)
		c.PutSince(c.Version("lk"+id), "k"+id, "lk"+id, "o", "openid", tok, now)
	}
	c.entries.CleanUp()
	if n := c.indexed(); n > 200 {
		t.Fatalf("%d lookup ids indexed for a cache of 100 tokens", n)
	}
	c.DropLookup(models.AllKeys)
	if n := c.indexed(); n != 0 {
		t.Fatalf("%d lookup ids indexed after every token was dropped", n)
	}
}

// Puts, drops and evictions at once: every cached token stays findable by its lookup
// id, so that no announcement misses one.
func TestTokenCache_Concurrent_EveryEntryIndexed(t *testing.T) {
	now := time.Now()
	c := NewTokenCache(30*time.Second, 200)
	tok := keycloak.Token{AccessToken: "t", ExpiresIn: 300}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5000 {
				id := strconv.Itoa((i*7 + w) % 600)
				switch i % 10 {
				case 0:
					c.DropLookup("lk" + id)
				case 1:
					c.Drop("k" + id)
				default:
					c.PutSince(c.Version("lk"+id), "k"+id, "lk"+id, "o", "openid", tok, now)
				}
			}
		}()
	}
	wg.Wait()
	c.entries.CleanUp()
	c.lookupMu.Lock()
	defer c.lookupMu.Unlock()
	for id, ts := range c.entries.All() {
		if c.lookups[ts.lookup] != id {
			t.Fatalf("cached key %s (lookup %s) not indexed", id, ts.lookup)
		}
	}
}
