package client

// An attacker's view of where the API key may travel: a redirect from what answers at
// the Keyward URL, and plain HTTP across a network.

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// recorder is an attacker's server: it answers like Keyward and notes, for every
// request it gets, whether the request carried the API key.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	rec := &recorder{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		carried := r.Header.Get("X-API-Key") == testKey || strings.Contains(r.Header.Get("Authorization"), testKey)
		rec.seen = append(rec.seen, fmt.Sprintf("%s %s (carried the key: %v)", r.Method, r.URL.Path, carried))
		rec.mu.Unlock()
		w.Write([]byte(`{"access_token":"stolen","token_type":"Bearer","expires_in":300}`))
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (rec *recorder) requests() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]string(nil), rec.seen...)
}

func TestToken_RedirectIsNotFollowed_KeyNeverLeavesForItsTarget(t *testing.T) {
	evil := newRecorder(t)
	// The same server under another name, port or scheme is another origin too.
	localhostAlias := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)
	cases := []struct {
		name     string
		status   int
		location string
	}{
		{"307 to another port", http.StatusTemporaryRedirect, evil.URL + "/v1/token"},
		{"308 to another host name", http.StatusPermanentRedirect, localhostAlias + "/v1/token"},
		{"301 to another host", http.StatusMovedPermanently, evil.URL + "/collect"},
		{"302 to another host", http.StatusFound, evil.URL + "/collect"},
		{"303 to another host", http.StatusSeeOther, evil.URL + "/collect"},
		{"307 to the same origin", http.StatusTemporaryRedirect, "/v2/token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeKeyward(t, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, tc.location, tc.status)
			})
			before := len(evil.requests())
			tok, err := newSource(t, f.URL, Config{}).Token()
			if got := evil.requests()[before:]; len(got) != 0 {
				t.Fatalf("the redirect target was called: %q", got)
			}
			if err == nil {
				t.Fatalf("got token %q through a redirect", tok.AccessToken)
			}
			var e *Error
			if !errors.As(err, &e) || e.StatusCode != tc.status {
				t.Fatalf("err = %v, want *client.Error with status %d", err, tc.status)
			}
			for _, s := range []error{ErrInvalidKey, ErrRateLimited, ErrUnavailable} {
				if errors.Is(err, s) {
					t.Errorf("a redirect classified as %v: retrying cannot help", s)
				}
			}
			msg := err.Error()
			if !strings.Contains(msg, "redirect") || !strings.Contains(msg, strings.Split(tc.location, "?")[0]) {
				t.Errorf("error does not name the redirect and its target %q: %v", tc.location, msg)
			}
			if strings.Contains(msg, testKey) || strings.Contains(msg, "secretsecret") {
				t.Errorf("error text leaks the key: %v", msg)
			}
			if f.calls.Load() != 1 {
				t.Errorf("%d exchanges at Keyward, want 1", f.calls.Load())
			}
		})
	}
}

func TestToken_RedirectRefused_EvenWithTheCallersHTTPClient(t *testing.T) {
	evil := newRecorder(t)
	f := newFakeKeyward(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, evil.URL+"/v1/token", http.StatusTemporaryRedirect)
	})
	followAll := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}
	_, err := newSource(t, f.URL, Config{HTTPClient: followAll}).Token()
	if got := evil.requests(); len(got) != 0 {
		t.Fatalf("the redirect target was called: %q", got)
	}
	if err == nil {
		t.Fatal("got a token through a redirect")
	}
	if followAll.CheckRedirect == nil {
		t.Fatal("the caller's http.Client was changed")
	}
}

func TestNew_PlainHTTPToAnotherHost_RefusedBeforeAnyRequest(t *testing.T) {
	for _, u := range []string{
		"http://keyward.example.com",
		"http://keyward.example.com:8080/base",
		"HTTP://Keyward.Example.COM",
		"http://10.0.0.7:8080",
		"http://192.168.1.10",
		"http://[2001:db8::1]:8080",
		"http://127.0.0.1.nip.io", // a name, whatever it looks like
		"http://localhost.evil.example",
		"http://0.0.0.0:8080",
	} {
		t.Run(u, func(t *testing.T) {
			_, err := New(Config{URL: u, APIKey: testKey})
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			for _, want := range []string{"https", "AllowInsecureHTTP", EnvAllowInsecureHTTP} {
				if !strings.Contains(msg, want) {
					t.Errorf("error does not mention %q: %v", want, msg)
				}
			}
			if strings.Contains(msg, testKey) {
				t.Errorf("error text leaks the key: %v", msg)
			}
		})
	}
}

func TestNew_PlainHTTPToLoopback_Allowed(t *testing.T) {
	for _, u := range []string{
		"http://127.0.0.1:8080",
		"http://127.8.9.10",
		"http://localhost:8080",
		"http://LOCALHOST",
		"http://[::1]:8080",
		"https://keyward.example.com",
	} {
		if _, err := New(Config{URL: u, APIKey: testKey}); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
}

func TestNew_PlainHTTPToAnotherHost_AllowedWhenAskedFor(t *testing.T) {
	ts, err := New(Config{URL: "http://keyward.internal:8080", APIKey: testKey, AllowInsecureHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	if ts.tokenURL != "http://keyward.internal:8080/v1/token" {
		t.Fatalf("token URL %q", ts.tokenURL)
	}
}

func TestFromEnv_AllowInsecureHTTP(t *testing.T) {
	cases := []struct {
		value   string
		wantErr string // "" means accepted
	}{
		{"", "https"},
		{"false", "https"},
		{"0", "https"},
		{"true", ""},
		{"1", ""},
		{"TRUE", ""},
		{"yes please", EnvAllowInsecureHTTP},
	}
	for _, tc := range cases {
		t.Run("value "+tc.value, func(t *testing.T) {
			t.Setenv(EnvURL, "http://keyward.internal:8080")
			t.Setenv(EnvAPIKey, testKey)
			t.Setenv(EnvAllowInsecureHTTP, tc.value)
			_, err := FromEnv()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
			}
		})
	}
}

func TestFromEnv_AllowInsecureHTTP_LoopbackNeedsNoOptIn(t *testing.T) {
	f := newFakeKeyward(t, issue(300))
	t.Setenv(EnvURL, f.URL) // http://127.0.0.1:port
	t.Setenv(EnvAPIKey, testKey)
	t.Setenv(EnvAllowInsecureHTTP, "")
	ts, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	mustToken(t, ts)
}

func TestToken_RedirectMessage_LeavesOutTheTargetsCredentialsAndQuery(t *testing.T) {
	f := newFakeKeyward(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://user:pa55@sso.example.com/login?state=s3cr3t", http.StatusFound)
	})
	_, err := newSource(t, f.URL, Config{}).Token()
	if err == nil {
		t.Fatal("got a token through a redirect")
	}
	msg := err.Error()
	if !strings.Contains(msg, "https://sso.example.com/login") || strings.Contains(msg, "s3cr3t") || strings.Contains(msg, "pa55") {
		t.Fatalf("message: %v", msg)
	}
}
