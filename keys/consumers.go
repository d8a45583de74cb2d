package keys

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/internal/safetext"
	"github.com/keyward/keyward/models"
)

// Consumer keys: keys that belong to a consumer (provisioning), not to a person. Only
// admins create, see and change them. Their rows carry OwnerType consumer and an
// OwnerID no user id can equal (models.ConsumerOwnerID), so every per-owner rule of
// this package (the owner filter of users, names unique per owner, the live-key
// ceiling) keeps them apart from users' keys without a rule of its own.

// Consumer names the consumer a key belongs to.
type Consumer struct {
	ID   string
	Name string
}

// ConsumerDirectory resolves the consumer an admin names (provisioning).
type ConsumerDirectory interface {
	// KeyConsumer finds the consumer by id or name; models.ErrNotFound when none.
	KeyConsumer(ctx context.Context, idOrName string) (Consumer, error)
	// PrepareKeyClient makes sure the consumer's key client exists in Keycloak, with
	// its service account in the consumer's ACL groups, before a key is handed out.
	PrepareKeyClient(ctx context.Context, consumerID string) error
}

// UseConsumers turns consumer keys on (server wiring: the directory is provisioning,
// which is built after this service). Without it `consumer` is refused.
func (k *Service) UseConsumers(d ConsumerDirectory) { k.consumers = d }

// findConsumer resolves the consumer an admin named: a field problem of field for text
// that names none, models.ErrNotFound when none has that id or name.
func (k *Service) findConsumer(ctx context.Context, field, idOrName string) (Consumer, error) {
	if problem := safetext.Problem(idOrName, false); problem != "" {
		return Consumer{}, errs.Field(field, problem)
	}
	if utf8.RuneCountInString(idOrName) > api.KeyConsumerMax {
		return Consumer{}, errs.Field(field, fmt.Sprintf("must be at most %d characters", api.KeyConsumerMax))
	}
	if k.consumers == nil {
		return Consumer{}, errs.Field(field, "consumer keys are not available on this server")
	}
	c, err := k.consumers.KeyConsumer(ctx, idOrName)
	if err != nil {
		return Consumer{}, fmt.Errorf("find consumer: %w", err)
	}
	return c, nil
}

// consumerOwner checks who may create a key for p.Consumer and resolves it, with its
// key client ready in Keycloak.
func (k *Service) consumerOwner(ctx context.Context, a audit.Actor, p CreateParams) (Consumer, error) {
	if !a.Admin {
		return Consumer{}, errs.Because(ErrForbidden, "only admins create keys for consumers")
	}
	if p.Owner != "" {
		return Consumer{}, errs.Field("consumer", "give consumer or owner, not both: a key belongs to one of them")
	}
	c, err := k.findConsumer(ctx, "consumer", p.Consumer)
	if errors.Is(err, models.ErrNotFound) {
		return Consumer{}, errs.Field("consumer", "no such consumer")
	}
	if err != nil {
		return Consumer{}, err
	}
	if err := k.consumers.PrepareKeyClient(ctx, c.ID); err != nil {
		return Consumer{}, fmt.Errorf("prepare the key client of consumer %s: %w", c.Name, err)
	}
	return c, nil
}

// listConsumerOwner is the owner filter of `consumer` in a list; none when it names no
// consumer.
func (k *Service) listConsumerOwner(ctx context.Context, a audit.Actor, p ListParams) (ownerID string, none bool, err error) {
	if !a.Admin {
		return "", false, errs.Because(ErrForbidden, "only admins list consumers' keys")
	}
	if p.Owner != "" {
		return "", false, errs.Field("consumer", "give consumer or owner, not both")
	}
	c, err := k.findConsumer(ctx, "consumer", p.Consumer)
	if errors.Is(err, models.ErrNotFound) {
		return "", true, nil
	}
	if err != nil {
		return "", false, err
	}
	return models.ConsumerOwnerID(c.ID), false, nil
}

// RevokeAllOfConsumer revokes every live key of consumerID (the consumer was deleted),
// each audited as key.delete by a.
func (k *Service) RevokeAllOfConsumer(ctx context.Context, a audit.Actor, consumerID string) (int, error) {
	return k.RevokeAllOfOwner(ctx, a, models.ConsumerOwnerID(consumerID), map[string]any{"reason": "consumer deleted"})
}

// RenameConsumerKeys shows consumerID's new name on its keys.
func (k *Service) RenameConsumerKeys(ctx context.Context, consumerID, name string) error {
	return k.store.RenameKeysOfOwner(ctx, models.ConsumerOwnerID(consumerID), name)
}

// DropConsumerTokens forgets the cached tokens of consumerID's keys on this replica (its
// groups changed, or its key client was changed in Keycloak: events.Follower).
func (k *Service) DropConsumerTokens(consumerID string) {
	k.cache.DropOwner(models.ConsumerOwnerID(consumerID))
}
