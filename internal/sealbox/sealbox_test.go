package sealbox

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func newKey(t *testing.T) []byte {
	k := make([]byte, KeySize)
	_, _ = rand.Read(k)
	return k
}

func TestSeal_OpenRoundTrip_FreshNonceEachTime(t *testing.T) {
	b, err := New(newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	one, _ := b.Seal([]byte("secret"), "p")
	two, _ := b.Seal([]byte("secret"), "p")
	if bytes.Equal(one, two) || bytes.Contains(one, []byte("secret")) {
		t.Fatal("sealed values repeat or show the plaintext")
	}
	got, err := b.Open(one, "p")
	if err != nil || string(got) != "secret" {
		t.Fatalf("Open = %q, %v", got, err)
	}
}

func TestOpen_WrongKeyPurposeOrDamage_Refused(t *testing.T) {
	b, _ := New(newKey(t))
	other, _ := New(newKey(t))
	sealed, _ := b.Seal([]byte("secret"), "signing-key:a")
	damaged := append([]byte(nil), sealed...)
	damaged[len(damaged)-1] ^= 1
	for name, try := range map[string]func() ([]byte, error){
		"another key":     func() ([]byte, error) { return other.Open(sealed, "signing-key:a") },
		"another purpose": func() ([]byte, error) { return b.Open(sealed, "signing-key:b") },
		"damaged":         func() ([]byte, error) { return b.Open(damaged, "signing-key:a") },
		"truncated":       func() ([]byte, error) { return b.Open(sealed[:10], "signing-key:a") },
	} {
		if _, err := try(); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: err = %v, want ErrOpen", name, err)
		}
	}
}

func TestFingerprint_SameKeySame_OtherKeyDiffers_NotTheKey(t *testing.T) {
	k := newKey(t)
	a, _ := New(k)
	b, _ := New(append([]byte(nil), k...))
	c, _ := New(newKey(t))
	if !bytes.Equal(a.Fingerprint(), b.Fingerprint()) || bytes.Equal(a.Fingerprint(), c.Fingerprint()) {
		t.Fatal("fingerprints do not tell keys apart")
	}
	if bytes.Contains(a.Fingerprint(), k) {
		t.Fatal("the fingerprint holds the key")
	}
}

func TestKeyFile_CreatedPrivate_ReadBack_LooseModeRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d", "encryption-key")
	k1, err := LoadOrCreateKeyFile(path, true)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %o, want 600", st.Mode().Perm())
	}
	k2, err := LoadOrCreateKeyFile(path, false)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("read back %v, %v", k2, err)
	}
	_ = os.Chmod(path, 0o644)
	if _, err := LoadOrCreateKeyFile(path, false); err == nil {
		t.Fatal("a key file others can read was accepted")
	}
	if _, err := LoadOrCreateKeyFile(filepath.Join(t.TempDir(), "absent"), false); err == nil {
		t.Fatal("an absent key file was accepted without create")
	}
}

func TestParseKey_WrongLengthOrNotBase64_Refused(t *testing.T) {
	for _, s := range []string{"", "not base64!!", "c2hvcnQ="} {
		if _, err := ParseKey(s); err == nil {
			t.Errorf("ParseKey(%q) accepted", s)
		}
	}
}
