package server

import (
	"github.com/keyward/keyward/config"
	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/keys"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/provisioning"
)

// consumerKeys wires consumer keys: provisioning keeps the consumers' key clients,
// keys resolves consumers through it and revokes their keys for it, the exchange
// mints through the key clients with assertions the signer makes.
type consumerKeys struct {
	prov   *provisioning.Service
	signer *exchange.Signer
}

// jwksPath is where Keyward serves its public keys (handlers' route).
const jwksPath = "/.well-known/jwks.json"

func (ck consumerKeys) wire(cfg config.Config, store *models.Store, kc *keycloak.Client, keySvc *keys.Service) {
	ck.prov.UseKeyClients(provisioning.KeyClients{Keycloak: kc, Store: store, Keys: keySvc, JWKSURL: cfg.PublicURL + jwksPath})
	keySvc.UseConsumers(ck.prov)
}
