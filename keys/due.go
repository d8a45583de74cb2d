package keys

import (
	"context"
	"time"
)

// Due returns up to limit live, enabled, not superseded keys whose expiry lies in
// (from, to] and that have no reminder of kind yet, soonest first: what the reminder
// job reminds of.
func (k *Service) Due(ctx context.Context, kind string, from, to time.Time, limit int) ([]Key, error) {
	rows, err := k.store.KeysDue(ctx, kind, from, to, limit)
	if err != nil {
		return nil, err
	}
	return k.toKeys(rows), nil
}

// AnyState returns the key id, live or revoked (DeletedAt set): the reminder job
// retrying a mail skips a key revoked since.
func (k *Service) AnyState(ctx context.Context, id string) (Key, error) {
	row, err := k.store.KeyByIDAnyState(ctx, id)
	if err != nil {
		return Key{}, err
	}
	return k.key(row), nil
}
