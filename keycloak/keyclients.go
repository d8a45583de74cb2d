package keycloak

// Key clients: one Keyward-managed client per consumer, through which the consumer's
// API keys are exchanged (client_credentials). Keycloak authenticates it by a client
// assertion that Keyward signs and checks against Keyward's JWKS (client-jwt), so no
// secret is stored anywhere. Keycloak makes up a secret for it all the same; it is
// never read here, and the token endpoint refuses it.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"

	"github.com/Nerzal/gocloak/v13"
)

// KeyClient describes a consumer's key client.
type KeyClient struct {
	ClientID    string
	Name        string
	Description string
	// JWKSURL is Keyward's public JWKS, where Keycloak fetches the keys that check the
	// client assertions.
	JWKSURL string
	// Attributes say whose keys it serves (e.g. keyward.consumer_id); AttrKeyClient is
	// added. An existing client of that client_id without all of them is someone
	// else's: ErrConflict. Never keyward.id, which provisioning's orphan sweep reads.
	Attributes map[string]string
	// Groups are the ids of the groups the service account is a member of, exactly:
	// the consumer's ACL groups, resolved and checked (no roles) by the caller.
	Groups []string
}

// KeyClientIDs names a key client: Keycloak's id, its client_id and its service
// account user, the token's expected azp and sub.
type KeyClientIDs struct {
	ID               string
	ClientID         string
	ServiceAccountID string
}

// Settings of a client authenticated by Keyward's signed client assertions.
const (
	AuthenticatorClientJWT = "client-jwt"
	assertionAlg           = "ES256"
)

// AttrKeyClient marks every key client. Key clients carry no keyward.id (the
// attribute of provisioned OAuth clients), so provisioning's orphan sweep leaves them.
const AttrKeyClient = "keyward.key-client"

// keyClientRep is the representation EnsureKeyClient creates and restores: client-jwt
// against Keyward's JWKS, a service account and no other flow, no redirect URIs, never
// full scope and no scope mappings (its tokens carry no roles), and the acl_groups
// mapper.
func keyClientRep(kc KeyClient) gocloak.Client {
	attrs := map[string]string{
		"use.jwks.url":                              "true",
		"jwks.url":                                  kc.JWKSURL,
		"token.endpoint.auth.signing.alg":           assertionAlg,
		"client_credentials.use_refresh_token":      "false",
		"standard.token.exchange.enabled":           "false",
		"oauth2.device.authorization.grant.enabled": "false",
		"oidc.ciba.grant.enabled":                   "false",
	}
	maps.Copy(attrs, kc.Attributes)
	attrs[AttrKeyClient] = "true"
	return gocloak.Client{
		ClientID:                  gocloak.StringP(kc.ClientID),
		Name:                      gocloak.StringP(kc.Name),
		Description:               gocloak.StringP(kc.Description),
		Protocol:                  gocloak.StringP("openid-connect"),
		PublicClient:              gocloak.BoolP(false),
		BearerOnly:                gocloak.BoolP(false),
		ClientAuthenticatorType:   gocloak.StringP(AuthenticatorClientJWT),
		ServiceAccountsEnabled:    gocloak.BoolP(true),
		StandardFlowEnabled:       gocloak.BoolP(false),
		ImplicitFlowEnabled:       gocloak.BoolP(false),
		DirectAccessGrantsEnabled: gocloak.BoolP(false),
		ConsentRequired:           gocloak.BoolP(false),
		FullScopeAllowed:          gocloak.BoolP(false),
		RedirectURIs:              &[]string{},
		WebOrigins:                &[]string{},
		Attributes:                &attrs,
	}
}

// EnsureKeyClient creates the key client, or brings an existing one of Keyward's back
// to its settings (enabled or not, as it was), removes any role scope mapping someone
// gave it, and sets its service account's groups to kc.Groups. It is idempotent and
// safe to repeat after a failure. ErrConflict when the client_id belongs to a client
// that is not Keyward's.
func (c *Client) EnsureKeyClient(ctx context.Context, kc KeyClient) (KeyClientIDs, error) {
	return c.ensureKeyClient(ctx, kc, true)
}

func (c *Client) ensureKeyClient(ctx context.Context, kc KeyClient, retry bool) (KeyClientIDs, error) {
	if kc.ClientID == "" || kc.JWKSURL == "" || len(kc.Attributes) == 0 {
		return KeyClientIDs{}, errors.New("ensure key client: client_id, JWKS URL and an owner attribute are required")
	}
	token, err := c.adminAccessToken(ctx)
	if err != nil {
		return KeyClientIDs{}, err
	}
	rep := keyClientRep(kc)
	cur, err := c.ServiceClientByClientID(ctx, kc.ClientID)
	switch {
	case errors.Is(err, ErrNotFound):
		rep.Enabled = gocloak.BoolP(true)
		rep.ProtocolMappers = &[]gocloak.ProtocolMapperRepresentation{aclMapper()}
		id, err := c.admin.CreateClient(ctx, token, c.cfg.Realm, rep)
		if err != nil {
			err = classifyAdmin("create key client", err)
			if errors.Is(err, ErrConflict) && retry {
				return c.ensureKeyClient(ctx, kc, false) // created meanwhile: check and repair that one
			}
			return KeyClientIDs{}, err
		}
		cur = ClientInfo{ID: id, ClientID: kc.ClientID}
	case err != nil:
		return KeyClientIDs{}, err
	default:
		owner := maps.Clone(kc.Attributes)
		owner[AttrKeyClient] = "true"
		for k, v := range owner {
			if cur.Attributes[k] != v {
				return KeyClientIDs{}, fmt.Errorf("ensure key client %q: another client has this client_id: %w", kc.ClientID, ErrConflict)
			}
		}
		rep.ID = gocloak.StringP(cur.ID)
		if err := c.admin.UpdateClient(ctx, token, c.cfg.Realm, rep); err != nil {
			return KeyClientIDs{}, classifyAdmin("update key client", err)
		}
		if !cur.ACLMapper {
			if _, err := c.admin.CreateClientProtocolMapper(ctx, token, c.cfg.Realm, cur.ID, aclMapper()); err != nil {
				return KeyClientIDs{}, classifyAdmin("add acl_groups mapper", err)
			}
		}
		if _, kept, err := c.ClearClientScopeMappings(ctx, cur.ID); err != nil {
			return KeyClientIDs{}, fmt.Errorf("ensure key client: %d role scope mappings stay: %w", len(kept), err)
		}
	}
	sa, err := c.ServiceAccountUserID(ctx, cur.ID)
	if err != nil {
		return KeyClientIDs{}, err
	}
	if err := c.SetUserGroups(ctx, sa, kc.Groups); err != nil {
		return KeyClientIDs{}, fmt.Errorf("ensure key client: %w", err)
	}
	return KeyClientIDs{ID: cur.ID, ClientID: kc.ClientID, ServiceAccountID: sa}, nil
}

// SetUserGroups makes the user a member of exactly the groups want (ids): missing
// memberships are added, others ended. For a user that is Keyward's alone, such as a
// key client's service account, whose acl_groups claim lists every group it is in.
func (c *Client) SetUserGroups(ctx context.Context, userID string, want []string) error {
	have, err := c.UserGroups(ctx, userID)
	if err != nil {
		return err
	}
	in := map[string]bool{}
	for _, g := range have {
		in[g.ID] = true
	}
	wanted := map[string]bool{}
	for _, id := range want {
		wanted[id] = true
		if !in[id] {
			if err := c.AddUserToGroup(ctx, userID, id); err != nil {
				return err
			}
		}
	}
	for _, g := range have {
		if !wanted[g.ID] {
			if err := c.RemoveUserFromGroup(ctx, userID, g.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// ClientAssertionType is the client_assertion_type of RFC 7523 §2.2.
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// ClientCredentialsWithAssertion asks the token endpoint for clientID's own
// (service-account) token, the client authenticated by clientAssertion, a JWT Keyward
// signed (iss = sub = clientID, aud = the realm's issuer). ErrInvalidClient when
// Keycloak refuses the client (unknown, disabled, assertion refused or replayed);
// ErrInvalidScope for a scope it refuses.
func (c *Client) ClientCredentialsWithAssertion(ctx context.Context, clientID, clientAssertion, scope string) (Token, error) {
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"client_id":             {clientID},
		"client_assertion_type": {ClientAssertionType},
		"client_assertion":      {clientAssertion},
	}
	if scope != "" {
		form.Set("scope", scope)
	}
	return c.grant(ctx, "client credentials grant", form)
}

// grant posts form and sorts Keycloak's refusals into this package's errors; the
// form (assertions) never goes into an error, Keycloak's error_description does.
func (c *Client) grant(ctx context.Context, op string, form url.Values) (Token, error) {
	tr, status, err := c.postToken(ctx, form)
	if err != nil {
		return Token{}, fmt.Errorf("%s: %w", op, err)
	}
	if status != http.StatusOK || tr.AccessToken == "" {
		switch tr.Error {
		case "invalid_client", "unauthorized_client":
			return Token{}, fmt.Errorf("%s: %w: %s: %s", op, ErrInvalidClient, tr.Error, tr.ErrorDescription)
		case "invalid_grant":
			return Token{}, fmt.Errorf("%s: %w: %s", op, ErrInvalidGrant, tr.ErrorDescription)
		case "invalid_scope":
			return Token{}, fmt.Errorf("%s: %w: %s", op, ErrInvalidScope, tr.ErrorDescription)
		}
		return Token{}, fmt.Errorf("%s: token endpoint answered %d: %s: %s", op, status, tr.Error, tr.ErrorDescription)
	}
	return Token{AccessToken: tr.AccessToken, ExpiresIn: tr.ExpiresIn, Scope: tr.Scope}, nil
}
