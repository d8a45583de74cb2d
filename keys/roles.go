package keys

// Keys limited to part of their owner's roles. A key names the roles it carries
// (realm roles by name, client roles as <clientId>:<role>); each must be, when named,
// an effective role of the owner, off the denylist and within the unrestricted
// exchange client's scope, so that a limited key never carries what an unrestricted
// key of the same owner could not. Keycloak enforces the limit at every exchange
// (exchange.LimitedMinter); this file decides what may be asked for.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/internal/safetext"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
)

// RoleLimits is what limiting keys to roles needs of Keycloak; server wires it on
// keycloak.Client, with the limited client ensured before the first role scope.
type RoleLimits interface {
	// ExchangeCeiling: the roles the unrestricted exchange client's tokens may carry
	// (all: any role).
	ExchangeCeiling(ctx context.Context) (roles keycloak.Roles, all bool, err error)
	// EnsureRoleScope makes the role's scope (kwr.<role id>) exist on the limited client.
	EnsureRoleScope(ctx context.Context, role keycloak.RoleMapping) (keycloak.RoleScope, error)
}

// ACLGroupsRefused is why a key cannot be limited to some of its owner's ACL groups.
const ACLGroupsRefused = "Keycloak cannot limit a token's acl_groups claim to part of the owner's groups " +
	"(its group-membership mapper has no filter), so a key always carries all of its owner's ACL groups"

// ErrRealmSetup: Keycloak refused Keyward something the realm's operator must permit.
var ErrRealmSetup = errs.New(errs.Conflict, "the realm does not permit this to Keyward")

// wantedRole is a role a request names, parsed.
type wantedRole struct {
	field string // roles[i]
	text  string // as given: "name" or "client:name"
	role  keycloak.RoleMapping
}

// validRoles parses the roles of a request: at most api.KeyRolesMax, each a realm role
// name or <clientId>:<role> (the client id ends at the last colon, as in the denylist);
// repeats are dropped. nil for none.
func validRoles(verr *errs.Validation, list []string) []wantedRole {
	if len(list) > api.KeyRolesMax {
		verr.Add("roles", fmt.Sprintf("at most %d roles", api.KeyRolesMax))
		return nil
	}
	var out []wantedRole
	for i, s := range list {
		field := fmt.Sprintf("roles[%d]", i)
		problem := safetext.Problem(s, false)
		switch {
		case s == "" || strings.TrimSpace(s) != s:
			problem = "must be a role name without blanks at either end"
		case utf8.RuneCountInString(s) > api.KeyRoleMax:
			problem = fmt.Sprintf("must be at most %d characters", api.KeyRoleMax)
		}
		role := keycloak.RoleMapping{Role: s}
		if c := strings.LastIndex(s, ":"); c >= 0 {
			role = keycloak.RoleMapping{Client: s[:c], Role: s[c+1:]}
			if role.Client == "" || role.Role == "" {
				problem = "must be a realm role's name or <clientId>:<role>"
			}
		}
		if problem != "" {
			verr.Add(field, problem)
			continue
		}
		if !slices.ContainsFunc(out, func(w wantedRole) bool { return w.text == s }) {
			out = append(out, wantedRole{field: field, text: s, role: role})
		}
	}
	return out
}

// validLimit adds the problems of p's limit (roles, acl_groups) to err, the problems

// ConsumerRolesRefused: a consumer key's token is its service account's, which holds
// no role; there is nothing to limit.
const ConsumerRolesRefused = "a consumer's key carries no roles (the consumer's service account holds none): roles apply to users' keys"

// of p's other fields, so that the caller sees every problem at once.
func validLimit(p CreateParams, err error) ([]wantedRole, error) {
	verr := &errs.Validation{}
	if !errors.As(err, &verr) {
		if err != nil {
			return nil, err
		}
		verr = &errs.Validation{}
	}
	if len(p.ACLGroups) > 0 {
		verr.Add("acl_groups", ACLGroupsRefused)
	}
	if p.Consumer != "" && len(p.Roles) > 0 {
		verr.Add("roles", ConsumerRolesRefused)
	}
	wanted := validRoles(verr, p.Roles)
	return wanted, verr.Err()
}

// roleText is a role as keys show it: "name", or "client:name".
func roleText(r models.KeyRole) string {
	if r.Client == "" {
		return r.Name
	}
	return r.Client + ":" + r.Name
}

// roleTexts are the roles of a stored limit as keys show them; nil when not limited.
func roleTexts(row models.Key) []string {
	roles := row.KeyRoles()
	if roles == nil {
		return nil
	}
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = roleText(r)
	}
	return out
}

// limitTo checks the wanted roles against owner's roles now, the denylist and the
// exchange client's scope, then makes their role scopes: the limit to store. Every
// problem of a role is a field problem naming it; nothing per key is made in Keycloak.
func (k *Service) limitTo(ctx context.Context, owner exchange.Owner, wanted []wantedRole) ([]models.KeyRole, error) {
	if len(wanted) == 0 {
		return nil, nil
	}
	if k.roleLimits == nil || k.roles == nil {
		return nil, errs.Field("roles", "this server does not limit keys to roles")
	}
	var clients []string
	for _, w := range wanted {
		if w.role.Client != "" && !slices.Contains(clients, w.role.Client) {
			clients = append(clients, w.role.Client)
		}
	}
	held, err := k.roles.EffectiveRoles(ctx, owner.ID, clients)
	if err != nil {
		return nil, fmt.Errorf("effective roles of %s: %w", owner.ID, err)
	}
	ceiling, all, err := k.roleLimits.ExchangeCeiling(ctx)
	if err != nil {
		return nil, fmt.Errorf("exchange ceiling: %w", err)
	}
	verr := &errs.Validation{}
	for _, w := range wanted {
		one := keycloak.Roles{Clients: map[string][]string{}}
		if w.role.Client == "" {
			one.Realm = []string{w.role.Role}
		} else {
			one.Clients[w.role.Client] = []string{w.role.Role}
		}
		switch _, denied := k.deny.Match(one); {
		case denied || w.role.Client == exchange.RealmManagementClient:
			verr.Add(w.field, fmt.Sprintf("%s is on Keyward's role denylist: no key may carry it", w.text))
		case !hasRole(held, w.role):
			verr.Add(w.field, fmt.Sprintf("%s is not a role %s holds", w.text, owner.Username))
		case !all && !hasRole(ceiling, w.role):
			verr.Add(w.field, fmt.Sprintf("%s is outside the exchange client's scope: no key may carry it (the realm's operator puts roles keys may carry into that scope)", w.text))
		}
	}
	if err := verr.Err(); err != nil {
		return nil, err
	}
	out := make([]models.KeyRole, 0, len(wanted))
	for _, w := range wanted {
		scope, err := k.roleLimits.EnsureRoleScope(ctx, w.role)
		var forbidden *keycloak.RoleScopeForbiddenError
		switch {
		case errors.As(err, &forbidden):
			return nil, errs.Because(ErrRealmSetup, "%s: %s", w.field, forbidden.Error())
		case errors.Is(err, keycloak.ErrNotFound):
			return nil, errs.Field(w.field, fmt.Sprintf("%s: no such role in the realm", w.text))
		case err != nil:
			return nil, fmt.Errorf("role scope of %s: %w", w.role, err)
		}
		out = append(out, models.KeyRole{ID: scope.RoleID, Client: w.role.Client, Name: w.role.Role})
	}
	return out, nil
}

func hasRole(roles keycloak.Roles, r keycloak.RoleMapping) bool {
	if r.Client == "" {
		return slices.Contains(roles.Realm, r.Role)
	}
	return slices.Contains(roles.Clients[r.Client], r.Role)
}

// narrowRoles is the limit of a key limited to current after a request for wanted:
// a subset of current, never more. nil and no error when wanted widens; the field
// problem says which role.
func narrowRoles(current []models.KeyRole, wanted []wantedRole) ([]models.KeyRole, error) {
	verr := &errs.Validation{}
	var out []models.KeyRole
	for _, w := range wanted {
		i := slices.IndexFunc(current, func(r models.KeyRole) bool { return roleText(r) == w.text })
		if i < 0 {
			verr.Add(w.field, fmt.Sprintf("%s is not among the key's roles: a key's roles may be narrowed, never widened", w.text))
			continue
		}
		out = append(out, current[i])
	}
	return out, verr.Err()
}

// rolesChange is a PATCH of a key's roles, prepared before the store's transaction
// (limiting a key that is not limited yet asks Keycloak, as a creation does).
type rolesChange struct {
	set    bool
	wanted []wantedRole
	fresh  string // the limit of a key not limited when read
}

// validNarrow adds the problems of p's roles to err, the problems of p's other fields.
func validNarrow(p UpdateParams, err error) ([]wantedRole, error) {
	if p.Roles == nil {
		return nil, err
	}
	verr := &errs.Validation{}
	if !errors.As(err, &verr) {
		if err != nil {
			return nil, err
		}
		verr = &errs.Validation{}
	}
	if len(*p.Roles) == 0 {
		verr.Add("roles", "give at least one role: a key's roles may be narrowed, never removed")
	}
	wanted := validRoles(verr, *p.Roles)
	return wanted, verr.Err()
}

// prepareRoles reads key id; when it is not limited yet, wanted is checked and made
// ready as at creation (narrowing from all of the owner's roles to some).
func (k *Service) prepareRoles(ctx context.Context, ownerFilter, id string, wanted []wantedRole) (rolesChange, error) {
	rc := rolesChange{set: true, wanted: wanted}
	cur, err := k.store.KeyByID(ctx, ownerFilter, id)
	if err == nil && cur.OwnerType == models.OwnerConsumer {
		return rc, errs.Field("roles", ConsumerRolesRefused)
	}
	if err != nil || cur.Roles != "" {
		return rc, err
	}
	limit, err := k.limitTo(ctx, exchange.Owner{ID: cur.OwnerID, Username: cur.OwnerUsername}, wanted)
	rc.fresh = models.JoinKeyRoles(limit)
	return rc, err
}

// apply narrows key's roles; changed says whether they changed.
func (rc rolesChange) apply(key *models.Key) (changed bool, err error) {
	if !rc.set {
		return false, nil
	}
	col := rc.fresh
	if key.Roles != "" { // limited (maybe meanwhile): a subset of its roles
		limit, err := narrowRoles(key.KeyRoles(), rc.wanted)
		if err != nil {
			return false, err
		}
		col = models.JoinKeyRoles(limit)
	}
	if col == "" {
		return false, errors.New("narrow roles: no limit prepared for a key that is not limited")
	}
	changed = col != key.Roles
	key.Roles = col
	return changed, nil
}

// LimitableRoles are the roles the caller may limit a key of their own to, as keys
// name them, sorted: their effective roles within the exchange client's scope and off
// the denylist. Client roles are looked up for the clients named in that scope only
// (a full-scope exchange client: realm roles alone, as listing every client's would
// mean asking for every client of the realm). None when keys cannot be limited.
func (k *Service) LimitableRoles(ctx context.Context, a audit.Actor) ([]string, error) {
	if k.roleLimits == nil || k.roles == nil {
		return nil, nil
	}
	ceiling, all, err := k.roleLimits.ExchangeCeiling(ctx)
	if err != nil {
		return nil, fmt.Errorf("exchange ceiling: %w", err)
	}
	var clients []string
	for c := range ceiling.Clients {
		if c != exchange.RealmManagementClient {
			clients = append(clients, c)
		}
	}
	held, err := k.roles.EffectiveRoles(ctx, a.ID, clients)
	if err != nil {
		return nil, fmt.Errorf("effective roles of %s: %w", a.ID, err)
	}
	var out []string
	offer := func(r keycloak.RoleMapping, text string) {
		one := keycloak.Roles{Realm: []string{r.Role}}
		if r.Client != "" {
			one = keycloak.Roles{Clients: map[string][]string{r.Client: {r.Role}}}
		}
		if _, denied := k.deny.Match(one); !denied && r.Client != exchange.RealmManagementClient && (all || hasRole(ceiling, r)) {
			out = append(out, text)
		}
	}
	for _, r := range held.Realm {
		offer(keycloak.RoleMapping{Role: r}, r)
	}
	for c, roles := range held.Clients {
		for _, r := range roles {
			offer(keycloak.RoleMapping{Client: c, Role: r}, c+":"+r)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
