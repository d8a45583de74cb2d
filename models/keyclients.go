package models

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Whose a key is (Key.OwnerType).
const (
	OwnerUser     = "user"
	OwnerConsumer = "consumer"
)

// consumerOwnerPrefix makes a consumer key's OwnerID: a Keycloak user id is a UUID and
// never starts with it.
const consumerOwnerPrefix = "consumer:"

// ConsumerOwnerID is the OwnerID of consumerID's keys.
func ConsumerOwnerID(consumerID string) string { return consumerOwnerPrefix + consumerID }

// checkOwner holds a key's owner columns to one of the two shapes.
func checkOwner(k *Key) error {
	switch k.OwnerType {
	case OwnerUser:
		if k.ConsumerID != "" {
			return errors.New("a user's key has no consumer id")
		}
	case OwnerConsumer:
		id, ok := canonicalID(k.ConsumerID)
		if !ok || k.OwnerID != ConsumerOwnerID(id) {
			return errors.New("a consumer key's owner id is not its consumer's")
		}
		k.ConsumerID = id
	default:
		return fmt.Errorf("owner type %q is neither user nor consumer", k.OwnerType)
	}
	return nil
}

// ConsumerKeyClient is the Keycloak client through which a consumer's keys are
// exchanged (keycloak.EnsureKeyClient): its Keycloak id, client_id and service-account
// user id. No secret: Keycloak authenticates it by assertions that Keyward signs.
type ConsumerKeyClient struct {
	ConsumerID       string `gorm:"primaryKey;size:36"`
	KeycloakID       string `gorm:"not null"`
	ClientID         string `gorm:"not null"`
	ServiceAccountID string `gorm:"not null"`
}

// TableName fixes the table name.
func (ConsumerKeyClient) TableName() string { return "consumer_key_clients" }

// SaveConsumerKeyClient stores (or replaces) the key client of c.ConsumerID.
func (s *Store) SaveConsumerKeyClient(ctx context.Context, c ConsumerKeyClient) error {
	id, ok := canonicalID(c.ConsumerID)
	if !ok {
		return errors.New("models: save key client: consumer id is not a UUID")
	}
	c.ConsumerID = id
	for _, v := range []string{c.KeycloakID, c.ClientID, c.ServiceAccountID} {
		if v == "" || !storable(v) {
			return errors.New("models: save key client: an id is empty or not text")
		}
	}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{UpdateAll: true}).Create(&c).Error
	if err != nil {
		return fmt.Errorf("models: save key client: %w", err)
	}
	return nil
}

// ConsumerKeyClientOf returns consumerID's key client, or ErrNotFound.
func (s *Store) ConsumerKeyClientOf(ctx context.Context, consumerID string) (ConsumerKeyClient, error) {
	id, ok := canonicalID(consumerID)
	if !ok {
		return ConsumerKeyClient{}, fmt.Errorf("models: key client: %w", ErrNotFound)
	}
	var c ConsumerKeyClient
	err := s.db.WithContext(ctx).Where("consumer_id = ?", id).Take(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ConsumerKeyClient{}, fmt.Errorf("models: key client: %w", ErrNotFound)
	}
	if err != nil {
		return ConsumerKeyClient{}, fmt.Errorf("models: key client: %w", err)
	}
	return c, nil
}

// DeleteConsumerKeyClient forgets consumerID's key client; none is no error.
func (s *Store) DeleteConsumerKeyClient(ctx context.Context, consumerID string) error {
	id, ok := canonicalID(consumerID)
	if !ok {
		return nil
	}
	if err := s.db.WithContext(ctx).Where("consumer_id = ?", id).Delete(&ConsumerKeyClient{}).Error; err != nil {
		return fmt.Errorf("models: delete key client: %w", err)
	}
	return nil
}

// ConsumerOfKeyClient is the id of the consumer whose key client id names: its
// Keycloak id, its client_id or its service account's user id (what Keycloak's admin
// events name); ErrNotFound when it is no key client's.
func (s *Store) ConsumerOfKeyClient(ctx context.Context, id string) (string, error) {
	if id == "" || !storable(id) {
		return "", fmt.Errorf("models: consumer of key client: %w", ErrNotFound)
	}
	var c ConsumerKeyClient
	err := s.db.WithContext(ctx).Where("keycloak_id = ? OR client_id = ? OR service_account_id = ?", id, id, id).Take(&c).Error
	if err != nil {
		return "", fmt.Errorf("models: consumer of key client: %w", notFound(err))
	}
	return c.ConsumerID, nil
}

// RenameKeysOfOwner sets the owner username shown on every key of ownerID (a consumer
// renamed: its keys show its name).
func (s *Store) RenameKeysOfOwner(ctx context.Context, ownerID, username string) error {
	if ownerID == "" || !storable(ownerID) || !storable(username) {
		return errors.New("models: rename keys of owner: owner or name is not text")
	}
	// Named, so that the in-process announcement forgets these keys, not every key.
	ctx, w := writingKeys(ctx)
	defer s.announceWrite(w)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var ids []string
		if err := tx.Model(&Key{}).Where("owner_id = ?", ownerID).Pluck("lookup_id", &ids).Error; err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil // an UPDATE of no row would be announced as every key
		}
		w.name(ids...)
		return tx.Model(&Key{}).Where("owner_id = ?", ownerID).UpdateColumn("owner_username", username).Error
	})
	if err != nil {
		return fmt.Errorf("models: rename keys of owner: %w", err)
	}
	return nil
}

// ConsumerByName returns the consumer of that name, or ErrNotFound.
func (s *Store) ConsumerByName(ctx context.Context, name string) (Consumer, error) {
	if name == "" || !storable(name) {
		return Consumer{}, fmt.Errorf("models: consumer by name: %w", ErrNotFound)
	}
	var c Consumer
	if err := s.db.WithContext(ctx).Where("name = ?", name).Take(&c).Error; err != nil {
		return Consumer{}, fmt.Errorf("models: consumer by name: %w", notFound(err))
	}
	list := []Consumer{c}
	if err := s.loadGroups(ctx, list); err != nil {
		return Consumer{}, fmt.Errorf("models: consumer by name: %w", err)
	}
	return list[0], nil
}
