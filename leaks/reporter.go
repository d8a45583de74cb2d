package leaks

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/keyward/keyward/internal/errs"
)

// The headers a reporter signs with, as GitHub's secret scanning sends them: the
// identifier of its public key, and the base64 of an ASN.1 DER ECDSA signature over
// the SHA-256 of the raw body.
const (
	HeaderKeyID     = "Github-Public-Key-Identifier"
	HeaderSignature = "Github-Public-Key-Signature"
)

// ErrUnsigned: reports must be signed and this one is not, by a known key.
var ErrUnsigned = errs.New(errs.Unauthenticated, "the report must be signed by a configured reporter key")

// Reporters are the public keys reports may be signed with, by identifier.
type Reporters struct {
	keys map[string]*ecdsa.PublicKey
}

// LoadReporters reads KEYWARD_LEAK_REPORTER_KEYS_FILE: either GitHub's public-key
// document ({"public_keys":[{"key_identifier":…,"key":"-----BEGIN PUBLIC KEY-----…"}]})
// saved as it is, or PEM PUBLIC KEY blocks each with a "Key-Identifier:" header.
// Only ECDSA P-256 keys are accepted.
func LoadReporters(path string) (*Reporters, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reporter keys: %w", err)
	}
	r := &Reporters{keys: map[string]*ecdsa.PublicKey{}}
	add := func(id string, pemText []byte) error {
		block, _ := pem.Decode(pemText)
		if block == nil || block.Type != "PUBLIC KEY" {
			return fmt.Errorf("reporter key %q is not a PEM PUBLIC KEY", id)
		}
		return r.addDER(id, block.Bytes)
	}
	if strings.HasPrefix(strings.TrimSpace(string(raw)), "{") {
		var doc struct {
			PublicKeys []struct {
				ID  string `json:"key_identifier"`
				Key string `json:"key"`
			} `json:"public_keys"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			return nil, fmt.Errorf("reporter keys: not the public-key document: %w", err)
		}
		for _, k := range doc.PublicKeys {
			if err := add(k.ID, []byte(k.Key)); err != nil {
				return nil, err
			}
		}
	} else {
		for rest := raw; ; {
			var block *pem.Block
			block, rest = pem.Decode(rest)
			if block == nil {
				break
			}
			if block.Type != "PUBLIC KEY" {
				return nil, fmt.Errorf("reporter keys: a %s block; want PUBLIC KEY", block.Type)
			}
			if err := r.addDER(block.Headers["Key-Identifier"], block.Bytes); err != nil {
				return nil, err
			}
		}
	}
	if len(r.keys) == 0 {
		return nil, errors.New("reporter keys: the file holds no key")
	}
	return r, nil
}

func (r *Reporters) addDER(id string, der []byte) error {
	if id == "" {
		return errors.New("reporter keys: a key without an identifier")
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return fmt.Errorf("reporter key %q: %w", id, err)
	}
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok || ec.Curve != elliptic.P256() {
		return fmt.Errorf("reporter key %q is not an ECDSA P-256 key", id)
	}
	r.keys[id] = ec
	return nil
}

// Verify checks that signature (base64 DER) is keyID's signature of body.
func (r *Reporters) Verify(body []byte, keyID, signature string) error {
	if keyID == "" || signature == "" {
		return errs.Because(ErrUnsigned, "the report carries no %s and %s", HeaderKeyID, HeaderSignature)
	}
	pub, ok := r.keys[keyID]
	if !ok {
		return errs.Because(ErrUnsigned, "the report is signed with an unknown key")
	}
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return errs.Because(ErrUnsigned, "the signature is not base64")
	}
	sum := sha256.Sum256(body)
	if !ecdsa.VerifyASN1(pub, sum[:], sig) {
		return errs.Because(ErrUnsigned, "the signature does not verify")
	}
	return nil
}
