package keycloak

// Who a realm user is and what they may do: service-account detection and effective
// roles, for the rules "key owners are people" and "admins do not impersonate upward".

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/Nerzal/gocloak/v13"
)

// serviceAccountPrefix starts the username Keycloak gives every service-account user
// ("service-account-" + the client id, lower case). People may be named so too, so the
// prefix alone proves nothing: IsServiceAccount asks which client owns the user.
const serviceAccountPrefix = "service-account-"

// Roles are effective roles: realm roles and, per client id, client roles.
type Roles struct {
	Realm   []string
	Clients map[string][]string
}

// IsServiceAccount reports whether the user is the service account of a client of the
// realm. Keycloak does not say so in the user representation; it is the user named
// serviceAccountPrefix+clientId of a client with service accounts on. Answers are
// cached for a few minutes (they change only when clients come and go).
func (c *Client) IsServiceAccount(ctx context.Context, userID, username string) (bool, error) {
	if !strings.HasPrefix(strings.ToLower(username), serviceAccountPrefix) {
		return false, nil
	}
	if v, ok := c.principals.get(userID, time.Now()); ok {
		return v, nil
	}
	token, err := c.adminAccessToken(ctx)
	if err != nil {
		return false, err
	}
	candidate := username[len(serviceAccountPrefix):]
	clients, err := c.admin.GetClients(ctx, token, c.cfg.Realm, gocloak.GetClientsParams{
		ClientID: gocloak.StringP(candidate), Search: gocloak.BoolP(true),
	})
	if err != nil {
		return false, classify("find client of service account", err)
	}
	found := false
	for _, cl := range clients {
		if !strings.EqualFold(gocloak.PString(cl.ClientID), candidate) || !gocloak.PBool(cl.ServiceAccountsEnabled) {
			continue
		}
		sa, err := c.admin.GetClientServiceAccount(ctx, token, c.cfg.Realm, gocloak.PString(cl.ID))
		if err != nil {
			return false, classify("get service-account user", err)
		}
		if gocloak.PString(sa.ID) == userID {
			found = true
			break
		}
	}
	c.principals.put(userID, found, time.Now())
	return found, nil
}

// EffectiveRoles returns the user's realm roles and the roles of the named clients,
// composites and group-inherited roles included: what a token with the full scope
// would carry.
func (c *Client) EffectiveRoles(ctx context.Context, userID string, clientIDs []string) (Roles, error) {
	token, err := c.adminAccessToken(ctx)
	if err != nil {
		return Roles{}, err
	}
	out := Roles{Clients: map[string][]string{}}
	realm, err := c.admin.GetCompositeRealmRolesByUserID(ctx, token, c.cfg.Realm, userID)
	if err != nil {
		return Roles{}, classify("effective realm roles", err)
	}
	for _, r := range realm {
		out.Realm = append(out.Realm, gocloak.PString(r.Name))
	}
	for _, clientID := range clientIDs {
		id, err := c.clientUUID(ctx, token, clientID)
		if errors.Is(err, ErrNotFound) {
			continue // no such client: no roles of it
		}
		if err != nil {
			return Roles{}, err
		}
		roles, err := c.admin.GetCompositeClientRolesByUserID(ctx, token, c.cfg.Realm, id, userID)
		if err != nil {
			return Roles{}, classify("effective client roles", err)
		}
		for _, r := range roles {
			out.Clients[clientID] = append(out.Clients[clientID], gocloak.PString(r.Name))
		}
	}
	return out, nil
}

// clientUUID finds Keycloak's internal id of a client by its client_id.
func (c *Client) clientUUID(ctx context.Context, token, clientID string) (string, error) {
	list, err := c.admin.GetClients(ctx, token, c.cfg.Realm, gocloak.GetClientsParams{ClientID: gocloak.StringP(clientID)})
	if err != nil {
		return "", classify("find client", err)
	}
	for _, cl := range list {
		if gocloak.PString(cl.ClientID) == clientID {
			return gocloak.PString(cl.ID), nil
		}
	}
	return "", fmt.Errorf("find client %q: %w", clientID, ErrNotFound)
}

// IssuedClaims are the parts of a token Keycloak has just issued to Keyward that the
// exchange checks before handing it out.
type IssuedClaims struct {
	Subject  string
	Username string
	// AuthParty (azp) is the client the token was issued to.
	AuthParty string
	Roles     Roles
}

// ReadIssued decodes the payload of an access token that came straight from the
// realm's token endpoint over Keyward's own connection, without checking its
// signature: the question is what it carries, not who made it.
func ReadIssued(accessToken string) (IssuedClaims, error) {
	parts := strings.Split(accessToken, ".")
	if len(parts) != 3 {
		return IssuedClaims{}, errors.New("issued token is not a JWS")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return IssuedClaims{}, fmt.Errorf("issued token payload: %w", err)
	}
	var p struct {
		Sub         string `json:"sub"`
		Azp         string `json:"azp"`
		Username    string `json:"preferred_username"`
		RealmAccess struct {
			Roles []string `json:"roles"`
		} `json:"realm_access"`
		ResourceAccess map[string]struct {
			Roles []string `json:"roles"`
		} `json:"resource_access"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return IssuedClaims{}, fmt.Errorf("issued token payload: %w", err)
	}
	out := IssuedClaims{Subject: p.Sub, Username: p.Username, AuthParty: p.Azp, Roles: Roles{Realm: p.RealmAccess.Roles, Clients: map[string][]string{}}}
	for client, ra := range p.ResourceAccess {
		out.Roles.Clients[client] = ra.Roles
	}
	return out, nil
}

// principalCache remembers IsServiceAccount answers for a while, bounded in size.
type principalCache struct {
	mu      sync.Mutex
	entries map[string]principalEntry
}

type principalEntry struct {
	serviceAccount bool
	until          time.Time
}

const (
	principalTTL     = 5 * time.Minute
	principalMaxSize = 10000
)

func (p *principalCache) get(id string, now time.Time) (bool, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.entries[id]
	if !ok || now.After(e.until) {
		return false, false
	}
	return e.serviceAccount, true
}

func (p *principalCache) put(id string, sa bool, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.entries == nil || len(p.entries) >= principalMaxSize {
		p.entries = map[string]principalEntry{} // crude but bounded: start over
	}
	p.entries[id] = principalEntry{serviceAccount: sa, until: now.Add(principalTTL)}
}
