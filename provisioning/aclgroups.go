package provisioning

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
)

// ACLGroup is a Keycloak group under the ACL parent. Tokens carry its Name in the
// acl_groups claim of every member.
type ACLGroup struct {
	ID          string // Keycloak's group id
	Name        string
	Path        string
	Description string

	parentID string // its parent's id: its members get the parent's roles too
}

func aclGroup(g keycloak.Group) ACLGroup {
	return ACLGroup{ID: g.ID, Name: g.Name, Path: g.Path, Description: g.Description, parentID: g.ParentID}
}

func (g ACLGroup) keycloakGroup() keycloak.Group {
	return keycloak.Group{ID: g.ID, Name: g.Name, Path: g.Path, Description: g.Description, ParentID: g.parentID}
}

// ACLGroupInput creates an ACL group.
type ACLGroupInput struct {
	Name        string
	Description string
}

// parent returns the id of the ACL parent group, creating it on first use; "" when
// the ACL groups are the realm's top-level groups.
func (s *Service) parent(ctx context.Context) (string, error) {
	if s.cfg.ParentGroup == "" {
		return "", nil
	}
	s.parentMu.Lock()
	defer s.parentMu.Unlock()
	if s.parentID != "" {
		return s.parentID, nil
	}
	path := "/" + s.cfg.ParentGroup
	g, err := s.kc.GroupByPath(ctx, path)
	if errors.Is(err, keycloak.ErrNotFound) {
		g, err = s.kc.CreateGroup(ctx, "", s.cfg.ParentGroup, "ACL groups managed by Keyward")
		if errors.Is(err, keycloak.ErrConflict) { // created meanwhile by another instance
			g, err = s.kc.GroupByPath(ctx, path)
		}
	}
	if err != nil {
		return "", fmt.Errorf("ACL parent group: %w", err)
	}
	s.parentID = g.ID
	return g.ID, nil
}

// aclGroups lists the ACL groups by name. A parent deleted behind Keyward's back is
// looked up (and created) again once.
func (s *Service) aclGroups(ctx context.Context) (map[string]ACLGroup, error) {
	for attempt := 0; ; attempt++ {
		pid, err := s.parent(ctx)
		if err != nil {
			return nil, err
		}
		list, err := s.kc.ChildGroups(ctx, pid)
		if errors.Is(err, keycloak.ErrNotFound) && pid != "" && attempt == 0 {
			s.forgetParent(pid)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list ACL groups: %w", err)
		}
		out := make(map[string]ACLGroup, len(list))
		for _, g := range list {
			out[g.Name] = aclGroup(g)
		}
		return out, nil
	}
}

func (s *Service) forgetParent(id string) {
	s.parentMu.Lock()
	defer s.parentMu.Unlock()
	if s.parentID == id {
		s.parentID = ""
	}
}

// ListACLGroups returns every ACL group, by name.
func (s *Service) ListACLGroups(ctx context.Context) ([]ACLGroup, error) {
	groups, err := s.aclGroups(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ACLGroup, 0, len(groups))
	for _, g := range groups {
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b ACLGroup) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// CreateACLGroup creates a Keycloak group under the parent.
func (s *Service) CreateACLGroup(ctx context.Context, a audit.Actor, in ACLGroupInput) (ACLGroup, error) {
	var f fields
	f.pattern("name", in.Name, aclGroupName, api.ACLGroupRule)
	f.description("description", in.Description, api.KeycloakDescriptionMax)
	if err := f.err(); err != nil {
		return ACLGroup{}, err
	}
	pid, err := s.parent(ctx)
	if err != nil {
		return ACLGroup{}, err
	}
	if err := s.requireParentWithoutRoles(ctx, pid); err != nil {
		return ACLGroup{}, err
	}
	g, err := s.kc.CreateGroup(ctx, pid, in.Name, in.Description)
	if errors.Is(err, keycloak.ErrConflict) {
		return ACLGroup{}, conflict("an ACL group named %q exists already", in.Name)
	}
	if err != nil {
		return ACLGroup{}, fmt.Errorf("create ACL group: %w", err)
	}
	out := aclGroup(g)
	s.record(ctx, a, "acl_group.create", "acl_group", out.Name, "", map[string]any{"keycloak_id": out.ID})
	return out, nil
}

// DeleteACLGroup deletes an ACL group that no consumer uses and no Keycloak user is a
// member of (ErrConflict otherwise).
func (s *Service) DeleteACLGroup(ctx context.Context, a audit.Actor, name string) error {
	// Exclusive: no consumer may take the group up while it is checked and deleted.
	s.groupsMu.Lock()
	defer s.groupsMu.Unlock()
	groups, err := s.aclGroups(ctx)
	if err != nil {
		return err
	}
	g, ok := groups[name]
	if !ok {
		return fmt.Errorf("ACL group: %w", models.ErrNotFound)
	}
	n, err := s.store.CountConsumersWithACLGroup(ctx, name)
	if err != nil {
		return fmt.Errorf("delete ACL group: %w", err)
	}
	if n > 0 {
		return conflict("the ACL group %q is used by %d consumer(s); remove it from them first", name, n)
	}
	members, err := s.kc.GroupHasMembers(ctx, g.ID)
	if err != nil {
		return fmt.Errorf("delete ACL group: %w", err)
	}
	if members {
		return conflict("the ACL group %q has members in Keycloak; remove them first", name)
	}
	if err := s.kc.DeleteGroup(ctx, g.ID); err != nil && !errors.Is(err, keycloak.ErrNotFound) {
		return fmt.Errorf("delete ACL group: %w", err)
	}
	s.record(ctx, a, "acl_group.delete", "acl_group", name, "", map[string]any{"keycloak_id": g.ID})
	return nil
}

// resolveGroups maps names to ACL groups; unknown names become field errors of field.
func (s *Service) resolveGroups(ctx context.Context, field string, names []string) ([]ACLGroup, error) {
	if len(names) == 0 {
		return nil, nil
	}
	groups, err := s.aclGroups(ctx)
	if err != nil {
		return nil, err
	}
	var f fields
	out := make([]ACLGroup, 0, len(names))
	for i, n := range names {
		g, ok := groups[n]
		if !ok {
			f.add(fmt.Sprintf("%s[%d]", field, i), "no ACL group is named %q", n)
			continue
		}
		out = append(out, g)
	}
	return out, f.err()
}
