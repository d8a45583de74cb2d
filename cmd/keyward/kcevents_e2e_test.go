package main

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Nerzal/gocloak/v13"
	"github.com/chromedp/chromedp"

	"github.com/keyward/keyward/internal/browsertest"
	"github.com/keyward/keyward/internal/kctest"
	"github.com/keyward/keyward/internal/pgtest"
	"github.com/keyward/keyward/internal/smtpsink"
	"github.com/keyward/keyward/models"
)

// Following Keycloak's events on the real Keycloak (docs/administering/audit.md).
// Polls are fast here so the tests are short; what is asserted is what happened, never
// how fast (the figures of the role-removal bound are logged, see docs/administering/audit.md).

const fastPoll = "300ms"

func TestKeycloakEvents(t *testing.T) {
	kc := kctest.Require(t)
	for _, b := range []struct{ name, dsn string }{{"postgres", pgtest.DSN(t)}, {"sqlite", ""}} {
		t.Run(b.name, func(t *testing.T) {
			app := startAppWith(t, kc, map[string]string{"KEYWARD_DATABASE_URL": b.dsn, "KEYWARD_EVENTS_POLL_INTERVAL": fastPoll})
			t.Run("UserDeleted_EveryKeyRevoked_AuditedAsKeycloak", func(t *testing.T) { testUserDeletedRevokes(t, app) })
			t.Run("UserDisabled_OwnerDisabled_BackWhenEnabled", func(t *testing.T) { testUserDisabledStatus(t, app) })
			t.Run("PasswordReset_DefaultNone_KeysUntouched", func(t *testing.T) { testResetNone(t, app) })
		})
	}
	t.Run("PasswordResetAndSignOut_Disable_KeysDisabled", func(t *testing.T) {
		app := startAppWith(t, kc, map[string]string{"KEYWARD_EVENTS_POLL_INTERVAL": fastPoll, "KEYWARD_ON_CREDENTIAL_RESET": "disable"})
		testResetDisable(t, app)
	})
	t.Run("Restart_NeitherMissesNorRepeats", func(t *testing.T) { testFollowerRestart(t, kc) })
	t.Run("TwoReplicasOnePostgreSQL_OneReactsEachEventOnce_TakesOver", func(t *testing.T) { testTwoFollowers(t, kc) })
	t.Run("EventsRefused_WarnsAtStart_ReadyzReady", func(t *testing.T) { testEventsRefused(t, kc) })
}

// eventually polls cond until it holds or a minute passes: how long it takes is the
// poll interval's business, not the test's.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not seen within a minute", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (r *running) adminGetKey(t *testing.T, id string) reply {
	t.Helper()
	return call(t, "GET", r.url+"/v1/keys/"+id, nil, "Authorization", "Bearer "+r.kc.Login(t, "carol"))
}

func (r *running) keycloakAudits(t *testing.T, keyID, action string) []models.AuditEvent {
	t.Helper()
	return r.keycloakAuditsBy(t, keyID, action, "keycloak")
}

// awaitKeycloakAudits waits for Keycloak's audit events of that action on the key: the
// audit row is written after the change it records, so the change can be seen first.
func (r *running) awaitKeycloakAudits(t *testing.T, keyID, action string) []models.AuditEvent {
	t.Helper()
	eventually(t, action+" of "+keyID+" audited", func() bool { return len(r.keycloakAudits(t, keyID, action)) > 0 })
	return r.keycloakAudits(t, keyID, action)
}

func (r *running) keycloakAuditsBy(t *testing.T, keyID, action, actor string) []models.AuditEvent {
	t.Helper()
	evs, err := r.store.ListAudit(context.Background(), models.AuditFilter{TargetType: "key", TargetID: keyID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []models.AuditEvent
	for _, e := range evs {
		if e.Action == action && e.ActorName == actor {
			out = append(out, e)
		}
	}
	return out
}

func deleteUser(t *testing.T, kc *kctest.Env, userID string) {
	t.Helper()
	if err := kc.Admin.DeleteUser(context.Background(), kc.AdminToken(t), kc.Realm, userID); err != nil {
		t.Fatalf("delete user: %v", err)
	}
}

func resetPassword(t *testing.T, kc *kctest.Env, userID, password string) {
	t.Helper()
	if err := kc.Admin.SetPassword(context.Background(), kc.AdminToken(t), userID, kc.Realm, password, false); err != nil {
		t.Fatalf("reset password: %v", err)
	}
}

func testUserDeletedRevokes(t *testing.T, app *running) {
	kc := app.kc
	userID, username := kc.TempUser(t, "kw-ev-deleted")
	token := kc.Login(t, username)
	id1, key1 := app.createKey(t, token, "one")
	id2, _ := app.createKey(t, token, "two")
	_, bystanderKey := app.createKey(t, kc.Login(t, "alice"), "bystander-"+username)
	app.mustToken(t, key1)
	deleteUser(t, kc, userID)
	for _, id := range []string{id1, id2} {
		eventually(t, "key "+id+" revoked", func() bool {
			_, err := app.store.KeyByID(context.Background(), "", id)
			return errors.Is(err, models.ErrNotFound)
		})
		evs := app.awaitKeycloakAudits(t, id, "key.delete")
		if len(evs) != 1 || !strings.Contains(evs[0].Details, `"event_id"`) || !strings.Contains(evs[0].Details, "user deleted in Keycloak") ||
			evs[0].OwnerID != userID {
			t.Fatalf("audit of the revocation: %+v, want one key.delete by keycloak naming the event", evs)
		}
	}
	if got := app.exchange(t, key1); got.status != http.StatusUnauthorized {
		t.Fatalf("revoked key exchanged: %d %s", got.status, got.raw)
	}
	app.mustToken(t, bystanderKey) // someone else's key is untouched
}

func testUserDisabledStatus(t *testing.T, app *running) {
	kc := app.kc
	userID, username := kc.TempUser(t, "kw-ev-disabled")
	id, _ := app.createKey(t, kc.Login(t, username), "disabled-owner")
	status := func() string {
		got := app.adminGetKey(t, id)
		s, _ := got.body["status"].(string)
		return s
	}
	if s := status(); s != "active" {
		t.Fatalf("status before = %q", s)
	}
	setEnabled(t, kc, userID, false)
	eventually(t, "owner_disabled in GET", func() bool { return status() == "owner_disabled" })
	list := call(t, "GET", app.url+"/v1/keys?status=owner_disabled&owner="+userID, nil, "Authorization", "Bearer "+kc.Login(t, "carol"))
	items, _ := list.body["items"].([]any)
	if list.status != 200 || len(items) != 1 || items[0].(map[string]any)["status"] != "owner_disabled" {
		t.Fatalf("list status=owner_disabled: %d %s", list.status, list.raw)
	}
	setEnabled(t, kc, userID, true)
	eventually(t, "active again", func() bool { return status() == "active" })
	if len(app.awaitKeycloakAudits(t, id, "key.owner_disabled")) != 1 || len(app.awaitKeycloakAudits(t, id, "key.owner_enabled")) != 1 {
		t.Fatal("the owner's disabling and enabling are not audited once each as keycloak's")
	}
}

// testResetNone: with the default, a password reset leaves keys as they are. The user
// is disabled after the reset: once that shows, the reset event was read too.
func testResetNone(t *testing.T, app *running) {
	kc := app.kc
	userID, username := kc.TempUser(t, "kw-ev-reset-none")
	id, _ := app.createKey(t, kc.Login(t, username), "after-reset")
	resetPassword(t, kc, userID, username)
	setEnabled(t, kc, userID, false)
	eventually(t, "owner_disabled", func() bool { return app.adminGetKey(t, id).body["status"] == "owner_disabled" })
	k, err := app.store.KeyByID(context.Background(), "", id)
	if err != nil || !k.Enabled {
		t.Fatalf("key after a reset with KEYWARD_ON_CREDENTIAL_RESET=none: enabled=%v err=%v", k.Enabled, err)
	}
}

func testResetDisable(t *testing.T, app *running) {
	kc := app.kc
	ctx := context.Background()
	// A password reset by an admin.
	userID, username := kc.TempUser(t, "kw-ev-reset")
	id, key := app.createKey(t, kc.Login(t, username), "reset")
	resetPassword(t, kc, userID, username) // the same password, so the test can log in again
	eventually(t, "key disabled after the reset", func() bool {
		k, err := app.store.KeyByID(ctx, "", id)
		return err == nil && !k.Enabled
	})
	if got := app.exchange(t, key); got.status != http.StatusUnauthorized {
		t.Fatalf("disabled key exchanged: %d", got.status)
	}
	if evs := app.awaitKeycloakAudits(t, id, "key.disable"); len(evs) != 1 || !strings.Contains(evs[0].Details, "password reset") {
		t.Fatalf("audit: %+v", evs)
	}
	// The owner may enable it again: it was no admin's decision.
	owner := kc.Login(t, username)
	if got := call(t, "PATCH", app.url+"/v1/keys/"+id, strings.NewReader(`{"enabled":true}`),
		"Authorization", "Bearer "+owner, "Content-Type", "application/json"); got.status != 200 {
		t.Fatalf("owner re-enables: %d %s", got.status, got.raw)
	}
	// Sign out everywhere (the admin's "Sign out" of the user).
	userID2, username2 := kc.TempUser(t, "kw-ev-logout")
	id2, _ := app.createKey(t, kc.Login(t, username2), "logout")
	if err := kc.Admin.LogoutAllSessions(ctx, kc.AdminToken(t), kc.Realm, userID2); err != nil {
		t.Fatal(err)
	}
	eventually(t, "key disabled after sign-out everywhere", func() bool {
		k, err := app.store.KeyByID(ctx, "", id2)
		return err == nil && !k.Enabled
	})
	// The first key, re-enabled by its owner, stayed so: no event is applied twice.
	if k, _ := app.store.KeyByID(ctx, "", id); !k.Enabled {
		t.Fatal("the reset was applied again after the owner re-enabled the key")
	}
}

// testFollowerRestart: an event that happens while Keyward is down is applied when it
// is back; one applied before the stop is not applied again after it.
func testFollowerRestart(t *testing.T, kc *kctest.Env) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	settings := sharedStoreSettings(dsn, map[string]string{"KEYWARD_EVENTS_POLL_INTERVAL": fastPoll, "KEYWARD_ON_CREDENTIAL_RESET": "disable"})
	resetID, resetUser := kc.TempUser(t, "kw-ev-restart-reset")
	goneID, goneUser := kc.TempUser(t, "kw-ev-restart-gone")
	var resetKey, goneKey string
	t.Run("first", func(t *testing.T) {
		app := startAppWith(t, kc, settings)
		resetKey, _ = app.createKey(t, kc.Login(t, resetUser), "restart")
		goneKey, _ = app.createKey(t, kc.Login(t, goneUser), "restart")
		resetPassword(t, kc, resetID, resetUser)
		eventually(t, "disabled by the reset", func() bool {
			k, err := app.store.KeyByID(ctx, "", resetKey)
			return err == nil && !k.Enabled
		})
		// The owner enables it again; a follower that repeated the reset would undo that.
		if got := call(t, "PATCH", app.url+"/v1/keys/"+resetKey, strings.NewReader(`{"enabled":true}`),
			"Authorization", "Bearer "+kc.Login(t, resetUser), "Content-Type", "application/json"); got.status != 200 {
			t.Fatalf("re-enable: %d %s", got.status, got.raw)
		}
	}) // the first Keyward is stopped here
	deleteUser(t, kc, goneID) // while no Keyward follows
	app := startAppWith(t, kc, settings)
	eventually(t, "the deletion made while down is applied", func() bool {
		_, err := app.store.KeyByID(ctx, "", goneKey)
		return errors.Is(err, models.ErrNotFound)
	})
	// A later event of the reset user, applied: every earlier one was read by now.
	setEnabled(t, kc, resetID, false)
	eventually(t, "later event applied", func() bool {
		k, _ := app.store.KeyByID(ctx, "", resetKey)
		return k.OwnerDisabled
	})
	if k, _ := app.store.KeyByID(ctx, "", resetKey); !k.Enabled {
		t.Fatal("the reset applied before the restart was applied again")
	}
	if n := len(app.keycloakAudits(t, resetKey, "key.disable")); n != 1 {
		t.Fatalf("%d key.disable audits of the reset, want 1", n)
	}
}

// testTwoFollowers: two replicas on one PostgreSQL; each event is applied once; when
// the leader stops, the other takes over.
func testTwoFollowers(t *testing.T, kc *kctest.Env) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	settings := sharedStoreSettings(dsn, map[string]string{"KEYWARD_EVENTS_POLL_INTERVAL": fastPoll, "KEYWARD_ON_CREDENTIAL_RESET": "disable"})
	second := startAppWith(t, kc, settings)
	var firstLogs *logSink
	userID, username := kc.TempUser(t, "kw-ev-two")
	var keyID string
	t.Run("both", func(t *testing.T) {
		first := startAppWith(t, kc, settings)
		firstLogs = first.logs
		keyID, _ = first.createKey(t, kc.Login(t, username), "two-replicas")
		resetPassword(t, kc, userID, username)
		eventually(t, "disabled", func() bool {
			k, err := first.store.KeyByID(ctx, "", keyID)
			return err == nil && !k.Enabled
		})
		// The key is disabled once, by one replica (a second reaction would find it
		// disabled already and record nothing, so count the owner re-enabling too).
		if got := call(t, "PATCH", first.url+"/v1/keys/"+keyID, strings.NewReader(`{"enabled":true}`),
			"Authorization", "Bearer "+kc.Login(t, username), "Content-Type", "application/json"); got.status != 200 {
			t.Fatalf("re-enable: %d", got.status)
		}
		setEnabled(t, kc, userID, false)
		eventually(t, "owner_disabled", func() bool {
			k, _ := first.store.KeyByID(ctx, "", keyID)
			return k.OwnerDisabled
		})
		if k, _ := first.store.KeyByID(ctx, "", keyID); !k.Enabled {
			t.Fatal("a second replica applied the reset again")
		}
		if n := len(first.keycloakAudits(t, keyID, "key.disable")); n != 1 {
			t.Fatalf("%d key.disable audits, want 1", n)
		}
		if n := len(first.awaitKeycloakAudits(t, keyID, "key.owner_disabled")); n != 1 {
			t.Fatalf("%d key.owner_disabled audits, want 1", n)
		}
	}) // the first replica stops and gives its lease up
	setEnabled(t, kc, userID, true)
	eventually(t, "the remaining replica applies the next event", func() bool {
		k, _ := second.store.KeyByID(ctx, "", keyID)
		return !k.OwnerDisabled
	})
	held := func(logs string) bool { return strings.Contains(logs, `"held":true`) }
	if !held(firstLogs.String()) && !held(second.logs.String()) {
		t.Fatal("no replica logged taking the lease")
	}
}

// testEventsRefused: an admin client without view-events: a clear warning at start,
// and Keyward stays ready.
func testEventsRefused(t *testing.T, kc *kctest.Env) {
	clientID, secret := tempAdminClientWithoutViewEvents(t, kc)
	app := startAppWith(t, kc, map[string]string{"KEYWARD_ADMIN_CLIENT_ID": clientID, "KEYWARD_ADMIN_CLIENT_SECRET": secret,
		"KEYWARD_EVENTS_POLL_INTERVAL": fastPoll})
	eventually(t, "the warning", func() bool { return strings.Contains(app.logs.String(), "view-events") })
	for _, line := range strings.Split(app.logs.String(), "\n") {
		if strings.Contains(line, "view-events") && !strings.Contains(line, `"level":"warn"`) {
			t.Fatalf("the refusal is not a warning: %s", line)
		}
	}
	if got := call(t, "GET", app.url+"/readyz", nil); got.status != http.StatusOK {
		t.Fatalf("readyz: %d %s", got.status, got.raw)
	}
	if n := strings.Count(app.logs.String(), "refuses to show the realm's events"); n != 1 {
		t.Fatalf("the warning was logged %d times, want once", n)
	}
}

// tempAdminClientWithoutViewEvents makes a confidential client whose service account
// has the admin roles Keyward needs to start, but not view-events.
func tempAdminClientWithoutViewEvents(t *testing.T, kc *kctest.Env) (clientID, secret string) {
	t.Helper()
	ctx := context.Background()
	admin := kc.AdminToken(t)
	clientID = "kw-test-noevents-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))[:10] + time.Now().Format("150405.000")
	clientID = strings.ReplaceAll(clientID, ".", "")
	id, err := kc.Admin.CreateClient(ctx, admin, kc.Realm, gocloak.Client{
		ClientID: gocloak.StringP(clientID), PublicClient: gocloak.BoolP(false), ServiceAccountsEnabled: gocloak.BoolP(true),
		StandardFlowEnabled: gocloak.BoolP(false), Secret: gocloak.StringP("noevents-secret-0123456789"),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kc.Admin.DeleteClient(context.Background(), kc.AdminToken(t), kc.Realm, id) })
	sa, err := kc.Admin.GetClientServiceAccount(ctx, admin, kc.Realm, id)
	if err != nil {
		t.Fatal(err)
	}
	rm := kc.ClientUUID(t, "realm-management")
	var roles []gocloak.Role
	for _, name := range []string{"view-users", "query-users", "query-groups", "view-realm", "view-clients", "query-clients"} {
		r, err := kc.Admin.GetClientRole(ctx, admin, kc.Realm, rm, name)
		if err != nil {
			t.Fatal(err)
		}
		roles = append(roles, *r)
	}
	if err := kc.Admin.AddClientRolesToUser(ctx, admin, kc.Realm, rm, *sa.ID, roles); err != nil {
		t.Fatal(err)
	}
	return clientID, "noevents-secret-0123456789"
}

// TestExpiryReminders_Wired_OwnerMailedOnce: the served Keyward mails the owner of a key
// created with a day to live, once, through the configured SMTP server.
func TestExpiryReminders_Wired_OwnerMailedOnce(t *testing.T) {
	kc := kctest.Require(t)
	settings := mailSettings(t)
	settings["KEYWARD_REMINDER_INTERVAL"] = "200ms"
	app := startAppWith(t, kc, settings)
	sink := smtpsink.Require(t)
	_, username := kc.TempUser(t, "kw-ev-expiring")
	id, _ := createKeyWith(t, app, kc.Login(t, username), `{"name":"short-lived","expires_in_days":1}`)["id"].(string)
	email := username + "@example.test"
	eventually(t, "the 1-day reminder", func() bool { return len(sink.To(t, email)) > 0 })
	time.Sleep(time.Second) // several more rounds: none may mail again
	mails := sink.To(t, email)
	if len(mails) != 1 || !strings.Contains(mails[0].Header.Get("Subject"), "expires tomorrow") ||
		!strings.Contains(mails[0].Body, kc.PublicURL+"/keys/"+id) {
		t.Fatalf("%d mails: %+v", len(mails), mails)
	}
	if n := len(app.keycloakAuditsBy(t, id, "key.expiring", "keyward")); n != 1 {
		t.Fatalf("%d key.expiring events, want 1", n)
	}
}

// TestKeycloakEvents_UserChangesOwnPassword_KeysDisabled: the user event of a password
// the user changed themselves (in the browser, on Keycloak's own page) disables their
// keys under KEYWARD_ON_CREDENTIAL_RESET=disable.
func TestKeycloakEvents_UserChangesOwnPassword_KeysDisabled(t *testing.T) {
	kc := kctest.Require(t)
	app := startAppWith(t, kc, map[string]string{"KEYWARD_EVENTS_POLL_INTERVAL": fastPoll, "KEYWARD_ON_CREDENTIAL_RESET": "disable"})
	ctx := context.Background()
	userID, username := kc.TempUser(t, "kw-ev-ownpw")
	id, _ := app.createKey(t, kc.Login(t, username), "own-password")
	admin := kc.AdminToken(t)
	u, err := kc.Admin.GetUserByID(ctx, admin, kc.Realm, userID)
	if err != nil {
		t.Fatal(err)
	}
	u.RequiredActions = &[]string{"UPDATE_PASSWORD"}
	if err := kc.Admin.UpdateUser(ctx, admin, kc.Realm, *u); err != nil {
		t.Fatal(err)
	}
	b := browsertest.New(t, 2*time.Minute)
	if err := chromedp.Do(b, chromedp.Navigate(kc.URL+"/realms/"+kc.Realm+"/account")); err != nil {
		t.Fatal(err)
	}
	if err := browsertest.KeycloakLogin(b, username, username); err != nil {
		t.Fatal(err)
	}
	const newPassword = "Own-new-pass-7"
	if err := browsertest.FillForm(b, chromedp.Submit(chromedp.CSS("#password-new")),
		browsertest.Field{Selector: "#password-new", Value: newPassword},
		browsertest.Field{Selector: "#password-confirm", Value: newPassword},
	); err != nil {
		browsertest.Screenshot(t, b, "own-password")
		t.Fatal(err)
	}
	eventually(t, "keys disabled after the user changed their password", func() bool {
		k, err := app.store.KeyByID(ctx, "", id)
		return err == nil && !k.Enabled
	})
	evs := app.awaitKeycloakAudits(t, id, "key.disable")
	if len(evs) != 1 || !strings.Contains(evs[0].Details, "password changed (") {
		t.Fatalf("audit: %+v, want one key.disable naming the user event", evs)
	}
}

// sharedStoreSettings are the settings of Keywards that share one database: the same
// pepper and encryption key, or the second refuses to start (issue 14), plus extra.
func sharedStoreSettings(dsn string, extra map[string]string) map[string]string {
	s := map[string]string{
		"KEYWARD_DATABASE_URL":   dsn,
		"KEYWARD_KEY_PEPPER":     strings.Repeat("k", 40),
		"KEYWARD_ENCRYPTION_KEY": base64.StdEncoding.EncodeToString([]byte(strings.Repeat("e", 32))),
	}
	for k, v := range extra {
		s[k] = v
	}
	return s
}
