package fakekc

// Admin is an in-memory Keycloak admin API (provisioning.Keycloak): groups, service
// clients with their secrets and service accounts, and the client-credentials grant,
// with failure injection (a call failing, an answer lost on the way back) for the
// compensation paths. The real Keycloak is exercised by the integration tests.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"sync"

	"github.com/keyward/keyward/keycloak"
)

// Admin is the fake; NewAdmin makes an empty one.
type Admin struct {
	mu       sync.Mutex
	groups   map[string]keycloak.Group // by id
	parentOf map[string]string         // group id → parent id ("" top level)
	clients  map[string]*Client        // by Keycloak id
	members  map[string]map[string]bool
	roles    map[string][]keycloak.RoleMapping // group id → its own role mappings
	// fail makes the named method fail with the error, after skip successful calls.
	fail  map[string]failure
	calls map[string]int
	// lost makes the next call of the named method do its work and then fail: the
	// answer was lost on the way back (a timeout, a dropped connection).
	lost map[string]error
}

type failure struct {
	err    error
	skip   int
	always bool // else only the one call after skip fails: a transient failure
}

// Client is a service client as the fake holds it; Tamper changes it.
type Client struct {
	Info           keycloak.ClientInfo
	Secret         string
	ServiceAccount string
	// Scope are role scope mappings a realm admin put on the client; realm roles (no
	// Client) cannot be removed by Keyward, as in Keycloak without manage-realm.
	Scope []keycloak.RoleMapping
}

// NewAdmin returns an empty realm.
func NewAdmin() *Admin {
	return &Admin{groups: map[string]keycloak.Group{}, parentOf: map[string]string{},
		clients: map[string]*Client{}, members: map[string]map[string]bool{}, fail: map[string]failure{},
		calls: map[string]int{}, roles: map[string][]keycloak.RoleMapping{}, lost: map[string]error{}}
}

func randID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// FailOn makes the (skip+1)th call of method fail with err, once.
func (f *Admin) FailOn(method string, err error, skip int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[method] = failure{err: err, skip: skip}
	f.calls[method] = 0
}

// FailAlways makes method fail with err from its (skip+1)th call on: Keycloak down.
func (f *Admin) FailAlways(method string, err error, skip int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[method] = failure{err: err, skip: skip, always: true}
	f.calls[method] = 0
}

// Heal ends every injected failure.
func (f *Admin) Heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = map[string]failure{}
	f.lost = map[string]error{}
}

// LoseAnswer makes the next call of method succeed in Keycloak and fail for the caller.
func (f *Admin) LoseAnswer(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lost[method] = err
}

// answerLost must be called with f.mu held, after the method did its work.
func (f *Admin) answerLost(method string) error {
	err := f.lost[method]
	delete(f.lost, method)
	return err
}

// enter must be called with f.mu held.
func (f *Admin) enter(method string) error {
	f.calls[method]++
	if fl, ok := f.fail[method]; ok && (f.calls[method] == fl.skip+1 || (fl.always && f.calls[method] > fl.skip)) {
		return fmt.Errorf("%s: %w", method, fl.err)
	}
	return nil
}

func (f *Admin) GroupByPath(_ context.Context, path string) (keycloak.Group, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("GroupByPath"); err != nil {
		return keycloak.Group{}, err
	}
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
	if err := f.enter("CreateGroup"); err != nil {
		return keycloak.Group{}, err
	}
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
	if err := f.enter("Group"); err != nil {
		return keycloak.Group{}, err
	}
	g, ok := f.groups[id]
	if !ok {
		return keycloak.Group{}, keycloak.ErrNotFound
	}
	return g, nil
}

func (f *Admin) GroupRoleMappings(_ context.Context, id string) ([]keycloak.RoleMapping, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("GroupRoleMappings"); err != nil {
		return nil, err
	}
	if _, ok := f.groups[id]; !ok {
		return nil, keycloak.ErrNotFound
	}
	return append([]keycloak.RoleMapping{}, f.roles[id]...), nil
}

// SetGroupRoles maps roles to the group at path (none: removes them all), as a realm
// admin could; false when there is no such group.
func (f *Admin) SetGroupRoles(path string, roles ...keycloak.RoleMapping) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, g := range f.groups {
		if g.Path == path {
			f.roles[id] = roles
			return true
		}
	}
	return false
}

func (f *Admin) ChildGroups(_ context.Context, parentID string) ([]keycloak.Group, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ChildGroups"); err != nil {
		return nil, err
	}
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
	if err := f.enter("DeleteGroup"); err != nil {
		return err
	}
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
	if err := f.enter("GroupHasMembers"); err != nil {
		return false, err
	}
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
	if err := f.enter("CreateServiceClient"); err != nil {
		return "", err
	}
	for _, cl := range f.clients {
		if cl.Info.ClientID == c.ClientID {
			return "", keycloak.ErrConflict
		}
	}
	id, sa := randID(), randID()
	attrs := map[string]string{}
	for k, v := range c.Attributes {
		attrs[k] = v
	}
	f.clients[id] = &Client{ServiceAccount: sa, Secret: "secret-" + randID() + randID(), Info: keycloak.ClientInfo{
		ID: id, ClientID: c.ClientID, Name: c.Name, Description: c.Description, Protocol: "openid-connect",
		Enabled: true, ServiceAccountsEnabled: true, StandardFlowEnabled: len(c.RedirectURIs) > 0,
		RedirectURIs: append([]string{}, c.RedirectURIs...), Attributes: attrs, ACLMapper: true,
		ConsentRequired: len(c.RedirectURIs) > 0,
	}}
	f.members[sa] = map[string]bool{}
	if err := f.answerLost("CreateServiceClient"); err != nil {
		return "", fmt.Errorf("CreateServiceClient: %w", err)
	}
	return id, nil
}

func (f *Admin) ServiceClientByClientID(_ context.Context, clientID string) (keycloak.ClientInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ServiceClientByClientID"); err != nil {
		return keycloak.ClientInfo{}, err
	}
	for _, cl := range f.clients {
		if cl.Info.ClientID == clientID {
			return cl.Info, nil
		}
	}
	return keycloak.ClientInfo{}, keycloak.ErrNotFound
}

func (f *Admin) ClientsWithAttribute(_ context.Context, key string) ([]keycloak.ClientInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ClientsWithAttribute"); err != nil {
		return nil, err
	}
	out := []keycloak.ClientInfo{}
	for _, cl := range f.clients {
		if _, ok := cl.Info.Attributes[key]; ok {
			out = append(out, cl.Info)
		}
	}
	return out, nil
}

func (f *Admin) UpdateServiceClient(_ context.Context, id string, ch keycloak.ClientChange) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("UpdateServiceClient"); err != nil {
		return err
	}
	cl, ok := f.clients[id]
	if !ok {
		return keycloak.ErrNotFound
	}
	if ch.Name != nil {
		cl.Info.Name = *ch.Name
	}
	if ch.Description != nil {
		cl.Info.Description = *ch.Description
	}
	if ch.Enabled != nil {
		cl.Info.Enabled = *ch.Enabled
	}
	if ch.RedirectURIs != nil {
		cl.Info.RedirectURIs = append([]string{}, *ch.RedirectURIs...)
		cl.Info.StandardFlowEnabled = len(cl.Info.RedirectURIs) > 0
		if len(cl.Info.RedirectURIs) > 0 {
			cl.Info.ConsentRequired = true
		}
	}
	if ch.ConsentRequired != nil {
		cl.Info.ConsentRequired = *ch.ConsentRequired
	}
	cl.Info.FullScopeAllowed = false
	return nil
}

func (f *Admin) ServiceClient(_ context.Context, id string) (keycloak.ClientInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ServiceClient"); err != nil {
		return keycloak.ClientInfo{}, err
	}
	cl, ok := f.clients[id]
	if !ok {
		return keycloak.ClientInfo{}, keycloak.ErrNotFound
	}
	return cl.Info, nil
}

func (f *Admin) ClearClientScopeMappings(_ context.Context, id string) (removed, kept []keycloak.RoleMapping, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ClearClientScopeMappings"); err != nil {
		return nil, nil, err
	}
	cl, ok := f.clients[id]
	if !ok {
		return nil, nil, keycloak.ErrNotFound
	}
	for _, r := range cl.Scope {
		if r.Client == "" {
			kept = append(kept, r)
		} else {
			removed = append(removed, r)
		}
	}
	cl.Scope = kept
	if len(kept) > 0 {
		err = keycloak.ErrRealmScopeForbidden
	}
	return removed, kept, err
}

// Tamper changes a client as a realm admin could in Keycloak's console.
func (f *Admin) Tamper(clientID string, fn func(cl *Client)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, cl := range f.clients {
		if cl.Info.ClientID == clientID {
			fn(cl)
		}
	}
}

func (f *Admin) DeleteServiceClient(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("DeleteServiceClient"); err != nil {
		return err
	}
	cl, ok := f.clients[id]
	if !ok {
		return keycloak.ErrNotFound
	}
	delete(f.members, cl.ServiceAccount)
	delete(f.clients, id)
	return nil
}

func (f *Admin) ClientSecret(_ context.Context, id string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ClientSecret"); err != nil {
		return "", err
	}
	cl, ok := f.clients[id]
	if !ok {
		return "", keycloak.ErrNotFound
	}
	return cl.Secret, nil
}

func (f *Admin) RegenerateClientSecret(_ context.Context, id string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("RegenerateClientSecret"); err != nil {
		return "", err
	}
	cl, ok := f.clients[id]
	if !ok {
		return "", keycloak.ErrNotFound
	}
	cl.Secret = "secret-" + randID() + randID()
	return cl.Secret, nil
}

func (f *Admin) ServiceAccountUserID(_ context.Context, id string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ServiceAccountUserID"); err != nil {
		return "", err
	}
	cl, ok := f.clients[id]
	if !ok {
		return "", keycloak.ErrNotFound
	}
	return cl.ServiceAccount, nil
}

func (f *Admin) UserGroups(_ context.Context, userID string) ([]keycloak.Group, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("UserGroups"); err != nil {
		return nil, err
	}
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
	if err := f.enter("AddUserToGroup"); err != nil {
		return err
	}
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
	if err := f.enter("RemoveUserFromGroup"); err != nil {
		return err
	}
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
	if err := f.enter("ClientCredentialsGrant"); err != nil {
		return keycloak.Token{}, err
	}
	for _, cl := range f.clients {
		if cl.Info.ClientID != clientID {
			continue
		}
		if !cl.Info.Enabled || cl.Secret != secret {
			return keycloak.Token{}, keycloak.ErrInvalidClient
		}
		groups := []string{}
		for gid := range f.members[cl.ServiceAccount] {
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

// GroupsOf names the groups a client's service account is in, sorted; false when
// there is no such client.
func (f *Admin) GroupsOf(clientID string) ([]string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, cl := range f.clients {
		if cl.Info.ClientID == clientID {
			out := []string{}
			for gid := range f.members[cl.ServiceAccount] {
				out = append(out, f.groups[gid].Name)
			}
			sort.Strings(out)
			return out, true
		}
	}
	return nil, false
}

// ClientCount is the number of clients in the realm.
func (f *Admin) ClientCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.clients)
}

// HasClient says whether a client of that client_id exists.
func (f *Admin) HasClient(clientID string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, cl := range f.clients {
		if cl.Info.ClientID == clientID {
			return true
		}
	}
	return false
}

// Client is a copy of the client with Keycloak id id.
func (f *Admin) Client(id string) (Client, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cl, ok := f.clients[id]
	if !ok {
		return Client{}, false
	}
	c := *cl
	c.Scope = append([]keycloak.RoleMapping(nil), cl.Scope...)
	return c, true
}

// Calls counts the calls of a method since its last FailOn or FailAlways.
func (f *Admin) Calls(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

// SetMembers makes userID, a user of the realm, a member of exactly groupIDs.
func (f *Admin) SetMembers(userID string, groupIDs ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := map[string]bool{}
	for _, g := range groupIDs {
		m[g] = true
	}
	f.members[userID] = m
}
