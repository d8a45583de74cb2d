package cli

// keyward login (RFC 8628 device authorization grant with the realm's public client),
// keyward logout (RFC 7009 revocation of the refresh token) and keyward whoami.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/oauth2"

	"github.com/keyward/keyward/client"
)

// loginScopes: offline_access makes the login outlive the browser session (as gh's
// does); a realm that refuses it gets a plain login.
var loginScopes = []string{"openid", "offline_access"}

// LoginOptions is what keyward login needs.
type LoginOptions struct {
	Stderr      io.Writer
	Ctx         context.Context
	Getenv      func(string) string
	HTTPClient  *http.Client
	OpenBrowser func(url string) error // nil: none on this machine
	Interactive bool                   // a person's terminal: a browser may be opened
	NoBrowser   bool
}

// NewCmdLogin is keyward login; runF, when given, runs instead of the command.
func NewCmdLogin(f *Factory, runF func(*LoginOptions) error) *cobra.Command {
	opts := &LoginOptions{Stderr: f.Stderr, Getenv: f.Getenv, HTTPClient: f.HTTPClient, OpenBrowser: f.OpenBrowser, Interactive: f.Interactive}
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in to Keyward with your browser (OAuth device flow)",
		Long: "Log in to the Keyward at KEYWARD_URL: prints a URL and a code to approve in a browser (opened for you\n" +
			"when there is one), then keeps the login in your config directory, one file per KEYWARD_URL,\n" +
			"readable by you only. Other commands refresh their access tokens from it silently.",
		Example: "  export KEYWARD_URL=https://keyward.example.com\n  keyward login\n  keyward login --no-browser   # on a machine without a browser: open the URL elsewhere",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Ctx = cmd.Context()
			return pick(opts, runF, loginRun)()
		},
	}
	cmd.Flags().BoolVar(&opts.NoBrowser, "no-browser", false, "do not open a browser, only print the URL and the code")
	return cmd
}

func loginRun(opts *LoginOptions) error {
	keywardURL, insecure, err := keywardURLOf(opts.Getenv)
	if err != nil {
		return err
	}
	path, err := sessionPath(opts.Getenv, keywardURL)
	if err != nil {
		return &exitErr{ExitUsage, err}
	}
	ctx, stderr := opts.Ctx, opts.Stderr
	d, realm, err := client.Discover(ctx, opts.HTTPClient, keywardURL, insecure)
	var ae *client.APIError
	switch {
	case err != nil && !errors.As(err, &ae): // the URL itself (not http(s), plain http elsewhere)
		return &exitErr{ExitUsage, err}
	case err != nil:
		return managementFailed(err)
	}
	if realm.DeviceAuthorizationEndpoint == "" {
		return &exitErr{ExitError, fmt.Errorf("the realm %s offers no device authorization endpoint", d.Issuer)}
	}
	cfg := &oauth2.Config{
		ClientID: d.CLIClientID,
		Endpoint: oauth2.Endpoint{DeviceAuthURL: realm.DeviceAuthorizationEndpoint, TokenURL: realm.TokenEndpoint, AuthStyle: oauth2.AuthStyleInParams},
		Scopes:   loginScopes,
	}
	octx := context.WithValue(ctx, oauth2.HTTPClient, opts.HTTPClient)
	da, err := cfg.DeviceAuth(octx)
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.ErrorCode == "invalid_scope" {
		cfg.Scopes = []string{"openid"}
		da, err = cfg.DeviceAuth(octx)
	}
	if err != nil {
		return deviceFailed(ctx, err)
	}
	fmt.Fprintf(stderr, "To log in to %s, open %s in a browser and enter the code %s\n", keywardURL,
		printable(da.VerificationURI), printable(da.UserCode))
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(stderr, "(or open %s, which carries the code)\n", printable(da.VerificationURIComplete))
	}
	if !opts.NoBrowser && opts.Interactive && opts.OpenBrowser != nil {
		target := da.VerificationURIComplete
		if target == "" {
			target = da.VerificationURI
		}
		if opts.OpenBrowser(target) == nil {
			fmt.Fprintln(stderr, "A browser was opened on that page.")
		}
	}
	fmt.Fprintf(stderr, "Waiting for the approval (the code expires at %s)…\n", da.Expiry.UTC().Format(time.TimeOnly+" UTC"))
	tok, err := cfg.DeviceAccessToken(octx, da)
	if err != nil {
		return deviceFailed(ctx, err)
	}
	if tok.RefreshToken == "" {
		return &exitErr{ExitError, errors.New("Keycloak issued no refresh token: the login cannot be kept")}
	}
	claims := jwtClaims(tok.AccessToken)
	username, _ := claims["preferred_username"].(string)
	s := session{KeywardURL: normalURL(keywardURL), Issuer: d.Issuer, ClientID: d.CLIClientID, TokenEndpoint: realm.TokenEndpoint,
		RevocationEndpoint: realm.RevocationEndpoint, Username: username, RefreshToken: tok.RefreshToken}
	// A login that replaces another revokes the old one, so no session is left behind.
	if old, err := loadSession(path, keywardURL); err == nil && old.RevocationEndpoint != "" {
		_ = revoke(ctx, opts.HTTPClient, old)
	}
	if err := saveSession(path, s); err != nil {
		return &exitErr{ExitError, err}
	}
	fmt.Fprintf(stderr, "Logged in to %s as %s.\n", keywardURL, printable(username))
	if d.ConsoleURL != "" {
		fmt.Fprintf(stderr, "The web console: %s\n", printable(d.ConsoleURL))
	}
	return nil
}

// deviceFailed words the device flow's endings as RFC 8628 §3.5 defines them.
func deviceFailed(ctx context.Context, err error) error {
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &re) && re.ErrorCode == "access_denied":
		return &exitErr{ExitRefused, errors.New("the login was denied in the browser")}
	case errors.As(err, &re) && re.ErrorCode == "expired_token",
		errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		return &exitErr{ExitNotLoggedIn, errors.New("the code expired before it was approved: run keyward login again")}
	case ctx.Err() != nil:
		return &exitErr{ExitError, errors.New("login cancelled")}
	case errors.As(err, &re) && re.Response != nil && re.Response.StatusCode >= 500:
		return &exitErr{ExitUnavailable, fmt.Errorf("Keycloak cannot start a login now (HTTP %d): try again later", re.Response.StatusCode)}
	case errors.As(err, &re):
		return &exitErr{ExitError, fmt.Errorf("Keycloak refused the login: %s %s", printable(re.ErrorCode), printable(re.ErrorDescription))}
	}
	return &exitErr{ExitUnavailable, errors.New("Keycloak cannot be reached: try again later")}
}

func revoke(ctx context.Context, hc *http.Client, s session) error {
	form := url.Values{"token": {s.RefreshToken}, "token_type_hint": {"refresh_token"}, "client_id": {s.ClientID}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.RevocationEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return &exitErr{ExitError, err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		return &exitErr{ExitUnavailable, errors.New("Keycloak cannot be reached to revoke the login: try again later (the login is kept)")}
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	switch {
	case resp.StatusCode == http.StatusOK:
		return nil
	case resp.StatusCode >= 500:
		return &exitErr{ExitUnavailable, fmt.Errorf("Keycloak could not revoke the login (HTTP %d): try again later (the login is kept)", resp.StatusCode)}
	}
	return &exitErr{ExitError, fmt.Errorf("Keycloak refused to revoke the login (HTTP %d); the login is kept", resp.StatusCode)}
}

// identity is what whoami shows: read from the access token Keycloak just issued.
type identity struct {
	Username   string    `json:"username"`
	Subject    string    `json:"sub"`
	Email      string    `json:"email,omitempty"`
	ACLGroups  []string  `json:"acl_groups"`
	RealmRoles []string  `json:"realm_roles"`
	Admin      bool      `json:"admin"`
	ExpiresAt  time.Time `json:"expires_at"`
	Issuer     string    `json:"issuer"`
	KeywardURL string    `json:"keyward_url"`
}

// jwtClaims decodes a token's payload for display; it verifies nothing (the token
// came straight from Keycloak, and Keyward checks every token it is shown).
func jwtClaims(token string) map[string]any {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return map[string]any{}
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return map[string]any{}
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return map[string]any{}
	}
	return m
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func claimStrings(v any) []string {
	arr, _ := v.([]any)
	out := make([]string, 0, len(arr))
	for _, x := range arr {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// systemBrowser opens a URL with the desktop's opener, or is nil when there is none
// (no display on Linux, no opener on PATH).
func systemBrowser(getenv func(string) string) func(string) error {
	var name string
	var args []string
	switch runtime.GOOS {
	case "darwin":
		name = "open"
	case "windows":
		name, args = "rundll32", []string{"url.dll,FileProtocolHandler"}
	default:
		if getenv("DISPLAY") == "" && getenv("WAYLAND_DISPLAY") == "" {
			return nil
		}
		name = "xdg-open"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return nil
	}
	return func(u string) error {
		c := exec.Command(path, append(args, u)...)
		if err := c.Start(); err != nil {
			return err
		}
		go func() { _ = c.Wait() }()
		return nil
	}
}
