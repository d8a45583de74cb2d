package cli

// The login a person keeps between commands: a refresh token of the realm's public
// client, in a file of its own per Keyward URL under the user's config directory (the
// directory 0700, the file 0600). Access tokens are never stored: each command trades
// the refresh token for one, and stores the refresh token Keycloak rotates in.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/keyward/keyward/client"
)

// session is the file's content.
type session struct {
	KeywardURL         string    `json:"keyward_url"`
	Issuer             string    `json:"issuer"`
	ClientID           string    `json:"client_id"`
	TokenEndpoint      string    `json:"token_endpoint"`
	RevocationEndpoint string    `json:"revocation_endpoint"`
	Username           string    `json:"username"`
	RefreshToken       string    `json:"refresh_token"`
	SavedAt            time.Time `json:"saved_at"`
}

// userConfigDir is os.UserConfigDir read through getenv, so tests can point it anywhere.
func userConfigDir(getenv func(string) string) (string, error) {
	var dir string
	switch runtime.GOOS {
	case "windows":
		dir = getenv("AppData")
	case "darwin", "ios":
		if h := getenv("HOME"); h != "" {
			dir = filepath.Join(h, "Library", "Application Support")
		}
	case "plan9":
		if h := getenv("home"); h != "" {
			dir = filepath.Join(h, "lib")
		}
	default:
		dir = getenv("XDG_CONFIG_HOME")
		if !filepath.IsAbs(dir) {
			dir = ""
			if h := getenv("HOME"); h != "" {
				dir = filepath.Join(h, ".config")
			}
		}
	}
	if dir == "" {
		return "", errors.New("no config directory: neither XDG_CONFIG_HOME nor HOME is set")
	}
	return dir, nil
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

// normalURL is the Keyward URL as sessions are keyed: lower-case scheme and host, no
// trailing slash.
func normalURL(raw string) string {
	u, err := url.Parse(strings.TrimRight(strings.TrimSpace(raw), "/"))
	if err != nil {
		return raw
	}
	u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	return u.String()
}

// sessionFileName is readable (host, port, path) and unique (a hash of the whole URL,
// so http and https, or /a-b and /a/b, never share a file).
func sessionFileName(keywardURL string) string {
	n := normalURL(keywardURL)
	readable := n
	if u, err := url.Parse(n); err == nil && u.Host != "" {
		readable = u.Host + u.Path
	}
	readable = unsafeFileChars.ReplaceAllString(strings.ReplaceAll(readable, "..", "_"), "_")
	readable = strings.Trim(readable, "_.")
	if len(readable) > 80 {
		readable = readable[:80]
	}
	sum := sha256.Sum256([]byte(n))
	return readable + "-" + hex.EncodeToString(sum[:4]) + ".json"
}

// sessionPath is where the login for keywardURL is kept.
func sessionPath(getenv func(string) string, keywardURL string) (string, error) {
	dir, err := userConfigDir(getenv)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "keyward", sessionFileName(keywardURL)), nil
}

// saveSession writes s atomically, the directory 0700 and the file 0600 whatever the umask.
func saveSession(path string, s session) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("chmod %s: %w", dir, err)
	}
	s.SavedAt = time.Now().UTC().Truncate(time.Second)
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".session-*")
	if err != nil {
		return fmt.Errorf("write the login: %w", err)
	}
	defer os.Remove(tmp.Name()) // gone after the rename; removes a failed attempt
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write the login: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write the login: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write the login: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write the login: %w", err)
	}
	return nil
}

// errNotLoggedIn: no stored login for this Keyward.
var errNotLoggedIn = errors.New("not logged in")

func loadSession(path, keywardURL string) (session, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return session{}, errNotLoggedIn
	}
	if err != nil {
		return session{}, fmt.Errorf("read the login: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return session{}, fmt.Errorf("the login file %s is open to other users (mode %o): run keyward login to replace it", path, fi.Mode().Perm())
	}
	var s session
	if err := json.Unmarshal(b, &s); err != nil || s.RefreshToken == "" {
		return session{}, fmt.Errorf("the login file %s is damaged: run keyward login", path)
	}
	if normalURL(s.KeywardURL) != normalURL(keywardURL) {
		return session{}, errNotLoggedIn
	}
	return s, nil
}

// oauthConfig is the public client's configuration for refreshes.
func (s session) oauthConfig() *oauth2.Config {
	return &oauth2.Config{
		ClientID: s.ClientID,
		Endpoint: oauth2.Endpoint{TokenURL: s.TokenEndpoint, AuthStyle: oauth2.AuthStyleInParams},
	}
}

// sessionTokens refreshes access tokens from the stored login and stores every refresh
// token Keycloak rotates in.
type sessionTokens struct {
	mu   sync.Mutex
	path string
	sess session
	src  oauth2.TokenSource
}

func newSessionTokens(ctx context.Context, hc *http.Client, path string, s session) *sessionTokens {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, hc)
	return &sessionTokens{path: path, sess: s, src: s.oauthConfig().TokenSource(ctx, &oauth2.Token{RefreshToken: s.RefreshToken})}
}

func (st *sessionTokens) Token() (*oauth2.Token, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	tok, err := st.src.Token()
	if err != nil {
		return nil, refreshFailed(err)
	}
	if tok.RefreshToken != "" && tok.RefreshToken != st.sess.RefreshToken {
		st.sess.RefreshToken = tok.RefreshToken
		if err := saveSession(st.path, st.sess); err != nil {
			return nil, &exitErr{ExitError, err}
		}
	}
	return tok, nil
}

// refreshFailed: a refresh token Keycloak refuses means the login has ended (expired,
// revoked, the session ended or the user disabled); anything else is an outage.
func refreshFailed(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		switch {
		case re.ErrorCode == "invalid_grant" || re.ErrorCode == "unauthorized_client" || re.ErrorCode == "invalid_client":
			return &exitErr{ExitNotLoggedIn, errors.New("your login has ended (Keycloak refused its refresh token): run keyward login")}
		case re.Response != nil && re.Response.StatusCode >= 500:
			return &exitErr{ExitUnavailable, fmt.Errorf("Keycloak cannot refresh the login now (HTTP %d): try again later", re.Response.StatusCode)}
		}
		code := re.ErrorCode
		if code == "" && re.Response != nil {
			code = "HTTP " + strconv.Itoa(re.Response.StatusCode)
		}
		return &exitErr{ExitNotLoggedIn, fmt.Errorf("Keycloak refused to refresh the login (%s): run keyward login", code)}
	}
	return &exitErr{ExitUnavailable, errors.New("Keycloak cannot be reached to refresh the login: try again later")}
}

// loggedIn is the state of a command that needs the person's login.
type loggedIn struct {
	keywardURL string
	path       string
	tokens     *sessionTokens
	manager    *client.Manager
	username   string             // whose login it is
	source     oauth2.TokenSource // the access tokens (tokens, or a test's fixed one)
}

// login loads the stored login for KEYWARD_URL and a Manager that uses it.
func (f *Factory) login(ctx context.Context) (*loggedIn, error) {
	if f.loginAs != nil {
		return f.loginAs(ctx)
	}
	keywardURL, insecure, err := f.keywardURL()
	if err != nil {
		return nil, err
	}
	path, err := sessionPath(f.Getenv, keywardURL)
	if err != nil {
		return nil, &exitErr{ExitUsage, err}
	}
	s, err := loadSession(path, keywardURL)
	if errors.Is(err, errNotLoggedIn) {
		return nil, &exitErr{ExitNotLoggedIn, fmt.Errorf("not logged in to %s: run keyward login", keywardURL)}
	}
	if err != nil {
		return nil, &exitErr{ExitNotLoggedIn, err}
	}
	ts := newSessionTokens(ctx, f.HTTPClient, path, s)
	m, err := client.NewManager(client.ManagerConfig{URL: keywardURL, TokenSource: ts, HTTPClient: f.HTTPClient, AllowInsecureHTTP: insecure})
	if err != nil {
		return nil, &exitErr{ExitUsage, err}
	}
	return &loggedIn{keywardURL: keywardURL, path: path, tokens: ts, manager: m, username: s.Username, source: ts}, nil
}

// keywardURL is KEYWARD_URL, required, and whether plain http to another machine is allowed.
func (f *Factory) keywardURL() (string, bool, error) { return keywardURLOf(f.Getenv) }

// keywardURLOf is KEYWARD_URL as getenv reads it (Factory.keywardURL).
func keywardURLOf(getenv func(string) string) (string, bool, error) {
	u := strings.TrimSpace(getenv(client.EnvURL))
	if u == "" {
		return "", false, &exitErr{ExitUsage, errors.New("KEYWARD_URL is not set (e.g. export KEYWARD_URL=http://127.0.0.1:8080)")}
	}
	insecure := false
	if v := getenv(client.EnvAllowInsecureHTTP); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return "", false, &exitErr{ExitUsage, fmt.Errorf("%s=%q is neither true nor false", client.EnvAllowInsecureHTTP, v)}
		}
		insecure = b
	}
	return strings.TrimRight(u, "/"), insecure, nil
}
