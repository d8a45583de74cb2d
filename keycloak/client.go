// Package keycloak is the only package that speaks to Keycloak: the admin REST API
// through gocloak, the token endpoint for the JWT Authorization Grant, and JWKS-backed
// verification of Keycloak access tokens. It knows nothing of HTTP handlers or storage.
package keycloak

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/keyward/keyward/internal/errs"

	"github.com/Nerzal/gocloak/v13"
)

// Errors callers decide on.
var (
	// ErrUnavailable: Keycloak could not be reached or answered 5xx; try again later.
	ErrUnavailable = errs.New(errs.Unavailable, "Keycloak cannot be reached; try again shortly")
	// ErrInvalidGrant: Keycloak refused to issue a token for the subject (user disabled,
	// not linked, assertion refused).
	ErrInvalidGrant = errors.New("keycloak refused the grant")
	// ErrInvalidScope: a requested scope is unknown or not allowed for the client.
	ErrInvalidScope = errors.New("keycloak refused the scope")
	// ErrNotFound: the admin API has no such object.
	ErrNotFound = errs.New(errs.NotFound, "no such object in Keycloak")
	// ErrConflict: the admin API refused a create because the object exists (409).
	ErrConflict = errs.New(errs.Conflict, "the object exists in Keycloak already")
	// ErrInvalidClient: the token endpoint refused a client's credentials (unknown or
	// disabled client, wrong secret).
	ErrInvalidClient = errors.New("keycloak refused the client credentials")
	// ErrBadRequest: the admin API refused a value as malformed (400). Internal unless
	// the caller knows the value came from its own caller (a user's lookup text).
	ErrBadRequest = errors.New("keycloak refused a value as malformed")
)

// Config says where Keycloak is and how Keyward authenticates to it.
type Config struct {
	BaseURL string // e.g. http://127.0.0.1:8180
	Realm   string
	// ClientID is the client exchanged tokens are issued to (JWT Authorization Grant).
	ClientID     string
	ClientSecret string
	// AdminClientID is the client whose service account makes the admin calls. It is a
	// different client, so that no token handed out for an API key can come from it.
	AdminClientID     string
	AdminClientSecret string
	Timeout           time.Duration // per outbound call
	// Issuer is the realm's `iss` when Keycloak's public hostname differs from BaseURL
	// (e.g. Keyward reaches it on an internal address); default BaseURL/realms/Realm.
	Issuer string
}

// Client talks to one realm as Keyward's confidential client.
type Client struct {
	cfg    Config
	admin  *gocloak.GoCloak
	http   *http.Client
	issuer string // what tokens carry as iss; assertions name it as aud
	realm  string // where Keyward reaches the realm

	mu          sync.Mutex
	adminToken  string
	adminExpiry time.Time

	principals principalCache
}

// New returns a Client; it makes no call until used.
func New(cfg Config) *Client {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	admin := gocloak.NewClient(cfg.BaseURL)
	admin.RestyClient().SetTimeout(cfg.Timeout)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 64
	realm := cfg.BaseURL + "/realms/" + url.PathEscape(cfg.Realm)
	if cfg.Issuer == "" {
		cfg.Issuer = realm
	}
	return &Client{
		cfg:    cfg,
		admin:  admin,
		http:   &http.Client{Timeout: cfg.Timeout, Transport: transport},
		issuer: strings.TrimRight(cfg.Issuer, "/"),
		realm:  realm,
	}
}

// Issuer is the realm's issuer URL, the `iss` of every token it signs.
func (c *Client) Issuer() string { return c.issuer }

// tokenEndpoint is the realm's OAuth 2.0 token endpoint.
func (c *Client) tokenEndpoint() string { return c.realm + "/protocol/openid-connect/token" }

// CertsURL is the realm's JWKS.
func (c *Client) CertsURL() string { return c.realm + "/protocol/openid-connect/certs" }

// Ping checks that the realm answers its discovery document.
func (c *Client) Ping(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.realm+"/.well-known/openid-configuration", nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: discovery answered %d", ErrUnavailable, resp.StatusCode)
	}
	return nil
}

// Token is what Keycloak's token endpoint issued.
type Token struct {
	AccessToken string
	ExpiresIn   int
	Scope       string
}

type tokenResponse struct {
	AccessToken      string `json:"access_token"`
	ExpiresIn        int    `json:"expires_in"`
	Scope            string `json:"scope"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	// A login client's grants (OIDC) also answer these.
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
}

// JWTBearerGrant posts an RFC 7523 assertion to the token endpoint as Keyward's client
// and returns the access token Keycloak issued. gocloak has no field for `assertion`,
// hence the plain form post.
func (c *Client) JWTBearerGrant(ctx context.Context, assertion, scope string) (Token, error) {
	form := url.Values{
		"grant_type":    {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"assertion":     {assertion},
		"client_id":     {c.cfg.ClientID},
		"client_secret": {c.cfg.ClientSecret},
	}
	if scope != "" {
		form.Set("scope", scope)
	}
	tr, status, err := c.postToken(ctx, form)
	if err != nil {
		return Token{}, err
	}
	if status != http.StatusOK || tr.AccessToken == "" {
		switch tr.Error {
		case "invalid_grant":
			return Token{}, fmt.Errorf("%w: %s", ErrInvalidGrant, tr.ErrorDescription)
		case "invalid_scope":
			return Token{}, fmt.Errorf("%w: %s", ErrInvalidScope, tr.ErrorDescription)
		}
		// invalid_client, unauthorized_client…: Keyward itself is misconfigured.
		return Token{}, fmt.Errorf("token endpoint answered %d: %s: %s", status, tr.Error, tr.ErrorDescription)
	}
	return Token{AccessToken: tr.AccessToken, ExpiresIn: tr.ExpiresIn, Scope: tr.Scope}, nil
}

// postToken posts a form to the realm's token endpoint and decodes the JSON answer.
// Transport failures and 5xx wrap ErrUnavailable; the form (secrets, assertions) never
// goes into an error.
func (c *Client) postToken(ctx context.Context, form url.Values) (tokenResponse, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.tokenEndpoint(), strings.NewReader(form.Encode()))
	if err != nil {
		return tokenResponse{}, 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return tokenResponse{}, 0, fmt.Errorf("%w: token endpoint: %v", ErrUnavailable, redactURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return tokenResponse{}, 0, fmt.Errorf("%w: read token response: %v", ErrUnavailable, err)
	}
	if resp.StatusCode >= 500 {
		return tokenResponse{}, 0, fmt.Errorf("%w: token endpoint answered %d", ErrUnavailable, resp.StatusCode)
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return tokenResponse{}, 0, fmt.Errorf("token endpoint answered %d with a body that is not JSON", resp.StatusCode)
	}
	return tr, resp.StatusCode, nil
}

// EnsureFederatedLink links the user to the identity provider alias under linkedID,
// unless a link to that provider exists already. The link is how Keycloak finds the
// user named by an assertion's `sub`.
func (c *Client) EnsureFederatedLink(ctx context.Context, userID, username, alias, linkedID string) error {
	token, err := c.adminAccessToken(ctx)
	if err != nil {
		return err
	}
	links, err := c.admin.GetUserFederatedIdentities(ctx, token, c.cfg.Realm, userID)
	if err != nil {
		return classify("list federated identities", err)
	}
	for _, l := range links {
		if gocloak.PString(l.IdentityProvider) == alias {
			if gocloak.PString(l.UserID) == linkedID {
				return nil
			}
			return fmt.Errorf("user is linked to %q under another id", alias)
		}
	}
	err = c.admin.CreateUserFederatedIdentity(ctx, token, c.cfg.Realm, userID, alias, gocloak.FederatedIdentityRepresentation{
		IdentityProvider: gocloak.StringP(alias),
		UserID:           gocloak.StringP(linkedID),
		UserName:         gocloak.StringP(username),
	})
	var apiErr *gocloak.APIError
	if errors.As(err, &apiErr) && apiErr.Code == http.StatusConflict {
		return nil // linked concurrently
	}
	if err != nil {
		return classify("create federated identity", err)
	}
	return nil
}

// adminAccessToken returns Keyward's service-account token, cached until shortly
// before it expires.
func (c *Client) adminAccessToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.adminToken != "" && time.Now().Before(c.adminExpiry) {
		return c.adminToken, nil
	}
	jwt, err := c.admin.LoginClient(ctx, c.cfg.AdminClientID, c.cfg.AdminClientSecret, c.cfg.Realm)
	if err != nil {
		return "", classify("service-account login", err)
	}
	c.adminToken = jwt.AccessToken
	// Renew at 80% of the lifetime so a token never expires mid-call.
	c.adminExpiry = time.Now().Add(time.Duration(jwt.ExpiresIn) * time.Second * 8 / 10)
	return c.adminToken, nil
}

// classify maps gocloak errors to this package's sentinels without leaking bodies.
func classify(op string, err error) error {
	var apiErr *gocloak.APIError
	if errors.As(err, &apiErr) {
		switch {
		case apiErr.Code == 0 || apiErr.Code >= 500:
			return fmt.Errorf("%s: %w (status %d)", op, ErrUnavailable, apiErr.Code)
		case apiErr.Code == http.StatusNotFound:
			return fmt.Errorf("%s: %w", op, ErrNotFound)
		case apiErr.Code == http.StatusBadRequest:
			return fmt.Errorf("%s: %w", op, ErrBadRequest)
		default:
			return fmt.Errorf("%s: keycloak answered %d", op, apiErr.Code)
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// redactURLError drops the request URL from transport errors: it is harmless for the
// token endpoint, but keeping error texts uniform keeps log lines short.
func redactURLError(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err
	}
	return err
}
