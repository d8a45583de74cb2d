package leaks

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func write(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func pubPEM(t *testing.T, pub any, headers map[string]string) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Headers: headers, Bytes: der})
}

func TestLoadReporters_BothFormats_VerifyTheirSignatures(t *testing.T) {
	a, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	b, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	doc, _ := json.Marshal(map[string]any{"public_keys": []map[string]any{
		{"key_identifier": "a", "key": string(pubPEM(t, &a.PublicKey, nil)), "is_current": false},
		{"key_identifier": "b", "key": string(pubPEM(t, &b.PublicKey, nil)), "is_current": true},
	}})
	pems := append(pubPEM(t, &a.PublicKey, map[string]string{"Key-Identifier": "a"}),
		pubPEM(t, &b.PublicKey, map[string]string{"Key-Identifier": "b"})...)
	body := []byte(`[{"token":"x"}]`)
	sign := func(k *ecdsa.PrivateKey) string {
		sum := sha256.Sum256(body)
		sig, _ := ecdsa.SignASN1(rand.Reader, k, sum[:])
		return base64.StdEncoding.EncodeToString(sig)
	}
	for name, file := range map[string][]byte{"github document": doc, "pem blocks": pems} {
		r, err := LoadReporters(write(t, file))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := r.Verify(body, "a", sign(a)); err != nil {
			t.Errorf("%s: a's signature refused: %v", name, err)
		}
		if err := r.Verify(body, "b", sign(b)); err != nil {
			t.Errorf("%s: b's signature refused: %v", name, err)
		}
		if err := r.Verify(body, "b", sign(a)); !errors.Is(err, ErrUnsigned) {
			t.Errorf("%s: a's signature under b's identifier: %v", name, err)
		}
	}
}

func TestLoadReporters_RefusesWhatIsNoP256KeyWithAnIdentifier(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for name, file := range map[string][]byte{
		"empty":             nil,
		"rsa":               pubPEM(t, &rsaKey.PublicKey, map[string]string{"Key-Identifier": "r"}),
		"p384":              pubPEM(t, &p384.PublicKey, map[string]string{"Key-Identifier": "p"}),
		"no identifier":     pubPEM(t, &p256.PublicKey, nil),
		"private key block": pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte("x")}),
		"bad json":          []byte(`{"public_keys":[{"key_identifier":"a","key":"not pem"}]}`),
	} {
		if _, err := LoadReporters(write(t, file)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
