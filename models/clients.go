package models

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// States of a client row. A row is written (pending) before the Keycloak client is
// created and marked deleting before it is deleted, so that a crash or a failure in
// between leaves a row that says what to finish or undo; only active rows are shown.
const (
	ClientPending  = "pending"
	ClientActive   = "active"
	ClientDeleting = "deleting"
)

// Client is a confidential service-account OAuth client of a consumer. Keycloak holds
// the client itself and its secret; this row links it to its consumer and keeps what
// lists filter on.
type Client struct {
	ID         string `gorm:"primaryKey;size:36"`
	ConsumerID string `gorm:"not null;size:36;index:idx_oauth_clients_consumer"`
	// ClientID is the OAuth client_id, unique in the realm.
	ClientID string `gorm:"not null;uniqueIndex:idx_oauth_clients_client_id"`
	// KeycloakID is Keycloak's internal id; empty while pending.
	KeycloakID string `gorm:"not null"`
	// ServiceAccountID is the Keycloak user id of the client's service account.
	ServiceAccountID string     `gorm:"not null"`
	Name             string     `gorm:"not null"`
	Description      string     `gorm:"not null"`
	RedirectURIs     StringList `gorm:"not null"`
	// No default tag: gorm would then skip an explicit false on insert.
	Enabled   bool      `gorm:"not null"`
	State     string    `gorm:"not null;index:idx_oauth_clients_state"`
	CreatedAt time.Time `gorm:"not null"`
	UpdatedAt time.Time `gorm:"not null"`
}

// TableName fixes the table name ("clients" would read as Keyward's own callers).
func (Client) TableName() string { return "oauth_clients" }

// StringList is stored as a JSON array in a text column.
type StringList []string

// Value implements driver.Valuer.
func (l StringList) Value() (driver.Value, error) {
	if l == nil {
		return "[]", nil
	}
	b, err := json.Marshal([]string(l))
	return string(b), err
}

// Scan implements sql.Scanner.
func (l *StringList) Scan(v any) error {
	var raw []byte
	switch x := v.(type) {
	case nil:
		*l = StringList{}
		return nil
	case string:
		raw = []byte(x)
	case []byte:
		raw = x
	default:
		return fmt.Errorf("string list: cannot scan %T", v)
	}
	var out []string
	if err := json.Unmarshal(raw, &out); err != nil {
		return fmt.Errorf("string list: %w", err)
	}
	if out == nil {
		out = []string{}
	}
	*l = out
	return nil
}

// GormDataType makes the column text on both backends.
func (StringList) GormDataType() string { return "text" }

// ClientFilter selects clients; zero fields do not filter. Results are in the sort
// order (SortCreatedAt, the default, or SortClientID), at most Limit.
type ClientFilter struct {
	ConsumerID  string
	Environment string // the consumer's environment
	Enabled     *bool
	State       string // ClientActive for what callers may see
	Query       string // case-insensitive substring of client_id, name or description
	Sort        string
	Desc        bool
	After       *ListPosition
	Limit       int
}

// CreateClient inserts c if its consumer exists (ErrNotFound otherwise). It sets c.ID
// when empty and the times. A client_id taken already gives ErrAlreadyExists.
func (s *Store) CreateClient(ctx context.Context, c *Client) error {
	if c.ID == "" {
		c.ID = uuid.NewString()
	} else if id, ok := canonicalID(c.ID); ok {
		c.ID = id
	} else {
		return errors.New("models: create client: id is not a UUID")
	}
	consumerID, ok := canonicalID(c.ConsumerID)
	if !ok {
		return fmt.Errorf("models: create client: %w", ErrNotFound)
	}
	c.ConsumerID = consumerID
	if err := checkClient(c); err != nil {
		return fmt.Errorf("models: create client: %w", err)
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = time.Now()
	}
	c.CreatedAt = dbTime(c.CreatedAt)
	c.UpdatedAt = c.CreatedAt
	if c.RedirectURIs == nil {
		c.RedirectURIs = StringList{}
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&Consumer{}).Where("id = ?", consumerID).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		return tx.Create(c).Error
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return fmt.Errorf("models: create client: %w", ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("models: create client: %w", err)
	}
	return nil
}

func checkClient(c *Client) error {
	if c.ClientID == "" {
		return errors.New("client id is empty")
	}
	switch c.State {
	case ClientPending, ClientActive, ClientDeleting:
	default:
		return fmt.Errorf("unknown state %q", c.State)
	}
	for _, v := range append([]string{c.ClientID, c.KeycloakID, c.ServiceAccountID, c.Name, c.Description}, c.RedirectURIs...) {
		if !storable(v) {
			return errors.New("text is not valid UTF-8")
		}
	}
	return nil
}

// ClientByID returns the client row in whatever state, or ErrNotFound.
func (s *Store) ClientByID(ctx context.Context, id string) (Client, error) {
	id, ok := canonicalID(id)
	if !ok {
		return Client{}, fmt.Errorf("models: client by id: %w", ErrNotFound)
	}
	var c Client
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&c).Error; err != nil {
		return Client{}, fmt.Errorf("models: client by id: %w", notFound(err))
	}
	return normalizedClient(c), nil
}

// ListClients returns clients matching f.
func (s *Store) ListClients(ctx context.Context, f ClientFilter) ([]Client, error) {
	q := s.db.WithContext(ctx).Model(&Client{})
	if f.ConsumerID != "" {
		id, ok := canonicalID(f.ConsumerID)
		if !ok {
			return []Client{}, nil
		}
		q = q.Where("oauth_clients.consumer_id = ?", id)
	}
	if f.Environment != "" {
		q = q.Joins("JOIN consumers ON consumers.id = oauth_clients.consumer_id").
			Where("consumers.environment = ?", f.Environment)
	}
	if f.Enabled != nil {
		q = q.Where("oauth_clients.enabled = ?", *f.Enabled)
	}
	if f.State != "" {
		q = q.Where("oauth_clients.state = ?", f.State)
	}
	if f.Query != "" {
		if !storable(f.Query) {
			return []Client{}, nil
		}
		like := containsPattern(f.Query)
		q = q.Where(`(LOWER(oauth_clients.client_id) LIKE ? ESCAPE '\' OR LOWER(oauth_clients.name) LIKE ? ESCAPE '\'`+
			` OR LOWER(oauth_clients.description) LIKE ? ESCAPE '\')`, like, like, like)
	}
	col := "oauth_clients.created_at"
	if f.Sort == SortClientID {
		col = "oauth_clients.client_id"
	}
	q = orderKeyset(q, col, "oauth_clients.id", f.Sort != SortClientID, f.Desc, f.After)
	out := []Client{}
	if err := q.Select("oauth_clients.*").Limit(listLimit(f.Limit)).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: list clients: %w", err)
	}
	for i := range out {
		out[i] = normalizedClient(out[i])
	}
	return out, nil
}

// ClientsOfConsumer returns every client row of a consumer, in whatever state, oldest
// first.
func (s *Store) ClientsOfConsumer(ctx context.Context, consumerID string) ([]Client, error) {
	id, ok := canonicalID(consumerID)
	if !ok {
		return []Client{}, nil
	}
	out := []Client{}
	if err := s.db.WithContext(ctx).Where("consumer_id = ?", id).Order("created_at").Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: clients of consumer: %w", err)
	}
	for i := range out {
		out[i] = normalizedClient(out[i])
	}
	return out, nil
}

// UpdateClient writes c's name, description, redirect URIs and enabled flag to an
// active row and sets c.UpdatedAt. ErrNotFound if there is no active row c.ID.
func (s *Store) UpdateClient(ctx context.Context, c *Client) error {
	id, ok := canonicalID(c.ID)
	if !ok {
		return fmt.Errorf("models: update client: %w", ErrNotFound)
	}
	if c.RedirectURIs == nil {
		c.RedirectURIs = StringList{}
	}
	if err := checkClient(&Client{ClientID: "-", State: ClientActive, Name: c.Name, Description: c.Description,
		RedirectURIs: c.RedirectURIs}); err != nil {
		return fmt.Errorf("models: update client: %w", err)
	}
	now := dbTime(time.Now())
	res := s.db.WithContext(ctx).Model(&Client{}).Where("id = ? AND state = ?", id, ClientActive).
		UpdateColumns(map[string]any{
			"name": c.Name, "description": c.Description, "redirect_uris": c.RedirectURIs,
			"enabled": c.Enabled, "updated_at": now,
		})
	if res.Error != nil {
		return fmt.Errorf("models: update client: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("models: update client: %w", ErrNotFound)
	}
	c.UpdatedAt = now
	return nil
}

// ActivateClient records the Keycloak ids of a pending client and makes it active.
// ErrNotFound if there is no pending row id.
func (s *Store) ActivateClient(ctx context.Context, id, keycloakID, serviceAccountID string) error {
	id, ok := canonicalID(id)
	if !ok || !storable(keycloakID) || !storable(serviceAccountID) {
		return fmt.Errorf("models: activate client: %w", ErrNotFound)
	}
	res := s.db.WithContext(ctx).Model(&Client{}).Where("id = ? AND state = ?", id, ClientPending).
		UpdateColumns(map[string]any{
			"keycloak_id": keycloakID, "service_account_id": serviceAccountID,
			"state": ClientActive, "updated_at": dbTime(time.Now()),
		})
	if res.Error != nil {
		return fmt.Errorf("models: activate client: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("models: activate client: %w", ErrNotFound)
	}
	return nil
}

// SetClientState moves a row from one state to another; ErrNotFound if it is not in
// state from.
func (s *Store) SetClientState(ctx context.Context, id, from, to string) error {
	id, ok := canonicalID(id)
	if !ok {
		return fmt.Errorf("models: set client state: %w", ErrNotFound)
	}
	if err := checkClient(&Client{ClientID: "-", State: to}); err != nil {
		return fmt.Errorf("models: set client state: %w", err)
	}
	res := s.db.WithContext(ctx).Model(&Client{}).Where("id = ? AND state = ?", id, from).
		UpdateColumns(map[string]any{"state": to, "updated_at": dbTime(time.Now())})
	if res.Error != nil {
		return fmt.Errorf("models: set client state: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("models: set client state: %w", ErrNotFound)
	}
	return nil
}

// DeleteClient deletes the row; ErrNotFound if there is none.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	id, ok := canonicalID(id)
	if !ok {
		return fmt.Errorf("models: delete client: %w", ErrNotFound)
	}
	res := s.db.WithContext(ctx).Where("id = ?", id).Delete(&Client{})
	if res.Error != nil {
		return fmt.Errorf("models: delete client: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("models: delete client: %w", ErrNotFound)
	}
	return nil
}

// UnsettledClients returns pending and deleting rows last changed before the given
// time: work that a failure or a crash left unfinished.
func (s *Store) UnsettledClients(ctx context.Context, before time.Time) ([]Client, error) {
	out := []Client{}
	err := s.db.WithContext(ctx).Where("state IN ? AND updated_at < ?", []string{ClientPending, ClientDeleting}, dbTime(before)).
		Order("updated_at").Order("id").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("models: unsettled clients: %w", err)
	}
	for i := range out {
		out[i] = normalizedClient(out[i])
	}
	return out, nil
}

func normalizedClient(c Client) Client {
	c.CreatedAt = c.CreatedAt.UTC()
	c.UpdatedAt = c.UpdatedAt.UTC()
	if c.RedirectURIs == nil {
		c.RedirectURIs = StringList{}
	}
	return c
}
