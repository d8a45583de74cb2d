package provisioning

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/internal/page"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
)

// ConsumerInput creates a consumer.
type ConsumerInput struct {
	Name        string
	Description string
	Environment string // default production
	ACLGroups   []string
	// ContactEmail is where reminders of the consumer's keys go; "" for none.
	ContactEmail string
}

// ConsumerPatch changes the fields that are not nil.
type ConsumerPatch struct {
	Name        *string
	Description *string
	Environment *string
	ACLGroups   *[]string
	// ContactEmail: "" removes it.
	ContactEmail *string
	// Enabled false refuses the consumer's keys and OAuth clients (each disabled in
	// Keycloak); true lets them work again, each client as its own switch says.
	Enabled *bool
}

// ConsumerQuery selects and pages consumers.
type ConsumerQuery struct {
	Q           string // substring of name or description
	Environment string
	Sort        string // name (default), -name, created_at, -created_at
	Cursor      string
	Limit       int // 1..api.PageLimitMax, default internal/page's
}

// Consumer is an application or team that calls the APIs, as the service hands it out.
type Consumer struct {
	ID          string
	Name        string
	Description string
	Environment string
	ACLGroups   []string // sorted; never nil
	// ContactEmail is where reminders of the consumer's keys go; "" for none.
	ContactEmail string
	Enabled      bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// consumerOf maps a stored consumer.
func consumerOf(c models.Consumer) Consumer {
	groups := slices.Clone(c.ACLGroups)
	if groups == nil {
		groups = []string{}
	}
	return Consumer{ID: c.ID, Name: c.Name, Description: c.Description, Environment: c.Environment,
		ACLGroups: groups, ContactEmail: c.ContactEmail, Enabled: c.Enabled, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// ConsumerPage is one page of consumers; NextCursor is "" on the last page.
type ConsumerPage struct {
	Items      []Consumer
	NextCursor string
}

// CreateConsumer stores a new consumer. It has no Keycloak object of its own: its ACL
// groups must exist, and reach Keycloak through its clients' service accounts.
func (s *Service) CreateConsumer(ctx context.Context, a audit.Actor, in ConsumerInput) (Consumer, error) {
	var f fields
	f.pattern("name", in.Name, consumerName, "1..64 of a-z, 0-9, '.', '_', '-'")
	f.description("description", in.Description, api.ConsumerDescriptionMax)
	env := in.Environment
	if env == "" {
		env = DefaultEnvironment
	}
	f.environment("environment", env)
	f.groupNames("acl_groups", in.ACLGroups)
	f.contactEmail("contact_email", in.ContactEmail)
	if err := f.err(); err != nil {
		return Consumer{}, err
	}
	s.groupsMu.RLock()
	defer s.groupsMu.RUnlock()
	groups, err := s.resolveGroups(ctx, "acl_groups", in.ACLGroups)
	if err != nil {
		return Consumer{}, err
	}
	if err := s.requireNoRoles(ctx, groups); err != nil {
		return Consumer{}, err
	}
	c := models.Consumer{Name: in.Name, Description: in.Description, Environment: env,
		ACLGroups: slices.Clone(in.ACLGroups), ContactEmail: in.ContactEmail, CreatedAt: s.now()}
	err = s.store.CreateConsumer(ctx, &c)
	if errors.Is(err, models.ErrAlreadyExists) {
		return Consumer{}, conflict("a consumer named %q exists already", in.Name)
	}
	if err != nil {
		return Consumer{}, fmt.Errorf("create consumer: %w", err)
	}
	s.record(ctx, a, "consumer.create", "consumer", c.ID, c.ID, map[string]any{
		"name": c.Name, "environment": c.Environment, "acl_groups": c.ACLGroups,
	})
	return consumerOf(c), nil
}

// Consumer returns one consumer; ErrNotFound for an unknown id.
func (s *Service) Consumer(ctx context.Context, id string) (Consumer, error) {
	c, err := s.store.ConsumerByID(ctx, id)
	if err != nil {
		return Consumer{}, err
	}
	return consumerOf(c), nil
}

// ListConsumers returns a page of consumers.
func (s *Service) ListConsumers(ctx context.Context, q ConsumerQuery) (ConsumerPage, error) {
	var f fields
	f.query(q.Q)
	if q.Environment != "" {
		f.environment("environment", q.Environment)
	}
	sortField, desc := parseSort(&f, q.Sort, models.SortName, models.SortName, models.SortCreatedAt)
	limit := f.limit(q.Limit)
	sortKey := q.Sort
	if sortKey == "" {
		sortKey = models.SortName
	}
	scope := page.For("consumers", sortKey, q.Q, q.Environment)
	after := f.after(scope, q.Cursor)
	if err := f.err(); err != nil {
		return ConsumerPage{}, err
	}
	list, err := s.store.ListConsumers(ctx, models.ConsumerFilter{
		Query: q.Q, Environment: q.Environment, Sort: sortField, Desc: desc, After: after, Limit: limit + 1,
	})
	if err != nil {
		return ConsumerPage{}, fmt.Errorf("list consumers: %w", err)
	}
	var next string
	if len(list) > limit {
		list = list[:limit]
		last := list[limit-1]
		next = scope.Cursor(page.Position{Text: last.Name, At: last.CreatedAt, ID: last.ID})
	}
	out := ConsumerPage{Items: make([]Consumer, 0, len(list)), NextCursor: next}
	for _, c := range list {
		out.Items = append(out.Items, consumerOf(c))
	}
	return out, nil
}

// UpdateConsumer applies p. A change of ACL groups is made in Keycloak first, on the
// service account of every client of the consumer, and undone if any step or the
// store update fails; so is a change of enabled, on its key client and OAuth clients.
func (s *Service) UpdateConsumer(ctx context.Context, a audit.Actor, id string, p ConsumerPatch) (Consumer, error) {
	if err := checkConsumerPatch(p); err != nil {
		return Consumer{}, err
	}
	s.groupsMu.RLock()
	defer s.groupsMu.RUnlock()
	defer s.lockConsumer(id)()
	old, err := s.store.ConsumerByID(ctx, id)
	if err != nil {
		return Consumer{}, err
	}
	next, changed := patchedConsumer(old, p)
	u := &undo{log: s.cfg.Log}
	added, removed, changed, err := s.changeInKeycloak(ctx, u, old, &next, p, changed)
	if err != nil {
		u.run(ctx, err)
		return Consumer{}, err
	}
	if len(changed) == 0 {
		return consumerOf(old), nil
	}
	if err := s.store.UpdateConsumer(ctx, &next); err != nil {
		u.run(ctx, err)
		return Consumer{}, consumerStoreError(err, next.Name)
	}
	if next.Name != old.Name {
		s.renameKeyClient(ctx, next.ID, next.Name)
	}
	if next.Enabled != old.Enabled {
		s.dropKeyTokens(next.ID) // after the store says disabled: no exchange caches a token anew
	}
	details := map[string]any{"changed": changed}
	if next.Enabled != old.Enabled {
		details["enabled"] = next.Enabled
	}
	if len(added)+len(removed) > 0 {
		details["acl_groups_added"], details["acl_groups_removed"] = nonNil(added), nonNil(removed)
	}
	s.record(ctx, a, "consumer.update", "consumer", next.ID, next.ID, details)
	return consumerOf(next), nil
}

// checkConsumerPatch names every problem of p at once.
func checkConsumerPatch(p ConsumerPatch) error {
	var f fields
	if p.Name == nil && p.Description == nil && p.Environment == nil && p.ACLGroups == nil && p.ContactEmail == nil && p.Enabled == nil {
		f.add("body", "give at least one of name, description, environment, acl_groups, contact_email, enabled")
	}
	if p.ContactEmail != nil {
		f.contactEmail("contact_email", *p.ContactEmail)
	}
	if p.Name != nil {
		f.pattern("name", *p.Name, consumerName, "1..64 of a-z, 0-9, '.', '_', '-'")
	}
	if p.Description != nil {
		f.description("description", *p.Description, api.ConsumerDescriptionMax)
	}
	if p.Environment != nil {
		f.environment("environment", *p.Environment)
	}
	if p.ACLGroups != nil {
		f.groupNames("acl_groups", *p.ACLGroups)
	}
	return f.err()
}

// patchedConsumer is old with p's plain fields (those only the store holds), and the
// names of those that changed.
func patchedConsumer(old models.Consumer, p ConsumerPatch) (models.Consumer, []string) {
	next := old
	next.ACLGroups = slices.Clone(old.ACLGroups)
	changed := []string{}
	if p.Name != nil && *p.Name != old.Name {
		next.Name, changed = *p.Name, append(changed, "name")
	}
	if p.Description != nil && *p.Description != old.Description {
		next.Description, changed = *p.Description, append(changed, "description")
	}
	if p.Environment != nil && *p.Environment != old.Environment {
		next.Environment, changed = *p.Environment, append(changed, "environment")
	}
	if p.ContactEmail != nil && *p.ContactEmail != old.ContactEmail {
		next.ContactEmail, changed = *p.ContactEmail, append(changed, "contact_email")
	}
	return next, changed
}

// changeInKeycloak makes p's enabled and ACL-group changes on the consumer's key
// client and OAuth clients, pushing the inverse of each step onto u, and sets them in
// next; it returns the groups added and removed and changed with their names added.
func (s *Service) changeInKeycloak(ctx context.Context, u *undo, old models.Consumer, next *models.Consumer, p ConsumerPatch, changed []string) (added, removed, _ []string, _ error) {
	if p.Enabled != nil && *p.Enabled != old.Enabled {
		next.Enabled, changed = *p.Enabled, append(changed, "enabled")
		if err := s.enableKeyClient(ctx, u, old.ID, next.Enabled); err != nil {
			return nil, nil, nil, err
		}
		if err := s.enableClients(ctx, u, old.ID, next.Enabled); err != nil {
			return nil, nil, nil, err
		}
	}
	if p.ACLGroups == nil {
		return nil, nil, changed, nil
	}
	next.ACLGroups = slices.Clone(*p.ACLGroups)
	added, removed = diff(old.ACLGroups, next.ACLGroups)
	if len(added)+len(removed) == 0 {
		return nil, nil, changed, nil
	}
	changed = append(changed, "acl_groups")
	if err := s.moveMemberships(ctx, u, old.ID, added, removed); err != nil {
		return nil, nil, nil, err
	}
	if err := s.moveKeyClient(ctx, u, old.ID, old.ACLGroups, next.ACLGroups); err != nil {
		return nil, nil, nil, err
	}
	return added, removed, changed, nil
}

// consumerStoreError is what the caller is told of a failed store update.
func consumerStoreError(err error, name string) error {
	switch {
	case errors.Is(err, models.ErrAlreadyExists):
		return conflict("a consumer named %q exists already", name)
	case errors.Is(err, models.ErrStale):
		return conflict("the consumer changed meanwhile; read it again and retry")
	case errors.Is(err, models.ErrNotFound):
		return err
	}
	return fmt.Errorf("update consumer: %w", err)
}

// moveMemberships adds the service account of every active client of the consumer to
// the added groups and removes it from the removed ones, pushing the inverse of each
// step onto u. An added group that carries roles is refused before any change; groups
// the consumer keeps are not checked again, so that it can always leave one.
func (s *Service) moveMemberships(ctx context.Context, u *undo, consumerID string, added, removed []string) error {
	addGroups, err := s.resolveGroups(ctx, "acl_groups", added)
	if err != nil {
		return err
	}
	if err := s.requireNoRoles(ctx, addGroups); err != nil {
		return err
	}
	all, err := s.aclGroups(ctx)
	if err != nil {
		return err
	}
	clients, err := s.store.ClientsOfConsumer(ctx, consumerID)
	if err != nil {
		return fmt.Errorf("update consumer: %w", err)
	}
	for _, c := range clients {
		if c.State != models.ClientActive {
			continue // pending: being created (under this lock) or left by a crash for Reconcile
		}
		sa := c.ServiceAccountID
		for _, g := range addGroups {
			if err := s.kc.AddUserToGroup(ctx, sa, g.ID); err != nil {
				return fmt.Errorf("update consumer: client %s: %w", c.ClientID, err)
			}
			u.push("remove from group "+g.Name, func(ctx context.Context) error { return s.kc.RemoveUserFromGroup(ctx, sa, g.ID) })
		}
		for _, name := range removed {
			g, ok := all[name]
			if !ok {
				continue // the group is gone from Keycloak, and with it the membership
			}
			if err := s.kc.RemoveUserFromGroup(ctx, sa, g.ID); err != nil {
				return fmt.Errorf("update consumer: client %s: %w", c.ClientID, err)
			}
			u.push("add back to group "+g.Name, func(ctx context.Context) error { return s.kc.AddUserToGroup(ctx, sa, g.ID) })
		}
	}
	return nil
}

// DeleteConsumer deletes a consumer. One with clients is refused (ErrConflict) unless
// cascade, which deletes its clients first, from Keycloak too. A cascade stopped by a
// failure leaves the consumer with its remaining clients, consistent, to retry.
func (s *Service) DeleteConsumer(ctx context.Context, a audit.Actor, id string, cascade bool) error {
	defer s.lockConsumer(id)()
	c, err := s.store.ConsumerByID(ctx, id)
	if err != nil {
		return err
	}
	clients, err := s.store.ClientsOfConsumer(ctx, c.ID)
	if err != nil {
		return fmt.Errorf("delete consumer: %w", err)
	}
	if len(clients) > 0 && !cascade {
		return conflict("the consumer has %d client(s); delete them first or pass cascade=true", len(clients))
	}
	for _, cl := range clients {
		if err := s.deleteClient(ctx, a, cl, true); err != nil {
			return err
		}
	}
	// Once the consumer is gone, a Keycloak client it left behind with no row (an
	// ambiguous failure's) would name no consumer of this store, and no repair pass
	// would claim it: sweep them now.
	if _, err := s.sweepOrphans(ctx, c.ID); err != nil {
		return fmt.Errorf("delete consumer: %w", err)
	}
	// Its keys are revoked first: a failure below leaves a consumer without live keys,
	// never keys of a consumer that is gone.
	if err := s.deleteKeyClient(ctx, a, c.ID); err != nil {
		return fmt.Errorf("delete consumer: %w", err)
	}
	err = s.store.DeleteConsumer(ctx, c.ID)
	if errors.Is(err, models.ErrHasClients) {
		return conflict("a client was added to the consumer meanwhile; retry")
	}
	if err != nil {
		return fmt.Errorf("delete consumer: %w", err)
	}
	s.record(ctx, a, "consumer.delete", "consumer", c.ID, c.ID, map[string]any{
		"name": c.Name, "cascade": cascade, "clients_deleted": len(clients),
	})
	return nil
}

// enableClients makes Keycloak's enabled of every active client of the consumer the
// client's own switch and the consumer's: a client disabled of its own stays so.
func (s *Service) enableClients(ctx context.Context, u *undo, consumerID string, consumerEnabled bool) error {
	clients, err := s.store.ClientsOfConsumer(ctx, consumerID)
	if err != nil {
		return fmt.Errorf("update consumer: %w", err)
	}
	for _, c := range clients {
		if c.State != models.ClientActive || !c.Enabled {
			continue // pending: CreateClient follows the consumer under this lock
		}
		on, back := consumerEnabled, !consumerEnabled
		if err := s.kc.UpdateServiceClient(ctx, c.KeycloakID, keycloak.ClientChange{Enabled: &on}); err != nil {
			if errors.Is(err, keycloak.ErrNotFound) {
				continue // gone from Keycloak: nothing to refuse
			}
			return fmt.Errorf("update consumer: client %s: %w", c.ClientID, err)
		}
		id := c.KeycloakID
		u.push("set back client "+c.ClientID+"'s enabled", func(ctx context.Context) error {
			return s.kc.UpdateServiceClient(ctx, id, keycloak.ClientChange{Enabled: &back})
		})
	}
	return nil
}

// diff says which names are in next but not old, and in old but not next.
func diff(old, next []string) (added, removed []string) {
	for _, n := range next {
		if !slices.Contains(old, n) {
			added = append(added, n)
		}
	}
	for _, o := range old {
		if !slices.Contains(next, o) {
			removed = append(removed, o)
		}
	}
	return added, removed
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
