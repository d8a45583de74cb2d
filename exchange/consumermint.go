package exchange

import (
	"context"
	"errors"
	"time"

	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
)

// The exchange of consumer keys (models.OwnerConsumer): the consumer's key client
// trades an assertion Keyward signs for its service account's token (ConsumerMinter),
// which checks the token is that service account's and carries no role. The person
// checks of personal keys (subject = owner, not a service account) do not apply.

// KeyClients finds a consumer's key client; models.ErrNotFound when the consumer (or
// its key client) is gone.
type KeyClients interface {
	KeyClientOf(ctx context.Context, consumerID string) (keycloak.KeyClientIDs, error)
}

// ConsumerKeyMinter mints a consumer key's token (*ConsumerMinter).
type ConsumerKeyMinter interface {
	Mint(ctx context.Context, client keycloak.KeyClientIDs, scope string) (keycloak.Token, error)
}

// mintConsumer is mint for a consumer key. A consumer or key client that is gone, or a
// key client Keycloak refuses (disabled), is the inactive outcome.
func (e *Exchanger) mintConsumer(ctx context.Context, key models.Key, scope string) Result {
	res := Result{KeyID: key.ID}
	if e.cfg.KeyClients == nil || e.cfg.ConsumerMinter == nil {
		res.Outcome, res.Err = OutcomeInactive, errors.New("consumer keys are not wired on this server")
		return res
	}
	client, err := e.cfg.KeyClients.KeyClientOf(ctx, key.ConsumerID)
	switch {
	case errors.Is(err, models.ErrNotFound):
		res.Outcome, res.Err = OutcomeInactive, err
		return res
	case err != nil:
		e.cfg.Observe.DatabaseError("key_client_lookup")
		res.Outcome, res.Err = OutcomeUnavailable, err
		return res
	}
	kcStart := time.Now()
	tok, err := e.cfg.ConsumerMinter.Mint(ctx, client, scope)
	e.cfg.Observe.ObserveKeycloak("client_credentials_assertion", time.Since(kcStart), err)
	if err != nil {
		// A disabled or deleted key client: the consumer's key is inactive.
		res.Outcome, res.Err = failedMint(err, keycloak.ErrInvalidClient, OutcomeInactive), err
		return res
	}
	res.Outcome, res.Token = OutcomeIssued, tok
	return res
}
