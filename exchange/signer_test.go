package exchange

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/testkit"
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
	s, err := NewSigner(priv, "http://keyward.test", "http://kc.test/realms/r", testkit.NewClock(now).Now)
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

// The loaders of the two secrets kept in files, for tests that hold for both.
var secretLoaders = []struct {
	name string
	load func(path string) error
}{
	{"signing key", func(p string) error { _, err := LoadOrCreateSigningKey(p); return err }},
	{"pepper", func(p string) error { _, err := LoadOrCreatePepper(p); return err }},
}

func modeOf(t *testing.T, path string) fs.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

func TestLoadOrCreateSecret_CreatedPrivate_InAPrivateDirectory(t *testing.T) {
	for _, l := range secretLoaders {
		t.Run(l.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "new", "data")
			path := filepath.Join(dir, "secret")
			if err := l.load(path); err != nil {
				t.Fatal(err)
			}
			if m := modeOf(t, path); m != 0o600 {
				t.Errorf("created file mode %04o, want 0600", m)
			}
			if m := modeOf(t, dir); m != 0o700 {
				t.Errorf("created directory mode %04o, want 0700", m)
			}
			if err := l.load(path); err != nil {
				t.Fatalf("reloading the file it created: %v", err)
			}
		})
	}
}

func TestLoadOrCreateSecret_LooseFileRefused_NamingTheFileAndTheFix(t *testing.T) {
	for _, l := range secretLoaders {
		for _, mode := range []fs.FileMode{0o644, 0o640, 0o604, 0o660, 0o620, 0o602, 0o666} {
			t.Run(fmt.Sprintf("%s %04o", l.name, mode), func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "secret")
				if err := l.load(path); err != nil { // a good secret, then loosened
					t.Fatal(err)
				}
				before, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, mode); err != nil {
					t.Fatal(err)
				}
				err = l.load(path)
				if err == nil {
					t.Fatal("a secret file open to group or others was accepted")
				}
				msg := err.Error()
				if !strings.Contains(msg, "chmod 600 "+path) || !strings.Contains(msg, "group or others") {
					t.Errorf("error does not name the file and the fix: %v", msg)
				}
				if m := modeOf(t, path); m != mode {
					t.Errorf("mode changed to %04o: a loose secret is the operator's to look at", m)
				}
				after, _ := os.ReadFile(path)
				if !bytes.Equal(before, after) {
					t.Error("the refused file was rewritten")
				}
				if bytes.Contains([]byte(msg), before) || strings.Contains(msg, "PRIVATE KEY") {
					t.Errorf("error contains the secret: %v", msg)
				}
			})
		}
	}
}

func TestLoadOrCreateSecret_OwnerOnlyModesAccepted(t *testing.T) {
	for _, l := range secretLoaders {
		for _, mode := range []fs.FileMode{0o600, 0o400} {
			t.Run(fmt.Sprintf("%s %04o", l.name, mode), func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "secret")
				if err := l.load(path); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, mode); err != nil {
					t.Fatal(err)
				}
				if err := l.load(path); err != nil {
					t.Fatalf("mode %04o refused: %v", mode, err)
				}
			})
		}
	}
}

func TestLoadOrCreateSecret_SymlinkJudgedByItsTarget(t *testing.T) {
	for _, l := range secretLoaders {
		t.Run(l.name, func(t *testing.T) {
			dir := t.TempDir()
			target := filepath.Join(dir, "mounted", "secret")
			if err := l.load(target); err != nil {
				t.Fatal(err)
			}
			link := filepath.Join(dir, "secret")
			if err := os.Symlink(target, link); err != nil { // as a Kubernetes secret volume does
				t.Fatal(err)
			}
			if err := l.load(link); err != nil {
				t.Fatalf("link to a 0600 file: %v", err)
			}
			if err := os.Chmod(target, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := l.load(link); err == nil || !strings.Contains(err.Error(), "chmod 600 "+link) {
				t.Fatalf("link to a 0644 file: %v, want a refusal naming %s", err, link)
			}
		})
	}
}

func TestLoadOrCreateSecret_DirectoryInItsPlaceRefused(t *testing.T) {
	for _, l := range secretLoaders {
		path := filepath.Join(t.TempDir(), "secret")
		if err := os.Mkdir(path, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := l.load(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: a directory in place of the file: %v", l.name, err)
		}
	}
}

func TestPrepareDataDir(t *testing.T) {
	ours := []string{"keyward.db", "key-pepper", "signing-key.pem"}
	cases := []struct {
		name      string
		mode      fs.FileMode // of the existing directory; 0: it does not exist
		files     []string
		wantMode  fs.FileMode // afterwards
		tightened bool
		wantErr   string // "" means no error
	}{
		{"missing: created private", 0, nil, 0o700, false, ""},
		{"private: left alone", 0o700, []string{"keyward.db", "notes.txt"}, 0o700, false, ""},
		{"fresh volume, 0755 and empty: tightened", 0o755, nil, 0o700, true, ""},
		{"an older Keyward's, 0750: tightened", 0o750,
			[]string{"keyward.db", "keyward.db-wal", "keyward.db-shm", "key-pepper", "signing-key.pem"}, 0o700, true, ""},
		{"world-writable and Keyward's: tightened", 0o777, []string{"keyward.db"}, 0o700, true, ""},
		{"shared with other files: refused", 0o755, []string{"keyward.db", "notes.txt"}, 0o755, false, `holds "notes.txt"`},
		{"group-accessible with a subdirectory: refused", 0o770, []string{"backups/"}, 0o770, false, `holds "backups"`},
		{"sticky, like /tmp: refused", 0o777 | fs.ModeSticky, nil, 0o777, false, "sticky"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if tc.mode != 0 {
				if err := os.Mkdir(dir, 0o700); err != nil {
					t.Fatal(err)
				}
				for _, f := range tc.files {
					var err error
					if strings.HasSuffix(f, "/") {
						err = os.Mkdir(filepath.Join(dir, f), 0o700)
					} else {
						err = os.WriteFile(filepath.Join(dir, f), nil, 0o600)
					}
					if err != nil {
						t.Fatal(err)
					}
				}
				if err := os.Chmod(dir, tc.mode); err != nil {
					t.Fatal(err)
				}
			}
			was, err := PrepareDataDir(dir, ours...)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if tc.wantErr != "" {
				if err == nil {
					t.Fatal("accepted")
				}
				for _, want := range []string{tc.wantErr, dir, "chmod 700 " + dir, "group or others"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error does not say %q: %v", want, err)
					}
				}
			}
			if got := modeOf(t, dir); got != tc.wantMode {
				t.Errorf("mode afterwards %04o, want %04o", got, tc.wantMode)
			}
			if tc.tightened != (was != 0) || (tc.tightened && was != tc.mode.Perm()) {
				t.Errorf("PrepareDataDir returned %04o, want the old mode only when it tightened (%v)", was, tc.tightened)
			}
		})
	}
}

func TestPrepareDataDir_AFileInItsPlace_Refused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := PrepareDataDir(path); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("err = %v", err)
	}
}
