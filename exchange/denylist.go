package exchange

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/keyward/keyward/keycloak"
)

// RealmManagementClient holds the client roles that administer a Keycloak realm. Its
// roles are always denied, whatever the configured list says.
const RealmManagementClient = "realm-management"

// RoleDenylist names roles that no token handed out for an API key may carry and that
// no admin may act upon (creating or rotating a key for a user who holds one).
// Entries are realm role names, or "client:role" for a client role, or "client:*" for
// every role of a client; the client id ends at the last colon.
type RoleDenylist struct {
	realm   map[string]bool
	clients map[string]map[string]bool // "*" stands for every role of the client
}

// NewRoleDenylist parses entries; realm-management:* is always in the list.
func NewRoleDenylist(entries []string) (RoleDenylist, error) {
	d := RoleDenylist{realm: map[string]bool{}, clients: map[string]map[string]bool{}}
	d.addClientRole(RealmManagementClient, "*")
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		i := strings.LastIndex(e, ":")
		switch {
		case i < 0:
			d.realm[e] = true
		case i == 0 || i == len(e)-1:
			return RoleDenylist{}, fmt.Errorf("denied role %q: write a realm role, client:role or client:*", e)
		default:
			d.addClientRole(e[:i], e[i+1:])
		}
	}
	return d, nil
}

func (d RoleDenylist) addClientRole(client, role string) {
	if d.clients[client] == nil {
		d.clients[client] = map[string]bool{}
	}
	d.clients[client][role] = true
}

// Clients lists the client ids the list names, sorted: the clients whose roles must be
// looked at.
func (d RoleDenylist) Clients() []string {
	out := make([]string, 0, len(d.clients))
	for c := range d.clients {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// Match returns the first denied role that roles hold ("name" or "client:name").
func (d RoleDenylist) Match(roles keycloak.Roles) (string, bool) {
	realm := slices.Clone(roles.Realm)
	sort.Strings(realm)
	for _, r := range realm {
		if d.realm[r] {
			return r, true
		}
	}
	clients := make([]string, 0, len(roles.Clients))
	for c := range roles.Clients {
		clients = append(clients, c)
	}
	sort.Strings(clients)
	for _, c := range clients {
		denied := d.clients[c]
		if denied == nil {
			continue
		}
		for _, r := range roles.Clients[c] {
			if denied["*"] || denied[r] {
				return c + ":" + r, true
			}
		}
	}
	return "", false
}

// String lists the entries, for logs and messages.
func (d RoleDenylist) String() string {
	var out []string
	for r := range d.realm {
		out = append(out, r)
	}
	for c, roles := range d.clients {
		for r := range roles {
			out = append(out, c+":"+r)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}
