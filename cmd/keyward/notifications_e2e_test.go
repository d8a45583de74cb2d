package main

// Two replicas on one PostgreSQL database, B's connections through a proxy that can
// drop the server's notifications as PgBouncer in transaction mode does: B must stop
// trusting what it remembers, say so, and refuse a key revoked through A.

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/kctest"
	"github.com/keyward/keyward/internal/pgtest"
)

// twoReplicas starts A straight on a fresh database and B with bSettings (its database
// URLs) on the same one; both share what replicas must share. B remembers keys for an
// hour, so that only the notifications can make it see a revocation in time.
func twoReplicas(t *testing.T, kc *kctest.Env, dsn string, bSettings map[string]string) (a, b *running) {
	t.Helper()
	shared := map[string]string{"KEYWARD_DATABASE_URL": dsn, "KEYWARD_KEY_PEPPER": strings.Repeat("p", 40),
		"KEYWARD_ENCRYPTION_KEY": b64(strings.Repeat("e", 32))}
	a = startAppWith(t, kc, shared)
	settings := map[string]string{"KEYWARD_KEY_STATE_MAX_AGE": "1h"}
	for k, v := range shared {
		settings[k] = v
	}
	for k, v := range bSettings {
		settings[k] = v
	}
	return a, startAppWith(t, kc, settings)
}

// keyNotifications is what a replica says of its key notifications: /readyz's check
// and the keyward_key_state_in_memory gauge.
func keyNotifications(t *testing.T, r *running) (check, gauge string) {
	t.Helper()
	ready := call(t, "GET", r.url+"/readyz", nil)
	check, _ = ready.body["checks"].(map[string]any)["key_notifications"].(string)
	for _, line := range strings.Split(call(t, "GET", r.url+"/metrics", nil).raw, "\n") {
		if v, ok := strings.CutPrefix(line, "keyward_key_state_in_memory "); ok {
			gauge = v
		}
	}
	return check, gauge
}

func saysDown(t *testing.T, r *running) bool {
	check, gauge := keyNotifications(t, r)
	return check == "down" && gauge == "0"
}

func saysUp(t *testing.T, r *running) bool {
	check, gauge := keyNotifications(t, r)
	return check == "up" && gauge == "1"
}

// revokeAt deletes the key through replica r.
func revokeAt(t *testing.T, r *running, userToken, id string) {
	t.Helper()
	if got := call(t, "DELETE", r.url+"/v1/keys/"+id, nil, "Authorization", "Bearer "+userToken); got.status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", got.status, got.raw)
	}
}

// B's notifications swallowed from the start: its pings pass, its heartbeats never
// come back; it says key_notifications down, and a key it exchanged before is refused
// at once after a revocation through A.
func TestReplica_NotificationsSwallowed_SaysDown_RevocationThroughOtherRefused(t *testing.T) {
	kc := kctest.Require(t)
	dsn := pgtest.DSN(t)
	proxy, proxied := pgtest.NewProxy(t, dsn)
	proxy.DropNotifications(true)
	a, b := twoReplicas(t, kc, dsn, map[string]string{"KEYWARD_DATABASE_URL": proxied})
	token := kc.Login(t, "alice")
	id, key := a.createKey(t, token, "swallowed-"+kctest.Unique("k"))
	b.mustToken(t, key)
	// Down at each look while the proxy drops 12 notifications on B's listening
	// connection (heartbeats of A and B, about a second of them): time enough for B to
	// have trusted its connection, had a ping been its proof.
	for from, deadline := proxy.Dropped(), time.Now().Add(20*time.Second); proxy.Dropped() < from+12; {
		if !saysDown(t, b) {
			check, gauge := keyNotifications(t, b)
			t.Fatalf("B says %s (gauge %s) with its notifications swallowed", check, gauge)
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d notifications dropped in 20s", proxy.Dropped()-from)
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.mustToken(t, key) // would be remembered now, were B trusting its memory
	revokeAt(t, a, token, id)
	if got := b.exchange(t, key); got.status != http.StatusUnauthorized {
		t.Fatalf("B exchanged a key revoked through A: %d %s", got.status, got.raw)
	}
	if !saysDown(t, b) {
		t.Fatal("B says its key notifications are up again")
	}
}

// The control: the same proxy passing notifications, B says up across many trust
// windows and sees a revocation through A. Then the proxy starts dropping them under
// B's established connection: B says down within the window and refuses the next
// revoked key at once.
func TestReplica_NotificationsThroughProxy_UpAndRevocationSeen_UntilSwallowed(t *testing.T) {
	kc := kctest.Require(t)
	dsn := pgtest.DSN(t)
	proxy, proxied := pgtest.NewProxy(t, dsn)
	a, b := twoReplicas(t, kc, dsn, map[string]string{"KEYWARD_DATABASE_URL": proxied})
	waitFor(t, "B says key notifications up", func() bool { return saysUp(t, b) })
	// Every heartbeat of A and B that B hears passes the proxy: up at each look while
	// 40 of them (about five trust windows) pass.
	for from, deadline := proxy.Passed(), time.Now().Add(20*time.Second); proxy.Passed() < from+40; {
		if !saysUp(t, b) {
			check, gauge := keyNotifications(t, b)
			t.Fatalf("B fell to %s (gauge %s) with %d notifications passed", check, gauge, proxy.Passed()-from)
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d notifications passed in 20s", proxy.Passed()-from)
		}
		time.Sleep(50 * time.Millisecond)
	}
	token := kc.Login(t, "alice")
	id, key := a.createKey(t, token, "passed-"+kctest.Unique("k"))
	b.mustToken(t, key)
	revokeAt(t, a, token, id)
	waitFor(t, "B refuses the key revoked through A", func() bool { return b.exchange(t, key).status == http.StatusUnauthorized })

	id, key = a.createKey(t, token, "then-swallowed-"+kctest.Unique("k"))
	b.mustToken(t, key)
	proxy.DropNotifications(true)
	waitFor(t, "B says key notifications down", func() bool { return saysDown(t, b) })
	revokeAt(t, a, token, id)
	if got := b.exchange(t, key); got.status != http.StatusUnauthorized {
		t.Fatalf("B exchanged a key revoked through A after its notifications were swallowed: %d %s", got.status, got.raw)
	}
}

// The way out for a pooler in transaction mode: the pool through it, the listener on a
// direct connection (KEYWARD_DATABASE_LISTEN_URL). B says up and sees revocations.
func TestReplica_ListenURLDirect_PoolThroughSwallowingProxy_Up(t *testing.T) {
	kc := kctest.Require(t)
	dsn := pgtest.DSN(t)
	proxy, proxied := pgtest.NewProxy(t, dsn)
	proxy.DropNotifications(true)
	a, b := twoReplicas(t, kc, dsn, map[string]string{"KEYWARD_DATABASE_URL": proxied, "KEYWARD_DATABASE_LISTEN_URL": dsn})
	waitFor(t, "B says key notifications up", func() bool { return saysUp(t, b) })
	token := kc.Login(t, "alice")
	id, key := a.createKey(t, token, "direct-"+kctest.Unique("k"))
	b.mustToken(t, key)
	revokeAt(t, a, token, id)
	waitFor(t, "B refuses the key revoked through A", func() bool { return b.exchange(t, key).status == http.StatusUnauthorized })
	if !saysUp(t, b) {
		t.Fatal("B says its key notifications are down")
	}
	if strings.Contains(b.logs.String(), strings.TrimPrefix(dsn, "postgres://")) {
		t.Fatal("B's log holds the listen URL")
	}
}
