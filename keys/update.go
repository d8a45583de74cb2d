package keys

import (
	"context"
	"encoding/json"
	"time"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/internal/cidrlist"
	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/models"
)

// UpdateParams holds the fields a PATCH may change; nil means unchanged.
type UpdateParams struct {
	Name        *string
	Description *string
	Scopes      *[]string
	Metadata    json.RawMessage
	Enabled     *bool
	ExpiresAt   *string
	RateLimit   *RateLimit
	IPAllowlist *[]string
}

// Update changes a key. Expiry may be shortened, never extended.
func (k *Service) Update(ctx context.Context, a audit.Actor, id string, p UpdateParams) (models.Key, error) {
	now := k.clock().UTC()
	verr := &errs.Validation{}
	var name, scopes, metadata string
	if p.Name != nil {
		name = validName(verr, "name", *p.Name)
	}
	if p.Description != nil {
		validDescription(verr, *p.Description)
	}
	if p.Scopes != nil {
		scopes = validScopes(verr, *p.Scopes)
	}
	if p.Metadata != nil {
		metadata = validMetadata(verr, p.Metadata)
	}
	var expiresAt *time.Time
	if p.ExpiresAt != nil {
		expiresAt = validFutureTime(verr, "expires_at", *p.ExpiresAt, now)
	}
	rateRequests, rateWindow := k.validRateLimit(verr, p.RateLimit, a.Admin)
	var allowlist string
	if p.IPAllowlist != nil {
		allowlist = validAllowlist(verr, *p.IPAllowlist)
	}
	if err := verr.Err(); err != nil {
		return models.Key{}, err
	}
	var changed []string
	updated, err := k.store.UpdateKey(ctx, ownerScope(a), id, func(key *models.Key) error {
		changed = nil // the store may run fn again
		if err := k.adminDecisionsStick(a, key, p, rateRequests, rateWindow, allowlist); err != nil {
			return err
		}
		if p.Name != nil && name != key.Name {
			key.Name, changed = name, append(changed, "name")
		}
		if p.Description != nil && *p.Description != key.Description {
			key.Description, changed = *p.Description, append(changed, "description")
		}
		if p.Scopes != nil && scopes != key.Scopes {
			key.Scopes, changed = scopes, append(changed, "scopes")
		}
		if p.Metadata != nil && metadata != key.Metadata {
			key.Metadata, changed = metadata, append(changed, "metadata")
		}
		if expiresAt != nil {
			if key.ExpiresAt != nil && expiresAt.After(*key.ExpiresAt) {
				return errs.Field("expires_at", "may be shortened, never extended")
			}
			key.ExpiresAt, changed = expiresAt, append(changed, "expires_at")
		}
		if p.Enabled != nil && *p.Enabled != key.Enabled {
			key.Enabled, changed = *p.Enabled, append(changed, "enabled")
		}
		if p.RateLimit != nil && (rateRequests != key.RateLimitRequests || rateWindow != key.RateLimitWindowSeconds) {
			key.RateLimitRequests, key.RateLimitWindowSeconds = rateRequests, rateWindow
			changed = append(changed, "rate_limit")
		}
		if p.IPAllowlist != nil && allowlist != key.IPAllowlist {
			key.IPAllowlist, changed = allowlist, append(changed, "ip_allowlist")
		}
		if a.Admin && a.ID != key.OwnerID {
			// An admin's decision on someone else's key binds its owner.
			if p.Enabled != nil {
				key.DisabledBy = map[bool]string{false: a.Name, true: ""}[*p.Enabled]
			}
			if p.RateLimit != nil {
				key.LimitSetBy = a.Name
			}
			if p.IPAllowlist != nil {
				key.AllowlistSetBy = map[bool]string{true: a.Name, false: ""}[allowlist != ""]
			}
		}
		return nil
	})
	if err != nil {
		return models.Key{}, err
	}
	k.cache.Drop(updated.ID)
	if len(changed) > 0 {
		action := "key.update"
		if len(changed) == 1 && changed[0] == "enabled" {
			action = map[bool]string{true: "key.enable", false: "key.disable"}[updated.Enabled]
		}
		k.audit.Record(ctx, actingFor(a, updated.OwnerID), action, "key", updated.ID, updated.OwnerID, map[string]any{"fields": changed})
	}
	return updated, nil
}

// adminDecisionsStick refuses an owner's change that would undo or widen what an admin
// set on their key: re-enabling a key an admin disabled, raising a limit or widening an
// allowlist an admin set. Narrowing stays the owner's right. Admins are not bound.
func (k *Service) adminDecisionsStick(a audit.Actor, key *models.Key, p UpdateParams, rateRequests, rateWindow int, allowlist string) error {
	if a.Admin {
		return nil
	}
	if p.Enabled != nil && *p.Enabled && !key.Enabled && key.DisabledBy != "" {
		return errs.Because(ErrForbidden, "the key was disabled by the admin %s; only an admin can enable it again", key.DisabledBy)
	}
	if p.RateLimit != nil && key.LimitSetBy != "" && (rateRequests != key.RateLimitRequests || rateWindow != key.RateLimitWindowSeconds) {
		narrower := rateRequests > 0 && key.RateLimitRequests > 0 &&
			rateAtMost(rateRequests, rateWindow, key.RateLimitRequests, key.RateLimitWindowSeconds)
		if !narrower {
			return errs.Because(ErrForbidden, "the rate limit was set by the admin %s; you may lower it, not raise or remove it", key.LimitSetBy)
		}
	}
	if p.IPAllowlist != nil && key.AllowlistSetBy != "" && allowlist != key.IPAllowlist && !cidrlist.Within(allowlist, key.IPAllowlist) {
		return errs.Because(ErrForbidden, "the IP allowlist was set by the admin %s; you may narrow it, not widen or remove it", key.AllowlistSetBy)
	}
	return nil
}
