package keys

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/internal/safetext"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
)

// CreateParams is a request for a new key, the API's own (api.KeyCreate): a field
// added there reaches the service without a mapping. Create validates it. Owner and
// Consumer are for admins only; Roles limit the key (roles.go); ACLGroups is always
// refused (ACLGroupsRefused).
type CreateParams = api.KeyCreate

// Created is a new key with its one-time plaintext.
type Created struct {
	Key       Key
	Plaintext string
}

// ownerScope is the owner filter for reads and writes: admins reach every key.
func ownerScope(a audit.Actor) string {
	if a.Admin {
		return ""
	}
	return a.ID
}

// actingFor marks the actor as acting on ownerID's behalf when they are not the owner.
func actingFor(a audit.Actor, ownerID string) audit.Actor {
	if a.ID != ownerID {
		a.OnBehalfOf = ownerID
	}
	return a
}

// mayActFor: an admin may create or rotate a key for another user only when that
// user's effective roles hold nothing of the denylist — else a Keyward admin could
// hand themselves a key that carries more power than Keyward's admin role.
func (k *Service) mayActFor(ctx context.Context, owner exchange.Owner, what string) error {
	if k.roles == nil {
		return errors.New("no role reader configured: cannot check the user an admin acts for")
	}
	roles, err := k.roles.EffectiveRoles(ctx, owner.ID, k.deny.Clients())
	if err != nil {
		return fmt.Errorf("effective roles of %s: %w", owner.ID, err)
	}
	if role, denied := k.deny.Match(roles); denied {
		return errs.Because(ErrForbidden, "%s holds the role %s, which is on Keyward's denylist: admins may not %s keys for such users", owner.Username, role, what)
	}
	return nil
}

// Create validates p, prepares the owner at Keycloak, then stores the key hash. If
// Keycloak fails nothing is written; a link made before a failed insert is harmless
// and reused next time.
func (k *Service) Create(ctx context.Context, a audit.Actor, p CreateParams) (Created, error) {
	now := k.clock().UTC()
	row, keyEnv, err := k.validCreate(p, a.Admin, now)
	wanted, err := validLimit(p, err)
	if err != nil {
		return Created{}, err
	}
	if p.Consumer != "" {
		c, err := k.consumerOwner(ctx, a, p)
		if err != nil {
			return Created{}, err
		}
		row.OwnerType, row.ConsumerID = models.OwnerConsumer, c.ID
		return k.insert(ctx, a, p, row, keyEnv, exchange.Owner{ID: models.ConsumerOwnerID(c.ID), Username: c.Name}, true, false)
	}
	owner, onBehalf, ownerDisabled, err := k.resolveOwner(ctx, a, p.Owner)
	if err != nil {
		return Created{}, err
	}
	limit, err := k.limitTo(ctx, owner, wanted)
	if err != nil {
		return Created{}, err
	}
	row.Roles = models.JoinKeyRoles(limit)
	if err := k.minter.Prepare(ctx, owner); err != nil {
		return Created{}, err
	}
	return k.insert(ctx, a, p, row, keyEnv, owner, onBehalf, ownerDisabled)
}

// insert stores row, made for owner, with a new secret.
func (k *Service) insert(ctx context.Context, a audit.Actor, p CreateParams, row models.Key, keyEnv string,
	owner exchange.Owner, onBehalf, ownerDisabled bool,
) (Created, error) {
	now := row.CreatedAt
	parsed, err := exchange.GenerateKey(keyEnv)
	if err != nil {
		return Created{}, err
	}
	row.OwnerID, row.OwnerUsername = owner.ID, owner.Username
	row.LookupID, row.SecretHash = parsed.LookupID, k.hasher.Hash(parsed.Secret)
	row.OwnerDisabled = ownerDisabled // an admin's key for a user disabled in Keycloak shows so at once
	if onBehalf {                     // what an admin sets on a user's key, its owner cannot undo
		if p.RateLimit != nil {
			row.LimitSetBy = a.Name
		}
		if row.IPAllowlist != "" {
			row.AllowlistSetBy = a.Name
		}
	}
	err = k.store.CreateKeyCapped(ctx, &row, k.maxKeys, now)
	if errors.Is(err, models.ErrLimitReached) {
		return Created{}, errs.Because(ErrLimit, "%s holds %d live keys, the most this server allows (KEYWARD_MAX_KEYS_PER_USER); revoke one first", owner.Username, k.maxKeys)
	}
	if err != nil {
		return Created{}, fmt.Errorf("store key: %w", err)
	}
	k.audit.Record(ctx, actingFor(a, row.OwnerID), "key.create", "key", row.ID, row.OwnerID, map[string]any{
		"name": row.Name, "prefix": prefixOf(row), "environment": row.Environment, "roles": roleTexts(row),
	})
	return Created{Key: k.key(row), Plaintext: parsed.String()}, nil
}

// ownCreateChecks are the fields of a create request whose rules validCreate does not
// leave to checkRules: the owner and the consumer are checked where they are looked up
// (for admins only), the expiry forms together.
var ownCreateChecks = []string{"owner", "consumer", "expires_in_days"}

// validCreate checks every field of p at once and returns the row to store (without
// owner and secret) and the key environment.
func (k *Service) validCreate(p CreateParams, byAdmin bool, now time.Time) (models.Key, string, error) {
	verr := &errs.Validation{Fields: checkRules(&p, ownCreateChecks...)} // trims p's name
	if p.Environment == "" {
		p.Environment = DefaultEnvironment
	}
	keyEnv, _ := exchange.TextEnv(p.Environment) // checkRules held it to api.Environments
	var enc encoded
	enc.expiresAt = k.expiry(verr, p, now)
	enc.scopes, enc.metadata = validScopes(verr, p.Scopes), validMetadata(verr, p.Metadata)
	enc.allowlist = validAllowlist(verr, p.IPAllowlist)
	enc.rateRequests, enc.rateWindow = k.validRateLimit(verr, p.RateLimit, byAdmin)
	return createdRow(p, enc, now), keyEnv, verr.Err()
}

// resolveOwner is the caller, or for an admin the user named by owner: a person (not a
// service account) whose roles hold nothing of the denylist. onBehalf says the owner
// is not the caller.
func (k *Service) resolveOwner(ctx context.Context, a audit.Actor, owner string) (o exchange.Owner, onBehalf, disabled bool, err error) {
	self := exchange.Owner{ID: a.ID, Username: a.Name}
	if owner == "" || owner == a.ID || owner == a.Name {
		return self, false, false, nil
	}
	if !a.Admin {
		return self, false, false, errs.Because(ErrForbidden, "only admins create keys for other users")
	}
	if k.users == nil {
		return self, false, false, errors.New("no user directory configured")
	}
	u, err := k.findOwner(ctx, owner)
	switch {
	case errors.Is(err, keycloak.ErrNotFound):
		return self, false, false, errs.Field("owner", "no such user in the realm")
	case err != nil:
		return self, false, false, err
	case u.ServiceAccount:
		return self, false, false, errs.Field("owner", "is the service account of a client: keys belong to people")
	case u.ID == a.ID:
		return self, false, false, nil
	}
	o = exchange.Owner{ID: u.ID, Username: u.Username}
	if err := k.mayActFor(ctx, o, "create"); err != nil {
		return self, false, false, err
	}
	return o, true, !u.Enabled, nil
}

// api.KeyOwnerMax is Keycloak's bound on a username (and ids are shorter).

// findOwner looks up the user an admin named by id or username. Text that cannot name
// a user, and whatever Keycloak refuses as malformed, is the caller's mistake: a field
// problem of owner, not an internal error. keycloak.ErrNotFound when none matches.
func (k *Service) findOwner(ctx context.Context, owner string) (keycloak.User, error) {
	if problem := safetext.Problem(owner, false); problem != "" {
		return keycloak.User{}, errs.Field("owner", problem)
	}
	if utf8.RuneCountInString(owner) > api.KeyOwnerMax {
		return keycloak.User{}, errs.Field("owner", fmt.Sprintf("must be at most %d characters", api.KeyOwnerMax))
	}
	u, err := k.users.FindUser(ctx, owner)
	switch {
	case errors.Is(err, keycloak.ErrBadRequest):
		return u, errs.Field("owner", "is not a user id or username Keycloak accepts")
	case err != nil && !errors.Is(err, keycloak.ErrNotFound):
		return u, fmt.Errorf("find owner: %w", err)
	}
	return u, err
}

// expiry validates the single expiry form of p.
func (k *Service) expiry(verr *errs.Validation, p CreateParams, now time.Time) *time.Time {
	forms := []string{}
	if p.ExpiresInDays != nil {
		forms = append(forms, "expires_in_days")
	}
	if p.ExpiresAt != nil {
		forms = append(forms, "expires_at")
	}
	if p.NeverExpires != nil && *p.NeverExpires {
		forms = append(forms, "never_expires")
	}
	if len(forms) > 1 {
		verr.Add(forms[1], "give one expiry form only, not "+strings.Join(forms, " and "))
		return nil
	}
	switch {
	case p.NeverExpires != nil && *p.NeverExpires:
		return nil
	case p.ExpiresAt != nil:
		return validFutureTime(verr, "expires_at", *p.ExpiresAt, now)
	case p.ExpiresInDays != nil && (*p.ExpiresInDays < 1 || *p.ExpiresInDays > api.KeyExpiryDaysMax):
		verr.Add("expires_in_days", fmt.Sprintf("must be between 1 and %d", api.KeyExpiryDaysMax))
		return nil
	}
	days := DefaultExpiryDays
	if p.ExpiresInDays != nil {
		days = *p.ExpiresInDays
	}
	t := now.AddDate(0, 0, days)
	return &t
}
