package keycloak

// Admin REST calls for provisioning: ACL groups (Keycloak groups), service-account
// clients, their secrets and service-account users' group memberships, and the
// client-credentials grant used by the token tester. Client secrets pass through here
// to the caller and are never put into an error text.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/Nerzal/gocloak/v13"
)

// ACLGroupsClaim is the token claim the group-membership mapper fills.
const ACLGroupsClaim = "acl_groups"

// Group is a Keycloak group.
type Group struct {
	ID          string
	Name        string
	Path        string
	Description string
	// ParentID is the id of the group's parent, empty at the top level (and in
	// UserGroups, which Keycloak answers without it).
	ParentID string
}

// groupRep is Keycloak's GroupRepresentation with the fields Keyward uses; gocloak's
// Group has no description (added to Keycloak in 26).
type groupRep struct {
	ID          string `json:"id,omitempty"`
	Name        string `json:"name"`
	Path        string `json:"path,omitempty"`
	Description string `json:"description,omitempty"`
	ParentID    string `json:"parentId,omitempty"`
}

func (g groupRep) group() Group {
	return Group{ID: g.ID, Name: g.Name, Path: g.Path, Description: g.Description, ParentID: g.ParentID}
}

// ServiceClient describes a confidential client with a service account.
type ServiceClient struct {
	ClientID     string
	Name         string
	Description  string
	RedirectURIs []string // standard flow is on only when there are some
	// Attributes mark the client as Keyward's (keyward.* keys).
	Attributes map[string]string
}

// ClientInfo is a client as Keycloak holds it, without its secret.
type ClientInfo struct {
	ID                        string // Keycloak's internal id
	ClientID                  string
	Name                      string
	Description               string
	Protocol                  string
	Enabled                   bool
	PublicClient              bool
	ServiceAccountsEnabled    bool
	StandardFlowEnabled       bool
	DirectAccessGrantsEnabled bool
	ImplicitFlowEnabled       bool
	RedirectURIs              []string
	Attributes                map[string]string
	// FullScopeAllowed: the client's tokens may carry every role of the user (or
	// service account); ConsentRequired: a user who logs in through it is asked first.
	FullScopeAllowed bool
	ConsentRequired  bool
	// ACLMapper says whether the client has its own acl_groups group-membership mapper.
	ACLMapper bool
}

// ClientChange updates some fields of a client; nil fields stay as they are. Every
// change also sets fullScopeAllowed to false.
type ClientChange struct {
	Name         *string
	Description  *string
	Enabled      *bool
	RedirectURIs *[]string // also switches the standard flow on (some) or off (none), and consent on with some
	// ConsentRequired sets consent explicitly (the repair pass).
	ConsentRequired *bool
}

// classifyAdmin is classify plus 409 → ErrConflict, which the admin calls below need.
func classifyAdmin(op string, err error) error {
	var apiErr *gocloak.APIError
	if errors.As(err, &apiErr) && apiErr.Code == http.StatusConflict {
		return fmt.Errorf("%s: %w", op, ErrConflict)
	}
	return classify(op, err)
}

func (c *Client) adminURL(path ...string) string {
	parts := []string{c.cfg.BaseURL, "admin", "realms", url.PathEscape(c.cfg.Realm)}
	for _, p := range path {
		parts = append(parts, url.PathEscape(p))
	}
	return strings.Join(parts, "/")
}

// GroupByPath finds a group by its full path ("/parent/child"); ErrNotFound if none.
func (c *Client) GroupByPath(ctx context.Context, path string) (Group, error) {
	token, err := c.adminAccessToken(ctx)
	if err != nil {
		return Group{}, err
	}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	var g groupRep
	resp, err := c.admin.GetRequestWithBearerAuth(ctx, token).SetResult(&g).
		Get(c.adminURL(append([]string{"group-by-path"}, segs...)...))
	if err := checkResp(resp, err); err != nil {
		return Group{}, classifyAdmin("get group by path", err)
	}
	return g.group(), nil
}

// CreateGroup creates name under parentID, or at the top level when parentID is
// empty. ErrConflict when a sibling has that name.
func (c *Client) CreateGroup(ctx context.Context, parentID, name, description string) (Group, error) {
	token, err := c.adminAccessToken(ctx)
	if err != nil {
		return Group{}, err
	}
	target := c.adminURL("groups")
	if parentID != "" {
		target = c.adminURL("groups", parentID, "children")
	}
	resp, err := c.admin.GetRequestWithBearerAuth(ctx, token).
		SetBody(groupRep{Name: name, Description: description}).Post(target)
	if err := checkResp(resp, err); err != nil {
		return Group{}, classifyAdmin("create group", err)
	}
	id := lastPathSegment(resp.Header().Get("Location"))
	if id == "" {
		return Group{}, errors.New("create group: keycloak answered without a Location")
	}
	g, err := c.group(ctx, token, id)
	if err != nil {
		return Group{}, err
	}
	return g, nil
}

func (c *Client) group(ctx context.Context, token, id string) (Group, error) {
	var g groupRep
	resp, err := c.admin.GetRequestWithBearerAuth(ctx, token).SetResult(&g).Get(c.adminURL("groups", id))
	if err := checkResp(resp, err); err != nil {
		return Group{}, classifyAdmin("get group", err)
	}
	return g.group(), nil
}

// ChildGroups lists the direct subgroups of parentID (the top-level groups when it is
// empty), all pages.
func (c *Client) ChildGroups(ctx context.Context, parentID string) ([]Group, error) {
	token, err := c.adminAccessToken(ctx)
	if err != nil {
		return nil, err
	}
	target := c.adminURL("groups")
	if parentID != "" {
		target = c.adminURL("groups", parentID, "children")
	}
	const page = 100
	out := []Group{}
	for first := 0; ; first += page {
		var batch []groupRep
		resp, err := c.admin.GetRequestWithBearerAuth(ctx, token).SetResult(&batch).
			SetQueryParams(map[string]string{
				"first": strconv.Itoa(first), "max": strconv.Itoa(page), "briefRepresentation": "false",
			}).Get(target)
		if err := checkResp(resp, err); err != nil {
			return nil, classifyAdmin("list groups", err)
		}
		for _, g := range batch {
			out = append(out, g.group())
		}
		if len(batch) < page {
			return out, nil
		}
	}
}

// DeleteGroup deletes a group (and its memberships); ErrNotFound if it is gone.
func (c *Client) DeleteGroup(ctx context.Context, id string) error {
	token, err := c.adminAccessToken(ctx)
	if err != nil {
		return err
	}
	if err := c.admin.DeleteGroup(ctx, token, c.cfg.Realm, id); err != nil {
		return classifyAdmin("delete group", err)
	}
	return nil
}

// GroupHasMembers says whether any user (service accounts included) is in the group.
func (c *Client) GroupHasMembers(ctx context.Context, id string) (bool, error) {
	token, err := c.adminAccessToken(ctx)
	if err != nil {
		return false, err
	}
	members, err := c.admin.GetGroupMembers(ctx, token, c.cfg.Realm, id, gocloak.GetGroupsParams{
		First: gocloak.IntP(0), Max: gocloak.IntP(1), BriefRepresentation: gocloak.BoolP(true),
	})
	if err != nil {
		return false, classifyAdmin("list group members", err)
	}
	return len(members) > 0, nil
}

// aclMapper is the group-membership mapper of the dev realm's acl_groups scope, set on
// each provisioned client too so that its tokens carry the claim whatever the realm's
// default scopes become.
func aclMapper() gocloak.ProtocolMapperRepresentation {
	return gocloak.ProtocolMapperRepresentation{
		Name:           gocloak.StringP(ACLGroupsClaim),
		Protocol:       gocloak.StringP("openid-connect"),
		ProtocolMapper: gocloak.StringP("oidc-group-membership-mapper"),
		Config: &map[string]string{
			"full.path":                 "false",
			"claim.name":                ACLGroupsClaim,
			"access.token.claim":        "true",
			"id.token.claim":            "true",
			"userinfo.token.claim":      "true",
			"introspection.token.claim": "true",
		},
	}
}

// CreateServiceClient creates a confidential client with service accounts on, direct
// access grants and implicit flow off, the standard flow only with redirect URIs, and
// the acl_groups mapper. It is never full-scope (a token through it carries only roles
// in its scope mappings, which it has none of: an administrator who logs in through it
// lends it no realm-management role), and with redirect URIs it asks the user's
// consent (no silent code for someone else's redirect URI). It returns Keycloak's
// internal id; ErrConflict if the client_id is taken.
func (c *Client) CreateServiceClient(ctx context.Context, sc ServiceClient) (string, error) {
	token, err := c.adminAccessToken(ctx)
	if err != nil {
		return "", err
	}
	redirects := append([]string{}, sc.RedirectURIs...)
	attrs := map[string]string{}
	for k, v := range sc.Attributes {
		attrs[k] = v
	}
	mappers := []gocloak.ProtocolMapperRepresentation{aclMapper()}
	id, err := c.admin.CreateClient(ctx, token, c.cfg.Realm, gocloak.Client{
		ClientID:                  gocloak.StringP(sc.ClientID),
		Name:                      gocloak.StringP(sc.Name),
		Description:               gocloak.StringP(sc.Description),
		Enabled:                   gocloak.BoolP(true),
		Protocol:                  gocloak.StringP("openid-connect"),
		PublicClient:              gocloak.BoolP(false),
		BearerOnly:                gocloak.BoolP(false),
		ClientAuthenticatorType:   gocloak.StringP("client-secret"),
		ServiceAccountsEnabled:    gocloak.BoolP(true),
		DirectAccessGrantsEnabled: gocloak.BoolP(false),
		ImplicitFlowEnabled:       gocloak.BoolP(false),
		StandardFlowEnabled:       gocloak.BoolP(len(redirects) > 0),
		ConsentRequired:           gocloak.BoolP(len(redirects) > 0),
		FullScopeAllowed:          gocloak.BoolP(false),
		RedirectURIs:              &redirects,
		WebOrigins:                &[]string{},
		Attributes:                &attrs,
		ProtocolMappers:           &mappers,
	})
	if err != nil {
		return "", classifyAdmin("create client", err)
	}
	return id, nil
}

// ServiceClient returns a client by Keycloak's internal id, without its secret.
func (c *Client) ServiceClient(ctx context.Context, id string) (ClientInfo, error) {
	token, err := c.adminAccessToken(ctx)
	if err != nil {
		return ClientInfo{}, err
	}
	cl, err := c.admin.GetClient(ctx, token, c.cfg.Realm, id)
	if err != nil {
		return ClientInfo{}, classifyAdmin("get client", err)
	}
	return clientInfo(cl), nil
}

// ServiceClientByClientID finds a client by its client_id; ErrNotFound if none.
func (c *Client) ServiceClientByClientID(ctx context.Context, clientID string) (ClientInfo, error) {
	token, err := c.adminAccessToken(ctx)
	if err != nil {
		return ClientInfo{}, err
	}
	list, err := c.admin.GetClients(ctx, token, c.cfg.Realm, gocloak.GetClientsParams{ClientID: gocloak.StringP(clientID)})
	if err != nil {
		return ClientInfo{}, classifyAdmin("find client", err)
	}
	for _, cl := range list {
		if gocloak.PString(cl.ClientID) == clientID {
			return clientInfo(cl), nil
		}
	}
	return ClientInfo{}, fmt.Errorf("find client: %w", ErrNotFound)
}

// clientInfo copies what Keyward shows; the representation's secret is dropped here.
func clientInfo(cl *gocloak.Client) ClientInfo {
	info := ClientInfo{
		ID:                        gocloak.PString(cl.ID),
		ClientID:                  gocloak.PString(cl.ClientID),
		Name:                      gocloak.PString(cl.Name),
		Description:               gocloak.PString(cl.Description),
		Protocol:                  gocloak.PString(cl.Protocol),
		Enabled:                   gocloak.PBool(cl.Enabled),
		PublicClient:              gocloak.PBool(cl.PublicClient),
		ServiceAccountsEnabled:    gocloak.PBool(cl.ServiceAccountsEnabled),
		StandardFlowEnabled:       gocloak.PBool(cl.StandardFlowEnabled),
		DirectAccessGrantsEnabled: gocloak.PBool(cl.DirectAccessGrantsEnabled),
		ImplicitFlowEnabled:       gocloak.PBool(cl.ImplicitFlowEnabled),
		FullScopeAllowed:          gocloak.PBool(cl.FullScopeAllowed),
		ConsentRequired:           gocloak.PBool(cl.ConsentRequired),
		RedirectURIs:              []string{},
		Attributes:                map[string]string{},
	}
	if cl.RedirectURIs != nil {
		info.RedirectURIs = append(info.RedirectURIs, *cl.RedirectURIs...)
	}
	if cl.Attributes != nil {
		for k, v := range *cl.Attributes {
			info.Attributes[k] = v
		}
	}
	if cl.ProtocolMappers != nil {
		for _, m := range *cl.ProtocolMappers {
			if gocloak.PString(m.ProtocolMapper) == "oidc-group-membership-mapper" && m.Config != nil &&
				(*m.Config)["claim.name"] == ACLGroupsClaim {
				info.ACLMapper = true
			}
		}
	}
	return info
}

// UpdateServiceClient applies ch to the client. Only the changed fields are sent:
// Keycloak leaves absent fields alone, and the representation it hands out carries
// the secret, which must never be written back. fullScopeAllowed is sent false every
// time, and redirect URIs bring consent with them (see CreateServiceClient).
func (c *Client) UpdateServiceClient(ctx context.Context, id string, ch ClientChange) error {
	token, err := c.adminAccessToken(ctx)
	if err != nil {
		return err
	}
	cur, err := c.admin.GetClient(ctx, token, c.cfg.Realm, id)
	if err != nil {
		return classifyAdmin("get client", err)
	}
	upd := gocloak.Client{ID: gocloak.StringP(id), ClientID: cur.ClientID,
		Name: ch.Name, Description: ch.Description, Enabled: ch.Enabled,
		FullScopeAllowed: gocloak.BoolP(false), ConsentRequired: ch.ConsentRequired}
	if ch.RedirectURIs != nil {
		r := append([]string{}, *ch.RedirectURIs...)
		upd.RedirectURIs = &r
		upd.StandardFlowEnabled = gocloak.BoolP(len(r) > 0)
		if len(r) > 0 {
			upd.ConsentRequired = gocloak.BoolP(true)
		}
	}
	if err := c.admin.UpdateClient(ctx, token, c.cfg.Realm, upd); err != nil {
		return classifyAdmin("update client", err)
	}
	return nil
}

// DeleteServiceClient deletes a client and with it its service-account user and that
// user's memberships; ErrNotFound if it is gone already.
func (c *Client) DeleteServiceClient(ctx context.Context, id string) error {
	token, err := c.adminAccessToken(ctx)
	if err != nil {
		return err
	}
	if err := c.admin.DeleteClient(ctx, token, c.cfg.Realm, id); err != nil {
		return classifyAdmin("delete client", err)
	}
	return nil
}

// ClientSecret reads a client's current secret.
func (c *Client) ClientSecret(ctx context.Context, id string) (string, error) {
	token, err := c.adminAccessToken(ctx)
	if err != nil {
		return "", err
	}
	cred, err := c.admin.GetClientSecret(ctx, token, c.cfg.Realm, id)
	if err != nil {
		return "", classifyAdmin("get client secret", err)
	}
	if v := gocloak.PString(cred.Value); v != "" {
		return v, nil
	}
	return "", errors.New("get client secret: keycloak answered without a secret")
}

// RegenerateClientSecret replaces a client's secret; the old one is refused from now on.
func (c *Client) RegenerateClientSecret(ctx context.Context, id string) (string, error) {
	token, err := c.adminAccessToken(ctx)
	if err != nil {
		return "", err
	}
	cred, err := c.admin.RegenerateClientSecret(ctx, token, c.cfg.Realm, id)
	if err != nil {
		return "", classifyAdmin("regenerate client secret", err)
	}
	if v := gocloak.PString(cred.Value); v != "" {
		return v, nil
	}
	return "", errors.New("regenerate client secret: keycloak answered without a secret")
}

// ServiceAccountUserID returns the id of the client's service-account user.
func (c *Client) ServiceAccountUserID(ctx context.Context, id string) (string, error) {
	token, err := c.adminAccessToken(ctx)
	if err != nil {
		return "", err
	}
	u, err := c.admin.GetClientServiceAccount(ctx, token, c.cfg.Realm, id)
	if err != nil {
		return "", classifyAdmin("get service-account user", err)
	}
	if gocloak.PString(u.ID) == "" {
		return "", errors.New("get service-account user: keycloak answered without an id")
	}
	return *u.ID, nil
}

// UserGroups lists the groups a user is a direct member of, all pages.
func (c *Client) UserGroups(ctx context.Context, userID string) ([]Group, error) {
	token, err := c.adminAccessToken(ctx)
	if err != nil {
		return nil, err
	}
	const page = 100
	out := []Group{}
	for first := 0; ; first += page {
		batch, err := c.admin.GetUserGroups(ctx, token, c.cfg.Realm, userID, gocloak.GetGroupsParams{
			First: gocloak.IntP(first), Max: gocloak.IntP(page), BriefRepresentation: gocloak.BoolP(true),
		})
		if err != nil {
			return nil, classifyAdmin("list user groups", err)
		}
		for _, g := range batch {
			out = append(out, Group{ID: gocloak.PString(g.ID), Name: gocloak.PString(g.Name), Path: gocloak.PString(g.Path)})
		}
		if len(batch) < page {
			return out, nil
		}
	}
}

// AddUserToGroup makes the user a member of the group; a member already is fine.
func (c *Client) AddUserToGroup(ctx context.Context, userID, groupID string) error {
	token, err := c.adminAccessToken(ctx)
	if err != nil {
		return err
	}
	if err := c.admin.AddUserToGroup(ctx, token, c.cfg.Realm, userID, groupID); err != nil {
		return classifyAdmin("add user to group", err)
	}
	return nil
}

// RemoveUserFromGroup ends the user's membership of the group.
func (c *Client) RemoveUserFromGroup(ctx context.Context, userID, groupID string) error {
	token, err := c.adminAccessToken(ctx)
	if err != nil {
		return err
	}
	if err := c.admin.DeleteUserFromGroup(ctx, token, c.cfg.Realm, userID, groupID); err != nil {
		return classifyAdmin("remove user from group", err)
	}
	return nil
}

// ClientCredentialsGrant asks the token endpoint for a token as clientID with secret.
// ErrInvalidClient when Keycloak refuses the client (unknown, disabled, wrong secret).
// Neither the secret nor Keycloak's body goes into an error.
func (c *Client) ClientCredentialsGrant(ctx context.Context, clientID, secret string) (Token, error) {
	tr, status, err := c.postToken(ctx, url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {clientID},
		"client_secret": {secret},
	})
	if err != nil {
		return Token{}, fmt.Errorf("client credentials grant: %w", err)
	}
	if status != http.StatusOK || tr.AccessToken == "" {
		switch tr.Error {
		case "invalid_client", "unauthorized_client":
			return Token{}, fmt.Errorf("%w: %s", ErrInvalidClient, tr.Error)
		}
		return Token{}, fmt.Errorf("client credentials grant: token endpoint answered %d: %s", status, tr.Error)
	}
	return Token{AccessToken: tr.AccessToken, ExpiresIn: tr.ExpiresIn, Scope: tr.Scope}, nil
}

// checkResp turns a resty answer into gocloak's *APIError for classify.
func checkResp(resp interface {
	IsError() bool
	StatusCode() int
}, err error) error {
	if err != nil {
		return &gocloak.APIError{Code: 0, Message: err.Error()}
	}
	if resp.IsError() {
		return &gocloak.APIError{Code: resp.StatusCode(), Message: http.StatusText(resp.StatusCode())}
	}
	return nil
}

func lastPathSegment(location string) string {
	u, err := url.Parse(location)
	if err != nil {
		return ""
	}
	p := strings.TrimRight(u.Path, "/")
	return p[strings.LastIndex(p, "/")+1:]
}
