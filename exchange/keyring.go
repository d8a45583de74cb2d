package exchange

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"go.uber.org/zap"

	"github.com/keyward/keyward/models"
)

// Signing-key rotation, shared by every replica through the store.
//
// Keycloak keeps the JWKS it fetched and refetches it for an unknown kid no sooner than
// about 10 s after its previous fetch (measured on Keycloak 26.7:
// TestKeycloak_UnknownKid_RefetchedAfterAnInterval). So a new key is published
// PublishAhead before it signs: any copy Keycloak takes in that time holds it, and any
// older copy is old enough to be refetched at once. PublishAhead also covers the
// replicas' refresh (RingRefresh), their clock skew and the JWKS response's max-age.
const (
	PublishAhead = time.Minute
	// RingRefresh is how often each replica rereads the signing keys.
	RingRefresh = 5 * time.Second
	// retireAfter is how long a superseded key stays published once its successor
	// signs: its last assertions expire AssertionLifetime later, and a replica that
	// missed the switch by up to PublishAhead still signs with it.
	retireAfter = AssertionLifetime + PublishAhead
	// keptAfterRetired: an unpublished key's row is deleted this long after.
	keptAfterRetired = 24 * time.Hour
)

// SigningKeyStore is where the keys live (models.Store).
type SigningKeyStore interface {
	SigningKeys(ctx context.Context) ([]models.SigningKey, error)
	AddSigningKey(ctx context.Context, k models.SigningKey, unlessAfter time.Time) (bool, error)
	ActivateSigningKeyBy(ctx context.Context, kid string, by time.Time) error
	DeleteSigningKey(ctx context.Context, kid string) error
}

// Sealer encrypts private keys at rest (internal/sealbox.Box).
type Sealer interface {
	Seal(plaintext []byte, purpose string) ([]byte, error)
	Open(sealed []byte, purpose string) ([]byte, error)
}

// ErrSealedKey: a stored signing key cannot be opened, which means the encryption key
// is not the one that sealed it.
var ErrSealedKey = errors.New("a stored signing key cannot be decrypted with this encryption key")

// KeyRing holds the signing keys of the store: the one that signs now, the next one
// (published, not yet signing) and the previous one (published until its assertions
// have expired). Safe for concurrent use.
type KeyRing struct {
	store    SigningKeyStore
	sealer   Sealer
	rotation time.Duration
	clock    func() time.Time
	log      *zap.Logger

	state  atomic.Pointer[ringState]
	openMu sync.Mutex
	opened map[string]ringKey // kid → opened key, so that a refresh decrypts only new ones
}

type ringKey struct {
	kid        string
	activeFrom time.Time
	createdAt  time.Time
	private    jwk.Key
	public     jwk.Key
}

type ringState struct {
	keys      []ringKey // by activeFrom
	published jwk.Set
}

// SigningKeyInfo describes a key for the command line; never its private part.
type SigningKeyInfo struct {
	KID        string
	ActiveFrom time.Time
}

// NewKeyRing returns a ring that rotates every rotation. Call Init before use.
func NewKeyRing(store SigningKeyStore, sealer Sealer, rotation time.Duration, clock func() time.Time, log *zap.Logger) *KeyRing {
	if clock == nil {
		clock = time.Now
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &KeyRing{store: store, sealer: sealer, rotation: rotation, clock: clock, log: log, opened: map[string]ringKey{}}
}

// Init gives the store its first key when it has none: imported (the key of
// KEYWARD_SIGNING_KEY_FILE, imported once) or else a new one; then loads the keys. A
// key to import when the store has keys already is ignored, with a warning if it is
// not among them.
func (r *KeyRing) Init(ctx context.Context, imported *ecdsa.PrivateKey) error {
	now := r.clock()
	priv := imported
	if priv == nil {
		var err error
		if priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			return err
		}
	}
	row, kid, err := r.seal(priv, now, now)
	if err != nil {
		return err
	}
	added, err := r.store.AddSigningKey(ctx, row, time.Time{})
	if err != nil && !errors.Is(err, models.ErrAlreadyExists) {
		return err
	}
	if added && imported != nil {
		r.log.Info("signing key imported into the store; the key file is no longer read once every replica runs this version",
			zap.String("kid", kid))
	}
	if err := r.Refresh(ctx); err != nil {
		return err
	}
	if imported != nil && !added && !r.has(kid) {
		r.log.Warn("the signing key file is ignored: the store has signing keys already (a key file is imported once)",
			zap.String("file_kid", kid))
	}
	return nil
}

func (r *KeyRing) has(kid string) bool {
	for _, k := range r.state.Load().keys {
		if k.kid == kid {
			return true
		}
	}
	return false
}

// seal makes the stored form of priv.
func (r *KeyRing) seal(priv *ecdsa.PrivateKey, createdAt, activeFrom time.Time) (models.SigningKey, string, error) {
	kid, err := thumbprint(priv)
	if err != nil {
		return models.SigningKey{}, "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return models.SigningKey{}, "", err
	}
	sealed, err := r.sealer.Seal(der, "signing-key:"+kid)
	if err != nil {
		return models.SigningKey{}, "", err
	}
	return models.SigningKey{KID: kid, Sealed: sealed, CreatedAt: createdAt, ActiveFrom: activeFrom}, kid, nil
}

func thumbprint(priv *ecdsa.PrivateKey) (string, error) {
	k, err := jwk.FromRaw(priv.Public())
	if err != nil {
		return "", fmt.Errorf("signing key: %w", err)
	}
	t, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("signing key thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(t), nil
}

// Refresh rereads the keys from the store.
func (r *KeyRing) Refresh(ctx context.Context) error {
	rows, err := r.store.SigningKeys(ctx)
	if err != nil {
		return err
	}
	keys := make([]ringKey, 0, len(rows))
	r.openMu.Lock()
	defer r.openMu.Unlock()
	seen := map[string]bool{}
	for _, row := range rows {
		k, ok := r.opened[row.KID]
		if !ok {
			if k, err = openKey(r.sealer, row); err != nil {
				return err
			}
		}
		k.activeFrom, k.createdAt = row.ActiveFrom, row.CreatedAt
		r.opened[row.KID] = k
		seen[row.KID] = true
		keys = append(keys, k)
	}
	for kid := range r.opened {
		if !seen[kid] {
			delete(r.opened, kid)
		}
	}
	if len(keys) == 0 {
		return errors.New("the store has no signing key")
	}
	r.state.Store(&ringState{keys: keys, published: publishedSet(keys, r.clock())})
	return nil
}

func openKey(sealer Sealer, row models.SigningKey) (ringKey, error) {
	der, err := sealer.Open(row.Sealed, "signing-key:"+row.KID)
	if err != nil {
		return ringKey{}, fmt.Errorf("%w (kid %s): every replica must use the same KEYWARD_ENCRYPTION_KEY", ErrSealedKey, row.KID)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	priv, ok := parsed.(*ecdsa.PrivateKey)
	if err != nil || !ok || priv.Curve != elliptic.P256() {
		return ringKey{}, fmt.Errorf("stored signing key %s is not an ECDSA P-256 key", row.KID)
	}
	if kid, err := thumbprint(priv); err != nil || kid != row.KID {
		return ringKey{}, fmt.Errorf("stored signing key %s does not match its kid", row.KID)
	}
	private, err := jwk.FromRaw(priv)
	if err != nil {
		return ringKey{}, err
	}
	for k, v := range map[string]any{jwk.KeyIDKey: row.KID, jwk.AlgorithmKey: jwa.ES256, jwk.KeyUsageKey: "sig"} {
		if err := private.Set(k, v); err != nil {
			return ringKey{}, err
		}
	}
	public, err := private.PublicKey()
	if err != nil {
		return ringKey{}, err
	}
	return ringKey{kid: row.KID, private: private, public: public}, nil
}

// publishedSet is the JWKS at now: every key not yet retired, i.e. the next ones, the
// current one, and the previous one until retireAfter past its successor's start.
func publishedSet(keys []ringKey, now time.Time) jwk.Set {
	set := jwk.NewSet()
	for i, k := range keys {
		if i+1 < len(keys) && !now.Before(keys[i+1].activeFrom.Add(retireAfter)) {
			continue // retired: its successor has signed long enough
		}
		_ = set.AddKey(k.public)
	}
	return set
}

// current is the key that signs at now: the latest that is active. Before the first
// one is (clocks apart), the first.
func (st *ringState) current(now time.Time) ringKey {
	for i := len(st.keys) - 1; i >= 0; i-- {
		if !now.Before(st.keys[i].activeFrom) {
			return st.keys[i]
		}
	}
	return st.keys[0]
}

func (r *KeyRing) signingKey(now time.Time) (jwk.Key, error) {
	st := r.state.Load()
	if st == nil {
		return nil, errors.New("the signing keys are not loaded")
	}
	return st.current(now).private, nil
}

// PublicKeys is the JWKS as of the last refresh.
func (r *KeyRing) PublicKeys() jwk.Set {
	if st := r.state.Load(); st != nil {
		return st.published
	}
	return jwk.NewSet()
}

// Keys lists the keys as of the last refresh, by ActiveFrom.
func (r *KeyRing) Keys() []SigningKeyInfo {
	st := r.state.Load()
	if st == nil {
		return nil
	}
	out := make([]SigningKeyInfo, len(st.keys))
	for i, k := range st.keys {
		out[i] = SigningKeyInfo{KID: k.kid, ActiveFrom: k.activeFrom}
	}
	return out
}

// Rotate schedules a new key to sign PublishAhead from now, or brings a key already
// scheduled forward to then; it returns the key that will sign next.
func (r *KeyRing) Rotate(ctx context.Context) (SigningKeyInfo, error) {
	if err := r.Refresh(ctx); err != nil {
		return SigningKeyInfo{}, err
	}
	now := r.clock()
	by := now.Add(PublishAhead)
	for _, k := range r.state.Load().keys {
		if k.activeFrom.After(now) {
			if err := r.store.ActivateSigningKeyBy(ctx, k.kid, by); err != nil {
				return SigningKeyInfo{}, err
			}
			return SigningKeyInfo{KID: k.kid, ActiveFrom: minTime(k.activeFrom, by)}, r.Refresh(ctx)
		}
	}
	info, _, err := r.schedule(ctx, now, by)
	if err != nil {
		return SigningKeyInfo{}, err
	}
	if info.KID == "" { // another replica scheduled one meanwhile
		return r.Rotate(ctx)
	}
	return info, r.Refresh(ctx)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// schedule adds a new key active from `from` unless a key is already scheduled after now.
func (r *KeyRing) schedule(ctx context.Context, now, from time.Time) (SigningKeyInfo, bool, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return SigningKeyInfo{}, false, err
	}
	row, kid, err := r.seal(priv, now, from)
	if err != nil {
		return SigningKeyInfo{}, false, err
	}
	added, err := r.store.AddSigningKey(ctx, row, now)
	if err != nil || !added {
		return SigningKeyInfo{}, false, err
	}
	return SigningKeyInfo{KID: kid, ActiveFrom: row.ActiveFrom}, true, nil
}

// Tick does the periodic work: schedule the next key when the current one is due to
// be replaced within PublishAhead, delete keys retired long ago, reread the keys.
func (r *KeyRing) Tick(ctx context.Context) error {
	if err := r.Refresh(ctx); err != nil {
		return err
	}
	now := r.clock()
	st := r.state.Load()
	last := st.keys[len(st.keys)-1]
	if !last.activeFrom.After(now) && !now.Before(last.activeFrom.Add(r.rotation-PublishAhead)) {
		from := last.activeFrom.Add(r.rotation)
		if from.Before(now.Add(PublishAhead)) {
			from = now.Add(PublishAhead) // overdue (every replica was down): publish first
		}
		info, added, err := r.schedule(ctx, now, from)
		if err != nil {
			return err
		}
		if added {
			r.log.Info("signing key rotation scheduled", zap.String("kid", info.KID), zap.Time("signs_from", info.ActiveFrom))
		}
	}
	for i := 0; i+1 < len(st.keys); i++ {
		if now.After(st.keys[i+1].activeFrom.Add(retireAfter + keptAfterRetired)) {
			if err := r.store.DeleteSigningKey(ctx, st.keys[i].kid); err != nil {
				return err
			}
		}
	}
	return r.Refresh(ctx)
}

// Run ticks every RingRefresh until ctx ends.
func (r *KeyRing) Run(ctx context.Context) {
	t := time.NewTicker(RingRefresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.Tick(ctx); err != nil && ctx.Err() == nil {
				r.log.Warn("signing keys: refresh failed; signing with the keys loaded before", zap.Error(err))
			}
		}
	}
}
