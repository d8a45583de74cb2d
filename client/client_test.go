package client

// Behaviour against a stand-in Keyward (httptest): caching, concurrency, and how each
// refusal is classified. integration_test.go runs the same client on the real stack.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/testkit"
	"golang.org/x/oauth2"
)

const testKey = "kw_test_AAAAAAAAAAAAsecretsecretsecretsecretsecret00_abcdef"

// fakeKeyward answers /v1/token with handle and counts the exchanges.
type fakeKeyward struct {
	*httptest.Server
	calls atomic.Int64
}

func newFakeKeyward(t *testing.T, handle http.HandlerFunc) *fakeKeyward {
	t.Helper()
	f := &fakeKeyward{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/token" {
			http.NotFound(w, r)
			return
		}
		f.calls.Add(1)
		handle(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

// issue answers like Keyward does on success, numbering tokens so reuse is visible.
func issue(expiresIn int) http.HandlerFunc {
	var n atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintf(w, `{"access_token":"token-%d","token_type":"Bearer","expires_in":%d,`+
			`"issued_token_type":"urn:ietf:params:oauth:token-type:access_token","scope":"openid email profile"}`,
			n.Add(1), expiresIn)
	}
}

func newSource(t *testing.T, url string, cfg Config) *TokenSource {
	t.Helper()
	cfg.URL, cfg.APIKey = url, testKey
	ts, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestToken_SendsTheKeyInXAPIKeyToTheTokenEndpoint(t *testing.T) {
	var got *http.Request
	var body string
	f := newFakeKeyward(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		w.Write([]byte(`{"access_token":"a","token_type":"Bearer","expires_in":300}`))
	})
	tok, err := newSource(t, f.URL+"/", Config{}).Token()
	if err != nil {
		t.Fatal(err)
	}
	if got.Method != http.MethodPost || got.Header.Get("X-API-Key") != testKey || body != "" {
		t.Fatalf("request: %s X-API-Key set=%v body=%q", got.Method, got.Header.Get("X-API-Key") == testKey, body)
	}
	if tok.AccessToken != "a" || tok.Type() != "Bearer" || tok.ExpiresIn != 300 {
		t.Fatalf("token: %+v", tok)
	}
}

func TestToken_ScopeIsSentAsForm(t *testing.T) {
	f := newFakeKeyward(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || r.PostFormValue("scope") != "openid email" {
			http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
			return
		}
		w.Write([]byte(`{"access_token":"a","token_type":"Bearer","expires_in":300,"scope":"openid email"}`))
	})
	tok, err := newSource(t, f.URL, Config{Scope: "openid email"}).Token()
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := tok.Extra("scope").(string); s != "openid email" {
		t.Fatalf("scope extra = %q", s)
	}
}

func TestToken_ReusedUntilShortlyBeforeExpiry(t *testing.T) {
	f := newFakeKeyward(t, issue(300))
	clock := testkit.NewClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	ts := newSource(t, f.URL, Config{})
	ts.now = clock.Now

	first, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	if want := clock.Now().Add(300 * time.Second); !first.Expiry.Equal(want) {
		t.Fatalf("expiry %v, want %v", first.Expiry, want)
	}
	clock.Advance(269 * time.Second) // 31 s left: still good
	again, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	if again.AccessToken != first.AccessToken || f.calls.Load() != 1 {
		t.Fatalf("token not reused: %q then %q, %d exchanges", first.AccessToken, again.AccessToken, f.calls.Load())
	}
	clock.Advance(2 * time.Second) // 29 s left: inside the 30 s margin
	renewed, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	if renewed.AccessToken == first.AccessToken || f.calls.Load() != 2 {
		t.Fatalf("token not renewed: %q, %d exchanges", renewed.AccessToken, f.calls.Load())
	}
}

func TestToken_ShortLivedTokenRenewedAtHalfLife(t *testing.T) {
	f := newFakeKeyward(t, issue(20))
	clock := testkit.NewClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	ts := newSource(t, f.URL, Config{})
	ts.now = clock.Now
	mustToken(t, ts)
	clock.Advance(9 * time.Second)
	mustToken(t, ts)
	if n := f.calls.Load(); n != 1 {
		t.Fatalf("%d exchanges before half-life, want 1", n)
	}
	clock.Advance(2 * time.Second)
	mustToken(t, ts)
	if n := f.calls.Load(); n != 2 {
		t.Fatalf("%d exchanges after half-life, want 2", n)
	}
}

func TestToken_ConcurrentCallersShareOneExchange(t *testing.T) {
	release := make(chan struct{})
	answer := issue(300)
	f := newFakeKeyward(t, func(w http.ResponseWriter, r *http.Request) {
		<-release // hold the first exchange until every caller is waiting
		answer(w, r)
	})
	ts := newSource(t, f.URL, Config{})
	const callers = 32
	var wg sync.WaitGroup
	tokens := make(chan string, callers)
	for range callers {
		wg.Go(func() {
			tok, err := ts.Token()
			if err != nil {
				t.Error(err)
				return
			}
			tokens <- tok.AccessToken
		})
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	close(tokens)
	for tok := range tokens {
		if tok != "token-1" {
			t.Fatalf("a caller got %q, want the one shared token-1", tok)
		}
	}
	if n := f.calls.Load(); n != 1 {
		t.Fatalf("%d exchanges for %d concurrent callers, want 1", n, callers)
	}
}

func TestTokenContext_WaiterGivesUpWhenItsContextEnds(t *testing.T) {
	release := make(chan struct{})
	f := newFakeKeyward(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Write([]byte(`{"access_token":"a","token_type":"Bearer","expires_in":300}`))
	})
	defer close(release)
	ts := newSource(t, f.URL, Config{})
	go ts.Token() // holds the exchange
	time.Sleep(20 * time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := ts.TokenContext(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Fatalf("err = %v after %v, want DeadlineExceeded promptly", err, time.Since(start))
	}
}

func TestToken_RefusalsAreClassified(t *testing.T) {
	httpDate := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	cases := []struct {
		name       string
		status     int
		retryAfter string
		body       string
		want       error // nil: none of the sentinels
		wantCode   string
		wantRetry  time.Duration // compared to the second
	}{
		{"invalid key", 401, "", `{"error":"invalid_grant","error_description":"the API key is invalid, expired or revoked"}`, ErrInvalidKey, "invalid_grant", 0},
		{"invalid key without body", 401, "", ``, ErrInvalidKey, "", 0},
		{"rate limited, seconds", 429, "7", `{"error":"rate_limited"}`, ErrRateLimited, "rate_limited", 7 * time.Second},
		{"rate limited, HTTP date", 429, httpDate, ``, ErrRateLimited, "", 90 * time.Second},
		{"Keycloak down", 503, "5", `{"error":"temporarily_unavailable"}`, ErrUnavailable, "temporarily_unavailable", 5 * time.Second},
		{"proxy error page", 502, "", `<html>Bad Gateway</html>`, ErrUnavailable, "", 0},
		{"server error", 500, "", `{"error":"server_error"}`, ErrUnavailable, "server_error", 0},
		{"scope refused", 400, "", `{"error":"invalid_scope"}`, nil, "invalid_scope", 0},
		{"not a token response", 200, "", `{"hello":"world"}`, nil, "", 0},
		{"no expiry", 200, "", `{"access_token":"a","token_type":"Bearer"}`, nil, "", 0},
		{"not a bearer token", 200, "", `{"access_token":"a","token_type":"MAC","expires_in":300}`, nil, "", 0},
	}
	sentinels := []error{ErrInvalidKey, ErrRateLimited, ErrUnavailable}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeKeyward(t, func(w http.ResponseWriter, r *http.Request) {
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			})
			tok, err := newSource(t, f.URL, Config{}).Token()
			if err == nil {
				t.Fatalf("got token %+v, want an error", tok)
			}
			for _, s := range sentinels {
				if errors.Is(err, s) != (s == tc.want) {
					t.Errorf("errors.Is(err, %v) = %v; err: %v", s, !(s == tc.want), err)
				}
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err %T is not *client.Error", err)
			}
			if e.StatusCode != tc.status || e.Code != tc.wantCode {
				t.Errorf("status %d code %q, want %d %q", e.StatusCode, e.Code, tc.status, tc.wantCode)
			}
			if (e.RetryAfter - tc.wantRetry).Abs() > time.Second {
				t.Errorf("RetryAfter %v, want %v", e.RetryAfter, tc.wantRetry)
			}
			if strings.Contains(err.Error(), testKey) || strings.Contains(err.Error(), "secretsecret") {
				t.Errorf("error text leaks the key: %v", err)
			}
		})
	}
}

func TestToken_KeywardUnreachable_Unavailable(t *testing.T) {
	f := newFakeKeyward(t, func(http.ResponseWriter, *http.Request) {})
	f.Close() // nothing listens there any more
	_, err := newSource(t, f.URL, Config{}).Token()
	var e *Error
	if !errors.Is(err, ErrUnavailable) || !errors.As(err, &e) || e.StatusCode != 0 {
		t.Fatalf("err = %v, want ErrUnavailable without a status", err)
	}
	if strings.Contains(err.Error(), testKey) {
		t.Fatalf("error text leaks the key: %v", err)
	}
}

func TestToken_FailureIsNotCached(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	f := newFakeKeyward(t, func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(`{"access_token":"a","token_type":"Bearer","expires_in":300}`))
	})
	ts := newSource(t, f.URL, Config{})
	if _, err := ts.Token(); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("first call: %v, want ErrUnavailable", err)
	}
	down.Store(false)
	if tok, err := ts.Token(); err != nil || tok.AccessToken != "a" {
		t.Fatalf("after recovery: %v %v", tok, err)
	}
}

func TestToken_CallerCannotAlterTheCachedToken(t *testing.T) {
	f := newFakeKeyward(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"access_token":"a","token_type":"Bearer","expires_in":300}`))
	})
	ts := newSource(t, f.URL, Config{})
	mustToken(t, ts).AccessToken = "changed"
	if got := mustToken(t, ts).AccessToken; got != "a" {
		t.Fatalf("cached token changed to %q", got)
	}
}

func TestClient_SetsTheBearerTokenOnEveryRequest(t *testing.T) {
	f := newFakeKeyward(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"access_token":"tok-1","token_type":"Bearer","expires_in":300}`))
	})
	var apiCalls atomic.Int64
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apiCalls.Add(1)
		if r.Header.Get("Authorization") != "Bearer tok-1" || r.Header.Get("X-API-Key") != "" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer api.Close()
	hc := newSource(t, f.URL, Config{}).Client(context.Background())
	for range 3 {
		resp, err := hc.Get(api.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("API answered %d", resp.StatusCode)
		}
	}
	if f.calls.Load() != 1 || apiCalls.Load() != 3 {
		t.Fatalf("%d exchanges for %d API calls, want 1 for 3", f.calls.Load(), apiCalls.Load())
	}
}

func TestClient_ExchangeErrorsReachTheCaller(t *testing.T) {
	f := newFakeKeyward(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	_, err := newSource(t, f.URL, Config{}).Client(context.Background()).Get(f.URL + "/anything")
	var e *Error
	if !errors.Is(err, ErrRateLimited) || !errors.As(err, &e) || e.RetryAfter != 3*time.Second {
		t.Fatalf("err = %v, want ErrRateLimited with RetryAfter 3s through *url.Error", err)
	}
}

func TestFromEnv(t *testing.T) {
	t.Run("missing variables are named", func(t *testing.T) {
		t.Setenv(EnvURL, "")
		t.Setenv(EnvAPIKey, "")
		_, err := FromEnv()
		if err == nil || !strings.Contains(err.Error(), EnvURL) || !strings.Contains(err.Error(), EnvAPIKey) {
			t.Fatalf("err = %v, want both variables named", err)
		}
	})
	t.Run("reads URL and key", func(t *testing.T) {
		f := newFakeKeyward(t, func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-API-Key") != testKey {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			w.Write([]byte(`{"access_token":"a","token_type":"Bearer","expires_in":300}`))
		})
		t.Setenv(EnvURL, f.URL)
		t.Setenv(EnvAPIKey, testKey)
		ts, err := FromEnv()
		if err != nil {
			t.Fatal(err)
		}
		mustToken(t, ts)
	})
}

func TestNew_RefusesIncompleteConfig(t *testing.T) {
	cases := []Config{
		{URL: "", APIKey: testKey},
		{URL: "keyward.example.com", APIKey: testKey},
		{URL: "ftp://keyward.example.com", APIKey: testKey},
		{URL: "https://keyward.example.com", APIKey: "  "},
		{URL: "https://keyward.example.com", APIKey: testKey, EarlyExpiry: -time.Second},
	}
	for _, cfg := range cases {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%q, key set=%v, early %v) succeeded", cfg.URL, cfg.APIKey != "", cfg.EarlyExpiry)
		} else if strings.Contains(err.Error(), testKey) {
			t.Errorf("error text leaks the key: %v", err)
		}
	}
}

func mustToken(t *testing.T, ts *TokenSource) *oauth2.Token {
	t.Helper()
	tok, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
