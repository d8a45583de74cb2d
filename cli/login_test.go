package cli

// keyward login against a fake realm: the device flow's endings (expired_token, which
// the real Keycloak takes 10 minutes to say) and when a browser is opened. The real
// login is the smoke test in cmd/keyward.

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// fakeRealm is Keyward's discovery and a realm whose token endpoint answers the device
// grant with the given errors, in turn.
func fakeRealm(t *testing.T, answers ...string) (url string, polls *atomic.Int32) {
	t.Helper()
	polls = &atomic.Int32{}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	iss := srv.URL + "/realms/r"
	writeJSON := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /.well-known/keyward-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]string{"issuer": iss, "cli_client_id": "keyward-cli"})
	})
	mux.HandleFunc("GET /realms/r/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]string{"issuer": iss, "token_endpoint": iss + "/token", "device_authorization_endpoint": iss + "/device"})
	})
	mux.HandleFunc("POST /realms/r/device", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"device_code": "dc", "user_code": "ABCD-EFGH", "verification_uri": iss + "/device",
			"expires_in": 600, "interval": 1})
	})
	mux.HandleFunc("POST /realms/r/token", func(w http.ResponseWriter, r *http.Request) {
		n := int(polls.Add(1)) - 1
		if r.FormValue("grant_type") != "urn:ietf:params:oauth:grant-type:device_code" || r.FormValue("device_code") != "dc" {
			writeJSON(w, 400, map[string]string{"error": "invalid_request"})
			return
		}
		writeJSON(w, 400, map[string]string{"error": answers[min(n, len(answers)-1)]})
	})
	return srv.URL, polls
}

func TestLogin_DeviceFlowEndings(t *testing.T) {
	cases := []struct {
		answers []string
		code    int
		says    string
	}{
		{[]string{"authorization_pending", "expired_token"}, ExitNotLoggedIn, "the code expired before it was approved: run keyward login again"},
		{[]string{"authorization_pending", "access_denied"}, ExitRefused, "the login was denied in the browser"},
		// slow_down: keep polling (5 s further apart, RFC 8628 §3.5), not give up.
		{[]string{"slow_down", "access_denied"}, ExitRefused, "the login was denied in the browser"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.answers, "-then-"), func(t *testing.T) {
			url, polls := fakeRealm(t, tc.answers...)
			home := t.TempDir()
			env := map[string]string{"KEYWARD_URL": url, "HOME": home}
			code, out, errOut := cli(t, env, "login")
			if code != tc.code || !strings.Contains(errOut, tc.says) || out != "" {
				t.Fatalf("exit %d, stderr %q, stdout %q", code, errOut, out)
			}
			if !strings.Contains(errOut, "enter the code ABCD-EFGH") {
				t.Fatalf("the code was not printed: %q", errOut)
			}
			if polls.Load() != int32(len(tc.answers)) { // pending → polled again; the ending → stopped
				t.Fatalf("%d polls for %d answers", polls.Load(), len(tc.answers))
			}
			if matches, _ := filepath.Glob(filepath.Join(home, ".config", "keyward", "*")); len(matches) != 0 {
				t.Fatalf("a failed login left files: %v", matches)
			}
		})
	}
}

func TestLogin_OpensABrowserOnlyWhenAsked(t *testing.T) {
	for _, tc := range []struct {
		interactive bool
		args        []string
		opened      bool
	}{
		{true, nil, true},
		{true, []string{"--no-browser"}, false},
		{false, nil, false}, // stdout is not a terminal
	} {
		url, _ := fakeRealm(t, "access_denied")
		env := map[string]string{"KEYWARD_URL": url, "HOME": t.TempDir()}
		var opened []string
		var out, errOut strings.Builder
		f := &Factory{Getenv: func(k string) string { return env[k] }, Interactive: tc.interactive, HTTPClient: http.DefaultClient,
			OpenBrowser: func(u string) error { opened = append(opened, u); return nil }, Stdout: &out, Stderr: &errOut}
		_ = runCmd(NewCmdLogin(f, nil), tc.args...)
		if (len(opened) == 1) != tc.opened || (tc.opened && opened[0] != url+"/realms/r/device") {
			t.Errorf("interactive %v %v: opened %v", tc.interactive, tc.args, opened)
		}
		if !strings.Contains(errOut.String(), "enter the code ABCD-EFGH") {
			t.Errorf("the code is not printed: %q", errOut.String())
		}
	}
}

func TestLogin_Flags(t *testing.T) {
	f := &Factory{Getenv: func(string) string { return "" }, Interactive: true}
	var got *LoginOptions
	if err := runCmd(NewCmdLogin(f, func(o *LoginOptions) error { got = o; return nil }), "--no-browser"); err != nil || !got.NoBrowser || !got.Interactive {
		t.Fatalf("parsed: %+v %v", got, err)
	}
	if err := runCmd(NewCmdLogin(f, nil), "alice"); exitCode(err) != ExitUsage {
		t.Fatalf("an argument: %v", err)
	}
}
