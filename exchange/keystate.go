package exchange

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/keyward/keyward/models"
)

// KeyState is a replica's memory of the keys the exchange has read: what
// KeyForExchange returns, kept until the store announces that the key changed
// (models.Store.WatchKeys). While announcements may be missed (the notification
// connection is down, or its last heartbeat is too old) every exchange reads the
// store, and what was remembered is forgotten when they are back. Unknown keys are
// never remembered: a guessed lookup id costs a read, not memory. A key remembered
// longer than maxAge is read again, whatever was heard: a backstop for a change
// whose announcement was lost although the heartbeats came back.
//
// Memory is bounded by an otter cache (W-TinyLFU): past its size the keys least likely
// to be used again are evicted, and a key seen once must be used more often than the
// one it would replace to be admitted, so a scan of one-off keys cannot push out the
// hot ones. Reads take no lock and allocate nothing.
type KeyState struct {
	store  KeyFinder
	maxAge time.Duration
	now    func() time.Time

	entries *otter.Cache[string, *rememberedKey] // lookup id → key
	// mu orders remembering after a read with forgetting; gen counts changes, so that
	// a read that began before a change is not remembered.
	mu  sync.Mutex
	gen atomic.Uint64

	// trustUntil is when the announcements stop being trusted, in Unix nanoseconds:
	// 0 while they are down, math.MaxInt64 when they cannot fail (in process).
	trustUntil atomic.Int64
	// tokens, when set (the exchanger's cache), forgets the tokens of a key forgotten
	// here: an announcement may be of something the key row does not show (its
	// consumer disabled or moved to other groups).
	tokens atomic.Pointer[TokenCache]
}

type rememberedKey struct {
	key    models.Key
	readAt time.Time
}

// DefaultKeyStateMaxAge is how long a key is remembered at most when NewKeyState is
// given no age.
const DefaultKeyStateMaxAge = time.Minute

// NewKeyState remembers about maxEntries keys (0: 100,000), each for at most maxAge
// (0: DefaultKeyStateMaxAge), read from store; now is the clock (nil: time.Now). It
// serves from the store alone until told that changes are heard (Listening).
func NewKeyState(store KeyFinder, maxEntries int, maxAge time.Duration, now func() time.Time) *KeyState {
	if maxEntries <= 0 {
		maxEntries = 100_000
	}
	if maxAge <= 0 {
		maxAge = DefaultKeyStateMaxAge
	}
	if now == nil {
		now = time.Now
	}
	return &KeyState{store: store, maxAge: maxAge, now: now,
		entries: otter.Must(&otter.Options[string, *rememberedKey]{MaximumSize: maxEntries})}
}

// KeyForExchange returns the key from memory when announcements are trusted, else
// from the store.
func (s *KeyState) KeyForExchange(ctx context.Context, lookupID string) (models.Key, error) {
	if !s.Trusted() {
		return s.store.KeyForExchange(ctx, lookupID)
	}
	if r, ok := s.entries.GetIfPresent(lookupID); ok && s.now().Sub(r.readAt) < s.maxAge {
		return r.key, nil
	}
	gen := s.gen.Load()
	readAt := s.now()
	k, err := s.store.KeyForExchange(ctx, lookupID)
	if err != nil {
		return k, err
	}
	s.mu.Lock()
	if s.gen.Load() == gen {
		s.entries.Set(lookupID, &rememberedKey{key: k, readAt: readAt})
	}
	s.mu.Unlock()
	return k, nil
}

// Trusted tells whether key changes are being heard, so that memory may be served.
func (s *KeyState) Trusted() bool {
	until := s.trustUntil.Load()
	return until != 0 && s.now().UnixNano() < until
}

// KeyChanged forgets the key (models.AllKeys: every key), and its cached tokens.
func (s *KeyState) KeyChanged(lookupID string) {
	s.mu.Lock()
	s.gen.Add(1)
	if lookupID == models.AllKeys {
		s.entries.InvalidateAll()
	} else {
		s.entries.Invalidate(lookupID)
	}
	s.mu.Unlock()
	// After the key: an exchange that still read the old key cannot cache a token
	// minted from it (PutSince), one that reads it anew finds no token.
	s.tokens.Load().DropLookup(lookupID)
}

// ForgetTokensIn makes every key forgotten here lose its tokens in c too.
func (s *KeyState) ForgetTokensIn(c *TokenCache) { s.tokens.Store(c) }

// Listening records whether announcements are heard, and until when a heartbeat
// vouches for them (zero: for good).
func (s *KeyState) Listening(up bool, until time.Time) {
	var v int64
	switch {
	case !up:
		v = 0
	case until.IsZero():
		v = 1<<63 - 1
	default:
		v = until.UnixNano()
	}
	s.trustUntil.Store(v)
	if !up {
		// Nothing remembered may be trusted past this point.
		s.KeyChanged(models.AllKeys)
	}
}
