package cli

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// storedLogin saves a login for a fake Keyward whose realm revokes with status, and
// returns the environment and the login file.
func storedLogin(t *testing.T, status int, revocation bool) (env map[string]string, path string, revoked *[]string) {
	t.Helper()
	revoked = &[]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*revoked = append(*revoked, r.FormValue("token"))
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	env = map[string]string{"KEYWARD_URL": srv.URL, "HOME": t.TempDir()}
	path, err := sessionPath(func(k string) string { return env[k] }, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	s := session{KeywardURL: srv.URL, ClientID: "keyward-cli", TokenEndpoint: srv.URL + "/token", Username: "alice", RefreshToken: "rt-stored"}
	if revocation {
		s.RevocationEndpoint = srv.URL + "/revoke"
	}
	if err := saveSession(path, s); err != nil {
		t.Fatal(err)
	}
	return env, path, revoked
}

func TestLogout(t *testing.T) {
	env, path, revoked := storedLogin(t, http.StatusOK, true)
	code, out, errOut := cli(t, env, "logout")
	if code != 0 || out != "" || !strings.Contains(errOut, "Logged out of "+env["KEYWARD_URL"]) || len(*revoked) != 1 || (*revoked)[0] != "rt-stored" {
		t.Fatalf("logout: %d %q %q, revoked %v", code, out, errOut, *revoked)
	}
	noSecretIn(t, "logout", errOut, "rt-stored")
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the login file stays: %v", err)
	}
	if code, _, errOut := cli(t, env, "keys", "list"); code != ExitNotLoggedIn || !strings.Contains(errOut, "run keyward login") {
		t.Fatalf("after logout: %d %q", code, errOut)
	}
}

// The login is kept when Keycloak cannot revoke it, so that logout can be tried again.
func TestLogout_KeptWhenNotRevoked(t *testing.T) {
	for _, tc := range []struct {
		status     int
		revocation bool
		code       int
		says       string
	}{
		{http.StatusServiceUnavailable, true, ExitUnavailable, "try again later (the login is kept)"},
		{http.StatusBadRequest, true, ExitError, "Keycloak refused to revoke the login (HTTP 400)"},
		{http.StatusOK, false, ExitError, "the realm offers no revocation endpoint"},
	} {
		env, path, _ := storedLogin(t, tc.status, tc.revocation)
		var out, errOut strings.Builder
		f := NewFactory(func(k string) string { return env[k] }, strings.NewReader(""), &out, &errOut, false)
		err := runCmd(NewCmdLogout(f, nil))
		if exitCode(err) != tc.code || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("HTTP %d: %v", tc.status, err)
		}
		if _, err := os.Stat(path); err != nil {
			t.Errorf("HTTP %d: the login file went: %v", tc.status, err)
		}
	}
	if err := runCmd(NewCmdLogout(NewFactory(func(string) string { return "" }, nil, nil, nil, false), nil), "now"); exitCode(err) != ExitUsage {
		t.Fatalf("an argument: %v", err)
	}
}
