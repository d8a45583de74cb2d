package exchange

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"strings"
	"sync"
)

// API key format:
//
//	kw_<env>_<lookup id: 12 base62><secret: 32 base62>_<checksum: 6 base62>
//
// env is "live" for production keys and "test" otherwise. The lookup id (71 bits) is
// the public part: stored in clear, shown as the key's prefix, used to find the row.
// The secret (190 bits) is stored only as HMAC-SHA-256 under a server pepper. The
// checksum is CRC-32 (IEEE) of everything before it, so typos and garbage are refused
// without touching the database, and secret scanners can validate a candidate offline.
const (
	keyPrefix      = "kw_"
	lookupIDLen    = 12
	secretLen      = 32
	checksumLen    = 6
	maxKeyLen      = 64
	base62Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// Key environments as they appear in the key text.
const (
	EnvLive = "live"
	EnvTest = "test"
)

// textEnvs maps a key's environment (the API's field) to the word for it in the key text.
var textEnvs = map[string]string{"development": EnvTest, "staging": EnvTest, "production": EnvLive}

// TextEnv is the key-text environment (EnvLive or EnvTest) of a key of the given environment.
func TextEnv(environment string) (string, bool) {
	e, ok := textEnvs[environment]
	return e, ok
}

// SameEnv reports whether the key text's environment is that of the stored key of that
// environment. The secret's hash does not cover the environment part, and anyone can
// recompute the checksum, so a kw_test_ text must not open a live key (nor the reverse).
func (k ParsedKey) SameEnv(environment string) bool {
	e, ok := textEnvs[environment]
	return ok && e == k.Env
}

// ErrMalformedKey is returned for text that is not a well-formed Keyward key.
var ErrMalformedKey = errors.New("malformed api key")

// ParsedKey is a syntactically valid key, split into its parts.
type ParsedKey struct {
	Env      string
	LookupID string
	Secret   string
}

// Prefix is the public, displayable part of the key: it identifies the key without
// revealing the secret.
func (k ParsedKey) Prefix() string { return keyPrefix + k.Env + "_" + k.LookupID }

// String renders the full key, checksum included.
func (k ParsedKey) String() string {
	body := k.Prefix() + k.Secret
	return body + "_" + checksum(body)
}

// GenerateKey makes a fresh key for env (EnvLive or EnvTest) from crypto/rand.
func GenerateKey(env string) (ParsedKey, error) {
	if env != EnvLive && env != EnvTest {
		return ParsedKey{}, fmt.Errorf("unknown key environment %q", env)
	}
	lookup, err := randomBase62(lookupIDLen)
	if err != nil {
		return ParsedKey{}, err
	}
	secret, err := randomBase62(secretLen)
	if err != nil {
		return ParsedKey{}, err
	}
	return ParsedKey{Env: env, LookupID: lookup, Secret: secret}, nil
}

// ParseKey checks the shape and checksum of s. It does no I/O.
func ParseKey(s string) (ParsedKey, error) {
	if len(s) > maxKeyLen || !strings.HasPrefix(s, keyPrefix) {
		return ParsedKey{}, ErrMalformedKey
	}
	rest := s[len(keyPrefix):]
	env, rest, ok := strings.Cut(rest, "_")
	if !ok || (env != EnvLive && env != EnvTest) {
		return ParsedKey{}, ErrMalformedKey
	}
	body, sum, ok := strings.Cut(rest, "_")
	if !ok || len(body) != lookupIDLen+secretLen || len(sum) != checksumLen ||
		!isBase62(body) || !isBase62(sum) {
		return ParsedKey{}, ErrMalformedKey
	}
	want := checksum(keyPrefix + env + "_" + body)
	if subtle.ConstantTimeCompare([]byte(want), []byte(sum)) != 1 {
		return ParsedKey{}, ErrMalformedKey
	}
	return ParsedKey{Env: env, LookupID: body[:lookupIDLen], Secret: body[lookupIDLen:]}, nil
}

// Hasher turns key secrets into the value stored in the database.
type Hasher struct {
	pepper []byte
	// macs reuses keyed HMAC states: keying one costs allocations on every exchange.
	macs sync.Pool
}

// NewHasher returns a Hasher keyed with pepper (at least 32 bytes).
func NewHasher(pepper []byte) (*Hasher, error) {
	if len(pepper) < 32 {
		return nil, errors.New("key pepper must be at least 32 bytes")
	}
	h := &Hasher{pepper: append([]byte(nil), pepper...)}
	h.macs.New = func() any { return hmac.New(sha256.New, h.pepper) }
	return h, nil
}

// Hash returns HMAC-SHA-256(pepper, secret).
func (h *Hasher) Hash(secret string) []byte {
	return h.sum(secret, nil)
}

func (h *Hasher) sum(secret string, into []byte) []byte {
	m := h.macs.Get().(hash.Hash)
	m.Reset()
	_, _ = io.WriteString(m, secret)
	out := m.Sum(into)
	h.macs.Put(m)
	return out
}

// Fingerprint is the HMAC of a constant under the pepper: what the store keeps to tell
// that every replica hashes with the same pepper, telling nothing of the pepper.
func (h *Hasher) Fingerprint() []byte { return h.Hash("keyward pepper fingerprint v1") }

// Matches compares in constant time.
func (h *Hasher) Matches(secret string, stored []byte) bool {
	var buf [sha256.Size]byte
	return hmac.Equal(h.sum(secret, buf[:0]), stored)
}

func checksum(body string) string {
	n := uint64(crc32.ChecksumIEEE([]byte(body)))
	var out [checksumLen]byte
	for i := checksumLen - 1; i >= 0; i-- {
		out[i] = base62Alphabet[n%62]
		n /= 62
	}
	return string(out[:])
}

func randomBase62(n int) (string, error) {
	out := make([]byte, 0, n)
	buf := make([]byte, n*2)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("read random: %w", err)
		}
		for _, b := range buf {
			// 248 = 4*62: rejecting larger bytes keeps every symbol equally likely.
			if b < 248 && len(out) < n {
				out = append(out, base62Alphabet[b%62])
			}
		}
	}
	return string(out), nil
}

func isBase62(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}
