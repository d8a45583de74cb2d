package provisioning

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
)

// sweepOrphans deletes the Keycloak clients that carry Keyward's id attribute but that
// no row of this store accounts for: what an ambiguous failure leaves when Keycloak
// created a client whose answer Keyward never saw and the undo looked for it before it
// existed. consumerID limits the sweep to that consumer's clients ("" for all).
//
// Why this cannot delete a client being created right now: CreateClient stores its
// pending row before it asks Keycloak, and every row (pending and deleting ones too)
// stays until its Keycloak client is gone; a row id is never reused. So a client whose
// row is absent is not, and will never again be, accounted for.
//
// A client counts as this store's only when its consumer attribute names a consumer
// of this store: instances with separate stores may share a realm, and each leaves the
// others' clients alone. DeleteConsumer sweeps the consumer's orphans before the
// consumer goes, so none is left that no store claims.
func (s *Service) sweepOrphans(ctx context.Context, consumerID string) (int, error) {
	list, err := s.kc.ClientsWithAttribute(ctx, AttrClientID)
	if err != nil {
		return 0, fmt.Errorf("look for orphan clients: %w", err)
	}
	removed := 0
	var errs []error
	for _, cl := range list {
		rowID, consID := cl.Attributes[AttrClientID], cl.Attributes[AttrConsumerID]
		if consumerID != "" && consID != consumerID {
			continue
		}
		_, err := s.store.ClientByID(ctx, rowID)
		if err == nil {
			continue // live: active, or pending/deleting for settle to finish
		}
		if !errors.Is(err, models.ErrNotFound) {
			errs = append(errs, fmt.Errorf("client %s: %w", cl.ClientID, err))
			continue
		}
		if consumerID == "" {
			_, err := s.store.ConsumerByID(ctx, consID)
			if errors.Is(err, models.ErrNotFound) {
				s.cfg.Log.Debug("reconcile: a Keyward client of another store left alone", zap.String("client_id", cl.ClientID))
				continue
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("client %s: %w", cl.ClientID, err))
				continue
			}
		}
		if err := s.kc.DeleteServiceClient(ctx, cl.ID); err != nil && !errors.Is(err, keycloak.ErrNotFound) {
			errs = append(errs, fmt.Errorf("delete orphan client %s: %w", cl.ClientID, err))
			continue
		}
		removed++
		s.cfg.Log.Warn("reconcile: orphan Keycloak client removed", zap.String("client_id", cl.ClientID),
			zap.String("keyward_id", rowID), zap.String("consumer_id", consID))
		s.record(ctx, reconciler, "client.reconcile", "client", rowID, consID, map[string]any{
			"client_id": cl.ClientID, "state": "orphan", "outcome": "removed",
		})
	}
	return removed, errors.Join(errs...)
}
