package keycloak

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// OIDC is the realm seen by a confidential login client of its own (the web console):
// the authorization code flow with PKCE, refresh, logout and ID-token verification.
type OIDC struct {
	c            *Client
	clientID     string
	clientSecret string
	ids          *Verifier
}

// OIDC returns the login client clientID of the realm; ids verifies its ID tokens
// (any Verifier of the realm: the audience checked is clientID).
func (c *Client) OIDC(clientID, clientSecret string, ids *Verifier) *OIDC {
	return &OIDC{c: c, clientID: clientID, clientSecret: clientSecret, ids: ids}
}

// Tokens is what the token endpoint gave a login client.
type Tokens struct {
	AccessToken  string
	RefreshToken string
	IDToken      string
	ExpiresIn    int
}

// AuthRequest is one authorization request of the code flow.
type AuthRequest struct {
	RedirectURI   string
	State         string
	Nonce         string
	CodeChallenge string // S256 of the PKCE verifier
}

// AuthCodeURL is where the browser goes to log in: the realm's authorization endpoint
// at the issuer's (public) host.
func (o *OIDC) AuthCodeURL(r AuthRequest) string {
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {o.clientID},
		"redirect_uri":          {r.RedirectURI},
		"scope":                 {"openid"},
		"state":                 {r.State},
		"nonce":                 {r.Nonce},
		"code_challenge":        {r.CodeChallenge},
		"code_challenge_method": {"S256"},
	}
	return o.c.issuer + "/protocol/openid-connect/auth?" + q.Encode()
}

// EndSessionURL is the RP-initiated logout: Keycloak ends the user's session and sends
// the browser back to redirect.
func (o *OIDC) EndSessionURL(idTokenHint, redirect string) string {
	q := url.Values{"client_id": {o.clientID}, "post_logout_redirect_uri": {redirect}}
	if idTokenHint != "" {
		q.Set("id_token_hint", idTokenHint)
	}
	return o.c.issuer + "/protocol/openid-connect/logout?" + q.Encode()
}

// Exchange redeems an authorization code with its PKCE verifier.
func (o *OIDC) Exchange(ctx context.Context, code, verifier, redirectURI string) (Tokens, error) {
	return o.grant(ctx, url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier}, "redirect_uri": {redirectURI},
	})
}

// Refresh trades a refresh token for fresh tokens. ErrInvalidGrant when Keycloak
// refuses (the user was disabled or logged out, the session ended).
func (o *OIDC) Refresh(ctx context.Context, refreshToken string) (Tokens, error) {
	return o.grant(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}})
}

func (o *OIDC) grant(ctx context.Context, form url.Values) (Tokens, error) {
	form.Set("client_id", o.clientID)
	form.Set("client_secret", o.clientSecret)
	tr, status, err := o.c.postToken(ctx, form)
	if err != nil {
		return Tokens{}, err
	}
	if status != http.StatusOK || tr.AccessToken == "" {
		if tr.Error == "invalid_grant" {
			return Tokens{}, fmt.Errorf("%w: %s", ErrInvalidGrant, tr.ErrorDescription)
		}
		return Tokens{}, fmt.Errorf("token endpoint answered %d: %s", status, tr.Error)
	}
	return Tokens{AccessToken: tr.AccessToken, RefreshToken: tr.RefreshToken, IDToken: tr.IDToken, ExpiresIn: tr.ExpiresIn}, nil
}

// Logout ends the Keycloak session behind refreshToken from the server side (the
// browser may never follow the end-session redirect).
func (o *OIDC) Logout(ctx context.Context, refreshToken string) error {
	form := url.Values{"client_id": {o.clientID}, "client_secret": {o.clientSecret}, "refresh_token": {refreshToken}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.c.realm+"/protocol/openid-connect/logout", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := o.c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w: logout: %v", ErrUnavailable, redactURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return fmt.Errorf("logout answered %d", resp.StatusCode)
	}
	return nil
}

// IDClaims are the parts of an ID token the console keeps.
type IDClaims struct {
	Subject   string
	Username  string
	ExpiresAt time.Time
}

// VerifyIDToken checks an ID token of this client: signature, issuer, expiry, type ID,
// audience (and azp) this client, and the nonce of the login that asked for it.
func (o *OIDC) VerifyIDToken(ctx context.Context, raw, nonce string) (IDClaims, error) {
	tok, err := o.ids.verified(ctx, raw)
	if err != nil {
		return IDClaims{}, err
	}
	if typ, _ := tok.Get("typ"); typ != "ID" {
		return IDClaims{}, fmt.Errorf("%w: not an ID token", ErrInvalidToken)
	}
	if !slices.Contains(tok.Audience(), o.clientID) {
		return IDClaims{}, fmt.Errorf("%w: ID token for another client", ErrWrongAudience)
	}
	if azp, ok := tok.Get("azp"); ok && azp != o.clientID {
		return IDClaims{}, fmt.Errorf("%w: ID token issued to another client", ErrInvalidToken)
	}
	got, _ := tok.Get("nonce")
	gotNonce, _ := got.(string)
	if nonce == "" || subtle.ConstantTimeCompare([]byte(gotNonce), []byte(nonce)) != 1 {
		return IDClaims{}, fmt.Errorf("%w: nonce does not match the login", ErrInvalidToken)
	}
	out := IDClaims{Subject: tok.Subject(), ExpiresAt: tok.Expiration()}
	if u, ok := tok.Get("preferred_username"); ok {
		out.Username, _ = u.(string)
	}
	return out, nil
}
