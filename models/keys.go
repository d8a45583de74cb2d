package models

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// notDeleted is the condition every read of keys carries.
const notDeleted = "deleted_at IS NULL"

// CreateKey inserts k. It sets k.ID when empty and k.CreatedAt (when zero) and
// k.UpdatedAt, k.Metadata to "{}" when empty, and normalises k's times to what is
// stored. A LookupID or ID already taken, by a live or a deleted key, or a name the
// owner already gave a live, not superseded key, gives ErrAlreadyExists.
func (s *Store) CreateKey(ctx context.Context, k *Key) error {
	if err := prepareNewKey(k); err != nil {
		return fmt.Errorf("models: create key: %w", err)
	}
	ctx, w := writingKeys(ctx)
	w.name(k.LookupID)
	err := insertKey(s.db.WithContext(ctx), k)
	s.announceWrite(w)
	if err != nil {
		return fmt.Errorf("models: create key: %w", err)
	}
	return nil
}

// CreateKeyCapped stores a new key unless its owner already holds maxLive live keys
// (not revoked, not expired, not superseded by a rotation): ErrLimitReached. The count
// and the insert are one transaction that excludes the owner's other creates (an
// advisory lock on PostgreSQL; SQLite's write lock), so parallel creates cannot pass
// the ceiling together.
func (s *Store) CreateKeyCapped(ctx context.Context, k *Key, maxLive int, now time.Time) error {
	if err := prepareNewKey(k); err != nil {
		return fmt.Errorf("models: create key: %w", err)
	}
	ctx, w := writingKeys(ctx)
	w.name(k.LookupID)
	defer s.announceWrite(w)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if s.backend == backendPostgres {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(hashtext(?))", "api_keys:"+k.OwnerID).Error; err != nil {
				return err
			}
		}
		var n int64
		err := tx.Model(&Key{}).Where("owner_id = ? AND deleted_at IS NULL AND rotated_to IS NULL", k.OwnerID).
			Where("expires_at IS NULL OR expires_at > ?", dbTime(now)).Count(&n).Error
		if err != nil {
			return err
		}
		if n >= int64(maxLive) {
			return ErrLimitReached
		}
		return insertKey(tx, k)
	})
	if err != nil {
		return fmt.Errorf("models: create key: %w", err)
	}
	return nil
}

// prepareNewKey gives k an id and its times, and checks it, before an insert.
func prepareNewKey(k *Key) error {
	if k.ID == "" {
		k.ID = uuid.NewString()
	} else {
		id, ok := canonicalID(k.ID)
		if !ok {
			return errors.New("id is not a UUID")
		}
		k.ID = id
	}
	if k.Metadata == "" {
		k.Metadata = "{}"
	}
	if k.OwnerType == "" {
		k.OwnerType = OwnerUser
	}
	if err := checkOwner(k); err != nil {
		return err
	}
	if err := checkKey(k); err != nil {
		return err
	}
	if k.CreatedAt.IsZero() {
		k.CreatedAt = time.Now()
	}
	k.CreatedAt = dbTime(k.CreatedAt)
	k.UpdatedAt = k.CreatedAt
	normalizeTimes(k)
	return nil
}

func insertKey(db *gorm.DB, k *Key) error {
	err := db.Create(k).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return ErrAlreadyExists
	}
	return err
}

// normalizeTimes rounds k's optional times to what is stored.
func normalizeTimes(k *Key) {
	k.ExpiresAt = dbTimePtr(k.ExpiresAt)
	k.DeletedAt = dbTimePtr(k.DeletedAt)
	k.LastUsedAt = dbTimePtr(k.LastUsedAt)
	k.GraceUntil = dbTimePtr(k.GraceUntil)
}

// checkKey refuses what one backend would store and the other reject (PostgreSQL
// text holds neither NUL nor invalid UTF-8), so both behave the same.
func checkKey(k *Key) error {
	if k.OwnerID == "" {
		return errors.New("owner id is empty")
	}
	if k.LookupID == "" {
		return errors.New("lookup id is empty")
	}
	if len(k.SecretHash) != 32 {
		return fmt.Errorf("secret hash is %d bytes, want 32", len(k.SecretHash))
	}
	for _, f := range []struct{ name, v string }{
		{"owner id", k.OwnerID}, {"owner username", k.OwnerUsername}, {"name", k.Name},
		{"description", k.Description}, {"lookup id", k.LookupID},
		{"environment", k.Environment}, {"scopes", k.Scopes}, {"metadata", k.Metadata},
	} {
		if !storable(f.v) {
			return fmt.Errorf("%s is not valid UTF-8 text", f.name)
		}
	}
	if !jsonObject(k.Metadata) {
		return errors.New("metadata is not a JSON object")
	}
	if k.RotatedTo != nil {
		if _, ok := canonicalID(*k.RotatedTo); !ok {
			return errors.New("rotated to is not a UUID")
		}
	}
	return nil
}

func jsonObject(s string) bool {
	return json.Valid([]byte(s)) && strings.HasPrefix(strings.TrimLeft(s, " \t\r\n"), "{")
}

func storable(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// canonicalID parses a UUID in any accepted spelling; ok is false for anything else,
// so bad input becomes ErrNotFound rather than a database error.
func canonicalID(id string) (string, bool) {
	u, err := uuid.Parse(id)
	if err != nil {
		return "", false
	}
	return u.String(), true
}

// ownedKey selects the live key id, of ownerID unless ownerID is "" (any owner).
func ownedKey(db *gorm.DB, ownerID, id string) *gorm.DB {
	db = db.Model(&Key{}).Where("id = ?", id).Where(notDeleted)
	if ownerID != "" {
		db = db.Where("owner_id = ?", ownerID)
	}
	return db
}

// keyForExchangeColumns are what the exchange reads of a key, in KeyForExchange's Scan
// order.
const keyForExchangeColumns = "id, owner_id, secret_hash, enabled, expires_at, scopes, " +
	"ip_allowlist, rate_limit_requests, rate_limit_window_seconds, environment, roles, owner_type, consumer_id"

// KeyForExchange is the exchange's hot path: the live key with that lookup id, with
// only the fields the exchange checks (ID, OwnerID, SecretHash, Enabled, ExpiresAt,
// Scopes, IPAllowlist, RateLimitRequests, RateLimitWindowSeconds, Roles), or ErrNotFound. One statement through database/sql: no gorm statement building or
// reflection, and none of the time columns the exchange does not read, which the SQLite
// driver is slow to parse.
func (s *Store) KeyForExchange(ctx context.Context, lookupID string) (Key, error) {
	if lookupID == "" || !storable(lookupID) {
		return Key{}, fmt.Errorf("models: key for exchange: %w", ErrNotFound)
	}
	sqlDB, err := s.db.DB()
	if err != nil {
		return Key{}, fmt.Errorf("models: key for exchange: %w", err)
	}
	var (
		k       Key
		expires sql.NullTime
	)
	err = sqlDB.QueryRowContext(ctx, s.keyForExchange, lookupID).Scan(&k.ID, &k.OwnerID, &k.SecretHash,
		&k.Enabled, &expires, &k.Scopes, &k.IPAllowlist, &k.RateLimitRequests, &k.RateLimitWindowSeconds, &k.Environment, &k.Roles,
		&k.OwnerType, &k.ConsumerID)
	if errors.Is(err, sql.ErrNoRows) {
		return Key{}, fmt.Errorf("models: key for exchange: %w", ErrNotFound)
	}
	if err != nil {
		return Key{}, fmt.Errorf("models: key for exchange: %w", err)
	}
	if expires.Valid {
		t := expires.Time.UTC()
		k.ExpiresAt = &t
	}
	return k, nil
}

// KeyByID returns the live key id of ownerID, or of any owner when ownerID is ""
// (admin access). ErrNotFound also for another owner's key and for an id that is not
// a UUID.
func (s *Store) KeyByID(ctx context.Context, ownerID, id string) (Key, error) {
	id, ok := canonicalID(id)
	if !ok || !storable(ownerID) {
		return Key{}, fmt.Errorf("models: key by id: %w", ErrNotFound)
	}
	var k Key
	if err := ownedKey(s.db.WithContext(ctx), ownerID, id).Take(&k).Error; err != nil {
		return Key{}, fmt.Errorf("models: key by id: %w", notFound(err))
	}
	return normalized(k), nil
}

// KeyFilter selects and orders the keys ListKeys returns. The zero value lists the
// first 50 live keys of every owner, oldest first.
type KeyFilter struct {
	OwnerID string // "" = every owner
	// Query is a case-insensitive substring of the name or description, and of the
	// owner's username when MatchOwner. Case folding is the database's lower(): ASCII
	// only on SQLite.
	Query       string
	MatchOwner  bool
	Status      string    // "", "active", "inactive", "expired", "expiring_soon", "owner_disabled"
	Environment string    // "" or exact
	Expires     string    // "", "30d" (within the next 30 days, not yet), "expired", "never"
	Now         time.Time // the clock for Status and Expires; required with either
	// ExpiringSoon is how close to its expiry a key counts as "expiring_soon": the key
	// service's rule, which this filter only applies; required with Status "active"
	// or "expiring_soon".
	ExpiringSoon time.Duration
	Sort         string // "created_at" (default), "expires_at", "name", "last_used_at"
	Desc         bool
	Limit        int // 1..1000; 0 means 50 (the API pages by at most 200 and asks one more)
	// After is the keyset position of the last row of the previous page: the next
	// page holds the rows strictly after it in f's order.
	After *ListPosition
}

const (
	defaultKeyLimit = 50
	maxKeyLimit     = 1000
)

// keySorts are the columns a list may be sorted by; caller text never reaches SQL.
var keySorts = map[string]string{
	"":             "created_at",
	"created_at":   "created_at",
	"expires_at":   "expires_at",
	"name":         "name",
	"last_used_at": "last_used_at",
}

// keyStatuses and keyExpiries are KeyFilter.Status and KeyFilter.Expires: each
// narrows a query to its keys as of now.
var (
	keyStatuses = map[string]func(q *gorm.DB, f KeyFilter) *gorm.DB{
		"owner_disabled": func(q *gorm.DB, _ KeyFilter) *gorm.DB {
			return q.Where("owner_disabled = ?", true)
		},
		"inactive": func(q *gorm.DB, _ KeyFilter) *gorm.DB {
			return q.Where("owner_disabled = ? AND enabled = ?", false, false)
		},
		"expired": func(q *gorm.DB, f KeyFilter) *gorm.DB {
			return q.Where("owner_disabled = ? AND enabled = ? AND expires_at <= ?", false, true, f.Now)
		},
		"expiring_soon": func(q *gorm.DB, f KeyFilter) *gorm.DB {
			return q.Where("owner_disabled = ? AND enabled = ? AND expires_at > ? AND expires_at <= ?", false, true, f.Now, f.Now.Add(f.ExpiringSoon))
		},
		"active": func(q *gorm.DB, f KeyFilter) *gorm.DB {
			return q.Where("owner_disabled = ? AND enabled = ? AND (expires_at IS NULL OR expires_at > ?)", false, true, f.Now.Add(f.ExpiringSoon))
		},
	}
	keyExpiries = map[string]func(q *gorm.DB, now time.Time) *gorm.DB{
		"30d": func(q *gorm.DB, now time.Time) *gorm.DB {
			return q.Where("expires_at > ? AND expires_at <= ?", now, now.Add(30*24*time.Hour))
		},
		"expired": func(q *gorm.DB, now time.Time) *gorm.DB {
			return q.Where("expires_at <= ?", now)
		},
		"never": func(q *gorm.DB, _ time.Time) *gorm.DB {
			return q.Where("expires_at IS NULL")
		},
	}
)

// ListKeys returns the live keys f selects, in f's order: the sort column (keys that
// never expire or were never used last, whatever the direction), then id. Deleted keys
// are never listed; superseded ones are until deleted. An unknown sort, status or
// expiry, or a limit or offset out of range, gives ErrInvalidFilter. Never nil.
func (s *Store) ListKeys(ctx context.Context, f KeyFilter) ([]Key, error) {
	q, err := s.keyQuery(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("models: list keys: %w", err)
	}
	keys := []Key{}
	if q == nil { // text no key can hold
		return keys, nil
	}
	if err := q.Find(&keys).Error; err != nil {
		return nil, fmt.Errorf("models: list keys: %w", err)
	}
	for i := range keys {
		keys[i] = normalized(keys[i])
	}
	return keys, nil
}

// checkedPosition is a list position with its id in canonical form; an error when
// it cannot be a stored key's.
func checkedPosition(p *ListPosition) (*ListPosition, error) {
	if p == nil {
		return nil, nil
	}
	c := *p
	id, ok := canonicalID(c.ID)
	if !ok || !storable(c.Text) {
		return nil, fmt.Errorf("%w: the position is no key's", ErrInvalidFilter)
	}
	c.ID = id
	return &c, nil
}

// whereText selects the keys whose name or description (matchOwner: or owner's
// username) contains text. lower() on both sides, so that a query always finds
// itself whatever either backend's notion of case.
func whereText(q *gorm.DB, text string, matchOwner bool) *gorm.DB {
	cols := []string{"name", "description"}
	if matchOwner {
		cols = append(cols, "owner_username")
	}
	pattern := "%" + escapeLike(text) + "%"
	conds, args := make([]string, len(cols)), make([]any, len(cols))
	for i, c := range cols {
		conds[i], args[i] = "lower("+c+") LIKE lower(?) ESCAPE '\\'", pattern
	}
	return q.Where("("+strings.Join(conds, " OR ")+")", args...)
}

// keyQuery builds ListKeys' statement; nil when f's text cannot match a stored key.
func (s *Store) keyQuery(ctx context.Context, f KeyFilter) (*gorm.DB, error) {
	col, ok := keySorts[f.Sort]
	if !ok {
		return nil, fmt.Errorf("%w: unknown sort %q", ErrInvalidFilter, f.Sort)
	}
	status, ok := keyStatuses[f.Status]
	if !ok && f.Status != "" {
		return nil, fmt.Errorf("%w: unknown status %q", ErrInvalidFilter, f.Status)
	}
	expiry, ok := keyExpiries[f.Expires]
	if !ok && f.Expires != "" {
		return nil, fmt.Errorf("%w: unknown expiry %q", ErrInvalidFilter, f.Expires)
	}
	if (status != nil || expiry != nil) && f.Now.IsZero() {
		return nil, fmt.Errorf("%w: status and expiry filters need Now", ErrInvalidFilter)
	}
	if (f.Status == "active" || f.Status == "expiring_soon") && f.ExpiringSoon <= 0 {
		return nil, fmt.Errorf("%w: status %s needs ExpiringSoon", ErrInvalidFilter, f.Status)
	}
	limit := f.Limit
	if limit == 0 {
		limit = defaultKeyLimit
	}
	if limit < 1 || limit > maxKeyLimit {
		return nil, fmt.Errorf("%w: limit %d not in 1..%d", ErrInvalidFilter, f.Limit, maxKeyLimit)
	}
	after, err := checkedPosition(f.After)
	if err != nil {
		return nil, err
	}
	for _, v := range []string{f.OwnerID, f.Environment, f.Query} {
		if !storable(v) {
			return nil, nil
		}
	}

	q := s.db.WithContext(ctx).Model(&Key{}).Where(notDeleted)
	if f.OwnerID != "" {
		q = q.Where("owner_id = ?", f.OwnerID)
	}
	if f.Environment != "" {
		q = q.Where("environment = ?", f.Environment)
	}
	if f.Query != "" {
		q = whereText(q, f.Query, f.MatchOwner)
	}
	f.Now = dbTime(f.Now)
	if status != nil {
		q = status(q, f)
	}
	if expiry != nil {
		q = expiry(q, f.Now)
	}
	if after != nil {
		q = afterKey(q, col, f.Desc, *after)
	}
	// (col IS NULL) first: NULLs last in both directions on both backends, which
	// disagree on where NULLs go by default.
	q = q.Order(clause.OrderBy{Columns: []clause.OrderByColumn{
		{Column: clause.Column{Name: "(" + col + " IS NULL)", Raw: true}},
		{Column: clause.Column{Name: col}, Desc: f.Desc},
		{Column: clause.Column{Name: "id"}, Desc: f.Desc},
	}})
	return q.Limit(limit), nil
}

// afterKey keeps the keys strictly after p in keyQuery's order: by col (NULLs last
// whatever the direction), then id, both ascending unless desc.
func afterKey(q *gorm.DB, col string, desc bool, p ListPosition) *gorm.DB {
	cmp := ">"
	if desc {
		cmp = "<"
	}
	if p.Null { // only NULLs follow a NULL, by id
		return q.Where(fmt.Sprintf("%s IS NULL AND id %s ?", col, cmp), p.ID)
	}
	var v any = p.Text
	if col != "name" {
		v = dbTime(p.At)
	}
	return q.Where(fmt.Sprintf("(%s IS NULL OR %s %s ? OR (%s = ? AND id %s ?))", col, col, cmp, col, cmp), v, v, p.ID)
}

// escapeLike makes s match itself literally in a LIKE pattern with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// UpdateKey runs fn on the current row of the live key id, of ownerID unless ownerID
// is "" (any owner), inside one transaction, and saves what fn left: a read-modify-
// write that loses no concurrent update. fn's error is returned wrapped. ID, OwnerID,
// LookupID, SecretHash and CreatedAt keep their values whatever fn does; UpdatedAt
// becomes now. ErrNotFound as KeyByID; a name taken by another live key of the owner
// gives ErrAlreadyExists.
func (s *Store) UpdateKey(ctx context.Context, ownerID, id string, fn func(k *Key) error) (Key, error) {
	id, ok := canonicalID(id)
	if !ok || !storable(ownerID) {
		return Key{}, fmt.Errorf("models: update key: %w", ErrNotFound)
	}
	var k Key
	ctx, w := writingKeys(ctx)
	defer s.announceWrite(w)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// FOR UPDATE on PostgreSQL; SQLite, which has no row locks, took the write
		// lock when the (immediate) transaction began.
		var old Key
		err := ownedKey(tx, ownerID, id).Clauses(clause.Locking{Strength: "UPDATE"}).Take(&old).Error
		if err != nil {
			return notFound(err)
		}
		w.name(old.LookupID)
		old = normalized(old)
		k = old
		k.SecretHash = slices.Clone(old.SecretHash)
		if err := fn(&k); err != nil {
			return err
		}
		k.ID, k.OwnerID, k.LookupID, k.SecretHash, k.CreatedAt =
			old.ID, old.OwnerID, old.LookupID, old.SecretHash, old.CreatedAt
		if k.Metadata == "" {
			k.Metadata = "{}"
		}
		if err := checkKey(&k); err != nil {
			return err
		}
		k.UpdatedAt = dbTime(time.Now())
		normalizeTimes(&k)
		// UpdateColumns: every column but those restored above, NULLs included,
		// with the times set here rather than gorm's.
		err = tx.Model(&Key{}).Where("id = ?", id).
			Select("*").Omit("id", "owner_id", "lookup_id", "secret_hash", "created_at").
			UpdateColumns(&k).Error
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return ErrAlreadyExists
		}
		return err
	})
	if err != nil {
		return Key{}, fmt.Errorf("models: update key: %w", err)
	}
	return normalized(k), nil
}

// RotateKey supersedes the live key oldID (of ownerID, or of any owner when ownerID
// is "") by newKey, in one transaction: the old key gets RotatedTo = newKey.ID,
// GraceUntil = graceUntil and ExpiresAt = the earlier of its expiry and graceUntil;
// newKey is inserted as CreateKey does, for the old key's owner (newKey.OwnerID ""
// takes it; another owner is refused). ErrNotFound when there is no such live key;
// ErrConflict when it was already superseded, so that of concurrent rotations of one
// key exactly one wins. Returns the old key as stored.
func (s *Store) RotateKey(ctx context.Context, ownerID, oldID string, newKey *Key, graceUntil time.Time) (Key, error) {
	oldID, ok := canonicalID(oldID)
	if !ok || !storable(ownerID) {
		return Key{}, fmt.Errorf("models: rotate key: %w", ErrNotFound)
	}
	if graceUntil.IsZero() {
		return Key{}, errors.New("models: rotate key: grace until is zero")
	}
	// The id and the time now, the rest of newKey once its owner is known.
	if newKey.ID == "" {
		newKey.ID = uuid.NewString()
	}
	newID, ok := canonicalID(newKey.ID)
	if !ok || newID == oldID {
		return Key{}, errors.New("models: rotate key: new key id is not a new UUID")
	}
	newKey.ID = newID
	if newKey.CreatedAt.IsZero() {
		newKey.CreatedAt = time.Now()
	}
	grace := dbTime(graceUntil)
	var old Key
	ctx, w := writingKeys(ctx)
	defer s.announceWrite(w)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// The condition decides the race: on PostgreSQL the losers wait for the
		// winner's row lock, then find rotated_to set and update nothing.
		res := ownedKey(tx, ownerID, oldID).Where("rotated_to IS NULL").
			UpdateColumns(map[string]any{
				"rotated_to":  newKey.ID,
				"grace_until": grace,
				"expires_at": gorm.Expr("CASE WHEN expires_at IS NULL OR expires_at > ? THEN ? ELSE expires_at END",
					grace, grace),
				"updated_at": dbTime(newKey.CreatedAt),
			})
		if res.Error != nil {
			return res.Error
		}
		if err := ownedKey(tx, ownerID, oldID).Take(&old).Error; err != nil {
			return notFound(err) // unknown, deleted or another owner's
		}
		w.name(old.LookupID)
		if res.RowsAffected == 0 {
			return ErrConflict // live, so superseded
		}
		if newKey.OwnerID == "" {
			newKey.OwnerID = old.OwnerID
		}
		if newKey.OwnerID != old.OwnerID {
			return errors.New("new key: owner is not the old key's")
		}
		if err := prepareNewKey(newKey); err != nil {
			return fmt.Errorf("new key: %w", err)
		}
		w.name(newKey.LookupID)
		return insertKey(tx, newKey)
	})
	if err != nil {
		return Key{}, fmt.Errorf("models: rotate key: %w", err)
	}
	return normalized(old), nil
}

// DeleteKey soft-deletes the live key id of ownerID, or of any owner when ownerID is
// "", at the given time. ErrNotFound if there is no such key.
func (s *Store) DeleteKey(ctx context.Context, ownerID, id string, at time.Time) error {
	id, ok := canonicalID(id)
	if !ok || !storable(ownerID) {
		return fmt.Errorf("models: delete key: %w", ErrNotFound)
	}
	at = dbTime(at)
	// A key's lookup id never changes: read before the write, it names what it changes.
	var lookupIDs []string
	err := ownedKey(s.db.WithContext(ctx), ownerID, id).Limit(1).Pluck("lookup_id", &lookupIDs).Error
	if err != nil {
		return fmt.Errorf("models: delete key: %w", err)
	}
	if len(lookupIDs) == 0 {
		return fmt.Errorf("models: delete key: %w", ErrNotFound)
	}
	ctx, w := writingKeys(ctx)
	w.name(lookupIDs...)
	res := ownedKey(s.db.WithContext(ctx), ownerID, id).
		UpdateColumns(map[string]any{"deleted_at": at, "updated_at": at})
	s.announceWrite(w)
	if res.Error != nil {
		return fmt.Errorf("models: delete key: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("models: delete key: %w", ErrNotFound)
	}
	return nil
}

// notFound maps gorm's not-found to ErrNotFound and keeps any other error.
func notFound(err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ErrNotFound
	}
	return err
}

// normalized gives times in UTC whatever the driver's session zone.
func normalized(k Key) Key {
	k.CreatedAt = k.CreatedAt.UTC()
	k.UpdatedAt = k.UpdatedAt.UTC()
	k.ExpiresAt = utcPtr(k.ExpiresAt)
	k.DeletedAt = utcPtr(k.DeletedAt)
	k.LastUsedAt = utcPtr(k.LastUsedAt)
	k.GraceUntil = utcPtr(k.GraceUntil)
	return k
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}
