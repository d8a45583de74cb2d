package main

import (
	"context"

	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/metrics"
	"github.com/keyward/keyward/models"
)

// watchKeyState gives the exchange its in-memory key state, kept true by the store's
// key announcements until stop is called.
func watchKeyState(ctx context.Context, store *models.Store, m *metrics.Metrics) (state *exchange.KeyState, stop context.CancelFunc) {
	state = exchange.NewKeyState(store, 0)
	wctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	store.WatchKeys(wctx, state)
	m.WatchKeyState(state.Trusted)
	return state, stop
}
