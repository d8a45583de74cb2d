package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/keyward/keyward/api"
)

// Discovery is what Keyward publishes for its clients at
// /.well-known/keyward-configuration: the realm people log in to and Keyward's URLs.
type Discovery = api.Discovery

// Realm is the part of the issuer's OpenID configuration a login needs.
type Realm struct {
	Issuer                      string `json:"issuer"`
	TokenEndpoint               string `json:"token_endpoint"`
	DeviceAuthorizationEndpoint string `json:"device_authorization_endpoint"`
	RevocationEndpoint          string `json:"revocation_endpoint"`
	JWKSURI                     string `json:"jwks_uri"`
}

// Discover reads Keyward's discovery document and then the realm's OpenID configuration
// from the issuer it names (RFC 8414 / OIDC Discovery), checking that the issuer it
// announces is that one. hc nil means a client with a 10 s timeout.
func Discover(ctx context.Context, hc *http.Client, keywardURL string, allowInsecureHTTP bool) (Discovery, Realm, error) {
	base, err := checkURL("the Keyward URL", keywardURL, "credentials", allowInsecureHTTP)
	if err != nil {
		return Discovery{}, Realm{}, fmt.Errorf("keyward client: %w", err)
	}
	hc = noRedirects(hc)
	var d Discovery
	if err := getJSON(ctx, hc, base.String()+"/.well-known/keyward-configuration", &d); err != nil {
		return Discovery{}, Realm{}, err
	}
	if d.Issuer == "" || d.CLIClientID == "" {
		return Discovery{}, Realm{}, &APIError{Detail: "Keyward's discovery document names no issuer or CLI client"}
	}
	iss, err := checkURL("the issuer", d.Issuer, "refresh tokens", allowInsecureHTTP)
	if err != nil {
		return Discovery{}, Realm{}, fmt.Errorf("keyward client: %w", err)
	}
	var r Realm
	if err := getJSON(ctx, hc, iss.String()+"/.well-known/openid-configuration", &r); err != nil {
		return Discovery{}, Realm{}, err
	}
	for name, u := range map[string]string{"token_endpoint": r.TokenEndpoint, "device_authorization_endpoint": r.DeviceAuthorizationEndpoint,
		"revocation_endpoint": r.RevocationEndpoint} {
		if u == "" {
			continue
		}
		if _, err := checkURL("the realm's "+name, u, "tokens", allowInsecureHTTP); err != nil {
			return Discovery{}, Realm{}, fmt.Errorf("keyward client: %w", err)
		}
	}
	if strings.TrimRight(r.Issuer, "/") != strings.TrimRight(d.Issuer, "/") {
		return Discovery{}, Realm{}, &APIError{Detail: fmt.Sprintf("the realm calls itself %q, not the issuer %q that Keyward names",
			printable(r.Issuer), printable(d.Issuer))}
	}
	return d, r, nil
}

func getJSON(ctx context.Context, hc *http.Client, u string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("keyward client: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return &APIError{kind: ErrUnavailable, Detail: "cannot reach " + hostOf(u), cause: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return &APIError{kind: ErrUnavailable, StatusCode: resp.StatusCode, Detail: "reading " + hostOf(u) + " failed", cause: err}
	}
	if resp.StatusCode != http.StatusOK {
		e := problemError(resp, raw)
		if e.Detail == "" {
			e.Detail = "GET " + u + " failed"
		}
		return e
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &APIError{StatusCode: resp.StatusCode, Detail: u + " did not answer JSON"}
	}
	return nil
}

func hostOf(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		rest := u[i+3:]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			rest = rest[:j]
		}
		return rest
	}
	return u
}
