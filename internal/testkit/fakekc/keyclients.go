package fakekc

import (
	"context"

	"github.com/keyward/keyward/keycloak"
)

// EnsureKeyClient creates a key client or finds it again (same ids), and sets its
// service account's groups, as keycloak.EnsureKeyClient does; another client of that
// client_id without the key-client mark: ErrConflict.
func (f *Admin) EnsureKeyClient(ctx context.Context, c keycloak.KeyClient) (keycloak.KeyClientIDs, error) {
	f.mu.Lock()
	var found *Client
	for _, cl := range f.clients {
		if cl.Info.ClientID == c.ClientID {
			found = cl
		}
	}
	if found == nil {
		id, sa := randID(), randID()
		attrs := map[string]string{keycloak.AttrKeyClient: "true"}
		for k, v := range c.Attributes {
			attrs[k] = v
		}
		found = &Client{ServiceAccount: sa, Info: keycloak.ClientInfo{ID: id, ClientID: c.ClientID, Name: c.Name,
			Description: c.Description, Protocol: "openid-connect", Enabled: true, ServiceAccountsEnabled: true,
			Attributes: attrs, ACLMapper: true}}
		f.clients[id] = found
		f.members[sa] = map[string]bool{}
	} else if found.Info.Attributes[keycloak.AttrKeyClient] != "true" {
		f.mu.Unlock()
		return keycloak.KeyClientIDs{}, keycloak.ErrConflict
	}
	ids := keycloak.KeyClientIDs{ID: found.Info.ID, ClientID: found.Info.ClientID, ServiceAccountID: found.ServiceAccount}
	f.mu.Unlock()
	return ids, f.SetUserGroups(ctx, ids.ServiceAccountID, c.Groups)
}

// SetUserGroups makes userID a member of exactly groupIDs.
func (f *Admin) SetUserGroups(_ context.Context, userID string, groupIDs []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.members[userID]; !ok {
		return keycloak.ErrNotFound
	}
	m := map[string]bool{}
	for _, g := range groupIDs {
		if _, ok := f.groups[g]; !ok {
			return keycloak.ErrNotFound
		}
		m[g] = true
	}
	f.members[userID] = m
	return nil
}
