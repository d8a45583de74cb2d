package provisioning

// ACL groups carry no roles. Keycloak gives the members of a group the roles mapped to
// it and to every one of its ancestors, so a service account (or a person) put into an
// ACL group that has role mappings — its own or a parent's — would get roles, not only
// an acl_groups entry. Keyward checks before it creates an ACL group or puts anyone in
// one, and every repair pass reports the groups that gained roles since.

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/keyward/keyward/keycloak"
)

// maxGroupDepth bounds the walk up a group's ancestors; Keycloak's trees are far
// shallower, and a longer chain means an answer Keyward does not understand.
const maxGroupDepth = 64

// roleCheck looks role mappings up for one operation, asking Keycloak once per group
// (the ACL parent is shared by every group checked).
type roleCheck struct {
	kc     Keycloak
	roles  map[string][]keycloak.RoleMapping // group id → its own mappings
	groups map[string]keycloak.Group         // ancestors read so far, by id
}

func (s *Service) newRoleCheck() *roleCheck {
	return &roleCheck{kc: s.kc, roles: map[string][]keycloak.RoleMapping{}, groups: map[string]keycloak.Group{}}
}

func (rc *roleCheck) own(ctx context.Context, id string) ([]keycloak.RoleMapping, error) {
	if r, ok := rc.roles[id]; ok {
		return r, nil
	}
	r, err := rc.kc.GroupRoleMappings(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("role mappings of a group: %w", err)
	}
	rc.roles[id] = r
	return r, nil
}

func (rc *roleCheck) group(ctx context.Context, id string) (keycloak.Group, error) {
	if g, ok := rc.groups[id]; ok {
		return g, nil
	}
	g, err := rc.kc.Group(ctx, id)
	if err != nil {
		return keycloak.Group{}, fmt.Errorf("parent of a group: %w", err)
	}
	rc.groups[id] = g
	return g, nil
}

// carrier walks from start up to the top and returns the first group that has role
// mappings, with them; ok is false when none has.
func (rc *roleCheck) carrier(ctx context.Context, start keycloak.Group) (g keycloak.Group, roles []keycloak.RoleMapping, ok bool, err error) {
	g = start
	for depth := 0; ; depth++ {
		if depth == maxGroupDepth {
			return keycloak.Group{}, nil, false, errors.New("role mappings of a group: its ancestors go deeper than Keyward follows")
		}
		roles, err := rc.own(ctx, g.ID)
		if err != nil {
			return keycloak.Group{}, nil, false, err
		}
		if len(roles) > 0 {
			return g, roles, true, nil
		}
		if g.ParentID == "" {
			return keycloak.Group{}, nil, false, nil
		}
		if g, err = rc.group(ctx, g.ParentID); err != nil {
			return keycloak.Group{}, nil, false, err
		}
	}
}

// problem says why g cannot serve as an ACL group ("" when it can), naming the group
// that carries the roles and the roles.
func (rc *roleCheck) problem(ctx context.Context, g ACLGroup) (string, error) {
	c, roles, ok, err := rc.carrier(ctx, g.keycloakGroup())
	if err != nil || !ok {
		return "", err
	}
	if c.ID == g.ID {
		return fmt.Sprintf("the ACL group %q carries roles (%s): every member would get them, and an ACL group must carry none; "+
			"remove its role mappings in Keycloak first", g.Name, describeRoles(roles)), nil
	}
	return fmt.Sprintf("the ACL group %q inherits roles from its parent group %q (%s): every member would get them, and an ACL group "+
		"must carry none, its own or inherited; remove the parent's role mappings in Keycloak first", g.Name, c.Path, describeRoles(roles)), nil
}

// requireNoRoles refuses (ErrConflict) when any of groups carries roles, naming each.
func (s *Service) requireNoRoles(ctx context.Context, groups []ACLGroup) error {
	rc := s.newRoleCheck()
	var problems []string
	for _, g := range groups {
		p, err := rc.problem(ctx, g)
		if err != nil {
			return err
		}
		if p != "" {
			problems = append(problems, p)
		}
	}
	if len(problems) > 0 {
		return conflict("%s", strings.Join(problems, "; "))
	}
	return nil
}

// requireParentWithoutRoles refuses (ErrConflict) to create an ACL group under a parent
// that carries roles, its own or inherited: the new group would inherit them.
func (s *Service) requireParentWithoutRoles(ctx context.Context, parentID string) error {
	if parentID == "" {
		return nil // top level: a new group has no mappings
	}
	rc := s.newRoleCheck()
	parent, err := rc.group(ctx, parentID)
	if err != nil {
		return err
	}
	c, roles, ok, err := rc.carrier(ctx, parent)
	if err != nil || !ok {
		return err
	}
	if c.ID == parent.ID {
		return conflict("the ACL parent group %q carries roles (%s): every member of an ACL group under it would get them; "+
			"remove its role mappings in Keycloak first", parent.Path, describeRoles(roles))
	}
	return conflict("the ACL parent group %q inherits roles from %q (%s): every member of an ACL group under it would get them; "+
		"remove those role mappings in Keycloak first", parent.Path, c.Path, describeRoles(roles))
}

// describeRoles lists a few roles for a message.
func describeRoles(roles []keycloak.RoleMapping) string {
	const shown = 5
	parts := make([]string, 0, shown+1)
	for i, r := range roles {
		if i == shown {
			parts = append(parts, fmt.Sprintf("and %d more", len(roles)-shown))
			break
		}
		parts = append(parts, r.String())
	}
	return strings.Join(parts, ", ")
}
