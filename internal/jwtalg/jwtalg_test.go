package jwtalg

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

func TestAccepted_AsymmetricOnly(t *testing.T) {
	for _, alg := range []jwa.SignatureAlgorithm{
		jwa.RS256, jwa.RS384, jwa.RS512, jwa.PS256, jwa.PS384, jwa.PS512,
		jwa.ES256, jwa.ES384, jwa.ES512, jwa.EdDSA,
	} {
		if !Accepted(alg) {
			t.Errorf("%s refused", alg)
		}
	}
	for _, alg := range []jwa.SignatureAlgorithm{
		jwa.NoSignature, jwa.HS256, jwa.HS384, jwa.HS512, jwa.ES256K, "", "rs256", "RSA-OAEP",
	} {
		if Accepted(alg) {
			t.Errorf("%q accepted", alg)
		}
	}
}

func TestFits_KeyMustMatchTheAlgorithm(t *testing.T) {
	rsaPriv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecPriv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key := func(raw any, set map[string]any) jwk.Key {
		k, err := jwk.FromRaw(raw)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := k.PublicKey()
		if err != nil {
			t.Fatal(err)
		}
		for name, v := range set {
			if err := pub.Set(name, v); err != nil {
				t.Fatal(err)
			}
		}
		return pub
	}
	for name, c := range map[string]struct {
		key  jwk.Key
		alg  jwa.SignatureAlgorithm
		fits bool
	}{
		"RSA key, RS256":                 {key(rsaPriv, nil), jwa.RS256, true},
		"RSA key, PS512":                 {key(rsaPriv, nil), jwa.PS512, true},
		"RSA key pinned to RS256":        {key(rsaPriv, map[string]any{jwk.AlgorithmKey: jwa.RS256}), jwa.RS256, true},
		"EC key, ES256":                  {key(ecPriv, map[string]any{jwk.KeyUsageKey: "sig"}), jwa.ES256, true},
		"Ed25519 key, EdDSA":             {key(edPriv, nil), jwa.EdDSA, true},
		"RSA key, HS256":                 {key(rsaPriv, nil), jwa.HS256, false},
		"RSA key, none":                  {key(rsaPriv, nil), jwa.NoSignature, false},
		"RSA key pinned to RS256, PS256": {key(rsaPriv, map[string]any{jwk.AlgorithmKey: jwa.RS256}), jwa.PS256, false},
		"RSA encryption key":             {key(rsaPriv, map[string]any{jwk.KeyUsageKey: "enc"}), jwa.RS256, false},
		"EC key, RS256":                  {key(ecPriv, nil), jwa.RS256, false},
		"symmetric key, HS256":           {key([]byte("0123456789abcdef0123456789abcdef"), nil), jwa.HS256, false},
	} {
		if err := Fits(c.key, c.alg); (err == nil) != c.fits {
			t.Errorf("%s: Fits = %v, want fits %v", name, err, c.fits)
		}
	}
}
