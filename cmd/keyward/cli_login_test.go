package main

// keyward login on the real stack: the device flow approved in a real headless
// chromium on Keycloak's own pages (code typed at the verification URL, login, the
// grant page), then the keys a person manages with that login, their tokens checked
// against the realm's keys, and logout revoking the stored refresh token at Keycloak.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/keyward/keyward/cli"
	"github.com/keyward/keyward/internal/browsertest"
	"github.com/keyward/keyward/internal/kctest"
)

// syncBuffer is written by a command running in a goroutine and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func cliIn(t *testing.T, env map[string]string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = runCLIWith(context.Background(), args, strings.NewReader(stdin), &out, &errOut, func(k string) string { return env[k] }, false)
	return code, out.String(), errOut.String()
}

// cliHome is the environment of a person with their own (empty) config directory.
func cliHome(t *testing.T, keywardURL string) map[string]string {
	home := t.TempDir()
	return map[string]string{"KEYWARD_URL": keywardURL, "HOME": home, "XDG_CONFIG_HOME": filepath.Join(home, "config")}
}

// browserLogin runs `keyward login` and approves (or denies) it as user in chromium:
// the verification URL, the code typed in, Keycloak's login page, then its grant page.
func browserLogin(t *testing.T, env map[string]string, user string, approve bool) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	var errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- runCLIWith(ctx, []string{"login"}, strings.NewReader(""), &out, &errOut, func(k string) string { return env[k] }, false)
	}()
	var m []string
	for m == nil {
		select {
		case c := <-done:
			t.Fatalf("login ended before printing a code: exit %d, %q", c, errOut.String())
		case <-time.After(50 * time.Millisecond):
			m = browsertest.DevicePrompt.FindStringSubmatch(errOut.String())
		}
	}
	verificationURI, userCode := m[1], m[2]

	browsertest.DeviceLogin(t, verificationURI, userCode, user, approve)
	select {
	case code = <-done:
	case <-ctx.Done():
		t.Fatal("keyward login did not end after the browser step")
	}
	return code, out.String(), errOut.String()
}

// sessionFile is the one login file under the person's config directory.
func sessionFile(t *testing.T, env map[string]string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(env["XDG_CONFIG_HOME"], "keyward", "*.json"))
	if len(files) != 1 {
		t.Fatalf("login files: %v", files)
	}
	return files[0]
}

func storedRefreshToken(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(b, &s); err != nil || s.RefreshToken == "" {
		t.Fatalf("login file: %v", err)
	}
	return s.RefreshToken
}

// refreshAtKeycloak tries a refresh grant with rt directly at the realm.
func refreshAtKeycloak(t *testing.T, kc *kctest.Env, rt string) (int, string) {
	t.Helper()
	resp, err := http.PostForm(kc.Issuer()+"/protocol/openid-connect/token", url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"keyward-cli"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error string `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Error
}

// verifiedClaims checks a token against the realm's published keys and issuer.
func verifiedClaims(t *testing.T, kc *kctest.Env, token string) map[string]any {
	t.Helper()
	set, err := jwk.Fetch(context.Background(), kc.Issuer()+"/protocol/openid-connect/certs")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Parse([]byte(token), jwt.WithKeySet(set), jwt.WithIssuer(kc.Issuer()), jwt.WithValidate(true))
	if err != nil {
		t.Fatalf("not a valid token of the realm: %v", err)
	}
	claims, err := tok.AsMap(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(claims)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return m
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// identity is whoami -o json as a script reads it (the field names are the contract).
type identity struct {
	Username  string    `json:"username"`
	Subject   string    `json:"sub"`
	ACLGroups []string  `json:"acl_groups"`
	Admin     bool      `json:"admin"`
	ExpiresAt time.Time `json:"expires_at"`
}

// noSecretIn fails when any of secrets appears in what a command printed.
func noSecretIn(t *testing.T, what, printed string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(printed, s) {
			t.Fatalf("%s printed a secret", what)
		}
	}
}

func oneErrorLine(t *testing.T, what, stderr string) {
	t.Helper()
	if !strings.HasPrefix(stderr, "keyward: ") || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("%s: not one error line: %q", what, stderr)
	}
}

func TestCLI_Login_DeniedInTheBrowser(t *testing.T) {
	kc := kctest.Require(t)
	env := cliHome(t, kc.KeywardURL)
	code, out, errOut := browserLogin(t, env, "alice", false)
	if code != cli.ExitRefused || out != "" || !strings.HasSuffix(errOut, "keyward: the login was denied in the browser\n") {
		t.Fatalf("denied: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if files, _ := filepath.Glob(filepath.Join(env["XDG_CONFIG_HOME"], "keyward", "*")); len(files) != 0 {
		t.Fatalf("a denied login left %v", files)
	}
}

// The smoke test of a person's CLI on the real stack: the browser login, whoami, keys
// create/list/show and completion, the key traded at the real Keycloak, a second login
// and logout revoking at Keycloak. Each keys command's own behaviour (update, disable,
// usage, rotate, --out-file, revoke, another user's key) is tested in process in cli/.
func TestCLI_LoginKeysLogout_OnTheRealStack(t *testing.T) {
	kc := kctest.Require(t)
	app := startApp(t, kc, "")
	env := cliHome(t, app.url)
	name := kctest.Unique("cli")

	code, _, errOut := keywardCLI(t, env, "keys", "list")
	if code != cli.ExitNotLoggedIn || !strings.Contains(errOut, "run keyward login") {
		t.Fatalf("before login: %d %q", code, errOut)
	}
	// Completion without a login offers nothing, and asks nothing.
	if code, out, errOut := keywardCLI(t, env, "__complete", "keys", "show", ""); code != 0 || out != ":4\n" || strings.Contains(errOut, "keyward:") {
		t.Fatalf("completion before login: %d %q %q", code, out, errOut)
	}

	code, out, errOut := browserLogin(t, env, "alice", true)
	if code != 0 || out != "" || !strings.Contains(errOut, "Logged in to "+app.url+" as alice.") {
		t.Fatalf("login: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	path := sessionFile(t, env)
	refreshToken := storedRefreshToken(t, path)
	remember(refreshToken)
	noSecretIn(t, "login", out+errOut, refreshToken)
	if m := mode(t, path); m != 0o600 {
		t.Fatalf("login file mode %o, want 600", m)
	}
	if m := mode(t, filepath.Dir(path)); m != 0o700 {
		t.Fatalf("login directory mode %o, want 700", m)
	}

	t.Run("Whoami", func(t *testing.T) {
		code, out, _ := keywardCLI(t, env, "whoami")
		if code != 0 || !strings.Contains(out, "alice") || !strings.Contains(out, "analytics, engineering") || !strings.Contains(out, "token expires") {
			t.Fatalf("whoami: %d %q", code, out)
		}
		code, out, _ = keywardCLI(t, env, "whoami", "-o", "json")
		var id identity
		if code != 0 || json.Unmarshal([]byte(out), &id) != nil || id.Username != "alice" || id.Subject != kc.UserID(t, "alice") ||
			!slices.Contains(id.ACLGroups, "analytics") || !slices.Contains(id.ACLGroups, "engineering") || id.Admin ||
			!id.ExpiresAt.After(time.Now()) {
			t.Fatalf("whoami -o json: %d %q", code, out)
		}
		// Each refresh brings a new refresh token from Keycloak: the newest is the one kept.
		rt := storedRefreshToken(t, path)
		remember(rt)
		if rt == refreshToken {
			t.Fatal("the refresh token Keycloak rotated in was not stored")
		}
		if m := mode(t, path); m != 0o600 {
			t.Fatalf("login file mode %o after the rewrite", m)
		}
	})

	var key string
	t.Run("CreateListShow", func(t *testing.T) {
		code, out, errOut := keywardCLI(t, env, "keys", "create", "--name", name, "--expires-in", "90d", "--scope", "profile")
		key = strings.TrimSuffix(out, "\n")
		remember(key)
		if code != 0 || !strings.HasPrefix(key, "kw_live_") || strings.ContainsAny(key, " \n") {
			t.Fatalf("create: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		noSecretIn(t, "create's stderr", errOut, key)
		if !strings.Contains(errOut, "shown this once") {
			t.Fatalf("create's stderr: %q", errOut)
		}
		code, out, _ = keywardCLI(t, env, "keys", "list")
		if code != 0 || !strings.Contains(out, "NAME") || !strings.Contains(out, name) || !strings.Contains(out, key[:len("kw_live_")+4]) {
			t.Fatalf("list: %d %q", code, out)
		}
		noSecretIn(t, "list", out, key)
		// The shell completes key names (cobra's __complete, which the scripts call).
		code, out, _ = keywardCLI(t, env, "__complete", "keys", "rotate", name[:len(name)-2])
		if code != 0 || !strings.Contains(out, name+"\t"+key[:len("kw_live_")+12]) || !strings.Contains(out, ":4\n") {
			t.Fatalf("completion of key names: %d %q", code, out)
		}
		noSecretIn(t, "completion", out, key)
		code, out, _ = keywardCLI(t, env, "keys", "list", "-o", "json")
		var keys []map[string]any
		if code != 0 || json.Unmarshal([]byte(out), &keys) != nil {
			t.Fatalf("list -o json: %d %q", code, out)
		}
		var mine map[string]any
		for _, k := range keys {
			if k["name"] == name {
				mine = k
			}
		}
		// Exactly the API's object: every field of the key schema, no secret.
		for _, f := range []string{"id", "prefix", "status", "environment", "scopes", "expires_at", "last_used_at", "rate_limit", "ip_allowlist", "owner_username"} {
			if _, ok := mine[f]; !ok {
				t.Fatalf("list -o json lacks %s: %v", f, mine)
			}
		}
		if _, leaked := mine["key"]; leaked || !slices.Equal(kctest.Strings(mine["scopes"]), []string{"profile"}) {
			t.Fatalf("list -o json: %v", mine)
		}
		code, out, _ = keywardCLI(t, env, "keys", "show", name, "-o", "json")
		var shown map[string]any
		if code != 0 || json.Unmarshal([]byte(out), &shown) != nil || shown["id"] != mine["id"] {
			t.Fatalf("show -o json: %d %q", code, out)
		}
		if code, out, _ := keywardCLI(t, env, "keys", "show", mine["id"].(string)); code != 0 || !strings.Contains(out, name) {
			t.Fatalf("show by id: %d %q", code, out)
		}
	})

	t.Run("TokenIsKeycloaksForAlice", func(t *testing.T) {
		kenv := map[string]string{"KEYWARD_URL": app.url, "KEYWARD_API_KEY": key}
		code, out, _ := keywardCLI(t, kenv, "token")
		tok := strings.TrimSpace(out)
		remember(tok)
		claims := verifiedClaims(t, kc, tok)
		if code != 0 || claims["sub"] != kc.UserID(t, "alice") || claims["preferred_username"] != "alice" {
			t.Fatalf("token: exit %d, sub %v", code, claims["sub"])
		}
		if groups := kctest.Strings(claims["acl_groups"]); !slices.Contains(groups, "analytics") || !slices.Contains(groups, "engineering") {
			t.Fatalf("acl_groups %v", groups)
		}

		code, out, _ = keywardCLI(t, kenv, "token", "--kubectl")
		checkExecCredential(t, code, out)
	})

	t.Run("LoginAgainRevokesThePreviousLogin", func(t *testing.T) {
		before := storedRefreshToken(t, path)
		if code, _, errOut := browserLogin(t, env, "alice", true); code != 0 {
			t.Fatalf("second login: %d %q", code, errOut)
		}
		after := storedRefreshToken(t, path)
		remember(after)
		if after == before {
			t.Fatal("the second login kept the first one's refresh token")
		}
		if status, e := refreshAtKeycloak(t, kc, before); status != http.StatusBadRequest || e != "invalid_grant" {
			t.Fatalf("the replaced login still refreshes: %d %s", status, e)
		}
		if code, out, _ := keywardCLI(t, env, "whoami"); code != 0 || !strings.Contains(out, "alice") {
			t.Fatalf("whoami after the second login: %d", code)
		}
	})

	t.Run("LogoutRevokesAtKeycloak", func(t *testing.T) {
		rt := storedRefreshToken(t, path)
		saved, _ := os.ReadFile(path)
		if status, _ := refreshAtKeycloak(t, kc, rt); status != http.StatusOK {
			t.Fatalf("the stored refresh token does not work before logout: %d", status)
		}
		rt = storedRefreshToken(t, path) // unchanged by the test's own refresh
		code, out, errOut := keywardCLI(t, env, "logout")
		if code != 0 || out != "" || !strings.Contains(errOut, "Logged out") {
			t.Fatalf("logout: %d %q %q", code, out, errOut)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatalf("the login file stays: %v", err)
		}
		if status, e := refreshAtKeycloak(t, kc, rt); status != http.StatusBadRequest || e != "invalid_grant" {
			t.Fatalf("Keycloak still refreshes the logged-out token: %d %s", status, e)
		}
		code, _, errOut = keywardCLI(t, env, "keys", "list")
		if code != cli.ExitNotLoggedIn || !strings.Contains(errOut, "run keyward login") {
			t.Fatalf("after logout: %d %q", code, errOut)
		}
		// A login file whose refresh token Keycloak has revoked: log in again, it says.
		if err := os.WriteFile(path, saved, 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, errOut = keywardCLI(t, env, "whoami")
		if code != cli.ExitNotLoggedIn || out != "" || !strings.Contains(errOut, "your login has ended") || !strings.Contains(errOut, "run keyward login") {
			t.Fatalf("dead refresh token: %d %q", code, errOut)
		}
		oneErrorLine(t, "dead refresh token", errOut)
		noSecretIn(t, "dead refresh token", errOut, rt)
	})

	noSecretIn(t, "Keyward's log", app.logs.String(), refreshToken, key)
}

// checkExecCredential holds --kubectl output against the published schema of
// client.authentication.k8s.io/v1 ExecCredential: apiVersion, kind, spec (input
// only), status {expirationTimestamp, token, clientCertificateData, clientKeyData}.
func checkExecCredential(t *testing.T, code int, out string) {
	t.Helper()
	type status struct {
		ExpirationTimestamp   *string `json:"expirationTimestamp"`
		Token                 string  `json:"token"`
		ClientCertificateData string  `json:"clientCertificateData"`
		ClientKeyData         string  `json:"clientKeyData"`
	}
	var cred struct {
		APIVersion string          `json:"apiVersion"`
		Kind       string          `json:"kind"`
		Spec       json.RawMessage `json:"spec"`
		Status     *status         `json:"status"`
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if code != 0 || dec.Decode(&cred) != nil || dec.Decode(new(any)) != io.EOF {
		t.Fatalf("--kubectl: exit %d, not one ExecCredential: %q", code, out)
	}
	if cred.APIVersion != "client.authentication.k8s.io/v1" || cred.Kind != "ExecCredential" || cred.Status == nil {
		t.Fatalf("--kubectl: %q", out)
	}
	if strings.Count(cred.Status.Token, ".") != 2 || cred.Status.ClientCertificateData != "" || cred.Status.ClientKeyData != "" {
		t.Fatal("--kubectl: status.token is not a bearer JWT alone")
	}
	remember(cred.Status.Token)
	if cred.Status.ExpirationTimestamp == nil {
		t.Fatal("--kubectl: no expirationTimestamp")
	}
	exp, err := time.Parse(time.RFC3339, *cred.Status.ExpirationTimestamp)
	if err != nil || !exp.After(time.Now()) || exp.After(time.Now().Add(time.Hour)) {
		t.Fatalf("--kubectl: expirationTimestamp %q", *cred.Status.ExpirationTimestamp)
	}
	if claims := kctest.Claims(t, cred.Status.Token); int64(claims["exp"].(float64)) < exp.Unix() {
		t.Fatal("--kubectl: expirationTimestamp after the token's exp")
	}
}
