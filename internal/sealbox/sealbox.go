// Package sealbox seals secrets at rest under the deployment's encryption key
// (KEYWARD_ENCRYPTION_KEY or KEYWARD_ENCRYPTION_KEY_FILE; in development generated into
// the data dir): AES-256-GCM, a fresh random nonce per seal, each sealed value bound to
// a purpose so that one secret cannot be passed off as another. Every replica must hold
// the same key; the store keeps its Fingerprint, never the key.
//
// It is the one way Keyward encrypts what it stores: signing keys today; anything else
// secret that must be read back (webhook secrets, refresh tokens) should use it too.
package sealbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// KeySize is the length of the encryption key: 32 bytes (AES-256).
const KeySize = 32

// version prefixes every sealed value, so that another scheme can come later.
const version = 1

// ErrOpen is any failure to open a sealed value: another key, another purpose, or
// damaged bytes; deliberately not told apart.
var ErrOpen = errors.New("sealbox: cannot open: wrong encryption key, wrong purpose or damaged value")

// Box seals and opens under one key. Safe for concurrent use.
type Box struct {
	aead        cipher.AEAD
	fingerprint []byte
}

// New returns a Box for a KeySize-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("sealbox: the encryption key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sealbox: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("sealbox: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("keyward encryption key fingerprint v1"))
	return &Box{aead: aead, fingerprint: mac.Sum(nil)}, nil
}

// Seal encrypts plaintext for purpose (e.g. "signing-key:<kid>").
func (b *Box) Seal(plaintext []byte, purpose string) ([]byte, error) {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("sealbox: nonce: %w", err)
	}
	out := append([]byte{version}, nonce...)
	return b.aead.Seal(out, nonce, plaintext, []byte(purpose)), nil
}

// Open decrypts what Seal made for the same purpose.
func (b *Box) Open(sealed []byte, purpose string) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < 1+n+b.aead.Overhead() || sealed[0] != version {
		return nil, ErrOpen
	}
	plain, err := b.aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(purpose))
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// Fingerprint is an HMAC of a constant under the key: equal for equal keys, and
// telling nothing of the key.
func (b *Box) Fingerprint() []byte { return append([]byte(nil), b.fingerprint...) }

// ParseKey reads a key written as base64 (standard or URL alphabet, padded or not).
func ParseKey(text string) ([]byte, error) {
	text = strings.TrimSpace(text)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(text); err == nil {
			if len(key) != KeySize {
				return nil, fmt.Errorf("it decodes to %d bytes, want %d", len(key), KeySize)
			}
			return key, nil
		}
	}
	return nil, errors.New("it is not base64")
}

// LoadOrCreateKeyFile reads a base64 key from path, or, when the file does not exist
// and create is true, writes a new random one there with mode 0600. A key file that
// group or others may read or write is refused.
func LoadOrCreateKeyFile(path string, create bool) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) && create {
		return createKeyFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("encryption key file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("encryption key file: %w", err)
	}
	if perm := st.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return nil, fmt.Errorf("encryption key file %s can be read or written by group or others (mode %04o): run chmod 600 %s",
			path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return nil, fmt.Errorf("encryption key file: %w", err)
	}
	key, err := ParseKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("encryption key file %s: %v", path, err)
	}
	return key, nil
}

func createKeyFile(path string) ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("write encryption key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("write encryption key: %w", err)
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("write encryption key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write encryption key: %w", err)
	}
	return key, nil
}
