package provisioning

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"sync"

	"go.uber.org/zap"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/keys"
	"github.com/keyward/keyward/models"
)

// Consumer keys' key clients: one Keycloak client per consumer that has keys
// (keycloak.EnsureKeyClient), authenticated by assertions Keyward signs, its service
// account in exactly the consumer's ACL groups. Its ids are kept with the consumer
// (models.ConsumerKeyClient); no secret is kept.

// KeyClientKeycloak is what the key clients need of Keycloak.
type KeyClientKeycloak interface {
	EnsureKeyClient(ctx context.Context, c keycloak.KeyClient) (keycloak.KeyClientIDs, error)
	SetUserGroups(ctx context.Context, userID string, groupIDs []string) error
	UpdateServiceClient(ctx context.Context, id string, ch keycloak.ClientChange) error
	DeleteServiceClient(ctx context.Context, id string) error
}

// KeyClientStore keeps the key clients' ids (models.Store).
type KeyClientStore interface {
	SaveConsumerKeyClient(ctx context.Context, c models.ConsumerKeyClient) error
	ConsumerKeyClientOf(ctx context.Context, consumerID string) (models.ConsumerKeyClient, error)
	DeleteConsumerKeyClient(ctx context.Context, consumerID string) error
	ConsumerByName(ctx context.Context, name string) (models.Consumer, error)
}

// ConsumerKeys is what happens to a consumer's keys when the consumer changes (keys.Service).
type ConsumerKeys interface {
	RevokeAllOfConsumer(ctx context.Context, a audit.Actor, consumerID string) (int, error)
	RenameConsumerKeys(ctx context.Context, consumerID, name string) error
	DropConsumerTokens(consumerID string)
}

// KeyClients turns consumer keys on (Service.UseKeyClients).
type KeyClients struct {
	Keycloak KeyClientKeycloak
	Store    KeyClientStore
	Keys     ConsumerKeys
	// JWKSURL is Keyward's public JWKS, where Keycloak fetches the keys that check the
	// key clients' assertions.
	JWKSURL string
}

// keyClientsOf holds the wiring; nil fields: consumer keys are off.
type keyClientsOf struct {
	mu sync.RWMutex
	KeyClients
}

// UseKeyClients turns consumer keys on.
func (s *Service) UseKeyClients(kc KeyClients) {
	s.keyClients.mu.Lock()
	defer s.keyClients.mu.Unlock()
	s.keyClients.KeyClients = kc
}

func (s *Service) keyClientsOn() (KeyClients, bool) {
	s.keyClients.mu.RLock()
	defer s.keyClients.mu.RUnlock()
	kc := s.keyClients.KeyClients
	return kc, kc.Keycloak != nil && kc.Store != nil
}

// KeyClientID is the client_id of consumerID's key client: stable across renames.
func KeyClientID(consumerID string) string { return "kw-keys-" + consumerID }

var _ keys.ConsumerDirectory = (*Service)(nil)

// KeyConsumer finds a consumer by id or name (keys.ConsumerDirectory).
func (s *Service) KeyConsumer(ctx context.Context, idOrName string) (keys.Consumer, error) {
	kc, on := s.keyClientsOn()
	if !on {
		return keys.Consumer{}, errors.New("consumer keys are not wired")
	}
	c, err := s.store.ConsumerByID(ctx, idOrName)
	if errors.Is(err, models.ErrNotFound) {
		c, err = kc.Store.ConsumerByName(ctx, idOrName)
	}
	if err != nil {
		return keys.Consumer{}, err
	}
	return keys.Consumer{ID: c.ID, Name: c.Name}, nil
}

// PrepareKeyClient creates or repairs consumerID's key client, its service account in
// the consumer's ACL groups (each must exist and carry no roles), and keeps its ids.
func (s *Service) PrepareKeyClient(ctx context.Context, consumerID string) error {
	s.groupsMu.RLock()
	defer s.groupsMu.RUnlock()
	defer s.lockConsumer(consumerID)()
	return s.ensureKeyClient(ctx, consumerID)
}

// ensureKeyClient is PrepareKeyClient under the consumer's lock.
func (s *Service) ensureKeyClient(ctx context.Context, consumerID string) error {
	kc, on := s.keyClientsOn()
	if !on {
		return errors.New("consumer keys are not wired")
	}
	cons, err := s.store.ConsumerByID(ctx, consumerID)
	if err != nil {
		return err
	}
	groups, err := s.joinableGroups(ctx, cons)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(groups))
	for _, g := range groups {
		ids = append(ids, g.ID)
	}
	got, err := kc.Keycloak.EnsureKeyClient(ctx, keycloak.KeyClient{
		ClientID: KeyClientID(cons.ID), Name: "Keyward keys of " + cons.Name,
		Description: "Made by Keyward: the consumer's API keys are exchanged through it. Do not change it.",
		JWKSURL:     kc.JWKSURL, Attributes: map[string]string{AttrConsumerID: cons.ID}, Groups: ids,
	})
	if err != nil {
		return fmt.Errorf("key client: %w", err)
	}
	if !cons.Enabled { // a new key client is made enabled
		off := false
		if err := kc.Keycloak.UpdateServiceClient(ctx, got.ID, keycloak.ClientChange{Enabled: &off}); err != nil {
			return fmt.Errorf("key client: disable: %w", err)
		}
	}
	return kc.Store.SaveConsumerKeyClient(ctx, models.ConsumerKeyClient{
		ConsumerID: cons.ID, KeycloakID: got.ID, ClientID: got.ClientID, ServiceAccountID: got.ServiceAccountID})
}

// ErrConsumerDisabled: the consumer is disabled, its keys are refused. It is a
// models.ErrNotFound, which the exchange answers as inactive.
var ErrConsumerDisabled = fmt.Errorf("the consumer is disabled: %w", models.ErrNotFound)

// KeyClientOf is consumerID's key client (exchange.KeyClients); models.ErrNotFound
// when the consumer has none (deleted), ErrConsumerDisabled when it is disabled.
func (s *Service) KeyClientOf(ctx context.Context, consumerID string) (keycloak.KeyClientIDs, error) {
	kc, on := s.keyClientsOn()
	if !on {
		return keycloak.KeyClientIDs{}, fmt.Errorf("consumer keys are not wired: %w", models.ErrNotFound)
	}
	// The store first: a disabled consumer is refused here even while Keycloak's copy of
	// its key client lags (or was enabled there by hand).
	cons, err := s.store.ConsumerByID(ctx, consumerID)
	if err != nil {
		return keycloak.KeyClientIDs{}, err
	}
	if !cons.Enabled {
		return keycloak.KeyClientIDs{}, ErrConsumerDisabled
	}
	c, err := kc.Store.ConsumerKeyClientOf(ctx, consumerID)
	if err != nil {
		return keycloak.KeyClientIDs{}, err
	}
	return keycloak.KeyClientIDs{ID: c.KeycloakID, ClientID: c.ClientID, ServiceAccountID: c.ServiceAccountID}, nil
}

// keyClientGroups sets the service account of consumerID's key client, if it has one,
// to exactly groupIDs, and forgets the cached tokens of its keys here; the store's
// update of the consumer then announces its keys to every replica. The undo step sets
// back undoIDs.
func (s *Service) keyClientGroups(ctx context.Context, u *undo, consumerID string, groupIDs, undoIDs []string) error {
	kc, on := s.keyClientsOn()
	if !on {
		return nil
	}
	c, err := kc.Store.ConsumerKeyClientOf(ctx, consumerID)
	if errors.Is(err, models.ErrNotFound) {
		return nil // no keys yet: the first key's PrepareKeyClient sets them
	}
	if err != nil {
		return err
	}
	if err := kc.Keycloak.SetUserGroups(ctx, c.ServiceAccountID, groupIDs); err != nil {
		return fmt.Errorf("key client %s: %w", c.ClientID, err)
	}
	if u != nil {
		u.push("set back the key client's groups", func(ctx context.Context) error {
			return kc.Keycloak.SetUserGroups(ctx, c.ServiceAccountID, undoIDs)
		})
	}
	if kc.Keys != nil {
		kc.Keys.DropConsumerTokens(consumerID)
	}
	return nil
}

// enableKeyClient enables or disables consumerID's key client in Keycloak, if it has
// one, pushing the inverse onto u.
func (s *Service) enableKeyClient(ctx context.Context, u *undo, consumerID string, enabled bool) error {
	kc, on := s.keyClientsOn()
	if !on {
		return nil
	}
	c, err := kc.Store.ConsumerKeyClientOf(ctx, consumerID)
	if errors.Is(err, models.ErrNotFound) {
		return nil // no keys yet: the first key's PrepareKeyClient follows the consumer
	}
	if err != nil {
		return err
	}
	if err := kc.Keycloak.UpdateServiceClient(ctx, c.KeycloakID, keycloak.ClientChange{Enabled: &enabled}); err != nil {
		if errors.Is(err, keycloak.ErrNotFound) {
			return nil // gone from Keycloak: its keys are refused anyway; the repair pass remakes it
		}
		return fmt.Errorf("key client %s: %w", c.ClientID, err)
	}
	back := !enabled
	u.push("set back the key client's enabled", func(ctx context.Context) error {
		return kc.Keycloak.UpdateServiceClient(ctx, c.KeycloakID, keycloak.ClientChange{Enabled: &back})
	})
	return nil
}

// dropKeyTokens forgets the cached tokens of consumerID's keys on this replica (the
// store's update announces them to every replica as well).
func (s *Service) dropKeyTokens(consumerID string) {
	if kc, on := s.keyClientsOn(); on && kc.Keys != nil {
		kc.Keys.DropConsumerTokens(consumerID)
	}
}

// deleteKeyClient revokes consumerID's keys and deletes its key client (the consumer
// is deleted). Keycloak's part is best effort once the keys are revoked: a key client
// left behind has no key that could use it.
func (s *Service) deleteKeyClient(ctx context.Context, a audit.Actor, consumerID string) error {
	kc, on := s.keyClientsOn()
	if !on {
		return nil
	}
	if kc.Keys != nil {
		if _, err := kc.Keys.RevokeAllOfConsumer(ctx, a, consumerID); err != nil {
			return fmt.Errorf("revoke the consumer's keys: %w", err)
		}
	}
	c, err := kc.Store.ConsumerKeyClientOf(ctx, consumerID)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := kc.Store.DeleteConsumerKeyClient(ctx, consumerID); err != nil {
		return err
	}
	if err := kc.Keycloak.DeleteServiceClient(ctx, c.KeycloakID); err != nil && !errors.Is(err, keycloak.ErrNotFound) {
		s.cfg.Log.Warn("consumer deleted: its key client is left in Keycloak", zap.String("client_id", c.ClientID), zap.Error(err))
	}
	return nil
}

// renameKeyClient shows the consumer's new name on its keys.
func (s *Service) renameKeyClient(ctx context.Context, consumerID, name string) {
	kc, on := s.keyClientsOn()
	if !on || kc.Keys == nil {
		return
	}
	if err := kc.Keys.RenameConsumerKeys(ctx, consumerID, name); err != nil {
		s.cfg.Log.Warn("consumer renamed: its keys still show the old name", zap.Error(err))
	}
}

// moveKeyClient makes the key client's service account follow the consumer's ACL
// groups from old to next (moveMemberships has checked the added ones).
func (s *Service) moveKeyClient(ctx context.Context, u *undo, consumerID string, old, next []string) error {
	if _, on := s.keyClientsOn(); !on {
		return nil
	}
	all, err := s.aclGroups(ctx)
	if err != nil {
		return err
	}
	ids := func(names []string) []string {
		out := []string{}
		for _, n := range names {
			if g, ok := all[n]; ok {
				out = append(out, g.ID)
			}
		}
		return out
	}
	return s.keyClientGroups(ctx, u, consumerID, ids(next), ids(old))
}

// repairKeyClient re-runs EnsureKeyClient for a consumer that has a key client (the
// repair pass): it undoes scope mappings, full scope and stray groups. Under the
// consumer's lock.
func (s *Service) repairKeyClient(ctx context.Context, consumerID string) error {
	kc, on := s.keyClientsOn()
	if !on {
		return nil
	}
	if _, err := kc.Store.ConsumerKeyClientOf(ctx, consumerID); err != nil {
		if errors.Is(err, models.ErrNotFound) {
			return nil
		}
		return err
	}
	return s.ensureKeyClient(ctx, consumerID)
}

// contactEmail checks a consumer's contact address: "" (none) or one bare address,
// name@domain, that a mail can be sent to (no display name, no list).
func (f *fields) contactEmail(field, v string) {
	if v == "" {
		return
	}
	f.safeText(field, v, api.ConsumerContactEmailMax, false)
	if a, err := mail.ParseAddress(v); err != nil || a.Address != v || a.Name != "" || !strings.Contains(v[strings.LastIndex(v, "@")+1:], ".") {
		f.add(field, "must be one email address such as team@example.com")
	}
}

// ConsumerContact is the consumer's contact address, "" for none (reminders.Consumers).
func (s *Service) ConsumerContact(ctx context.Context, consumerID string) (string, error) {
	c, err := s.store.ConsumerByID(ctx, consumerID)
	if err != nil {
		return "", err
	}
	return c.ContactEmail, nil
}
