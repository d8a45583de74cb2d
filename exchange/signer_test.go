package exchange

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

func TestSigner_AssertionVerifiesAgainstPublishedJWKS(t *testing.T) {
	dir := t.TempDir()
	priv, err := LoadOrCreateSigningKey(filepath.Join(dir, "k.pem"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	s, err := NewSigner(priv, "http://keyward.test", "http://kc.test/realms/r", func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	a1, _ := s.Assertion("user-1")
	a2, _ := s.Assertion("user-1")
	tok, err := jwt.Parse([]byte(a1), jwt.WithKeySet(s.PublicKeys()), jwt.WithValidate(true),
		jwt.WithIssuer("http://keyward.test"), jwt.WithAudience("http://kc.test/realms/r"))
	if err != nil {
		t.Fatalf("assertion does not verify with the published keys: %v", err)
	}
	if tok.Subject() != "user-1" || tok.Expiration().Sub(now) > AssertionLifetime+time.Second || tok.JwtID() == "" {
		t.Fatalf("claims: sub %q exp in %v jti %q", tok.Subject(), tok.Expiration().Sub(now), tok.JwtID())
	}
	other, _ := jwt.Parse([]byte(a2), jwt.WithVerify(false))
	if other.JwtID() == tok.JwtID() {
		t.Fatal("two assertions share a jti: Keycloak refuses reuse")
	}
	raw, _ := json.Marshal(s.PublicKeys())
	for _, private := range []string{`"d":`} {
		if strings.Contains(string(raw), private) {
			t.Fatal("the JWKS publishes private key material")
		}
	}
	if !strings.Contains(string(raw), `"alg":"`+jwa.ES256.String()+`"`) || !strings.Contains(string(raw), `"kid":`) {
		t.Fatalf("JWKS lacks alg or kid: %s", raw)
	}
}

func TestLoadOrCreateSigningKey_StableAndPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "k.pem")
	k1, err := LoadOrCreateSigningKey(path)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadOrCreateSigningKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !k1.Equal(k2) {
		t.Fatal("the key changed across loads: Keycloak would refuse assertions after a restart")
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", st.Mode().Perm())
	}
	if err := os.WriteFile(path, []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateSigningKey(path); err == nil {
		t.Fatal("a corrupt key file was accepted")
	}
	p1, _ := LoadOrCreatePepper(filepath.Join(t.TempDir(), "pepper"))
	if len(p1) != 32 {
		t.Fatalf("pepper of %d bytes", len(p1))
	}
}
