package client_test

// The client against the real stack of `make test`: the shared Keyward and Keycloak.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/internal/kctest"
)

// createKey makes an API key for user at the shared Keyward and revokes it at cleanup.
func createKey(t *testing.T, env *kctest.Env, user string) (key, id string) {
	t.Helper()
	token := env.Login(t, user)
	body := fmt.Sprintf(`{"name":"client test %s %d"}`, t.Name(), time.Now().UnixNano())
	req, _ := http.NewRequest(http.MethodPost, env.KeywardURL+"/v1/keys", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Key string `json:"key"`
		ID  string `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusCreated || out.Key == "" {
		t.Fatalf("create key for %s: HTTP %d, %v", user, resp.StatusCode, err)
	}
	t.Cleanup(func() { revokeKey(t, env, user, out.ID) })
	return out.Key, out.ID
}

func revokeKey(t *testing.T, env *kctest.Env, user, id string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, env.KeywardURL+"/v1/keys/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+env.Login(t, user))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusNotFound {
		t.Fatalf("revoke key: HTTP %d", resp.StatusCode)
	}
}

// countingTransport counts the exchanges a TokenSource makes.
type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func TestTokenSource_RealKeyward_TokenOfTheKeysOwner(t *testing.T) {
	env := kctest.Require(t)
	key, _ := createKey(t, env, "alice")
	t.Setenv(client.EnvURL, env.KeywardURL)
	t.Setenv(client.EnvAPIKey, key)
	ts, err := client.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	claims := kctest.Claims(t, tok.AccessToken)
	if claims["sub"] != env.UserID(t, "alice") || claims["iss"] != env.Issuer() {
		t.Errorf("sub %v iss %v, want alice's id and %s", claims["sub"], claims["iss"], env.Issuer())
	}
	if groups := kctest.Strings(claims["acl_groups"]); !slices.Contains(groups, "engineering") {
		t.Errorf("acl_groups %v", groups)
	}
	if left := time.Until(tok.Expiry); left < time.Minute || left > 10*time.Minute || tok.Type() != "Bearer" {
		t.Errorf("expiry in %v, type %q", left, tok.Type())
	}
}

func TestTokenSource_RealKeyward_ConcurrentCallersShareOneExchange(t *testing.T) {
	env := kctest.Require(t)
	key, _ := createKey(t, env, "alice")
	counter := &countingTransport{}
	ts, err := client.New(client.Config{URL: env.KeywardURL, APIKey: key, HTTPClient: &http.Client{Transport: counter, Timeout: 30 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	tokens := make([]string, 16)
	for i := range tokens {
		wg.Go(func() {
			tok, err := ts.Token()
			if err != nil {
				t.Error(err)
				return
			}
			tokens[i] = tok.AccessToken
		})
	}
	wg.Wait()
	if counter.n.Load() != 1 {
		t.Fatalf("%d exchanges for %d concurrent callers, want 1", counter.n.Load(), len(tokens))
	}
	for _, tok := range tokens {
		if tok != tokens[0] {
			t.Fatal("callers got different tokens")
		}
	}
}

func TestTokenSource_RealKeyward_HTTPClientCallsKeycloakUserinfo(t *testing.T) {
	env := kctest.Require(t)
	key, _ := createKey(t, env, "alice")
	ts, err := client.New(client.Config{URL: env.KeywardURL, APIKey: key})
	if err != nil {
		t.Fatal(err)
	}
	// Keycloak's userinfo endpoint stands for a protected API: it accepts realm tokens.
	resp, err := ts.Client(context.Background()).Get(env.Issuer() + "/protocol/openid-connect/userinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var info map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("userinfo: HTTP %d %v", resp.StatusCode, err)
	}
	if info["preferred_username"] != "alice" {
		t.Fatalf("userinfo says %v", info["preferred_username"])
	}
}

func TestTokenSource_RealKeyward_RefusedKeys_InvalidKey(t *testing.T) {
	env := kctest.Require(t)
	revoked, id := createKey(t, env, "alice")
	revokeKey(t, env, "alice", id)
	live := createKeyParsed(t, env, "alice")
	neverIssued, err := exchange.GenerateKey(exchange.EnvLive)
	if err != nil {
		t.Fatal(err)
	}
	wrongSecret := live
	wrongSecret.Secret = neverIssued.Secret // a valid checksum over a secret that is not the key's
	typo := live.String()
	typo = typo[:len(typo)-1] + string(flip(typo[len(typo)-1])) // fails the checksum
	cases := map[string]string{
		"revoked":              revoked,
		"never issued":         neverIssued.String(),
		"right id, bad secret": wrongSecret.String(),
		"typo":                 typo,
		"garbage":              "not-a-key",
	}
	for name, key := range cases {
		t.Run(name, func(t *testing.T) {
			ts, err := client.New(client.Config{URL: env.KeywardURL, APIKey: key})
			if err != nil {
				t.Fatal(err)
			}
			_, err = ts.Token()
			var e *client.Error
			if !errors.Is(err, client.ErrInvalidKey) || errors.Is(err, client.ErrUnavailable) || !errors.As(err, &e) {
				t.Fatalf("err = %v, want ErrInvalidKey", err)
			}
			if e.StatusCode != http.StatusUnauthorized || e.Code != "invalid_grant" {
				t.Errorf("status %d code %q", e.StatusCode, e.Code)
			}
			if strings.Contains(err.Error(), key) {
				t.Errorf("error text contains the key: %v", err)
			}
		})
	}
}

func TestTokenSource_KeywardDown_Unavailable(t *testing.T) {
	// Nothing listens on port 1 of the loopback: the connection is refused at once.
	ts, err := client.New(client.Config{URL: "http://127.0.0.1:1", APIKey: "kw_test_x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Token(); !errors.Is(err, client.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
}

// createKeyParsed is createKey with the key split into its parts.
func createKeyParsed(t *testing.T, env *kctest.Env, user string) exchange.ParsedKey {
	t.Helper()
	key, _ := createKey(t, env, user)
	parsed, err := exchange.ParseKey(key)
	if err != nil {
		t.Fatalf("Keyward issued a key its own parser refuses: %v", err)
	}
	return parsed
}

func flip(c byte) byte {
	if c == 'a' {
		return 'b'
	}
	return 'a'
}
