package provisioning

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
)

// reconciler is the actor of the changes Reconcile makes in the audit trail.
var reconciler = audit.Actor{ID: "keyward", Name: "keyward-reconciler"}

// Report says what one Reconcile pass did.
type Report struct {
	// Settled counts pending or deleting rows finished: their Keycloak client (if
	// any) and the row deleted.
	Settled int
	// MembershipsFixed counts group memberships added or removed so that each
	// client's service account is in exactly its consumer's ACL groups.
	MembershipsFixed int
	// OrphansRemoved counts Keycloak clients that carried Keyward's id attribute with
	// no row of this store behind them (an ambiguous failure's leftovers), deleted.
	OrphansRemoved int
	// ACLGroupsWithRoles names the ACL groups that carry roles, their own or an
	// ancestor's, sorted. They are logged at error level and counted in the metric;
	// no service account is added to them until the roles are gone.
	ACLGroupsWithRoles []string
	// ClientsRepaired counts active clients found full-scope, with role scope mappings
	// or consent-free with redirect URIs, and put right (each audited).
	ClientsRepaired int
	// ClientsUnrepaired names, sorted by client_id, the clients found so that could not
	// be put right (or not checked): logged at error level and counted in the metric.
	ClientsUnrepaired []string
}

// Reconcile repairs what failed compensation or a crash left: client rows still
// pending or deleting after Config.SettleAfter are finished (Keycloak client and row
// deleted), Keycloak clients marked as this store's with no row are deleted, and every
// active client's service account is put back into exactly its consumer's ACL groups
// — but never into one that carries roles: those are reported. Every active client is
// made no-scope again (not full-scope, no role scope mappings) and asks consent while
// it has redirect URIs; one that cannot be is reported. It touches only clients this
// store knows, so instances with separate stores can share a realm. Errors of one item
// do not stop the others.
func (s *Service) Reconcile(ctx context.Context) (Report, error) {
	var rep Report
	var errs []error
	rows, err := s.store.UnsettledClients(ctx, s.now().Add(-s.cfg.SettleAfter))
	if err != nil {
		return rep, fmt.Errorf("reconcile: %w", err)
	}
	for _, c := range rows {
		if err := s.settle(ctx, c); err != nil {
			errs = append(errs, fmt.Errorf("settle client %s: %w", c.ClientID, err))
			continue
		}
		rep.Settled++
	}
	n, err := s.sweepOrphans(ctx, "")
	rep.OrphansRemoved = n
	if err != nil {
		errs = append(errs, fmt.Errorf("reconcile: %w", err))
	}
	groups, err := s.aclGroups(ctx)
	if err != nil {
		return rep, errors.Join(append(errs, fmt.Errorf("reconcile: %w", err))...)
	}
	clean, tainted, err := s.checkACLGroups(ctx, groups)
	rep.ACLGroupsWithRoles = tainted
	if err != nil {
		errs = append(errs, err)
	}
	n, err = s.syncMemberships(ctx, groups, clean)
	rep.MembershipsFixed = n
	if err != nil {
		errs = append(errs, err)
	}
	rep.ClientsRepaired, rep.ClientsUnrepaired, err = s.checkClientScopes(ctx)
	if err != nil {
		errs = append(errs, err)
	}
	return rep, errors.Join(errs...)
}

// checkClientScopes puts back the boundary "provisioned clients carry no user's roles"
// on every active client of this store: a realm admin may have made one full-scope,
// mapped roles into its scope or turned consent off, and then any user who logs in
// through it lends its holder their roles. The metric is set when every row was read.
func (s *Service) checkClientScopes(ctx context.Context) (repaired int, unrepaired []string, err error) {
	unrepaired = []string{}
	var errs []error
	var after *models.ListPosition
	for {
		page, err := s.store.ListClients(ctx, models.ClientFilter{
			State: models.ClientActive, Sort: models.SortCreatedAt, After: after, Limit: 500})
		if err != nil {
			return repaired, unrepaired, errors.Join(append(errs, fmt.Errorf("reconcile client scopes: %w", err))...)
		}
		for _, c := range page {
			fixed, err := s.repairClientScope(ctx, c)
			if fixed {
				repaired++
			}
			if err != nil {
				unrepaired = append(unrepaired, c.ClientID)
				errs = append(errs, fmt.Errorf("client %s: %w", c.ClientID, err))
			}
		}
		if len(page) < 500 {
			break
		}
		last := page[len(page)-1]
		after = &models.ListPosition{At: last.CreatedAt, ID: last.ID}
	}
	slices.Sort(unrepaired)
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.SetClientsUnrepaired(len(unrepaired))
	}
	return repaired, unrepaired, errors.Join(errs...)
}

// repairClientScope checks one client in Keycloak and repairs what it finds; fixed
// says whether it changed anything. A client gone from Keycloak is not this pass's
// business (syncConsumer logs it). Keycloak's update sends fullScopeAllowed false
// every time, so a concurrent admin update cannot undo the repair: no lock is needed.
func (s *Service) repairClientScope(ctx context.Context, c models.Client) (fixed bool, err error) {
	info, err := s.kc.ServiceClient(ctx, c.KeycloakID)
	if errors.Is(err, keycloak.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	webFlow := len(info.RedirectURIs) > 0 || info.StandardFlowEnabled || info.ImplicitFlowEnabled
	found := []string{}
	if info.FullScopeAllowed {
		found = append(found, "full_scope")
	}
	if webFlow && !info.ConsentRequired {
		found = append(found, "consent_off")
	}
	details := map[string]any{"client_id": c.ClientID}
	var repairErr error
	if len(found) > 0 {
		ch := keycloak.ClientChange{} // every update sends fullScopeAllowed false
		if webFlow {
			yes := true
			ch.ConsentRequired = &yes
		}
		if repairErr = s.kc.UpdateServiceClient(ctx, c.KeycloakID, ch); repairErr == nil {
			fixed = true
		}
	}
	removed, kept, err := s.kc.ClearClientScopeMappings(ctx, c.KeycloakID)
	if len(removed)+len(kept) > 0 {
		found = append(found, "scope_mappings")
	}
	if len(removed) > 0 {
		details["scope_mappings_removed"] = roleNames(removed)
		fixed = true
	}
	if len(kept) > 0 {
		details["scope_mappings_kept"] = roleNames(kept)
	}
	repairErr = errors.Join(repairErr, err)
	if len(found) == 0 && repairErr == nil {
		return false, nil
	}
	details["found"] = found
	if fixed {
		s.cfg.Log.Warn("reconcile: a client could carry users' roles or skip consent; repaired",
			zap.String("client_id", c.ClientID), zap.Strings("found", found), zap.Strings("scope_mappings_removed", roleNames(removed)))
		details["outcome"] = "repaired"
		s.record(ctx, reconciler, "client.reconcile", "client", c.ID, c.ConsumerID, details)
	}
	if repairErr != nil {
		s.cfg.Log.Error("reconcile: a client could carry users' roles or skip consent and could not be repaired; an admin must fix it in Keycloak",
			zap.String("client_id", c.ClientID), zap.Strings("found", found), zap.Strings("scope_mappings_kept", roleNames(kept)), zap.Error(repairErr))
		return fixed, repairErr
	}
	return fixed, nil
}

func roleNames(list []keycloak.RoleMapping) []string {
	out := make([]string, 0, len(list))
	for _, r := range list {
		out = append(out, r.String())
	}
	return out
}

// checkACLGroups asks which ACL groups carry roles: clean holds the ids of those found
// without (a group whose check failed is in neither list), tainted the names of those
// with, each logged. The metric is set only when every group could be checked.
func (s *Service) checkACLGroups(ctx context.Context, groups map[string]ACLGroup) (clean map[string]bool, tainted []string, err error) {
	rc := s.newRoleCheck()
	clean = map[string]bool{}
	tainted = []string{}
	var errs []error
	for _, g := range groups {
		problem, err := rc.problem(ctx, g)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("reconcile: ACL group %s: %w", g.Name, err))
		case problem != "":
			tainted = append(tainted, g.Name)
			s.cfg.Log.Error("reconcile: an ACL group carries roles; its members get them. Remove the role mappings in Keycloak",
				zap.String("acl_group", g.Name), zap.String("path", g.Path), zap.String("problem", problem))
		default:
			clean[g.ID] = true
		}
	}
	slices.Sort(tainted)
	if len(errs) == 0 && s.cfg.Metrics != nil {
		s.cfg.Metrics.SetACLGroupsWithRoles(len(tainted))
	}
	return clean, tainted, errors.Join(errs...)
}

func (s *Service) settle(ctx context.Context, c models.Client) error {
	defer s.lockConsumer(c.ConsumerID)()
	cur, err := s.store.ClientByID(ctx, c.ID)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if cur.State == models.ClientActive || !cur.UpdatedAt.Equal(c.UpdatedAt) {
		return nil // finished or touched meanwhile
	}
	if err := s.deleteKeycloakClient(ctx, cur); err != nil {
		return err
	}
	if err := s.store.DeleteClient(ctx, cur.ID); err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	s.cfg.Log.Info("reconcile: unfinished client removed", zap.String("client_id", cur.ClientID), zap.String("state", cur.State))
	s.record(ctx, reconciler, "client.reconcile", "client", cur.ID, cur.ConsumerID, map[string]any{
		"client_id": cur.ClientID, "state": cur.State, "outcome": "removed",
	})
	return nil
}

// syncMemberships walks every consumer's active clients; it adds memberships only of
// groups in clean (checked to carry no roles).
func (s *Service) syncMemberships(ctx context.Context, groups map[string]ACLGroup, clean map[string]bool) (int, error) {
	aclIDs := map[string]string{} // group id → name
	for _, g := range groups {
		aclIDs[g.ID] = g.Name
	}
	fixed := 0
	var errs []error
	var after *models.ListPosition
	for {
		page, err := s.store.ListConsumers(ctx, models.ConsumerFilter{Sort: models.SortCreatedAt, After: after, Limit: 500})
		if err != nil {
			return fixed, fmt.Errorf("reconcile memberships: %w", err)
		}
		for _, c := range page {
			n, err := s.syncConsumer(ctx, c.ID, groups, aclIDs, clean)
			fixed += n
			if err != nil {
				errs = append(errs, fmt.Errorf("consumer %s: %w", c.Name, err))
			}
		}
		if len(page) < 500 {
			return fixed, errors.Join(errs...)
		}
		last := page[len(page)-1]
		after = &models.ListPosition{At: last.CreatedAt, ID: last.ID}
	}
}

func (s *Service) syncConsumer(ctx context.Context, id string, groups map[string]ACLGroup, aclIDs map[string]string, clean map[string]bool) (int, error) {
	defer s.lockConsumer(id)()
	c, err := s.store.ConsumerByID(ctx, id) // fresh, under the lock
	if errors.Is(err, models.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	want := map[string]bool{}
	for _, name := range c.ACLGroups {
		if g, ok := groups[name]; ok {
			want[g.ID] = true
		}
	}
	clients, err := s.store.ClientsOfConsumer(ctx, c.ID)
	if err != nil {
		return 0, err
	}
	fixed := 0
	var errs []error
	for _, cl := range clients {
		if cl.State != models.ClientActive {
			continue
		}
		have, err := s.kc.UserGroups(ctx, cl.ServiceAccountID)
		if errors.Is(err, keycloak.ErrNotFound) {
			s.cfg.Log.Warn("reconcile: client is gone from Keycloak", zap.String("client_id", cl.ClientID))
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		in := map[string]bool{}
		for _, g := range have {
			if _, acl := aclIDs[g.ID]; !acl {
				continue // not an ACL group: not Keyward's business
			}
			in[g.ID] = true
			if !want[g.ID] {
				if err := s.kc.RemoveUserFromGroup(ctx, cl.ServiceAccountID, g.ID); err != nil {
					errs = append(errs, err)
					continue
				}
				fixed++
			}
		}
		for gid := range want {
			if !in[gid] && clean[gid] {
				if err := s.kc.AddUserToGroup(ctx, cl.ServiceAccountID, gid); err != nil {
					errs = append(errs, err)
					continue
				}
				fixed++
			}
		}
	}
	if err := s.repairKeyClient(ctx, c.ID); err != nil {
		errs = append(errs, fmt.Errorf("key client: %w", err))
	}
	if fixed > 0 {
		s.cfg.Log.Info("reconcile: memberships repaired", zap.String("consumer", c.Name), zap.Int("changes", fixed))
		s.record(ctx, reconciler, "consumer.reconcile", "consumer", c.ID, c.ID, map[string]any{"memberships_fixed": fixed})
	}
	return fixed, errors.Join(errs...)
}

// ReconcileLoop runs Reconcile now and then every interval until ctx ends.
func (s *Service) ReconcileLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.Reconcile(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Log.Warn("reconcile pass incomplete", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
