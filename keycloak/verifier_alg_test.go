package keycloak

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// Tokens whose header names an algorithm off internal/jwtalg's list (the one
// middleware uses too) are refused before any key is tried, whatever the realm's JWKS
// holds: the algorithm-confusion attack (HS256 keyed with the realm's public key),
// `none`, and an HMAC key the realm would publish.
func TestVerifier_AlgorithmOffTheSharedList_Refused(t *testing.T) {
	rsaPriv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, _ := jwk.FromRaw(rsaPriv)
	_ = rsaKey.Set(jwk.KeyIDKey, "rsa-1")
	_ = rsaKey.Set(jwk.AlgorithmKey, jwa.RS256)
	rsaPub, _ := rsaKey.PublicKey()
	secret := []byte(strings.Repeat("s", 32))
	octKey, _ := jwk.FromRaw(secret)
	_ = octKey.Set(jwk.KeyIDKey, "oct-1")
	_ = octKey.Set(jwk.AlgorithmKey, jwa.HS256)

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		set := jwk.NewSet()
		_ = set.AddKey(rsaPub)
		_ = set.AddKey(octKey)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(srv.Close)
	v, err := NewVerifier(context.Background(), VerifierConfig{Issuer: "https://realm", CertsURL: srv.URL, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}

	claims, _ := json.Marshal(map[string]any{"iss": "https://realm", "sub": "u", "typ": "Bearer",
		"exp": time.Now().Add(time.Minute).Unix()})
	b64 := base64.RawURLEncoding.EncodeToString
	token := func(header map[string]any, sign func(input []byte) []byte) string {
		h, _ := json.Marshal(header)
		input := b64(h) + "." + b64(claims)
		if sign == nil {
			return input + "."
		}
		return input + "." + b64(sign([]byte(input)))
	}
	hs256 := func(key []byte) func([]byte) []byte {
		return func(input []byte) []byte {
			m := hmac.New(sha256.New, key)
			m.Write(input)
			return m.Sum(nil)
		}
	}
	signer := func(alg jwa.SignatureAlgorithm) func([]byte) []byte {
		return func(input []byte) []byte {
			s, err := jws.NewSigner(alg)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := s.Sign(input, rsaPriv)
			if err != nil {
				t.Fatal(err)
			}
			return sig
		}
	}
	der, err := x509.MarshalPKIXPublicKey(&rsaPriv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	jwkJSON, _ := json.Marshal(rsaPub)

	if _, err := v.Verify(context.Background(), token(map[string]any{"alg": "RS256", "kid": "rsa-1"}, signer(jwa.RS256))); err != nil {
		t.Fatalf("a well-signed RS256 token was refused: %v", err)
	}
	for name, tok := range map[string]string{
		"HS256 keyed with the realm key's PEM":        token(map[string]any{"alg": "HS256", "kid": "rsa-1"}, hs256(pemBytes)),
		"HS256 keyed with the realm key's DER":        token(map[string]any{"alg": "HS256", "kid": "rsa-1"}, hs256(der)),
		"HS256 keyed with the realm key's JWK":        token(map[string]any{"alg": "HS256", "kid": "rsa-1"}, hs256(jwkJSON)),
		"HS256 under an HMAC key the realm published": token(map[string]any{"alg": "HS256", "kid": "oct-1"}, hs256(secret)),
		"alg none, no signature":                      token(map[string]any{"alg": "none", "kid": "rsa-1"}, nil),
		// The realm key's own signature, under a header that names none.
		"alg none, signed by the realm key": token(map[string]any{"alg": "none", "kid": "rsa-1"}, signer(jwa.RS256)),
		"PS256 under a key pinned to RS256": token(map[string]any{"alg": "PS256", "kid": "rsa-1"}, signer(jwa.PS256)),
		"no kid":                            token(map[string]any{"alg": "RS256"}, signer(jwa.RS256)),
	} {
		if _, err := v.Verify(context.Background(), tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: err %v, want ErrInvalidToken", name, err)
		}
	}
}
