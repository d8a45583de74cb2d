// Package provisioning is the admin domain: ACL groups (Keycloak groups under one
// parent), consumers (Keyward records), and their confidential service-account clients
// (Keycloak clients whose service accounts are members of the consumer's ACL groups).
// It applies the rules, keeps the store and Keycloak in step — every multi-step change
// completes or is undone, and Reconcile finishes what a crash left — and records each
// change in the audit trail. It knows no HTTP and no SQL; client secrets pass through
// it to the caller and are never stored, logged or audited.
package provisioning

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/keyward/keyward/internal/errs"
	"github.com/keyward/keyward/internal/hostlist"

	"go.uber.org/zap"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
)

// Keycloak is what provisioning needs of Keycloak's admin API and token endpoint.
type Keycloak interface {
	GroupByPath(ctx context.Context, path string) (keycloak.Group, error)
	CreateGroup(ctx context.Context, parentID, name, description string) (keycloak.Group, error)
	ChildGroups(ctx context.Context, parentID string) ([]keycloak.Group, error)
	DeleteGroup(ctx context.Context, id string) error
	GroupHasMembers(ctx context.Context, id string) (bool, error)
	Group(ctx context.Context, id string) (keycloak.Group, error)
	GroupRoleMappings(ctx context.Context, id string) ([]keycloak.RoleMapping, error)

	CreateServiceClient(ctx context.Context, c keycloak.ServiceClient) (string, error)
	ServiceClient(ctx context.Context, id string) (keycloak.ClientInfo, error)
	ServiceClientByClientID(ctx context.Context, clientID string) (keycloak.ClientInfo, error)
	ClearClientScopeMappings(ctx context.Context, id string) (removed, kept []keycloak.RoleMapping, err error)
	ClientsWithAttribute(ctx context.Context, key string) ([]keycloak.ClientInfo, error)
	UpdateServiceClient(ctx context.Context, id string, ch keycloak.ClientChange) error
	DeleteServiceClient(ctx context.Context, id string) error
	ClientSecret(ctx context.Context, id string) (string, error)
	RegenerateClientSecret(ctx context.Context, id string) (string, error)
	ServiceAccountUserID(ctx context.Context, id string) (string, error)
	UserGroups(ctx context.Context, userID string) ([]keycloak.Group, error)
	AddUserToGroup(ctx context.Context, userID, groupID string) error
	RemoveUserFromGroup(ctx context.Context, userID, groupID string) error
	ClientCredentialsGrant(ctx context.Context, clientID, secret string) (keycloak.Token, error)
}

// Store is the persistence provisioning needs (models.Store).
type Store interface {
	CreateConsumer(ctx context.Context, c *models.Consumer) error
	ConsumerByID(ctx context.Context, id string) (models.Consumer, error)
	ConsumersByID(ctx context.Context, ids []string) ([]models.Consumer, error)
	ListConsumers(ctx context.Context, f models.ConsumerFilter) ([]models.Consumer, error)
	UpdateConsumer(ctx context.Context, c *models.Consumer) error
	DeleteConsumer(ctx context.Context, id string) error
	CountConsumersWithACLGroup(ctx context.Context, group string) (int64, error)

	CreateClient(ctx context.Context, c *models.Client) error
	ClientByID(ctx context.Context, id string) (models.Client, error)
	ListClients(ctx context.Context, f models.ClientFilter) ([]models.Client, error)
	ClientsOfConsumer(ctx context.Context, consumerID string) ([]models.Client, error)
	UpdateClient(ctx context.Context, c *models.Client) error
	ActivateClient(ctx context.Context, id, keycloakID, serviceAccountID string) error
	SetClientState(ctx context.Context, id, from, to string) error
	DeleteClient(ctx context.Context, id string) error
	UnsettledClients(ctx context.Context, before time.Time) ([]models.Client, error)
}

// Attributes Keyward sets on the Keycloak clients it provisions.
const (
	AttrClientID   = "keyward.id"          // Keyward's id of the client
	AttrConsumerID = "keyward.consumer_id" // the consumer it belongs to
)

// ErrConflict: the request contradicts the current state (a group in use, a consumer
// with clients, a name taken); each one says how, in words fit for the caller.
var ErrConflict = errs.New(errs.Conflict, "the request conflicts with the current state")

func conflict(format string, a ...any) error { return errs.Because(ErrConflict, format, a...) }

// ErrAuditUnavailable: an act that must not happen unaudited (showing or regenerating a
// client secret) was refused because its audit event could not be stored; try again.
var ErrAuditUnavailable = errs.New(errs.Unavailable, "the audit trail cannot be written; try again shortly")

// Metrics receives what the repair pass measures (metrics.Metrics).
type Metrics interface {
	// SetACLGroupsWithRoles is the number of ACL groups that carry roles, their own or
	// an ancestor's.
	SetACLGroupsWithRoles(n int)
	// SetClientsUnrepaired is the number of Keyward's clients found full-scope, with
	// role scope mappings, or consent-free with redirect URIs that could not be repaired.
	SetClientsUnrepaired(n int)
}

// Config tunes the service.
type Config struct {
	// Realm is shown on clients.
	Realm string
	// ParentGroup is the name of the top-level group whose subgroups are the ACL
	// groups; created on first use. Empty or "/": the realm's top-level groups are the
	// ACL groups, which needs AllowTopLevel.
	ParentGroup string
	// AllowTopLevel accepts the realm's top-level groups as the ACL groups. Every one of
	// them then is an ACL group, whatever it means to the realm's other users.
	AllowTopLevel bool
	// RedirectHosts are the hosts clients' redirect URIs may name
	// (KEYWARD_CLIENT_REDIRECT_HOSTS, internal/hostlist); none: no redirect URIs.
	RedirectHosts []string
	// SettleAfter is how long a pending or deleting client row may stay so before
	// Reconcile finishes it (default 5 minutes: longer than any request).
	SettleAfter time.Duration
	Clock       func() time.Time
	Log         *zap.Logger
	Audit       *audit.Recorder
	// Metrics may be nil.
	Metrics Metrics
}

// Service provisions ACL groups, consumers and clients.
type Service struct {
	kc    Keycloak
	store Store
	cfg   Config

	redirectHosts hostlist.List

	parentMu sync.Mutex
	parentID string // cached id of cfg.ParentGroup

	// groupsMu: deleting an ACL group excludes writes that reference groups, so that
	// no consumer is left naming a deleted group.
	groupsMu sync.RWMutex
	// consumerLocks serialise the changes of one consumer and its clients in this
	// process; the store's version check catches other processes.
	consumerLocks [64]sync.Mutex
	// keyClients: consumer keys' key clients (keyclients.go).
	keyClients keyClientsOf
}

// New returns a Service. It makes no call until used.
func New(kc Keycloak, store Store, cfg Config) (*Service, error) {
	if cfg.ParentGroup == "/" {
		cfg.ParentGroup = ""
	}
	if cfg.ParentGroup == "" && !cfg.AllowTopLevel {
		return nil, errors.New("provisioning: the realm's top-level groups as ACL groups (ACL parent \"/\") need AllowTopLevel: " +
			"every top-level group, including ones that carry roles or mean something else, would become an ACL group")
	}
	if cfg.ParentGroup != "" && !aclGroupName.MatchString(cfg.ParentGroup) {
		return nil, fmt.Errorf("provisioning: ACL parent group %q must be 1..64 of [a-z0-9._-], starting with a letter or digit", cfg.ParentGroup)
	}
	hosts, problem := hostlist.Parse(cfg.RedirectHosts)
	if problem != "" {
		return nil, fmt.Errorf("provisioning: redirect hosts: %s", problem)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.SettleAfter <= 0 {
		cfg.SettleAfter = 5 * time.Minute
	}
	return &Service{kc: kc, store: store, cfg: cfg, redirectHosts: hosts}, nil
}

func (s *Service) now() time.Time { return s.cfg.Clock().UTC() }

func (s *Service) lockConsumer(id string) func() {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	m := &s.consumerLocks[h.Sum32()%uint32(len(s.consumerLocks))]
	m.Lock()
	return m.Unlock
}

func (s *Service) record(ctx context.Context, a audit.Actor, action, targetType, targetID, ownerID string, details map[string]any) {
	s.cfg.Audit.Record(ctx, a, action, targetType, targetID, ownerID, details)
}

// recordStrict stores the event or returns ErrAuditUnavailable: for acts that must not
// happen unaudited.
func (s *Service) recordStrict(ctx context.Context, a audit.Actor, action, targetType, targetID, ownerID string, details map[string]any) error {
	if err := s.cfg.Audit.RecordStrict(ctx, a, action, targetType, targetID, ownerID, details); err != nil {
		return fmt.Errorf("%s: %w: %w", action, ErrAuditUnavailable, err)
	}
	return nil
}

// undo collects compensating steps of a multi-step change.
type undo struct {
	log   *zap.Logger
	steps []undoStep
}

type undoStep struct {
	name string
	fn   func(ctx context.Context) error
}

func (u *undo) push(name string, fn func(ctx context.Context) error) {
	u.steps = append(u.steps, undoStep{name, fn})
}

// run undoes the steps, last first, and stops at the first that fails: what was done
// before it (e.g. the pending row that records the Keycloak client) must stay for
// Reconcile. It runs even when the request was cancelled.
func (u *undo) run(ctx context.Context, cause error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	for i := len(u.steps) - 1; i >= 0; i-- {
		if err := u.steps[i].fn(ctx); err != nil {
			u.log.Error("compensation failed; Reconcile will finish it",
				zap.String("step", u.steps[i].name), zap.NamedError("cause", cause), zap.Error(err))
			return
		}
	}
	u.steps = nil
}

// The real implementations satisfy the interfaces.
var (
	_ Keycloak = (*keycloak.Client)(nil)
	_ Store    = (*models.Store)(nil)
)
