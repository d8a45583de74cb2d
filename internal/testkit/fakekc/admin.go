package fakekc

// Admin is an in-memory Keycloak admin API (provisioning.Keycloak): groups, service
// clients with their secrets and service accounts, and the client-credentials grant,
// for tests of other packages that serve the admin routes without Keycloak. (The
// provisioning package's own fake adds failure injection.)

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"sort"
	"sync"

	"github.com/keyward/keyward/keycloak"
)

// Admin is the fake; NewAdmin makes an empty one.
type Admin struct {
	mu       sync.Mutex
	groups   map[string]keycloak.Group // by id
	parentOf map[string]string         // group id → parent id ("" top level)
	clients  map[string]*adminClient   // by Keycloak id
	members  map[string]map[string]bool
	roles    map[string][]keycloak.RoleMapping // group id → its own role mappings
}

type adminClient struct {
	info   keycloak.ClientInfo
	secret string
	sa     string
	scope  []keycloak.RoleMapping
}

// NewAdmin returns an empty realm.
func NewAdmin() *Admin {
	return &Admin{groups: map[string]keycloak.Group{}, parentOf: map[string]string{},
		clients: map[string]*adminClient{}, members: map[string]map[string]bool{}, roles: map[string][]keycloak.RoleMapping{}}
}

func randID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (f *Admin) GroupByPath(_ context.Context, path string) (keycloak.Group, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, g := range f.groups {
		if g.Path == path {
			return g, nil
		}
	}
	return keycloak.Group{}, keycloak.ErrNotFound
}

func (f *Admin) CreateGroup(_ context.Context, parentID, name, description string) (keycloak.Group, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	path := "/" + name
	if parentID != "" {
		p, ok := f.groups[parentID]
		if !ok {
			return keycloak.Group{}, keycloak.ErrNotFound
		}
		path = p.Path + "/" + name
	}
	for id, g := range f.groups {
		if f.parentOf[id] == parentID && g.Name == name {
			return keycloak.Group{}, keycloak.ErrConflict
		}
	}
	g := keycloak.Group{ID: randID(), Name: name, Path: path, Description: description, ParentID: parentID}
	f.groups[g.ID], f.parentOf[g.ID] = g, parentID
	return g, nil
}

func (f *Admin) Group(_ context.Context, id string) (keycloak.Group, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, ok := f.groups[id]
	if !ok {
		return keycloak.Group{}, keycloak.ErrNotFound
	}
	return g, nil
}

func (f *Admin) GroupRoleMappings(_ context.Context, id string) ([]keycloak.RoleMapping, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.groups[id]; !ok {
		return nil, keycloak.ErrNotFound
	}
	return append([]keycloak.RoleMapping{}, f.roles[id]...), nil
}

func (f *Admin) ChildGroups(_ context.Context, parentID string) ([]keycloak.Group, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.groups[parentID]; parentID != "" && !ok {
		return nil, keycloak.ErrNotFound
	}
	out := []keycloak.Group{}
	for id, g := range f.groups {
		if f.parentOf[id] == parentID {
			out = append(out, g)
		}
	}
	return out, nil
}

func (f *Admin) DeleteGroup(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.groups[id]; !ok {
		return keycloak.ErrNotFound
	}
	delete(f.groups, id)
	for _, m := range f.members {
		delete(m, id)
	}
	return nil
}

func (f *Admin) GroupHasMembers(_ context.Context, id string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range f.members {
		if m[id] {
			return true, nil
		}
	}
	return false, nil
}

func (f *Admin) CreateServiceClient(_ context.Context, c keycloak.ServiceClient) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, cl := range f.clients {
		if cl.info.ClientID == c.ClientID {
			return "", keycloak.ErrConflict
		}
	}
	id, sa := randID(), randID()
	attrs := map[string]string{}
	for k, v := range c.Attributes {
		attrs[k] = v
	}
	f.clients[id] = &adminClient{sa: sa, secret: "secret-" + randID() + randID(), info: keycloak.ClientInfo{
		ID: id, ClientID: c.ClientID, Name: c.Name, Description: c.Description, Protocol: "openid-connect",
		Enabled: true, ServiceAccountsEnabled: true, StandardFlowEnabled: len(c.RedirectURIs) > 0,
		RedirectURIs: append([]string{}, c.RedirectURIs...), Attributes: attrs, ACLMapper: true,
		ConsentRequired: len(c.RedirectURIs) > 0,
	}}
	f.members[sa] = map[string]bool{}
	return id, nil
}

func (f *Admin) ServiceClientByClientID(_ context.Context, clientID string) (keycloak.ClientInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, cl := range f.clients {
		if cl.info.ClientID == clientID {
			return cl.info, nil
		}
	}
	return keycloak.ClientInfo{}, keycloak.ErrNotFound
}

func (f *Admin) ClientsWithAttribute(_ context.Context, key string) ([]keycloak.ClientInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []keycloak.ClientInfo{}
	for _, cl := range f.clients {
		if _, ok := cl.info.Attributes[key]; ok {
			out = append(out, cl.info)
		}
	}
	return out, nil
}

func (f *Admin) UpdateServiceClient(_ context.Context, id string, ch keycloak.ClientChange) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	cl, ok := f.clients[id]
	if !ok {
		return keycloak.ErrNotFound
	}
	if ch.Name != nil {
		cl.info.Name = *ch.Name
	}
	if ch.Description != nil {
		cl.info.Description = *ch.Description
	}
	if ch.Enabled != nil {
		cl.info.Enabled = *ch.Enabled
	}
	if ch.RedirectURIs != nil {
		cl.info.RedirectURIs = append([]string{}, *ch.RedirectURIs...)
		cl.info.StandardFlowEnabled = len(cl.info.RedirectURIs) > 0
		if len(cl.info.RedirectURIs) > 0 {
			cl.info.ConsentRequired = true
		}
	}
	if ch.ConsentRequired != nil {
		cl.info.ConsentRequired = *ch.ConsentRequired
	}
	cl.info.FullScopeAllowed = false
	return nil
}

func (f *Admin) ServiceClient(_ context.Context, id string) (keycloak.ClientInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cl, ok := f.clients[id]
	if !ok {
		return keycloak.ClientInfo{}, keycloak.ErrNotFound
	}
	return cl.info, nil
}

func (f *Admin) ClearClientScopeMappings(_ context.Context, id string) (removed, kept []keycloak.RoleMapping, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cl, ok := f.clients[id]
	if !ok {
		return nil, nil, keycloak.ErrNotFound
	}
	for _, r := range cl.scope {
		if r.Client == "" {
			kept = append(kept, r)
		} else {
			removed = append(removed, r)
		}
	}
	cl.scope = kept
	if len(kept) > 0 {
		err = keycloak.ErrRealmScopeForbidden
	}
	return removed, kept, err
}

func (f *Admin) DeleteServiceClient(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	cl, ok := f.clients[id]
	if !ok {
		return keycloak.ErrNotFound
	}
	delete(f.members, cl.sa)
	delete(f.clients, id)
	return nil
}

func (f *Admin) ClientSecret(_ context.Context, id string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cl, ok := f.clients[id]
	if !ok {
		return "", keycloak.ErrNotFound
	}
	return cl.secret, nil
}

func (f *Admin) RegenerateClientSecret(_ context.Context, id string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cl, ok := f.clients[id]
	if !ok {
		return "", keycloak.ErrNotFound
	}
	cl.secret = "secret-" + randID() + randID()
	return cl.secret, nil
}

func (f *Admin) ServiceAccountUserID(_ context.Context, id string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cl, ok := f.clients[id]
	if !ok {
		return "", keycloak.ErrNotFound
	}
	return cl.sa, nil
}

func (f *Admin) UserGroups(_ context.Context, userID string) ([]keycloak.Group, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.members[userID]
	if !ok {
		return nil, keycloak.ErrNotFound
	}
	out := []keycloak.Group{}
	for gid := range m {
		out = append(out, f.groups[gid])
	}
	return out, nil
}

func (f *Admin) AddUserToGroup(_ context.Context, userID, groupID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.members[userID]
	if _, g := f.groups[groupID]; !ok || !g {
		return keycloak.ErrNotFound
	}
	m[groupID] = true
	return nil
}

func (f *Admin) RemoveUserFromGroup(_ context.Context, userID, groupID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.members[userID]
	if !ok {
		return keycloak.ErrNotFound
	}
	delete(m, groupID)
	return nil
}

// ClientCredentialsGrant issues an unsigned JWT-shaped token carrying acl_groups, as
// the realm's mapper would.
func (f *Admin) ClientCredentialsGrant(_ context.Context, clientID, secret string) (keycloak.Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, cl := range f.clients {
		if cl.info.ClientID != clientID {
			continue
		}
		if !cl.info.Enabled || cl.secret != secret {
			return keycloak.Token{}, keycloak.ErrInvalidClient
		}
		groups := []string{}
		for gid := range f.members[cl.sa] {
			groups = append(groups, f.groups[gid].Name)
		}
		sort.Strings(groups)
		enc := func(v any) string {
			b, _ := json.Marshal(v)
			return base64.RawURLEncoding.EncodeToString(b)
		}
		tok := enc(map[string]any{"alg": "RS256", "typ": "JWT"}) + "." +
			enc(map[string]any{"azp": clientID, "acl_groups": groups}) + ".sig"
		return keycloak.Token{AccessToken: tok, ExpiresIn: 300, Scope: "profile email"}, nil
	}
	return keycloak.Token{}, keycloak.ErrInvalidClient
}
