package keycloak

// Admin REST calls that let provisioning check what a group grants (its role mappings,
// its ancestors) and find the clients Keyward marked as its own.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/Nerzal/gocloak/v13"
)

// RoleMapping is one role a group grants its members: a realm role when Client is
// empty, else a role of the client whose client_id is Client.
type RoleMapping struct {
	Client string
	Role   string
}

func (r RoleMapping) String() string {
	if r.Client == "" {
		return "realm role " + strconv.Quote(r.Role)
	}
	return "client role " + strconv.Quote(r.Client+"/"+r.Role)
}

// Group returns a group by id (ParentID is empty for a top-level group); ErrNotFound
// if there is none.
func (c *Client) Group(ctx context.Context, id string) (Group, error) {
	token, err := c.adminAccessToken(ctx)
	if err != nil {
		return Group{}, err
	}
	return c.group(ctx, token, id)
}

// GroupRoleMappings lists the roles mapped to the group itself, realm and client roles,
// sorted. Members also get the roles of the group's ancestors, which this does not
// list: ask for each ancestor.
func (c *Client) GroupRoleMappings(ctx context.Context, id string) ([]RoleMapping, error) {
	token, err := c.adminAccessToken(ctx)
	if err != nil {
		return nil, err
	}
	m, err := c.admin.GetRoleMappingByGroupID(ctx, token, c.cfg.Realm, id)
	if err != nil {
		return nil, classifyAdmin("get group role mappings", err)
	}
	return roleMappings(m), nil
}

// roleMappings lists a MappingsRepresentation's roles, sorted.
func roleMappings(m *gocloak.MappingsRepresentation) []RoleMapping {
	out := []RoleMapping{}
	if m.RealmMappings != nil {
		for _, r := range *m.RealmMappings {
			out = append(out, RoleMapping{Role: gocloak.PString(r.Name)})
		}
	}
	for key, cm := range m.ClientMappings {
		if cm == nil || cm.Mappings == nil {
			continue
		}
		client := gocloak.PString(cm.Client)
		if client == "" {
			client = key
		}
		for _, r := range *cm.Mappings {
			out = append(out, RoleMapping{Client: client, Role: gocloak.PString(r.Name)})
		}
	}
	slices.SortFunc(out, func(a, b RoleMapping) int {
		if d := strings.Compare(a.Client, b.Client); d != 0 {
			return d
		}
		return strings.Compare(a.Role, b.Role)
	})
	return out
}

// ClearClientScopeMappings removes every role scope mapping of the client and says
// which it removed and which stayed (none at all: nothing was written). With
// fullScopeAllowed off, these are the only roles its tokens could carry. Client roles
// (realm-management's among them) go with manage-clients; Keycloak lets only an admin
// with manage-realm remove a realm role's mapping, so without it those stay and the
// error says so: Keyward's service account is not given manage-realm for this.
func (c *Client) ClearClientScopeMappings(ctx context.Context, id string) (removed, kept []RoleMapping, err error) {
	token, err := c.adminAccessToken(ctx)
	if err != nil {
		return nil, nil, err
	}
	m, err := c.admin.GetClientScopeMappings(ctx, token, c.cfg.Realm, id)
	if err != nil {
		return nil, nil, classifyAdmin("get client scope mappings", err)
	}
	for _, cm := range m.ClientMappings {
		if cm == nil || cm.Mappings == nil || len(*cm.Mappings) == 0 {
			continue
		}
		if err := c.admin.DeleteClientScopeMappingsClientRoles(ctx, token, c.cfg.Realm, id, gocloak.PString(cm.ID), *cm.Mappings); err != nil {
			return removed, roleMappings(m), classifyAdmin("remove client-role scope mappings", err)
		}
		removed = append(removed, roleMappings(&gocloak.MappingsRepresentation{
			ClientMappings: map[string]*gocloak.ClientMappingsRepresentation{"": cm}})...)
	}
	if m.RealmMappings != nil && len(*m.RealmMappings) > 0 {
		realm := roleMappings(&gocloak.MappingsRepresentation{RealmMappings: m.RealmMappings})
		if err := c.admin.DeleteClientScopeMappingsRealmRoles(ctx, token, c.cfg.Realm, id, *m.RealmMappings); err != nil {
			var apiErr *gocloak.APIError
			if errors.As(err, &apiErr) && apiErr.Code == http.StatusForbidden {
				return removed, realm, fmt.Errorf("remove realm-role scope mappings: %w", ErrRealmScopeForbidden)
			}
			return removed, realm, classifyAdmin("remove realm-role scope mappings", err)
		}
		removed = append(removed, realm...)
	}
	return removed, nil, nil
}

// ErrRealmScopeForbidden: Keycloak refused to remove a realm role from a client's
// scope (it needs manage-realm, which Keyward's service account does not hold).
var ErrRealmScopeForbidden = errors.New("keycloak refused to remove realm roles from the client's scope: " +
	"an admin with manage-realm must remove them (Clients > the client > Client scopes > Dedicated scope > Scope)")

// ClientsWithAttribute lists every client of the realm that has the attribute key,
// whatever its value, all pages. Keycloak refuses attribute search (`q=`) on
// attributes it was not configured to index, so this reads every client and filters.
func (c *Client) ClientsWithAttribute(ctx context.Context, key string) ([]ClientInfo, error) {
	token, err := c.adminAccessToken(ctx)
	if err != nil {
		return nil, err
	}
	const page = 100
	out := []ClientInfo{}
	for first := 0; ; first += page {
		batch, err := c.admin.GetClients(ctx, token, c.cfg.Realm, gocloak.GetClientsParams{
			First: gocloak.IntP(first), Max: gocloak.IntP(page),
		})
		if err != nil {
			return nil, classifyAdmin("list clients", err)
		}
		for _, cl := range batch {
			if cl.Attributes == nil {
				continue
			}
			if _, ok := (*cl.Attributes)[key]; ok {
				out = append(out, clientInfo(cl))
			}
		}
		if len(batch) < page {
			return out, nil
		}
	}
}
