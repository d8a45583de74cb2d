package exchange

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// AssertionLifetime is how long a signed assertion is valid: long enough for one
// token-endpoint round trip, short enough that a leaked one is soon worthless.
const AssertionLifetime = time.Minute

// Signer signs Keyward's assertions with the current signing key. It signs only the
// short RFC 7523 assertions handed to Keycloak, never access tokens.
type Signer struct {
	issuer   string
	audience string
	key      jwk.Key  // one fixed key (NewSigner), or
	ring     *KeyRing // the store's keys (NewRingSigner)
	public   jwk.Set
	clock    func() time.Time
}

// NewRingSigner signs with the ring's current key and publishes the ring's keys.
func NewRingSigner(ring *KeyRing, issuer, audience string, clock func() time.Time) *Signer {
	if clock == nil {
		clock = time.Now
	}
	return &Signer{issuer: issuer, audience: audience, ring: ring, clock: clock}
}

// NewSigner wraps an ECDSA P-256 key. issuer is Keyward's public URL (the identity
// provider's issuer in the realm); audience is the realm's issuer URL.
func NewSigner(priv *ecdsa.PrivateKey, issuer, audience string, clock func() time.Time) (*Signer, error) {
	if clock == nil {
		clock = time.Now
	}
	key, err := jwk.FromRaw(priv)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	thumb, err := key.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("signing key thumbprint: %w", err)
	}
	kid := base64.RawURLEncoding.EncodeToString(thumb)
	for k, v := range map[string]any{jwk.KeyIDKey: kid, jwk.AlgorithmKey: jwa.ES256, jwk.KeyUsageKey: "sig"} {
		if err := key.Set(k, v); err != nil {
			return nil, err
		}
	}
	pub, err := key.PublicKey()
	if err != nil {
		return nil, err
	}
	set := jwk.NewSet()
	if err := set.AddKey(pub); err != nil {
		return nil, err
	}
	return &Signer{issuer: issuer, audience: audience, key: key, public: set, clock: clock}, nil
}

// PublicKeys is the JWKS Keycloak fetches to check assertions.
func (s *Signer) PublicKeys() jwk.Set {
	if s.ring != nil {
		return s.ring.PublicKeys()
	}
	return s.public
}

// Assertion signs a one-minute JWT naming subject (the user's federated-link id).
func (s *Signer) Assertion(subject string) (string, error) {
	return s.sign(s.issuer, subject, "")
}

// ScopedAssertion is Assertion with a scope claim: the most the token may carry when
// the realm's downscope-assertion-grant-enforcer policy applies to the client.
func (s *Signer) ScopedAssertion(subject, scope string) (string, error) {
	return s.sign(s.issuer, subject, scope)
}

// ClientAssertion signs a one-minute client assertion (RFC 7523 §2.2) by which a
// client-jwt client of Keyward's authenticates: iss = sub = clientID, aud = the realm's
// issuer (Keycloak also takes its token endpoint, but only the issuer suits its
// secure-client-authentication-assertion policy), and a fresh jti, which Keycloak
// refuses to see twice.
func (s *Signer) ClientAssertion(clientID string) (string, error) {
	return s.sign(clientID, clientID, "")
}

func (s *Signer) sign(issuer, subject, scope string) (string, error) {
	now := s.clock()
	b := jwt.NewBuilder().
		Issuer(issuer).
		Subject(subject).
		Audience([]string{s.audience}).
		IssuedAt(now).
		NotBefore(now).
		Expiration(now.Add(AssertionLifetime)).
		JwtID(uuid.NewString())
	if scope != "" {
		b = b.Claim("scope", scope)
	}
	tok, err := b.Build()
	if err != nil {
		return "", fmt.Errorf("build assertion: %w", err)
	}
	key := s.key
	if s.ring != nil {
		if key, err = s.ring.signingKey(now); err != nil {
			return "", err
		}
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256, key))
	if err != nil {
		return "", fmt.Errorf("sign assertion: %w", err)
	}
	return string(signed), nil
}

// LoadOrCreateSigningKey reads a PEM (PKCS#8) P-256 key from path, creating it with
// mode 0600 when absent, so the key and its kid survive restarts. A key file that group
// or others may read or write is refused.
func LoadOrCreateSigningKey(path string) (*ecdsa.PrivateKey, error) {
	data, err := readSecretFile("signing key file", path)
	if err == nil {
		block, _ := pem.Decode(data)
		if block == nil {
			return nil, fmt.Errorf("signing key %s: no PEM block", path)
		}
		parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", path, err)
		}
		priv, ok := parsed.(*ecdsa.PrivateKey)
		if !ok || priv.Curve != elliptic.P256() {
			return nil, fmt.Errorf("signing key %s: want an ECDSA P-256 key", path)
		}
		return priv, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	if err := writeFileExclusive(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	return priv, nil
}

// LoadOrCreatePepper reads the hashing pepper from path, creating 32 random bytes
// with mode 0600 when absent. Losing it makes every stored key unusable. A pepper file
// that group or others may read or write is refused.
func LoadOrCreatePepper(path string) ([]byte, error) {
	data, err := readSecretFile("pepper file", path)
	if err == nil {
		return data, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	pepper := make([]byte, 32)
	if _, err := rand.Read(pepper); err != nil {
		return nil, err
	}
	if err := writeFileExclusive(path, pepper); err != nil {
		return nil, fmt.Errorf("write pepper: %w", err)
	}
	return pepper, nil
}

// checkModes is false where file modes mean nothing: Go reports made-up ones on Windows.
const checkModes = runtime.GOOS != "windows"

// readSecretFile reads a file holding a secret. One that group or others may read or
// write is refused rather than tightened: whoever could read it may already hold the
// secret, and an operator must know that before Keyward goes on using it.
// A missing file gives an error wrapping os.ErrNotExist.
func readSecretFile(what, path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	defer f.Close()
	st, err := f.Stat() // of the opened file: no swap between check and read
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s %s is not a regular file", what, path)
	}
	if perm := st.Mode().Perm(); checkModes && perm&0o077 != 0 {
		return nil, fmt.Errorf("%s %s can be read or written by group or others (mode %04o): run chmod 600 %s",
			what, path, perm, path)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	return data, nil
}

// PrepareDataDir makes dir fit to hold Keyward's secrets at rest (the SQLite file, the
// pepper, the signing key): a missing one is created with mode 0700. An existing one
// that group or others may enter is tightened to 0700 when it is evidently Keyward's
// own, that is empty (a fresh volume) or holding only the files named in ours and their
// SQLite companions (name-wal, name-shm, name-journal) — an older Keyward made it 0750.
// Any other is refused: changing the mode of a directory shared with other programs
// would break them, so the operator decides. It returns the mode it tightened, or 0.
func PrepareDataDir(dir string, ours ...string) (fs.FileMode, error) {
	st, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return 0, fmt.Errorf("create data directory: %w", err)
		}
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("data directory: %w", err)
	}
	if !st.IsDir() {
		return 0, fmt.Errorf("data directory %s is not a directory", dir)
	}
	perm := st.Mode().Perm()
	if !checkModes || perm&0o077 == 0 {
		return 0, nil
	}
	refused := func(why string) error {
		return fmt.Errorf("data directory %s is open to group or others (mode %04o) and %s: "+
			"run chmod 700 %s, or give Keyward a directory of its own", dir, perm, why, dir)
	}
	if st.Mode()&fs.ModeSticky != 0 {
		return 0, refused("is a shared directory (sticky bit)")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("data directory: %w", err)
	}
	for _, e := range entries {
		if !isOurs(e.Name(), ours) {
			return 0, refused(fmt.Sprintf("holds %q, which is not Keyward's", e.Name()))
		}
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return 0, refused(fmt.Sprintf("cannot be tightened (%v)", err))
	}
	return perm, nil
}

func isOurs(name string, ours []string) bool {
	for _, o := range ours {
		if name == o || strings.HasPrefix(name, o+"-") {
			return true
		}
	}
	return false
}

func writeFileExclusive(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
