package keycloak

import (
	"context"

	"github.com/Nerzal/gocloak/v13"
)

// ExchangeClientShape reads what the limited client mirrors of the unrestricted
// exchange client (Config.ClientID), so that a limited key's token differs from an
// unrestricted one's only in its roles: the audiences its own audience mappers add,
// and the names of its optional client scopes that map no role (offline_access maps
// one: a limited key asking for it would carry a role outside its limit).
func (c *Client) ExchangeClientShape(ctx context.Context) (audiences, optionalScopes []string, err error) {
	token, err := c.adminAccessToken(ctx)
	if err != nil {
		return nil, nil, err
	}
	id, err := c.clientUUID(ctx, token, c.cfg.ClientID)
	if err != nil {
		return nil, nil, err
	}
	cl, err := c.admin.GetClient(ctx, token, c.cfg.Realm, id)
	if err != nil {
		return nil, nil, classifyAdmin("get exchange client", err)
	}
	if cl.ProtocolMappers != nil {
		for _, m := range *cl.ProtocolMappers {
			if gocloak.PString(m.ProtocolMapper) == "oidc-audience-mapper" && m.Config != nil {
				if aud := (*m.Config)["included.client.audience"]; aud != "" {
					audiences = append(audiences, aud)
				}
			}
		}
	}
	var scopes []clientScopeRep
	if err := c.adminGet(ctx, token, &scopes, "clients", id, "optional-client-scopes"); err != nil {
		return nil, nil, classifyAdmin("list optional scopes", err)
	}
	for _, s := range scopes {
		var m struct {
			Realm   []roleRep      `json:"realmMappings"`
			Clients map[string]any `json:"clientMappings"`
		}
		if err := c.adminGet(ctx, token, &m, "client-scopes", s.ID, "scope-mappings"); err != nil {
			return nil, nil, classifyAdmin("list scope mappings of "+s.Name, err)
		}
		if len(m.Realm) == 0 && len(m.Clients) == 0 {
			optionalScopes = append(optionalScopes, s.Name)
		}
	}
	return audiences, optionalScopes, nil
}
