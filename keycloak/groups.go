package keycloak

// Admin REST calls that let provisioning check what a group grants (its role mappings,
// its ancestors) and find the clients Keyward marked as its own.

import (
	"context"
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
	return out, nil
}

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
