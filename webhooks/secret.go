package webhooks

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
)

// SecretPrefix starts every signing secret, as the Standard Webhooks specification
// writes them; the base64 text after it is the HMAC key.
const SecretPrefix = "whsec_"

// secretBytes is the length of a signing key (the specification asks 24 to 64).
const secretBytes = 32

// newSecret makes a signing key and its text as shown to the admin once.
func newSecret() (raw []byte, text string, err error) {
	raw = make([]byte, secretBytes)
	if _, err := rand.Read(raw); err != nil {
		return nil, "", err
	}
	return raw, secretText(raw), nil
}

// secretKeyLabel names what the key derived from the encryption key is for, so that
// it is never the key of anything else.
const secretKeyLabel = "keyward webhook signing secrets v1"

// SecretKeyFrom derives the key that seals signing secrets at rest from the server's
// encryption key (HKDF-SHA256 with a label of its own).
func SecretKeyFrom(root []byte) ([]byte, error) {
	if len(root) < 32 {
		return nil, errors.New("webhooks: the encryption key is shorter than 32 bytes")
	}
	return hkdf.Key(sha256.New, root, nil, secretKeyLabel, 32)
}

// SecretBox seals signing secrets for the store (AES-256-GCM). The endpoint id is the
// associated data: a sealed secret copied to another endpoint's row does not open.
type SecretBox struct{ aead cipher.AEAD }

// NewSecretBox returns a box keyed by a 32-byte key.
func NewSecretBox(key []byte) (*SecretBox, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("webhooks: secret key is %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &SecretBox{aead: aead}, nil
}

// Seal encrypts secret for the endpoint: nonce then ciphertext.
func (b *SecretBox) Seal(endpointID string, secret []byte) ([]byte, error) {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return b.aead.Seal(nonce, nonce, secret, []byte(endpointID)), nil
}

// ErrSecretUnreadable: a sealed secret does not open with this key (another pepper, or
// a row tampered with).
var ErrSecretUnreadable = errors.New("webhooks: the endpoint's signing secret cannot be opened with this server's key")

// Open decrypts what Seal made for the endpoint.
func (b *SecretBox) Open(endpointID string, sealed []byte) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < n {
		return nil, ErrSecretUnreadable
	}
	out, err := b.aead.Open(nil, sealed[:n], sealed[n:], []byte(endpointID))
	if err != nil {
		return nil, ErrSecretUnreadable
	}
	return out, nil
}

// Signature is the webhook-signature header of a message: v1 and the base64
// HMAC-SHA256 of "id.timestamp.body" under the key.
func Signature(key []byte, msgID string, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msgID))
	mac.Write([]byte{'.'})
	mac.Write([]byte(strconv.FormatInt(timestamp, 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// secretText is how a signing key is shown.
func secretText(raw []byte) string {
	return SecretPrefix + base64.StdEncoding.EncodeToString(raw)
}
