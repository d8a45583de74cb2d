package console

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
)

// Secrets are the console's keys: one seals Keycloak tokens at rest, one derives each
// session's CSRF token.
type Secrets struct {
	seal cipher.AEAD
	csrf []byte
}

// SecretsFrom derives the console's keys from the server's encryption key, each with a
// label of its own (HKDF-SHA-256).
func SecretsFrom(root []byte) (Secrets, error) {
	if len(root) < 32 {
		return Secrets{}, errors.New("console: the encryption key must be at least 32 bytes")
	}
	sealKey, err := hkdf.Key(sha256.New, root, nil, "keyward console: session tokens at rest v1", 32)
	if err != nil {
		return Secrets{}, err
	}
	csrfKey, err := hkdf.Key(sha256.New, root, nil, "keyward console: csrf tokens v1", 32)
	if err != nil {
		return Secrets{}, err
	}
	block, err := aes.NewCipher(sealKey)
	if err != nil {
		return Secrets{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return Secrets{}, err
	}
	return Secrets{seal: aead, csrf: csrfKey}, nil
}

// sealFor encrypts plain for the session row idHash (bound to it as associated data,
// so a sealed value copied to another row does not open).
func (s Secrets) sealFor(idHash string, plain []byte) ([]byte, error) {
	nonce := make([]byte, s.seal.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return s.seal.Seal(nonce, nonce, plain, []byte(idHash)), nil
}

func (s Secrets) openFor(idHash string, sealed []byte) ([]byte, error) {
	n := s.seal.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("console: sealed value too short")
	}
	return s.seal.Open(nil, sealed[:n], sealed[n:], []byte(idHash))
}

// csrfToken is the session's CSRF token: an HMAC of its id, so nothing more is stored.
func (s Secrets) csrfToken(sessionID string) string {
	m := hmac.New(sha256.New, s.csrf)
	m.Write([]byte(sessionID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s Secrets) csrfValid(sessionID, got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(s.csrfToken(sessionID)), []byte(got)) == 1
}

// newID is a fresh opaque identifier of 256 bits.
func newID() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// hashID is what the store keeps of a session id.
func hashID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// pkceChallenge is the S256 challenge of a PKCE verifier.
func pkceChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
