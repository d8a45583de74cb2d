package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/keyward/keyward/internal/errs"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Sentinel errors of consumers and clients.
var (
	// ErrStale: the record changed since it was read; read it again and retry.
	ErrStale = errs.New(errs.Conflict, "the resource changed concurrently; read it again and retry")
	// ErrHasClients: a consumer still has clients and cannot be deleted.
	ErrHasClients = errs.New(errs.Conflict, "the consumer still has clients; delete them first")
)

// Consumer is an application or team that calls the APIs. It exists only in Keyward's
// store; in Keycloak it is the set of its clients (attribute keyward.consumer_id) and
// their service accounts' memberships of its ACL groups.
type Consumer struct {
	ID          string `gorm:"primaryKey;size:36"`
	Name        string `gorm:"not null;uniqueIndex:idx_consumers_name"`
	Description string `gorm:"not null"`
	Environment string `gorm:"not null;index:idx_consumers_environment"`
	// ContactEmail is where the consumer's key reminders go; "" for none.
	ContactEmail string `gorm:"not null;default:''"`
	// Enabled: a disabled consumer's keys and OAuth clients are refused tokens. Rows of
	// releases before it read true.
	Enabled bool `gorm:"not null;default:true"`
	// ACLGroups are names of Keycloak groups under the ACL parent, sorted; stored in
	// consumer_acl_groups so that "which consumers use this group" is one indexed query.
	ACLGroups []string `gorm:"-"`
	// Version grows with every update: an update of a stale copy fails with ErrStale.
	Version   int64     `gorm:"not null"`
	CreatedAt time.Time `gorm:"not null"`
	UpdatedAt time.Time `gorm:"not null"`
}

// TableName fixes the table name.
func (Consumer) TableName() string { return "consumers" }

// ConsumerACLGroup is one ACL group of a consumer.
type ConsumerACLGroup struct {
	ConsumerID string `gorm:"primaryKey;size:36"`
	GroupName  string `gorm:"primaryKey;index:idx_consumer_acl_groups_group"`
}

// TableName fixes the table name.
func (ConsumerACLGroup) TableName() string { return "consumer_acl_groups" }

// ListPosition is a keyset position: the sort value and id of the last row of a page.
// Text is used for text sort columns, At for time columns; Null says the row's sort
// value is NULL (keys that never expire or were never used).
type ListPosition struct {
	Text string
	At   time.Time
	Null bool
	ID   string
}

// Sort fields of consumers.
const (
	SortName      = "name"
	SortCreatedAt = "created_at"
	SortClientID  = "client_id"
)

// ConsumerFilter selects consumers; zero fields do not filter.
type ConsumerFilter struct {
	Query       string // case-insensitive substring of name or description
	Environment string
	Sort        string // SortName (default) or SortCreatedAt
	Desc        bool
	After       *ListPosition
	Limit       int // 1..1000, default 100
}

// CreateConsumer inserts c and its ACL groups in one transaction. It sets c.ID when
// empty, the times and Version 1; a new consumer is enabled. A name taken already gives ErrAlreadyExists.
func (s *Store) CreateConsumer(ctx context.Context, c *Consumer) error {
	if c.ID == "" {
		c.ID = uuid.NewString()
	} else if id, ok := canonicalID(c.ID); ok {
		c.ID = id
	} else {
		return errors.New("models: create consumer: id is not a UUID")
	}
	if err := checkConsumer(c); err != nil {
		return fmt.Errorf("models: create consumer: %w", err)
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = time.Now()
	}
	c.CreatedAt = dbTime(c.CreatedAt)
	c.UpdatedAt = c.CreatedAt
	c.Version = 1
	c.Enabled = true
	c.ACLGroups = normalizedGroups(c.ACLGroups)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(c).Error; err != nil {
			return err
		}
		return insertGroups(tx, c.ID, c.ACLGroups)
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return fmt.Errorf("models: create consumer: %w", ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("models: create consumer: %w", err)
	}
	return nil
}

func checkConsumer(c *Consumer) error {
	if strings.TrimSpace(c.Name) == "" {
		return errors.New("name is empty")
	}
	for _, v := range append([]string{c.Name, c.Description, c.Environment, c.ContactEmail}, c.ACLGroups...) {
		if !storable(v) {
			return errors.New("text is not valid UTF-8")
		}
	}
	return nil
}

func normalizedGroups(groups []string) []string {
	out := slices.Clone(groups)
	slices.Sort(out)
	out = slices.Compact(out)
	if out == nil {
		out = []string{}
	}
	return out
}

func insertGroups(tx *gorm.DB, consumerID string, groups []string) error {
	if len(groups) == 0 {
		return nil
	}
	rows := make([]ConsumerACLGroup, len(groups))
	for i, g := range groups {
		rows[i] = ConsumerACLGroup{ConsumerID: consumerID, GroupName: g}
	}
	return tx.Create(&rows).Error
}

// ConsumerByID returns a consumer with its ACL groups, or ErrNotFound.
func (s *Store) ConsumerByID(ctx context.Context, id string) (Consumer, error) {
	id, ok := canonicalID(id)
	if !ok {
		return Consumer{}, fmt.Errorf("models: consumer by id: %w", ErrNotFound)
	}
	var c Consumer
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&c).Error; err != nil {
		return Consumer{}, fmt.Errorf("models: consumer by id: %w", notFound(err))
	}
	list := []Consumer{c}
	if err := s.loadGroups(ctx, list); err != nil {
		return Consumer{}, fmt.Errorf("models: consumer by id: %w", err)
	}
	return list[0], nil
}

// ConsumersByID returns the consumers with those ids that exist, in no set order.
func (s *Store) ConsumersByID(ctx context.Context, ids []string) ([]Consumer, error) {
	valid := make([]string, 0, len(ids))
	for _, id := range ids {
		if id, ok := canonicalID(id); ok {
			valid = append(valid, id)
		}
	}
	out := []Consumer{}
	if len(valid) == 0 {
		return out, nil
	}
	if err := s.db.WithContext(ctx).Where("id IN ?", valid).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: consumers by id: %w", err)
	}
	if err := s.loadGroups(ctx, out); err != nil {
		return nil, fmt.Errorf("models: consumers by id: %w", err)
	}
	return out, nil
}

// loadGroups fills ACLGroups of every consumer in one query.
func (s *Store) loadGroups(ctx context.Context, list []Consumer) error {
	if len(list) == 0 {
		return nil
	}
	ids := make([]string, len(list))
	for i, c := range list {
		ids[i] = c.ID
	}
	var rows []ConsumerACLGroup
	if err := s.db.WithContext(ctx).Where("consumer_id IN ?", ids).Order("group_name").Find(&rows).Error; err != nil {
		return err
	}
	byID := map[string][]string{}
	for _, r := range rows {
		byID[r.ConsumerID] = append(byID[r.ConsumerID], r.GroupName)
	}
	for i := range list {
		list[i].ACLGroups = normalizedGroups(byID[list[i].ID])
		list[i].CreatedAt = list[i].CreatedAt.UTC()
		list[i].UpdatedAt = list[i].UpdatedAt.UTC()
	}
	return nil
}

// ListConsumers returns consumers matching f in the sort order, at most f.Limit.
func (s *Store) ListConsumers(ctx context.Context, f ConsumerFilter) ([]Consumer, error) {
	q := s.db.WithContext(ctx).Model(&Consumer{})
	if f.Query != "" {
		if !storable(f.Query) {
			return []Consumer{}, nil
		}
		like := containsPattern(f.Query)
		q = q.Where(`(LOWER(name) LIKE ? ESCAPE '\' OR LOWER(description) LIKE ? ESCAPE '\')`, like, like)
	}
	if f.Environment != "" {
		q = q.Where("environment = ?", f.Environment)
	}
	col := "name"
	if f.Sort == SortCreatedAt {
		col = "created_at"
	}
	q = orderKeyset(q, col, "id", col == "created_at", f.Desc, f.After)
	out := []Consumer{}
	if err := q.Limit(listLimit(f.Limit)).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: list consumers: %w", err)
	}
	if err := s.loadGroups(ctx, out); err != nil {
		return nil, fmt.Errorf("models: list consumers: %w", err)
	}
	return out, nil
}

// orderKeyset orders q by col then idCol and keeps rows strictly after the position.
func orderKeyset(q *gorm.DB, col, idCol string, isTime, desc bool, after *ListPosition) *gorm.DB {
	dir, cmp := "ASC", ">"
	if desc {
		dir, cmp = "DESC", "<"
	}
	if after != nil {
		var v any = after.Text
		if isTime {
			v = dbTime(after.At)
		}
		q = q.Where(fmt.Sprintf("(%s %s ? OR (%s = ? AND %s %s ?))", col, cmp, col, idCol, cmp), v, v, after.ID)
	}
	return q.Order(col + " " + dir).Order(idCol + " " + dir)
}

func listLimit(n int) int {
	if n <= 0 || n > 1000 {
		return 100
	}
	return n
}

// containsPattern is a LIKE pattern (with ESCAPE '\') matching any text that holds q
// literally, case-insensitively when the column is lowered too.
func containsPattern(q string) string {
	return "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(q)) + "%"
}

// UpdateConsumer writes c's name, description, environment, contact, enabled and ACL groups, if the
// stored version is still c.Version; it then sets c.Version and c.UpdatedAt to the new
// ones. ErrStale if another update came first, ErrNotFound if it is gone,
// ErrAlreadyExists if the new name is taken. Every live key of the consumer is
// announced changed (announceConsumerKeys): each replica drops their cached tokens.
func (s *Store) UpdateConsumer(ctx context.Context, c *Consumer) error {
	id, ok := canonicalID(c.ID)
	if !ok {
		return fmt.Errorf("models: update consumer: %w", ErrNotFound)
	}
	if err := checkConsumer(c); err != nil {
		return fmt.Errorf("models: update consumer: %w", err)
	}
	now := dbTime(time.Now())
	groups := normalizedGroups(c.ACLGroups)
	var announced []string
	defer func() { s.announce(announced...) }()
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&Consumer{}).Where("id = ? AND version = ?", id, c.Version).UpdateColumns(map[string]any{
			"name": c.Name, "description": c.Description, "environment": c.Environment,
			"contact_email": c.ContactEmail, "enabled": c.Enabled, "version": c.Version + 1, "updated_at": now,
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			var n int64
			if err := tx.Model(&Consumer{}).Where("id = ?", id).Count(&n).Error; err != nil {
				return err
			}
			if n == 0 {
				return ErrNotFound
			}
			return ErrStale
		}
		if err := tx.Where("consumer_id = ?", id).Delete(&ConsumerACLGroup{}).Error; err != nil {
			return err
		}
		if err := insertGroups(tx, id, groups); err != nil {
			return err
		}
		var err error
		announced, err = s.announceConsumerKeys(tx, id)
		return err
	})
	switch {
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return fmt.Errorf("models: update consumer: %w", ErrAlreadyExists)
	case err != nil:
		return fmt.Errorf("models: update consumer: %w", err)
	}
	c.ID, c.ACLGroups, c.Version, c.UpdatedAt = id, groups, c.Version+1, now
	return nil
}

// DeleteConsumer deletes a consumer and its ACL groups. ErrHasClients while any client
// row (in whatever state) refers to it; ErrNotFound if there is no such consumer. Its
// live keys (provisioning revokes them first) are announced changed.
func (s *Store) DeleteConsumer(ctx context.Context, id string) error {
	id, ok := canonicalID(id)
	if !ok {
		return fmt.Errorf("models: delete consumer: %w", ErrNotFound)
	}
	var announced []string
	defer func() { s.announce(announced...) }()
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&Client{}).Where("consumer_id = ?", id).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return ErrHasClients
		}
		if err := tx.Where("consumer_id = ?", id).Delete(&ConsumerACLGroup{}).Error; err != nil {
			return err
		}
		res := tx.Where("id = ?", id).Delete(&Consumer{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		var err error
		announced, err = s.announceConsumerKeys(tx, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("models: delete consumer: %w", err)
	}
	return nil
}

// announceConsumerKeys announces every live key of consumerID as changed, in tx: a
// change of the consumer (enabled, ACL groups) changes what its keys' tokens may be,
// not the key rows, so no trigger would. On PostgreSQL the notifications leave at
// commit, to every replica; the caller announces the returned lookup ids in process
// once tx is over (s.announce), as key writes are (keywatch.go).
func (s *Store) announceConsumerKeys(tx *gorm.DB, consumerID string) ([]string, error) {
	var ids []string
	live := tx.Model(&Key{}).Where("consumer_id = ?", consumerID).Where(notDeleted)
	if err := live.Pluck("lookup_id", &ids).Error; err != nil {
		return nil, err
	}
	if len(ids) == 0 || s.backend != backendPostgres {
		return ids, nil
	}
	err := tx.Exec("SELECT pg_notify(?, lookup_id) FROM api_keys WHERE consumer_id = ? AND "+notDeleted,
		KeyChannel, consumerID).Error
	return ids, err
}

// CountConsumersWithACLGroup says how many consumers have the ACL group.
func (s *Store) CountConsumersWithACLGroup(ctx context.Context, group string) (int64, error) {
	if !storable(group) {
		return 0, nil
	}
	var n int64
	if err := s.db.WithContext(ctx).Model(&ConsumerACLGroup{}).Where("group_name = ?", group).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("models: count consumers with acl group: %w", err)
	}
	return n, nil
}
