package provisioning

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/internal/hostlist"
	"github.com/keyward/keyward/internal/page"
	"github.com/keyward/keyward/internal/safetext"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
)

// Client is a provisioned client as admins see it.
type Client struct {
	ID           string // Keyward's id
	ClientID     string // the OAuth client_id
	KeycloakID   string
	Name         string
	Description  string
	RedirectURIs []string
	Enabled      bool
	ConsumerID   string
	ConsumerName string
	Environment  string   // the consumer's
	ACLGroups    []string // the consumer's: its service account is in each
	Realm        string
	Protocol     string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// CreatedClient is a new client with its secret, which only this answer carries.
type CreatedClient struct {
	Client
	Secret string
}

// ClientInput provisions a client.
type ClientInput struct {
	ClientID     string // generated from the consumer's name when empty
	Name         string // default: the client_id
	Description  string
	RedirectURIs []string // the standard flow is on only when some are given
}

// ClientPatch changes the fields that are not nil.
type ClientPatch struct {
	Name         *string
	Description  *string
	Enabled      *bool
	RedirectURIs *[]string
}

// ClientQuery selects and pages clients.
type ClientQuery struct {
	ConsumerID  string
	Environment string
	Enabled     *bool
	Q           string // substring of client_id, name or description
	Sort        string // created_at, -created_at (default), client_id, -client_id
	Cursor      string
	Limit       int
}

// ClientPage is one page of clients; NextCursor is "" on the last page.
type ClientPage struct {
	Items      []Client
	NextCursor string
}

// TokenTest is what the client-credentials grant gave. It never holds the secret nor
// the access token itself, only its decoded parts.
type TokenTest struct {
	Valid           bool
	Error           string // Keycloak's OAuth error code when not valid
	ExpiresIn       int
	Scope           string
	ACLClaimPresent bool
	ACLGroups       []string
	Header          map[string]any
	Payload         map[string]any
}

const clientIDRule = "3..100 of a-z, 0-9, '.', '_', '-', starting with a letter or digit"

// CreateClient provisions a confidential service-account client for the consumer:
// a pending row (which reserves the client_id and records the intent), the Keycloak
// client, its service account's memberships of the consumer's ACL groups, then the row
// made active. Any failure undoes what was done; what cannot be undone is left for
// Reconcile.
func (s *Service) CreateClient(ctx context.Context, a audit.Actor, consumerID string, in ClientInput) (CreatedClient, error) {
	if err := validClientInput(in, s.redirectHosts); err != nil {
		return CreatedClient{}, err
	}
	s.groupsMu.RLock()
	defer s.groupsMu.RUnlock()
	defer s.lockConsumer(consumerID)()
	cons, err := s.store.ConsumerByID(ctx, consumerID)
	if err != nil {
		return CreatedClient{}, err
	}
	groups, err := s.joinableGroups(ctx, cons)
	if err != nil {
		return CreatedClient{}, err
	}
	row := models.Client{
		ConsumerID: cons.ID, ClientID: in.ClientID, Name: in.Name, Description: in.Description,
		RedirectURIs: models.StringList(slices.Clone(in.RedirectURIs)), Enabled: true,
		State: models.ClientPending, CreatedAt: s.now(),
	}
	if err := s.insertPending(ctx, &row, cons.Name, in.ClientID == ""); err != nil {
		return CreatedClient{}, err
	}
	u := &undo{log: s.cfg.Log}
	u.push("delete pending row", func(ctx context.Context) error { return s.store.DeleteClient(ctx, row.ID) })
	fail := func(err error) (CreatedClient, error) {
		u.run(ctx, err)
		return CreatedClient{}, err
	}

	// Pushed before the call: a timeout or a dropped connection may hide a client that
	// Keycloak did create. Until the id is known, the undo looks the client up by
	// client_id and deletes it only if it carries this row's id; if that look-up fails
	// the undo stops there, and the pending row stays for Reconcile.
	var kcID string
	u.push("delete keycloak client", func(ctx context.Context) error {
		return s.deleteKeycloakClient(ctx, models.Client{ID: row.ID, ClientID: row.ClientID, KeycloakID: kcID})
	})
	kcID, err = s.kc.CreateServiceClient(ctx, keycloak.ServiceClient{
		ClientID: row.ClientID, Name: row.Name, Description: row.Description, RedirectURIs: row.RedirectURIs,
		Attributes: map[string]string{AttrClientID: row.ID, AttrConsumerID: cons.ID},
	})
	if errors.Is(err, keycloak.ErrConflict) {
		return fail(conflict("a client with client_id %q exists in the realm", row.ClientID))
	}
	if err != nil {
		return fail(fmt.Errorf("create client: %w", err))
	}
	sa, err := s.kc.ServiceAccountUserID(ctx, kcID)
	if err != nil {
		return fail(fmt.Errorf("create client: %w", err))
	}
	for _, g := range groups {
		if err := s.kc.AddUserToGroup(ctx, sa, g.ID); err != nil {
			return fail(fmt.Errorf("create client: join %s: %w", g.Name, err))
		}
	}
	if !cons.Enabled { // the consumer is disabled: so is its new client, until it is enabled
		off := false
		if err := s.kc.UpdateServiceClient(ctx, kcID, keycloak.ClientChange{Enabled: &off}); err != nil {
			return fail(fmt.Errorf("create client: disable: %w", err))
		}
	}
	secret, err := s.kc.ClientSecret(ctx, kcID)
	if err != nil {
		return fail(fmt.Errorf("create client: %w", err))
	}
	if err := s.store.ActivateClient(ctx, row.ID, kcID, sa); err != nil {
		return fail(fmt.Errorf("create client: %w", err))
	}
	row.KeycloakID, row.ServiceAccountID, row.State = kcID, sa, models.ClientActive
	s.record(ctx, a, "client.create", "client", row.ID, cons.ID, map[string]any{
		"client_id": row.ClientID, "consumer_id": cons.ID, "acl_groups": cons.ACLGroups, "redirect_uris": len(row.RedirectURIs),
	})
	return CreatedClient{Client: s.view(row, cons), Secret: secret}, nil
}

func validClientInput(in ClientInput, hosts hostlist.List) error {
	var f fields
	if in.ClientID != "" {
		f.pattern("client_id", in.ClientID, clientIDPattern, clientIDRule)
	}
	f.name("name", in.Name, api.ClientNameMax)
	f.description("description", in.Description, api.KeycloakDescriptionMax)
	f.redirectURIs("redirect_uris", in.RedirectURIs, hosts)
	return f.err()
}

// joinableGroups are the consumer's ACL groups as Keycloak holds them, each one a new
// service account may join: it exists and carries no roles.
func (s *Service) joinableGroups(ctx context.Context, cons models.Consumer) ([]ACLGroup, error) {
	groups, err := s.resolveGroups(ctx, "acl_groups", cons.ACLGroups)
	var verr *errs.Validation
	if errors.As(err, &verr) {
		return nil, conflict("an ACL group of the consumer no longer exists in Keycloak; update the consumer's acl_groups")
	}
	if err != nil {
		return nil, err
	}
	if err := s.requireNoRoles(ctx, groups); err != nil {
		return nil, err
	}
	return groups, nil
}

// insertPending stores the pending row, generating a client_id when asked: the
// consumer's name and a random suffix, retried on the rare collision. A client without
// a name is named by its client_id.
func (s *Service) insertPending(ctx context.Context, row *models.Client, consumerName string, generate bool) error {
	defaultName := row.Name == ""
	for attempt := 0; ; attempt++ {
		if generate {
			row.ClientID = generateClientID(consumerName)
		}
		if defaultName {
			row.Name = row.ClientID
		}
		err := s.store.CreateClient(ctx, row)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, models.ErrAlreadyExists) && generate && attempt < 3:
			row.ID = ""
			continue
		case errors.Is(err, models.ErrAlreadyExists):
			return conflict("a client with client_id %q exists already", row.ClientID)
		case errors.Is(err, models.ErrNotFound):
			return err // the consumer was deleted meanwhile
		}
		return fmt.Errorf("create client: %w", err)
	}
}

// generateClientID is "<consumer name>-<8 random chars>", cut to fit the client_id
// rule (the consumer's name may start with a dot).
func generateClientID(consumerName string) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	base := strings.TrimLeft(consumerName, "._-")
	if len(base) > 60 {
		base = base[:60]
	}
	if base == "" {
		base = "client"
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return base + "-" + string(b)
}

func (s *Service) view(c models.Client, cons models.Consumer) Client {
	return Client{
		ID: c.ID, ClientID: c.ClientID, KeycloakID: c.KeycloakID, Name: c.Name, Description: c.Description,
		RedirectURIs: slices.Clone([]string(c.RedirectURIs)), Enabled: c.Enabled,
		ConsumerID: cons.ID, ConsumerName: cons.Name, Environment: cons.Environment,
		ACLGroups: slices.Clone(cons.ACLGroups), Realm: s.cfg.Realm, Protocol: api.ClientProtocol,
		CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC(),
	}
}

// activeClient returns an active row; rows being created or deleted are not found.
func (s *Service) activeClient(ctx context.Context, id string) (models.Client, error) {
	c, err := s.store.ClientByID(ctx, id)
	if err != nil {
		return models.Client{}, err
	}
	if c.State != models.ClientActive {
		return models.Client{}, fmt.Errorf("client: %w", models.ErrNotFound)
	}
	return c, nil
}

// Client returns one client.
func (s *Service) Client(ctx context.Context, id string) (Client, error) {
	c, err := s.activeClient(ctx, id)
	if err != nil {
		return Client{}, err
	}
	cons, err := s.store.ConsumerByID(ctx, c.ConsumerID)
	if err != nil {
		return Client{}, fmt.Errorf("client's consumer: %w", err)
	}
	return s.view(c, cons), nil
}

// ListClients returns a page of active clients.
func (s *Service) ListClients(ctx context.Context, q ClientQuery) (ClientPage, error) {
	var f fields
	f.query(q.Q)
	if q.Environment != "" {
		f.environment("environment", q.Environment)
	}
	if q.ConsumerID != "" && uuid.Validate(q.ConsumerID) != nil {
		f.add("consumer", "must be a consumer id")
	}
	const defSort = "-" + models.SortCreatedAt
	sortField, desc := parseSort(&f, q.Sort, defSort, models.SortCreatedAt, models.SortClientID)
	limit := f.limit(q.Limit)
	sortKey := q.Sort
	if sortKey == "" {
		sortKey = defSort
	}
	enabled := ""
	if q.Enabled != nil {
		enabled = strconv.FormatBool(*q.Enabled)
	}
	scope := page.For("clients", sortKey, q.ConsumerID, q.Environment, enabled, q.Q)
	after := f.after(scope, q.Cursor)
	if err := f.err(); err != nil {
		return ClientPage{}, err
	}
	rows, err := s.store.ListClients(ctx, models.ClientFilter{
		ConsumerID: q.ConsumerID, Environment: q.Environment, Enabled: q.Enabled, State: models.ClientActive,
		Query: q.Q, Sort: sortField, Desc: desc, After: after, Limit: limit + 1,
	})
	if err != nil {
		return ClientPage{}, fmt.Errorf("list clients: %w", err)
	}
	out := ClientPage{Items: []Client{}}
	if len(rows) > limit {
		last := rows[limit-1]
		rows = rows[:limit]
		out.NextCursor = scope.Cursor(page.Position{Text: last.ClientID, At: last.CreatedAt, ID: last.ID})
	}
	ids := make([]string, 0, len(rows))
	for _, r := range rows {
		ids = append(ids, r.ConsumerID)
	}
	consumers, err := s.store.ConsumersByID(ctx, ids)
	if err != nil {
		return ClientPage{}, fmt.Errorf("list clients: %w", err)
	}
	byID := map[string]models.Consumer{}
	for _, c := range consumers {
		byID[c.ID] = c
	}
	for _, r := range rows {
		out.Items = append(out.Items, s.view(r, byID[r.ConsumerID]))
	}
	return out, nil
}

// UpdateClient applies p in Keycloak, then in the store; a store failure puts the
// Keycloak client back as it was.
func (s *Service) UpdateClient(ctx context.Context, a audit.Actor, id string, p ClientPatch) (Client, error) {
	if err := s.checkClientPatch(p); err != nil {
		return Client{}, err
	}
	first, err := s.activeClient(ctx, id)
	if err != nil {
		return Client{}, err
	}
	defer s.lockConsumer(first.ConsumerID)()
	old, err := s.activeClient(ctx, id) // again, under the lock
	if err != nil {
		return Client{}, err
	}
	next, ch, changed := patchedClient(old, p)
	cons, err := s.store.ConsumerByID(ctx, old.ConsumerID)
	if err != nil {
		return Client{}, fmt.Errorf("client's consumer: %w", err)
	}
	if len(changed) == 0 {
		return s.view(old, cons), nil
	}
	// Keycloak's enabled is the client's switch and its consumer's: a client enabled
	// while its consumer is disabled stays disabled there.
	kcOld := old.Enabled && cons.Enabled
	if ch.Enabled != nil && !cons.Enabled {
		ch.Enabled = nil
	}
	if ch != (keycloak.ClientChange{}) {
		if err := s.kc.UpdateServiceClient(ctx, old.KeycloakID, ch); err != nil {
			if errors.Is(err, keycloak.ErrNotFound) {
				return Client{}, conflict("the client no longer exists in Keycloak; delete it here")
			}
			return Client{}, fmt.Errorf("update client: %w", err)
		}
	}
	if err := s.store.UpdateClient(ctx, &next); err != nil {
		u := &undo{log: s.cfg.Log}
		u.push("restore keycloak client", func(ctx context.Context) error {
			oldURIs := []string(old.RedirectURIs)
			return s.kc.UpdateServiceClient(ctx, old.KeycloakID, keycloak.ClientChange{
				Name: &old.Name, Description: &old.Description, Enabled: &kcOld, RedirectURIs: &oldURIs,
			})
		})
		u.run(ctx, err)
		return Client{}, fmt.Errorf("update client: %w", err)
	}
	details := map[string]any{"changed": changed, "client_id": next.ClientID}
	if next.Enabled != old.Enabled {
		details["enabled"] = next.Enabled
	}
	s.record(ctx, a, "client.update", "client", next.ID, next.ConsumerID, details)
	return s.view(next, cons), nil
}

// checkClientPatch names every problem of p at once.
func (s *Service) checkClientPatch(p ClientPatch) error {
	var f fields
	if p.Name == nil && p.Description == nil && p.Enabled == nil && p.RedirectURIs == nil {
		f.add("body", "give at least one of name, description, enabled, redirect_uris")
	}
	if p.Name != nil {
		f.name("name", *p.Name, api.ClientNameMax)
		if *p.Name == "" {
			f.add("name", "must not be empty")
		}
	}
	if p.Description != nil {
		f.description("description", *p.Description, api.KeycloakDescriptionMax)
	}
	if p.RedirectURIs != nil {
		f.redirectURIs("redirect_uris", *p.RedirectURIs, s.redirectHosts)
	}
	return f.err()
}

// patchedClient is old with p applied, the change to make in Keycloak, and the names
// of the fields that changed.
func patchedClient(old models.Client, p ClientPatch) (models.Client, keycloak.ClientChange, []string) {
	next := old
	var ch keycloak.ClientChange
	changed := []string{}
	if p.Name != nil && *p.Name != old.Name {
		next.Name, ch.Name, changed = *p.Name, p.Name, append(changed, "name")
	}
	if p.Description != nil && *p.Description != old.Description {
		next.Description, ch.Description, changed = *p.Description, p.Description, append(changed, "description")
	}
	if p.Enabled != nil && *p.Enabled != old.Enabled {
		next.Enabled, ch.Enabled, changed = *p.Enabled, p.Enabled, append(changed, "enabled")
	}
	if p.RedirectURIs != nil && !slices.Equal(*p.RedirectURIs, old.RedirectURIs) {
		uris := slices.Clone(*p.RedirectURIs)
		next.RedirectURIs, ch.RedirectURIs, changed = uris, &uris, append(changed, "redirect_uris")
	}
	return next, ch, changed
}

// DeleteClient removes the client from Keycloak and the store.
func (s *Service) DeleteClient(ctx context.Context, a audit.Actor, id string) error {
	first, err := s.activeClient(ctx, id)
	if err != nil {
		return err
	}
	defer s.lockConsumer(first.ConsumerID)()
	c, err := s.activeClient(ctx, id)
	if err != nil {
		return err
	}
	return s.deleteClient(ctx, a, c, false)
}

// deleteClient marks the row deleting, deletes the Keycloak client, then the row. A
// Keycloak failure puts the row back as it was; a failure to delete the row leaves it
// deleting (hidden) for Reconcile.
func (s *Service) deleteClient(ctx context.Context, a audit.Actor, c models.Client, cascade bool) error {
	if c.State != models.ClientDeleting {
		if err := s.store.SetClientState(ctx, c.ID, c.State, models.ClientDeleting); err != nil {
			return fmt.Errorf("delete client: %w", err)
		}
	}
	if err := s.deleteKeycloakClient(ctx, c); err != nil {
		if c.State != models.ClientDeleting {
			u := &undo{log: s.cfg.Log}
			u.push("restore client state", func(ctx context.Context) error {
				return s.store.SetClientState(ctx, c.ID, models.ClientDeleting, c.State)
			})
			u.run(ctx, err)
		}
		return fmt.Errorf("delete client: %w", err)
	}
	if err := s.store.DeleteClient(ctx, c.ID); err != nil && !errors.Is(err, models.ErrNotFound) {
		return fmt.Errorf("delete client: %w", err)
	}
	details := map[string]any{"client_id": c.ClientID}
	if cascade {
		details["cascade"] = true
	}
	s.record(ctx, a, "client.delete", "client", c.ID, c.ConsumerID, details)
	return nil
}

// deleteKeycloakClient deletes the row's Keycloak client if it exists. A row without a
// Keycloak id (creation interrupted) is matched by client_id, and only a client
// carrying this row's id is deleted: never someone else's client of that name.
func (s *Service) deleteKeycloakClient(ctx context.Context, c models.Client) error {
	kcID := c.KeycloakID
	if kcID == "" {
		info, err := s.kc.ServiceClientByClientID(ctx, c.ClientID)
		if errors.Is(err, keycloak.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if info.Attributes[AttrClientID] != c.ID {
			return nil
		}
		kcID = info.ID
	}
	if err := s.kc.DeleteServiceClient(ctx, kcID); err != nil && !errors.Is(err, keycloak.ErrNotFound) {
		return err
	}
	return nil
}

// Secret is a client's credentials as Keycloak holds them.
type Secret struct {
	ClientID string
	Value    string
}

// ClientSecret shows the client's current secret. Each view is audited, and a view
// whose event cannot be stored is refused (ErrAuditUnavailable): the secret is read
// from Keycloak, then the event written, and only then is the secret returned.
func (s *Service) ClientSecret(ctx context.Context, a audit.Actor, id string) (Secret, error) {
	c, err := s.activeClient(ctx, id)
	if err != nil {
		return Secret{}, err
	}
	secret, err := s.kc.ClientSecret(ctx, c.KeycloakID)
	if err != nil {
		return Secret{}, fmt.Errorf("client secret: %w", s.goneInKeycloak(err))
	}
	if err := s.recordStrict(ctx, a, "client.secret.view", "client", c.ID, c.ConsumerID, map[string]any{"client_id": c.ClientID}); err != nil {
		return Secret{}, err
	}
	return Secret{ClientID: c.ClientID, Value: secret}, nil
}

// RegenerateClientSecret replaces the secret in Keycloak: the old one is refused from
// that moment. The event is stored first: when it cannot be (ErrAuditUnavailable)
// nothing changes and the old secret keeps working, rather than a new secret being
// made unaudited or made and then withheld. When Keycloak then fails, a second event
// says so.
func (s *Service) RegenerateClientSecret(ctx context.Context, a audit.Actor, id string) (Secret, error) {
	c, err := s.activeClient(ctx, id)
	if err != nil {
		return Secret{}, err
	}
	details := map[string]any{"client_id": c.ClientID}
	if err := s.recordStrict(ctx, a, "client.secret.regenerate", "client", c.ID, c.ConsumerID, details); err != nil {
		return Secret{}, err
	}
	secret, err := s.kc.RegenerateClientSecret(ctx, c.KeycloakID)
	if err != nil {
		s.record(ctx, a, "client.secret.regenerate_failed", "client", c.ID, c.ConsumerID, details)
		return Secret{}, fmt.Errorf("regenerate client secret: %w", s.goneInKeycloak(err))
	}
	return Secret{ClientID: c.ClientID, Value: secret}, nil
}

func (s *Service) goneInKeycloak(err error) error {
	if errors.Is(err, keycloak.ErrNotFound) {
		return conflict("the client no longer exists in Keycloak; delete it here")
	}
	return err
}

// TestClient runs the client-credentials grant with the given secret and decodes the
// token Keycloak issued. A refused secret or a disabled client is a result (Valid
// false), not an error.
func (s *Service) TestClient(ctx context.Context, a audit.Actor, id, secret string) (TokenTest, error) {
	var f fields
	switch {
	case secret == "":
		f.add("secret", "is required")
	case utf8.RuneCountInString(secret) > api.ClientSecretMax || safetext.Problem(secret, false) != "":
		f.add("secret", "must be at most %d printable characters", api.ClientSecretMax)
	}
	if err := f.err(); err != nil {
		return TokenTest{}, err
	}
	c, err := s.activeClient(ctx, id)
	if err != nil {
		return TokenTest{}, err
	}
	tok, err := s.kc.ClientCredentialsGrant(ctx, c.ClientID, secret)
	var out TokenTest
	switch {
	case errors.Is(err, keycloak.ErrInvalidClient):
		out = TokenTest{Valid: false, Error: "invalid_client", ACLGroups: []string{}}
	case err != nil:
		return TokenTest{}, fmt.Errorf("test client: %w", err)
	default:
		out, err = decodeToken(tok)
		if err != nil {
			return TokenTest{}, fmt.Errorf("test client: %w", err)
		}
	}
	s.record(ctx, a, "client.test", "client", c.ID, c.ConsumerID, map[string]any{"client_id": c.ClientID, "valid": out.Valid})
	return out, nil
}
