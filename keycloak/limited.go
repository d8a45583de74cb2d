package keycloak

// Keys limited to part of their owner's roles. They are exchanged through a client of
// their own (the limited client): never full scope and without role scope mappings,
// so that its tokens carry only the roles of the client scopes requested. Each role a
// key may be limited to has one client scope, kwr.<role id>, whose scope mapping is
// that role, attached to the limited client as an optional scope. A token then
// carries the owner's live roles ∩ the requested role scopes (Keycloak applies a
// scope with role mappings only to holders of the roles). Nothing is created per key.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/Nerzal/gocloak/v13"
)

// LimitedClient describes the exchange client of limited keys.
type LimitedClient struct {
	ClientID string
	// IdentityProvider is the alias of the realm's JWT Authorization Grant provider
	// that trusts Keyward's assertions (the one the unrestricted client uses).
	IdentityProvider string
	// JWKSURL is Keyward's JWKS: the client authenticates by Keyward's signed client
	// assertions (client-jwt), so it has no secret to configure.
	JWKSURL string
	// Audiences are put into its tokens' aud, as the unrestricted client's mappers do.
	// They live in a default client scope (<ClientID>-audience) rather than on the
	// client, because the downscope policy drops a client's own mappers.
	Audiences []string
	// OptionalScopes are the names of the non-role client scopes keys may ask for. Any
	// other optional scope (offline_access, …) is detached, role scopes stay.
	OptionalScopes []string
}

// Names Keyward gives its objects for limited keys.
const (
	// RoleScopePrefix starts the name of a role scope; the rest is the role's id, which
	// survives renames and fits Keyward's scope names.
	RoleScopePrefix = "kwr."
	// AttrLimitedKeys marks the limited client, for the realm's downscope policy
	// (condition client-attributes keyward.limited-keys=true).
	AttrLimitedKeys = "keyward.limited-keys"
)

// RoleScopeName is the client scope of the role with id roleID.
func RoleScopeName(roleID string) string { return RoleScopePrefix + roleID }

// ErrRoleScopeForbidden: Keycloak refused Keyward's service account a realm role's
// scope mapping; see RoleScopeForbiddenError.
var ErrRoleScopeForbidden = errors.New("keycloak refused to map the role into Keyward's role scope")

// RoleScopeForbiddenError says which permission the operator must grant: mapping a
// realm role into a client scope takes manage-realm, which Keyward's service account
// does not get, or the fine-grained admin permission map-role-client-scope on the role.
type RoleScopeForbiddenError struct{ Role RoleMapping }

func (e *RoleScopeForbiddenError) Error() string {
	return fmt.Sprintf("keycloak refused Keyward's service account the scope mapping of %s: grant it the permission "+
		"map-role-client-scope on that role (Realm settings > Admin permissions on; Permissions > Create permission > "+
		"Roles > %s > scope map-role-client-scope, with a user policy naming Keyward's service account)", e.Role, e.Role.Role)
}

func (e *RoleScopeForbiddenError) Unwrap() error { return ErrRoleScopeForbidden }

// roleRep is Keycloak's RoleRepresentation with the fields used here.
type roleRep struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Composite   bool   `json:"composite"`
	ClientRole  bool   `json:"clientRole"`
	ContainerID string `json:"containerId"`
}

// clientScopeRep is Keycloak's ClientScopeRepresentation with the fields used here.
type clientScopeRep struct {
	ID              string                                 `json:"id,omitempty"`
	Name            string                                 `json:"name"`
	Description     string                                 `json:"description,omitempty"`
	Protocol        string                                 `json:"protocol,omitempty"`
	Attributes      map[string]string                      `json:"attributes,omitempty"`
	ProtocolMappers []gocloak.ProtocolMapperRepresentation `json:"protocolMappers,omitempty"`
}

func (c *Client) adminGet(ctx context.Context, token string, out any, path ...string) error {
	resp, err := c.admin.GetRequestWithBearerAuth(ctx, token).SetResult(out).Get(c.adminURL(path...))
	return checkResp(resp, err)
}

func (c *Client) adminWrite(ctx context.Context, token, method string, body any, path ...string) (string, error) {
	req := c.admin.GetRequestWithBearerAuth(ctx, token)
	if body != nil {
		req = req.SetBody(body)
	}
	resp, err := req.Execute(method, c.adminURL(path...))
	if err := checkResp(resp, err); err != nil {
		return "", err
	}
	return lastPathSegment(resp.Header().Get("Location")), nil
}

// EnsureLimitedClient creates the limited client or brings it back to its settings,
// and returns Keycloak's id of it. Role scope mappings someone gave it are removed
// (ErrRealmScopeForbidden if realm roles among them cannot be), since they would be in
// every limited key's token.
func (c *Client) EnsureLimitedClient(ctx context.Context, lc LimitedClient) (string, error) {
	return c.ensureLimitedClient(ctx, lc, true)
}

func (c *Client) ensureLimitedClient(ctx context.Context, lc LimitedClient, retry bool) (string, error) {
	if lc.ClientID == "" || lc.IdentityProvider == "" || lc.JWKSURL == "" {
		return "", errors.New("ensure limited client: client_id, identity provider and JWKS URL are required")
	}
	token, err := c.adminAccessToken(ctx)
	if err != nil {
		return "", err
	}
	rep := gocloak.Client{
		ClientID:    gocloak.StringP(lc.ClientID),
		Name:        gocloak.StringP("Keyward limited keys"),
		Description: gocloak.StringP("Tokens of API keys limited to some of their owner's roles. No scope mappings: the roles come from the kwr.* optional scopes"),
		Enabled:     gocloak.BoolP(true), Protocol: gocloak.StringP("openid-connect"),
		PublicClient: gocloak.BoolP(false), BearerOnly: gocloak.BoolP(false),
		ClientAuthenticatorType: gocloak.StringP(AuthenticatorClientJWT),
		ServiceAccountsEnabled:  gocloak.BoolP(false), StandardFlowEnabled: gocloak.BoolP(false),
		ImplicitFlowEnabled: gocloak.BoolP(false), DirectAccessGrantsEnabled: gocloak.BoolP(false),
		ConsentRequired: gocloak.BoolP(false), FullScopeAllowed: gocloak.BoolP(false),
		RedirectURIs: &[]string{}, WebOrigins: &[]string{},
		Attributes: &map[string]string{
			"use.jwks.url": "true", "jwks.url": lc.JWKSURL, "token.endpoint.auth.signing.alg": assertionAlg,
			"oauth2.jwt.authorization.grant.enabled": "true", "oauth2.jwt.authorization.grant.idp": lc.IdentityProvider,
			"standard.token.exchange.enabled": "false", "oauth2.device.authorization.grant.enabled": "false",
			"oidc.ciba.grant.enabled": "false", AttrLimitedKeys: "true",
		},
	}
	cur, err := c.ServiceClientByClientID(ctx, lc.ClientID)
	var id string
	switch {
	case errors.Is(err, ErrNotFound):
		id, err = c.admin.CreateClient(ctx, token, c.cfg.Realm, rep)
		if err != nil {
			if err = classifyAdmin("create limited client", err); errors.Is(err, ErrConflict) && retry {
				return c.ensureLimitedClient(ctx, lc, false) // created meanwhile
			}
			return "", err
		}
	case err != nil:
		return "", err
	default:
		if cur.Attributes[AttrLimitedKeys] != "true" {
			return "", fmt.Errorf("ensure limited client %q: another client has this client_id: %w", lc.ClientID, ErrConflict)
		}
		id = cur.ID
		rep.ID = gocloak.StringP(id)
		if err := c.admin.UpdateClient(ctx, token, c.cfg.Realm, rep); err != nil {
			return "", classifyAdmin("update limited client", err)
		}
		if _, _, err := c.ClearClientScopeMappings(ctx, id); err != nil {
			return "", fmt.Errorf("ensure limited client: %w", err)
		}
	}
	if err := c.ensureAudienceScope(ctx, token, id, lc); err != nil {
		return "", err
	}
	if err := c.pruneOptionalScopes(ctx, token, id, lc.OptionalScopes); err != nil {
		return "", err
	}
	return id, nil
}

// ensureAudienceScope makes the default scope <ClientID>-audience carry an audience
// mapper for each of lc.Audiences and attaches it to the client.
func (c *Client) ensureAudienceScope(ctx context.Context, token, clientUUID string, lc LimitedClient) error {
	if len(lc.Audiences) == 0 {
		return nil
	}
	name := lc.ClientID + "-audience"
	scope, err := c.clientScopeByName(ctx, token, name)
	if err != nil {
		return err
	}
	if scope.ID == "" {
		scope = clientScopeRep{Name: name, Protocol: "openid-connect",
			Description: "The audience of Keyward's limited keys' tokens",
			Attributes:  map[string]string{"include.in.token.scope": "false", "display.on.consent.screen": "false"}}
		if scope.ID, err = c.adminWrite(ctx, token, http.MethodPost, scope, "client-scopes"); err != nil {
			return classifyAdmin("create audience scope", err)
		}
	}
	var mappers []gocloak.ProtocolMapperRepresentation
	if err := c.adminGet(ctx, token, &mappers, "client-scopes", scope.ID, "protocol-mappers", "models"); err != nil {
		return classifyAdmin("list audience mappers", err)
	}
	have := map[string]bool{}
	for _, m := range mappers {
		if m.Config != nil {
			have[(*m.Config)["included.client.audience"]] = true
		}
	}
	for _, aud := range lc.Audiences {
		if have[aud] {
			continue
		}
		m := gocloak.ProtocolMapperRepresentation{
			Name: gocloak.StringP(aud + " audience"), Protocol: gocloak.StringP("openid-connect"),
			ProtocolMapper: gocloak.StringP("oidc-audience-mapper"),
			Config: &map[string]string{"included.client.audience": aud, "access.token.claim": "true",
				"introspection.token.claim": "true", "id.token.claim": "false"},
		}
		if _, err := c.adminWrite(ctx, token, http.MethodPost, m, "client-scopes", scope.ID, "protocol-mappers", "models"); err != nil {
			return classifyAdmin("add audience mapper", err)
		}
	}
	if _, err := c.adminWrite(ctx, token, http.MethodPut, nil, "clients", clientUUID, "default-client-scopes", scope.ID); err != nil {
		return classifyAdmin("attach audience scope", err)
	}
	return nil
}

// pruneOptionalScopes detaches every optional scope of the client that is neither a
// role scope nor named in keep, and attaches those of keep that exist.
func (c *Client) pruneOptionalScopes(ctx context.Context, token, clientUUID string, keep []string) error {
	var attached []clientScopeRep
	if err := c.adminGet(ctx, token, &attached, "clients", clientUUID, "optional-client-scopes"); err != nil {
		return classifyAdmin("list optional scopes", err)
	}
	for _, s := range attached {
		if strings.HasPrefix(s.Name, RoleScopePrefix) || slices.Contains(keep, s.Name) {
			continue
		}
		if _, err := c.adminWrite(ctx, token, http.MethodDelete, nil, "clients", clientUUID, "optional-client-scopes", s.ID); err != nil {
			return classifyAdmin("detach optional scope "+s.Name, err)
		}
	}
	for _, name := range keep {
		s, err := c.clientScopeByName(ctx, token, name)
		if err != nil {
			return err
		}
		if s.ID == "" {
			return fmt.Errorf("ensure limited client: client scope %q: %w", name, ErrNotFound)
		}
		if _, err := c.adminWrite(ctx, token, http.MethodPut, nil, "clients", clientUUID, "optional-client-scopes", s.ID); err != nil {
			return classifyAdmin("attach optional scope "+name, err)
		}
	}
	return nil
}

// clientScopeByName finds a client scope; an empty one (no ID) when there is none.
func (c *Client) clientScopeByName(ctx context.Context, token, name string) (clientScopeRep, error) {
	var all []clientScopeRep
	if err := c.adminGet(ctx, token, &all, "client-scopes"); err != nil {
		return clientScopeRep{}, classifyAdmin("list client scopes", err)
	}
	for _, s := range all {
		if s.Name == name {
			return s, nil
		}
	}
	return clientScopeRep{}, nil
}

// RoleScope is the client scope of one role.
type RoleScope struct {
	Name   string // kwr.<role id>: what a limited key asks for
	ID     string // Keycloak's id of the client scope
	RoleID string
}

// EnsureRoleScope makes the role scope of role exist, map exactly that role, and be an
// optional scope of the limited client (Keycloak's id limitedClient); idempotent.
// realm-management roles are refused whatever Keycloak would allow (its manage-clients
// lets an admin role into a client scope); the caller refuses denylisted roles first.
// A *RoleScopeForbiddenError when Keycloak refuses the realm role's mapping.
func (c *Client) EnsureRoleScope(ctx context.Context, limitedClient string, role RoleMapping) (RoleScope, error) {
	if role.Client == "realm-management" {
		return RoleScope{}, fmt.Errorf("ensure role scope: %s administers the realm: a key may not carry it", role)
	}
	token, err := c.adminAccessToken(ctx)
	if err != nil {
		return RoleScope{}, err
	}
	var r roleRep
	var mapped []roleRep
	var containerUUID string
	if role.Client == "" {
		if err := c.adminGet(ctx, token, &r, "roles", role.Role); err != nil {
			return RoleScope{}, classifyAdmin("get "+role.String(), err)
		}
	} else {
		if containerUUID, err = c.clientUUID(ctx, token, role.Client); err != nil {
			return RoleScope{}, err
		}
		if err := c.adminGet(ctx, token, &r, "clients", containerUUID, "roles", role.Role); err != nil {
			return RoleScope{}, classifyAdmin("get "+role.String(), err)
		}
	}
	name := RoleScopeName(r.ID)
	scope, err := c.clientScopeByName(ctx, token, name)
	if err != nil {
		return RoleScope{}, err
	}
	created := false
	if scope.ID == "" {
		created = true
		scope = clientScopeRep{Name: name, Protocol: "openid-connect",
			Description: "Keyward: keys limited to " + role.String(),
			Attributes:  map[string]string{"include.in.token.scope": "false", "display.on.consent.screen": "false"}}
		scope.ID, err = c.adminWrite(ctx, token, http.MethodPost, scope, "client-scopes")
		if err != nil {
			if err = classifyAdmin("create role scope", err); !errors.Is(err, ErrConflict) {
				return RoleScope{}, err
			}
			if scope, err = c.clientScopeByName(ctx, token, name); err != nil || scope.ID == "" {
				return RoleScope{}, fmt.Errorf("create role scope %s: created meanwhile, then not found: %v", name, err)
			}
		}
	}
	mappings := []string{"client-scopes", scope.ID, "scope-mappings", "realm"}
	if role.Client != "" {
		mappings = []string{"client-scopes", scope.ID, "scope-mappings", "clients", containerUUID}
	}
	if err := c.adminGet(ctx, token, &mapped, mappings...); err != nil {
		return RoleScope{}, classifyAdmin("list role scope mappings", err)
	}
	if !slices.ContainsFunc(mapped, func(m roleRep) bool { return m.ID == r.ID }) {
		_, err := c.adminWrite(ctx, token, http.MethodPost, []roleRep{{ID: r.ID, Name: r.Name}}, mappings...)
		var apiErr *gocloak.APIError
		if errors.As(err, &apiErr) && apiErr.Code == http.StatusForbidden {
			if created { // leave no empty scope behind; best effort
				_, _ = c.adminWrite(ctx, token, http.MethodDelete, nil, "client-scopes", scope.ID)
			}
			return RoleScope{}, &RoleScopeForbiddenError{Role: role}
		}
		if err != nil {
			return RoleScope{}, classifyAdmin("map role into its scope", err)
		}
	}
	if _, err := c.adminWrite(ctx, token, http.MethodPut, nil, "clients", limitedClient, "optional-client-scopes", scope.ID); err != nil {
		return RoleScope{}, classifyAdmin("attach role scope", err)
	}
	return RoleScope{Name: name, ID: scope.ID, RoleID: r.ID}, nil
}

// ExpandRoles returns the roles with ids roleIDs and, recursively, the roles their
// composites contain: every role a token limited to them may carry. A role that is
// gone is left out (Keycloak has dropped its scope mapping too).
func (c *Client) ExpandRoles(ctx context.Context, roleIDs []string) (Roles, error) {
	token, err := c.adminAccessToken(ctx)
	if err != nil {
		return Roles{}, err
	}
	out := Roles{Clients: map[string][]string{}}
	clientIDs := map[string]string{} // container uuid → client_id
	seen := map[string]bool{}
	add := func(r roleRep) error {
		if !r.ClientRole {
			out.Realm = append(out.Realm, r.Name)
			return nil
		}
		cid, ok := clientIDs[r.ContainerID]
		if !ok {
			cl, err := c.admin.GetClient(ctx, token, c.cfg.Realm, r.ContainerID)
			if err != nil {
				return classifyAdmin("get client of a role", err)
			}
			cid = gocloak.PString(cl.ClientID)
			clientIDs[r.ContainerID] = cid
		}
		out.Clients[cid] = append(out.Clients[cid], r.Name)
		return nil
	}
	queue := slices.Clone(roleIDs)
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if seen[id] {
			continue
		}
		seen[id] = true
		var r roleRep
		if err := c.adminGet(ctx, token, &r, "roles-by-id", id); err != nil {
			if err = classifyAdmin("get role", err); errors.Is(err, ErrNotFound) {
				continue
			}
			return Roles{}, err
		}
		if err := add(r); err != nil {
			return Roles{}, err
		}
		if r.Composite {
			var children []roleRep
			if err := c.adminGet(ctx, token, &children, "roles-by-id", id, "composites"); err != nil {
				return Roles{}, classifyAdmin("get composite roles", err)
			}
			for _, ch := range children {
				queue = append(queue, ch.ID)
			}
		}
	}
	return out, nil
}

// JWTBearerGrantAs is the JWT Authorization Grant (RFC 7523) posted as clientID, a
// client-jwt client authenticated by clientAssertion (the limited client), for the
// user named by assertion.
func (c *Client) JWTBearerGrantAs(ctx context.Context, clientID, clientAssertion, assertion, scope string) (Token, error) {
	form := url.Values{
		"grant_type":            {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"assertion":             {assertion},
		"client_id":             {clientID},
		"client_assertion_type": {ClientAssertionType},
		"client_assertion":      {clientAssertion},
	}
	if scope != "" {
		form.Set("scope", scope)
	}
	return c.grant(ctx, "jwt bearer grant", form)
}

// ExchangeCeiling returns the roles that tokens of the unrestricted exchange client
// (Config.ClientID) may carry: its role scope mappings, composites expanded. all is
// true when that client has the full scope (any role). A key limited to a role
// outside it would carry what an unrestricted key of the same owner cannot.
func (c *Client) ExchangeCeiling(ctx context.Context) (roles Roles, all bool, err error) {
	token, err := c.adminAccessToken(ctx)
	if err != nil {
		return Roles{}, false, err
	}
	id, err := c.clientUUID(ctx, token, c.cfg.ClientID)
	if err != nil {
		return Roles{}, false, err
	}
	cl, err := c.admin.GetClient(ctx, token, c.cfg.Realm, id)
	if err != nil {
		return Roles{}, false, classifyAdmin("get exchange client", err)
	}
	if gocloak.PBool(cl.FullScopeAllowed) {
		return Roles{Clients: map[string][]string{}}, true, nil
	}
	m, err := c.admin.GetClientScopeMappings(ctx, token, c.cfg.Realm, id)
	if err != nil {
		return Roles{}, false, classifyAdmin("get exchange client scope mappings", err)
	}
	var ids []string
	if m.RealmMappings != nil {
		for _, r := range *m.RealmMappings {
			ids = append(ids, gocloak.PString(r.ID))
		}
	}
	for _, cm := range m.ClientMappings {
		if cm != nil && cm.Mappings != nil {
			for _, r := range *cm.Mappings {
				ids = append(ids, gocloak.PString(r.ID))
			}
		}
	}
	roles, err = c.ExpandRoles(ctx, ids)
	return roles, false, err
}
