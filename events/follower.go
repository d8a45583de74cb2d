// Package events follows the realm's Keycloak events and applies them to keys: a user
// deleted → their keys revoked; disabled → their keys owner_disabled (and back when
// enabled); a password reset or sign-out everywhere → their keys disabled, when so
// configured; roles or groups changed → their cached tokens dropped. A consumer key's
// token is its key client's service account's: a change of that user, or of the key
// client itself, drops the consumer's cached tokens.
//
// The reactions that change keys run on one replica at a time (a lease in the store)
// from a cursor persisted in the store; dropping cached tokens runs on every replica
// (each has its own cache) from an in-memory cursor. It speaks to Keycloak only
// through the keycloak package and changes keys only through the keys service.
package events

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/keycloak"
	"github.com/keyward/keyward/models"
)

// Credential-reset policies (KEYWARD_ON_CREDENTIAL_RESET).
const (
	OnResetNone    = "none"
	OnResetDisable = "disable"
)

const (
	leaseName = "keycloak-events"
	feedAdmin = "keycloak-admin-events"
	feedUser  = "keycloak-user-events"
	// lookback: each poll reads again from a little before the newest handled event,
	// so an event Keycloak stored late with an earlier time is not missed; the ids
	// handled within it are kept so none is handled twice.
	lookback = 5 * time.Second
	pageSize = 100
	maxPages = 50 // per feed and poll: a backlog is worked off over several polls
)

// Feed is what the follower reads of Keycloak.
type Feed interface {
	EventsConfig(ctx context.Context) (keycloak.EventsConfig, error)
	UserEvents(ctx context.Context, fromMillis int64, types []string, first, max int) ([]keycloak.UserEvent, error)
	AdminEvents(ctx context.Context, fromMillis int64, resourceTypes []string, first, max int) ([]keycloak.AdminEvent, error)
	FindUser(ctx context.Context, idOrUsername string) (keycloak.User, error)
}

// Store keeps the cursors and the lease.
type Store interface {
	EventCursor(ctx context.Context, feed string) (models.Cursor, bool, error)
	SaveEventCursor(ctx context.Context, feed string, c models.Cursor) error
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration, now time.Time) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
	// ConsumerOfKeyClient is the consumer whose key client the id names (its Keycloak
	// id, client_id or service account's user id); models.ErrNotFound when none.
	ConsumerOfKeyClient(ctx context.Context, id string) (string, error)
}

// Keys is what events do to keys (keys.Service).
type Keys interface {
	RevokeAllOfOwner(ctx context.Context, a audit.Actor, ownerID string, details map[string]any) (int, error)
	SetOwnerDisabled(ctx context.Context, a audit.Actor, ownerID string, disabled bool, details map[string]any) (int, error)
	DisableAllOfOwner(ctx context.Context, a audit.Actor, ownerID string, before time.Time, details map[string]any) (int, error)
	DropOwnerTokens(ownerID string)
	DropConsumerTokens(consumerID string)
}

// Config wires a Follower. Feed, Store and Keys are required.
type Config struct {
	Feed  Feed
	Store Store
	Keys  Keys
	Log   *zap.Logger
	Clock func() time.Time
	// Interval between polls (KEYWARD_EVENTS_POLL_INTERVAL).
	Interval time.Duration
	// OnCredentialReset is OnResetNone or OnResetDisable.
	OnCredentialReset string
	// Holder names this replica in the lease.
	Holder string
	// WatchTokens: this replica caches tokens, so it drops them on role changes.
	WatchTokens bool
}

// Follower follows the realm's events.
type Follower struct {
	cfg Config
	log *zap.Logger
	// tokens is the in-memory cursor of the token watcher (every replica).
	tokens  cursor
	leading bool
	warned  map[string]bool
}

// New returns a Follower; it makes no call until Run or Poll.
func New(cfg Config) *Follower {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 10 * time.Second
	}
	if cfg.OnCredentialReset == "" {
		cfg.OnCredentialReset = OnResetNone
	}
	f := &Follower{cfg: cfg, log: cfg.Log.With(zap.String("component", "keycloak-events")), warned: map[string]bool{}}
	// Nothing was cached before this replica started: it watches from now.
	f.tokens = cursor{at: cfg.Clock().Add(-lookback).UnixMilli()}
	return f
}

// leaseTTL outlives a few missed polls, so a slow poll does not hand the lease over.
func (f *Follower) leaseTTL() time.Duration { return max(3*f.cfg.Interval, 15*time.Second) }

// Run checks the realm's event settings, then polls every Interval until ctx ends,
// and gives the lease up on the way out.
func (f *Follower) Run(ctx context.Context) {
	f.CheckRealm(ctx)
	t := time.NewTicker(f.cfg.Interval)
	defer t.Stop()
	for {
		f.Poll(ctx)
		select {
		case <-ctx.Done():
			if f.leading {
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				_ = f.cfg.Store.ReleaseLease(rctx, leaseName, f.cfg.Holder)
				cancel()
			}
			return
		case <-t.C:
		}
	}
}

// CheckRealm warns, once, when the realm does not record what Keyward follows or
// Keycloak refuses to show it. Keyward keeps serving either way.
func (f *Follower) CheckRealm(ctx context.Context) {
	cfg, err := f.cfg.Feed.EventsConfig(ctx)
	switch {
	case errors.Is(err, keycloak.ErrEventsRefused):
		f.warnOnce("refused", "Keycloak refuses to show the realm's events: Keyward cannot follow them "+
			"(deleted or disabled users keep their keys' status, cached tokens live until they expire); "+
			"give the admin client's service account the realm-management role view-events")
	case err != nil:
		f.log.Warn("cannot read the realm's event settings; will follow its events when Keycloak answers", zap.Error(err))
	default:
		if !cfg.AdminEventsEnabled {
			f.warnOnce("admin-off", "the realm does not record admin events: Keyward cannot see users deleted or disabled, "+
				"or roles and groups changed; enable admin events (with representations) in the realm")
		}
		if !cfg.EventsEnabled && f.cfg.OnCredentialReset == OnResetDisable {
			f.warnOnce("user-off", "the realm does not record user events: KEYWARD_ON_CREDENTIAL_RESET=disable "+
				"sees only password resets and sign-outs done through the admin API; enable user events in the realm")
		}
	}
}

func (f *Follower) warnOnce(what, msg string) {
	if f.warned[what] {
		return
	}
	f.warned[what] = true
	f.log.Warn(msg)
}

// Poll does one round: the token watcher, then, if this replica holds the lease, the
// reactions that change keys.
func (f *Follower) Poll(ctx context.Context) {
	if f.cfg.WatchTokens {
		if err := f.watchTokens(ctx); err != nil {
			f.pollFailed("token watcher", err)
		}
	}
	ok, err := f.cfg.Store.AcquireLease(ctx, leaseName, f.cfg.Holder, f.leaseTTL(), f.cfg.Clock())
	if err != nil {
		f.log.Warn("events lease not renewed", zap.Error(err))
		return
	}
	if ok != f.leading {
		f.log.Info("events follower lease", zap.Bool("held", ok), zap.String("holder", f.cfg.Holder))
		f.leading = ok
	}
	if !ok {
		return
	}
	if err := f.followAdmin(ctx); err != nil {
		f.pollFailed("admin events", err)
	}
	if f.cfg.OnCredentialReset == OnResetDisable {
		if err := f.followUser(ctx); err != nil {
			f.pollFailed("user events", err)
		}
	}
}

func (f *Follower) pollFailed(what string, err error) {
	if errors.Is(err, keycloak.ErrEventsRefused) {
		f.warnOnce("refused", "Keycloak refuses to show the realm's events: give the admin client's service account "+
			"the realm-management role view-events")
		return
	}
	f.log.Warn("following Keycloak's events: will retry at the next poll", zap.String("feed", what), zap.Error(err))
}

// adminResources are the admin-event resource types Keyward reacts to.
var adminResources = []string{"USER", "GROUP_MEMBERSHIP", "REALM_ROLE_MAPPING", "CLIENT_ROLE_MAPPING",
	"GROUP", "REALM_ROLE", "CLIENT_ROLE", "CLIENT_SCOPE_MAPPING", "CLIENT"}

// credentialEvents are the user events that mean the user's password changed.
var credentialEvents = []string{"UPDATE_PASSWORD", "RESET_PASSWORD", "UPDATE_CREDENTIAL"}

func (f *Follower) followAdmin(ctx context.Context) error {
	return f.follow(ctx, feedAdmin, func(ctx context.Context, from int64, first int) ([]event, error) {
		evs, err := f.cfg.Feed.AdminEvents(ctx, from, adminResources, first, pageSize)
		out := make([]event, len(evs))
		for i, e := range evs {
			out[i] = event{id: e.ID, at: e.TimeMillis, admin: e}
		}
		return out, err
	}, f.reactAdmin)
}

func (f *Follower) followUser(ctx context.Context) error {
	return f.follow(ctx, feedUser, func(ctx context.Context, from int64, first int) ([]event, error) {
		evs, err := f.cfg.Feed.UserEvents(ctx, from, credentialEvents, first, pageSize)
		out := make([]event, len(evs))
		for i, e := range evs {
			out[i] = event{id: e.ID, at: e.TimeMillis, user: e}
		}
		return out, err
	}, f.reactUser)
}

// event is an entry of either feed.
type event struct {
	id    string
	at    int64
	admin keycloak.AdminEvent
	user  keycloak.UserEvent
}

type fetchFunc func(ctx context.Context, fromMillis int64, first int) ([]event, error)

// follow reads feed from its stored cursor and hands each new event to react, in
// time order. The cursor is saved after each page, and before an event whose
// reaction failed, so that event is tried again at the next poll.
func (f *Follower) follow(ctx context.Context, feed string, fetch fetchFunc, react func(context.Context, event) error) error {
	stored, found, err := f.cfg.Store.EventCursor(ctx, feed)
	if err != nil {
		return err
	}
	cur := decodeCursor(stored)
	if !found { // first start: follow from now on
		cur = cursor{at: f.cfg.Clock().UnixMilli()}
		if err := f.cfg.Store.SaveEventCursor(ctx, feed, cur.encode()); err != nil {
			return err
		}
	}
	save := func() error { return f.cfg.Store.SaveEventCursor(ctx, feed, cur.encode()) }
	err = cur.read(ctx, fetch, func(ev event) error {
		if err := react(ctx, ev); err != nil {
			return errors.Join(fmt.Errorf("event %s: %w", ev.id, err), save())
		}
		return nil
	}, save)
	return err
}

// cursor is the newest handled time and the ids handled within lookback of it.
type cursor struct {
	at      int64
	handled map[string]int64 // id → time
}

func (c *cursor) read(ctx context.Context, fetch fetchFunc, handle func(event) error, pageDone func() error) error {
	from := c.at - lookback.Milliseconds()
	first := 0
	for range maxPages {
		page, err := fetch(ctx, max(from, 1), first)
		if err != nil {
			return err
		}
		for _, ev := range page {
			if _, done := c.handled[ev.id]; done || ev.at < from {
				continue
			}
			if err := handle(ev); err != nil {
				return err
			}
			c.mark(ev)
		}
		c.prune()
		if pageDone != nil {
			if err := pageDone(); err != nil {
				return err
			}
		}
		if len(page) < pageSize {
			return nil
		}
		first += len(page)
	}
	return nil
}

func (c *cursor) mark(ev event) {
	if c.handled == nil {
		c.handled = map[string]int64{}
	}
	c.handled[ev.id] = ev.at
	c.at = max(c.at, ev.at)
}

func (c *cursor) prune() {
	for id, at := range c.handled {
		if at < c.at-lookback.Milliseconds() {
			delete(c.handled, id)
		}
	}
}

// encode stores each handled id as "<millis>:<id>", so pruning survives a restart.
func (c cursor) encode() models.Cursor {
	out := models.Cursor{TimeMillis: c.at, Handled: make([]string, 0, len(c.handled))}
	for id, at := range c.handled {
		out.Handled = append(out.Handled, strconv.FormatInt(at, 10)+":"+id)
	}
	slices.Sort(out.Handled)
	return out
}

func decodeCursor(m models.Cursor) cursor {
	c := cursor{at: m.TimeMillis, handled: map[string]int64{}}
	for _, h := range m.Handled {
		at, id, ok := strings.Cut(h, ":")
		if n, err := strconv.ParseInt(at, 10, 64); ok && err == nil {
			c.handled[id] = n
		}
	}
	return c
}

// actor is who Keyward records as having acted on a Keycloak event.
func actor(eventID string) audit.Actor {
	return audit.Actor{ID: "keycloak", Name: "keycloak", RequestID: "keycloak-event:" + eventID}
}

// userPath splits "users/<id>[/<rest>]".
func userPath(path string) (id, rest string, ok bool) {
	after, found := strings.CutPrefix(path, "users/")
	if !found {
		return "", "", false
	}
	id, rest, _ = strings.Cut(after, "/")
	return id, rest, id != ""
}

// reactAdmin applies one admin event to keys.
func (f *Follower) reactAdmin(ctx context.Context, ev event) error {
	e := ev.admin
	if e.ResourceType != "USER" {
		return nil // role and group changes only touch cached tokens (watchTokens)
	}
	userID, rest, ok := userPath(e.ResourcePath)
	if !ok {
		return nil
	}
	details := map[string]any{"event_id": e.ID, "event_type": "admin:" + e.OperationType + ":" + e.ResourceType}
	log := f.log.With(zap.String("event_id", e.ID), zap.String("user_id", userID))
	switch {
	case e.OperationType == "DELETE" && rest == "":
		details["reason"] = "user deleted in Keycloak"
		n, err := f.cfg.Keys.RevokeAllOfOwner(ctx, actor(e.ID), userID, details)
		if err != nil {
			return err
		}
		log.Info("user deleted in Keycloak: keys revoked", zap.Int("keys", n))
	case e.OperationType == "UPDATE" && rest == "":
		// The representation holds only what the admin sent: the user's state now is
		// the truth, whatever order the updates came in.
		u, err := f.cfg.Feed.FindUser(ctx, userID)
		if errors.Is(err, keycloak.ErrNotFound) {
			return nil // deleted since: its DELETE event follows
		}
		if err != nil {
			return err
		}
		details["reason"] = map[bool]string{true: "user enabled in Keycloak", false: "user disabled in Keycloak"}[u.Enabled]
		n, err := f.cfg.Keys.SetOwnerDisabled(ctx, actor(e.ID), userID, !u.Enabled, details)
		if err != nil {
			return err
		}
		if n > 0 {
			log.Info("user state in Keycloak applied to keys", zap.Bool("enabled", u.Enabled), zap.Int("keys", n))
		}
	case e.OperationType == "ACTION" && (rest == "reset-password" || rest == "logout"):
		what := map[string]string{"reset-password": "password reset by an admin", "logout": "signed out everywhere by an admin"}[rest]
		return f.credentialReset(ctx, e.ID, e.TimeMillis, userID, what, details)
	}
	return nil
}

// reactUser applies one user event (a password change) to keys.
func (f *Follower) reactUser(ctx context.Context, ev event) error {
	e := ev.user
	if e.UserID == "" || !slices.Contains(credentialEvents, e.Type) {
		return nil
	}
	if e.Type == "UPDATE_CREDENTIAL" && e.Details["credential_type"] != "" && e.Details["credential_type"] != "password" {
		return nil // a new OTP device, say: not a reset
	}
	return f.credentialReset(ctx, e.ID, e.TimeMillis, e.UserID, "password changed ("+e.Type+")",
		map[string]any{"event_id": e.ID, "event_type": e.Type})
}

// credentialReset disables the user's keys made before the event, when so configured.
func (f *Follower) credentialReset(ctx context.Context, eventID string, atMillis int64, userID, what string, details map[string]any) error {
	if f.cfg.OnCredentialReset != OnResetDisable {
		return nil
	}
	details["reason"] = what
	n, err := f.cfg.Keys.DisableAllOfOwner(ctx, actor(eventID), userID, time.UnixMilli(atMillis), details)
	if err != nil {
		return err
	}
	f.log.Info("credentials reset in Keycloak: keys disabled", zap.String("event_id", eventID),
		zap.String("user_id", userID), zap.Int("keys", n))
	return nil
}

// watchTokens drops cached tokens whose roles or groups may have changed: a user's
// when an event names them, everyone's when a group's or a role's definition changed.
func (f *Follower) watchTokens(ctx context.Context) error {
	fetch := func(ctx context.Context, from int64, first int) ([]event, error) {
		evs, err := f.cfg.Feed.AdminEvents(ctx, from, adminResources, first, pageSize)
		out := make([]event, len(evs))
		for i, e := range evs {
			out[i] = event{id: e.ID, at: e.TimeMillis, admin: e}
		}
		return out, err
	}
	return f.tokens.read(ctx, fetch, func(ev event) error {
		if userID, _, ok := userPath(ev.admin.ResourcePath); ok {
			if ev.admin.ResourceType != "USER" || ev.admin.OperationType != "CREATE" {
				f.cfg.Keys.DropOwnerTokens(userID)
				return f.dropKeyClientTokens(ctx, userID) // the user may be a key client's service account
			}
			return nil
		}
		switch ev.admin.ResourceType {
		case "CLIENT": // a key client disabled, deleted or changed by hand
			if id, ok := clientPath(ev.admin.ResourcePath); ok && ev.admin.OperationType != "CREATE" {
				return f.dropKeyClientTokens(ctx, id)
			}
		case "GROUP", "REALM_ROLE", "CLIENT_ROLE":
			if ev.admin.OperationType != "CREATE" { // a new group or role is in nobody's token yet
				f.cfg.Keys.DropOwnerTokens("")
			}
		case "REALM_ROLE_MAPPING", "CLIENT_ROLE_MAPPING", "CLIENT_SCOPE_MAPPING": // of a group, a client or a scope
			f.cfg.Keys.DropOwnerTokens("")
		}
		return nil
	}, nil)
}

// dropKeyClientTokens drops the cached tokens of the consumer whose key client id
// names (its service account's user id, or its Keycloak id), if any.
func (f *Follower) dropKeyClientTokens(ctx context.Context, id string) error {
	consumerID, err := f.cfg.Store.ConsumerOfKeyClient(ctx, id)
	switch {
	case errors.Is(err, models.ErrNotFound):
		return nil
	case err != nil:
		return err // the event is tried again at the next poll
	}
	f.cfg.Keys.DropConsumerTokens(consumerID)
	return nil
}

// clientPath splits "clients/<id>[/<rest>]".
func clientPath(path string) (id string, ok bool) {
	after, found := strings.CutPrefix(path, "clients/")
	if !found {
		return "", false
	}
	id, _, _ = strings.Cut(after, "/")
	return id, id != ""
}
