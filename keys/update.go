package keys

import (
	"context"
	"time"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/internal/cidrlist"
	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/models"
)

// UpdateParams holds the fields a PATCH may change, the API's own (api.KeyUpdate);
// nil means unchanged. Roles narrows the key's roles (roles.go).
type UpdateParams = api.KeyUpdate

// Update changes a key. Expiry may be shortened, never extended.
func (k *Service) Update(ctx context.Context, a audit.Actor, id string, p UpdateParams) (Key, error) {
	ch, err := k.validUpdate(p, a.Admin, k.clock().UTC())
	wanted, err := validNarrow(p, err)
	if err != nil {
		return Key{}, err
	}
	var roles rolesChange
	if p.Roles != nil {
		if roles, err = k.prepareRoles(ctx, ownerScope(a), id, wanted); err != nil {
			return Key{}, err
		}
	}
	var changed []string
	updated, err := k.store.UpdateKey(ctx, ownerScope(a), id, func(key *models.Key) error {
		if err := k.adminDecisionsStick(a, key, p, ch.rateRequests, ch.rateWindow, ch.allowlist); err != nil {
			return err
		}
		var err error
		changed, err = ch.apply(key) // the store may run fn again: changed is set anew
		if err != nil {
			return err
		}
		if narrowed, err := roles.apply(key); err != nil {
			return err
		} else if narrowed {
			changed = append(changed, "roles")
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
				key.AllowlistSetBy = map[bool]string{true: a.Name, false: ""}[ch.allowlist != ""]
			}
		}
		return nil
	})
	if err != nil {
		return Key{}, err
	}
	k.cache.Drop(updated.ID)
	if len(changed) > 0 {
		action := "key.update"
		if len(changed) == 1 && changed[0] == "enabled" {
			action = map[bool]string{true: "key.enable", false: "key.disable"}[updated.Enabled]
		}
		k.audit.Record(ctx, actingFor(a, updated.OwnerID), action, "key", updated.ID, updated.OwnerID, map[string]any{"fields": changed})
	}
	return k.key(updated), nil
}

// change is a validated UpdateParams: the request, and its fields in stored forms.
type change struct {
	p UpdateParams
	encoded
}

// validUpdate checks every given field at once.
func (k *Service) validUpdate(p UpdateParams, byAdmin bool, now time.Time) (change, error) {
	verr := &errs.Validation{Fields: checkRules(&p)} // trims p's name
	ch := change{p: p}
	if p.Scopes != nil {
		ch.scopes = validScopes(verr, *p.Scopes)
	}
	if p.Metadata != nil {
		ch.metadata = validMetadata(verr, p.Metadata)
	}
	if p.ExpiresAt != nil {
		ch.expiresAt = validFutureTime(verr, "expires_at", *p.ExpiresAt, now)
	}
	ch.rateRequests, ch.rateWindow = k.validRateLimit(verr, p.RateLimit, byAdmin)
	if p.IPAllowlist != nil {
		ch.allowlist = validAllowlist(verr, *p.IPAllowlist)
	}
	return ch, verr.Err()
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
