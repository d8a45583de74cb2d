// Package jwtalg is the one list of signature algorithms accepted on a Keycloak access
// token, shared by keycloak's Verifier (Keyward's management API) and middleware's
// (resource servers), and the check that a realm key fits a token's algorithm.
//
// Asymmetric algorithms only: with an HMAC algorithm anyone holding the realm's public
// key could sign tokens, and `none` signs nothing. A leaf: it imports jwx and nothing of
// Keyward's, so that middleware stays free of Keyward's other packages.
package jwtalg

import (
	"fmt"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// keyTypes maps each accepted algorithm to the type of key that verifies it.
var keyTypes = map[jwa.SignatureAlgorithm]jwa.KeyType{
	jwa.RS256: jwa.RSA, jwa.RS384: jwa.RSA, jwa.RS512: jwa.RSA,
	jwa.PS256: jwa.RSA, jwa.PS384: jwa.RSA, jwa.PS512: jwa.RSA,
	jwa.ES256: jwa.EC, jwa.ES384: jwa.EC, jwa.ES512: jwa.EC,
	jwa.EdDSA: jwa.OKP,
}

// Accepted reports whether a token whose header names alg may be verified at all.
func Accepted(alg jwa.SignatureAlgorithm) bool {
	_, ok := keyTypes[alg]
	return ok
}

// Fits refuses a key that must not verify a signature by alg: alg not accepted, an
// encryption key, a key of another type, or one pinned to another algorithm.
func Fits(k jwk.Key, alg jwa.SignatureAlgorithm) error {
	kt, ok := keyTypes[alg]
	switch {
	case !ok:
		return fmt.Errorf("algorithm %q is not accepted", alg)
	case k.KeyUsage() != "" && k.KeyUsage() != string(jwk.ForSignature):
		return fmt.Errorf("key %q is not a signing key", k.KeyID())
	case k.KeyType() != kt:
		return fmt.Errorf("key %q is %s, not for %s", k.KeyID(), k.KeyType(), alg)
	case k.Algorithm() != nil && k.Algorithm().String() != "" && k.Algorithm().String() != alg.String():
		return fmt.Errorf("key %q is for %s, not %s", k.KeyID(), k.Algorithm(), alg)
	}
	return nil
}
