package models

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"
	"gorm.io/gorm"
)

// Key changes are announced by the store itself, whoever writes: on PostgreSQL a
// trigger on api_keys calls pg_notify in the writing transaction (so the notification
// leaves at commit, for every writer, raw SQL included); on SQLite the connection pool
// below announces, in process, every committed statement that wrote api_keys, on both
// backends: the store's key writes name their keys (writingKeys), any other write is
// announced as AllKeys.

// KeyChannel is the PostgreSQL notification channel of key changes; the payload is the
// changed key's lookup id.
const KeyChannel = "keyward_keys"

// AllKeys is the change announced when any key may have changed (a write of api_keys
// that names no key, a resynchronisation): forget every key.
const AllKeys = "*"

// keyNotifyTrigger announces every change of a key row but those of its last use only
// (the usage flush, every few seconds, changes nothing the exchange reads).
const keyNotifyTrigger = `
CREATE OR REPLACE FUNCTION keyward_api_keys_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND (to_jsonb(OLD) - 'last_used_at' - 'last_used_ip' - 'updated_at')
       = (to_jsonb(NEW) - 'last_used_at' - 'last_used_ip' - 'updated_at') THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('` + KeyChannel + `', OLD.lookup_id);
  ELSE
    PERFORM pg_notify('` + KeyChannel + `', NEW.lookup_id);
  END IF;
  RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER keyward_api_keys_notify AFTER INSERT OR UPDATE OR DELETE ON api_keys
  FOR EACH ROW EXECUTE FUNCTION keyward_api_keys_notify();`

// installKeyTrigger creates the trigger; replicas starting together take turns.
func installKeyTrigger(ctx context.Context, db *gorm.DB) error {
	return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SELECT pg_advisory_xact_lock(hashtext('keyward:migrate'))").Error; err != nil {
			return err
		}
		return tx.Exec(keyNotifyTrigger).Error
	})
}

// KeyWatcher is told of key changes. KeyChanged(AllKeys) means any key may have
// changed. Listening(false) means changes may go unannounced from now on (the
// notification connection is down): until Listening(true), which follows a
// resynchronisation (KeyChanged(AllKeys)), nothing remembered may be trusted.
// Listening(true, until) vouches for the announcements only until then: a later call
// extends it, none means they are no longer proven.
type KeyWatcher interface {
	KeyChanged(lookupID string)
	Listening(up bool, until time.Time)
}

// Heartbeat bounds: every listenHeartbeat the listener sends a notification of its own
// on KeyChannel; a watcher may trust the announcements until listenTrust after a
// heartbeat that came back was sent. One that does not come back within listenTrust
// (a pooler in transaction mode swallows notifications while pings still pass) ends
// the connection: Listening(false), then a reconnection with backoff.
const (
	listenHeartbeat = 250 * time.Millisecond
	listenTrust     = 750 * time.Millisecond
	// ListenApplicationName names the notification connection in pg_stat_activity.
	ListenApplicationName = "keyward-key-listener"
)

// heartbeatPrefix starts every listener's heartbeat payload. '-' and ':' are in no
// lookup id (base62), so a heartbeat is never taken for a key change.
const heartbeatPrefix = "keyward-heartbeat:"

// errHeartbeatLost: the connection is up but does not deliver notifications.
var errHeartbeatLost = errors.New("our own heartbeat notification did not come back within " + listenTrust.String() +
	": something between Keyward and PostgreSQL drops notifications (a pooler in transaction or statement mode does); " +
	"give the listener a direct connection or a pooler in session mode")

// heartbeat is one notification connection's round trips on KeyChannel. Its nonce is
// random per connection, so that other replicas' heartbeats (and those of this
// replica's earlier connections) are never taken for its own.
type heartbeat struct {
	nonce string
	seq   uint64
}

func newHeartbeat() heartbeat {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // never fails on supported platforms
	return heartbeat{nonce: hex.EncodeToString(b)}
}

// next is the payload of the next heartbeat to send.
func (h *heartbeat) next() string {
	h.seq++
	return h.latest()
}

func (h *heartbeat) latest() string {
	return heartbeatPrefix + h.nonce + ":" + strconv.FormatUint(h.seq, 10)
}

// heard passes a key change on to w and tells whether payload is this connection's
// latest heartbeat. Heartbeats, anyone's, change no key.
func (h *heartbeat) heard(payload string, w KeyWatcher) (latest bool) {
	if !strings.HasPrefix(payload, heartbeatPrefix) {
		w.KeyChanged(payload)
		return false
	}
	return h.seq > 0 && payload == h.latest()
}

// WatchKeys tells w of every key change until ctx ends. This process's own writes
// are announced in process, at commit, on both backends. On SQLite they are all
// there is and w is listening at once, for good. On PostgreSQL a connection of its
// own LISTENs for every replica's (through ListenURL when given); w hears
// KeyChanged(AllKeys) when it connects, and Listening(true) each time a heartbeat
// comes back; when it fails, Listening(false), then the same after a reconnection.
func (s *Store) WatchKeys(ctx context.Context, w KeyWatcher) {
	s.watchMu.Lock()
	s.watchers = append(s.watchers, w)
	s.watchMu.Unlock()
	go func() {
		<-ctx.Done()
		s.watchMu.Lock()
		defer s.watchMu.Unlock()
		for i, o := range s.watchers {
			if o == w {
				s.watchers = append(s.watchers[:i], s.watchers[i+1:]...)
				break
			}
		}
	}()
	if s.backend != backendPostgres {
		w.Listening(true, time.Time{})
		return
	}
	go s.listen(ctx, w)
}

// listen keeps a LISTEN connection up, reconnecting with backoff.
func (s *Store) listen(ctx context.Context, w KeyWatcher) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, w)
		w.Listening(false, time.Time{})
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("key notifications down: every exchange reads the store until they are back",
			zap.Error(err))
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (s *Store) listenOnce(ctx context.Context, w KeyWatcher) error {
	cfg, err := pgx.ParseConfig(s.listenDSN)
	if err != nil {
		return errors.New("parse the database URL") // the error would repeat it
	}
	cfg.RuntimeParams["application_name"] = ListenApplicationName
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	conn, err := pgx.ConnectConfig(cctx, cfg)
	cancel()
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+KeyChannel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// Listening from here on: what changed before is resynchronised by forgetting it.
	// Trusted only once a notification of ours has come back the way others' come.
	w.KeyChanged(AllKeys)
	hb := newHeartbeat()
	up := false
	for {
		sent := time.Now()
		if err := s.sendHeartbeat(ctx, hb.next()); err != nil {
			return err
		}
		if err := receive(ctx, conn, w, &hb, sent.Add(listenTrust), true); err != nil {
			return err
		}
		w.Listening(true, sent.Add(listenTrust))
		if !up {
			s.log.Info("key notifications up")
			up = true
		}
		if err := receive(ctx, conn, w, &hb, sent.Add(listenHeartbeat), false); err != nil {
			return err
		}
	}
}

// sendHeartbeat notifies KeyChannel through the store's pool: another session, the
// path every writer's notifications take.
func (s *Store) sendHeartbeat(ctx context.Context, payload string) error {
	sctx, cancel := context.WithTimeout(ctx, listenTrust)
	defer cancel()
	if err := s.db.WithContext(sctx).Exec("SELECT pg_notify(?, ?)", KeyChannel, payload).Error; err != nil {
		return fmt.Errorf("heartbeat: send: %w", err)
	}
	return nil
}

// receive passes key changes on to w until deadline; with wantHeartbeat, until the
// latest heartbeat is back, which must be before deadline.
func receive(ctx context.Context, conn *pgx.Conn, w KeyWatcher, hb *heartbeat, deadline time.Time, wantHeartbeat bool) error {
	for {
		wctx, cancel := context.WithDeadline(ctx, deadline)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			if hb.heard(n.Payload, w) && wantHeartbeat {
				return nil
			}
		case ctx.Err() != nil:
			return ctx.Err()
		case conn.PgConn().IsClosed(), !errors.Is(err, context.DeadlineExceeded):
			return err
		case wantHeartbeat:
			return errHeartbeatLost
		default:
			return nil
		}
	}
}

// announce tells in-process watchers that the keys of these lookup ids (AllKeys: any)
// may have changed.
func (s *Store) announce(lookupIDs ...string) {
	s.watchMu.Lock()
	ws := append([]KeyWatcher(nil), s.watchers...)
	s.watchMu.Unlock()
	for _, w := range ws {
		for _, id := range lookupIDs {
			w.KeyChanged(id)
		}
	}
}

// keyWrite names the keys a store function writes, so that its in-process announcement
// forgets those alone: the pool sees SQL, not keys. A statement that writes api_keys
// under a context without one is announced as AllKeys, as before.
type keyWrite struct {
	mu    sync.Mutex
	ids   []string
	wrote bool
}

type keyWriteKey struct{}

// writingKeys returns ctx carrying a keyWrite, which the function fills (name) and
// announces (s.announceWrite) once its statements are committed or rolled back.
func writingKeys(ctx context.Context) (context.Context, *keyWrite) {
	w := &keyWrite{}
	return context.WithValue(ctx, keyWriteKey{}, w), w
}

// name records lookup ids the write changes.
func (w *keyWrite) name(lookupIDs ...string) {
	w.mu.Lock()
	w.ids = append(w.ids, lookupIDs...)
	w.mu.Unlock()
}

// noted tells the pool saw a statement that wrote api_keys under ctx: false when ctx
// carries no keyWrite, so that the pool announces it itself.
func noted(ctx context.Context) bool {
	w, _ := ctx.Value(keyWriteKey{}).(*keyWrite)
	if w == nil {
		return false
	}
	w.mu.Lock()
	w.wrote = true
	w.mu.Unlock()
	return true
}

// announceWrite announces what w names, if a statement wrote api_keys; AllKeys if it
// named nothing. After a failed commit too: rereading costs little.
func (s *Store) announceWrite(w *keyWrite) {
	w.mu.Lock()
	ids, wrote := w.ids, w.wrote
	w.mu.Unlock()
	switch {
	case !wrote:
	case len(ids) == 0:
		s.announce(AllKeys)
	default:
		s.announce(ids...)
	}
}

// writesKeys tells whether a statement may change api_keys.
func writesKeys(query string) bool {
	q := strings.TrimSpace(query)
	i := strings.IndexAny(q, " \t\r\n")
	if i < 0 {
		return false
	}
	switch strings.ToUpper(q[:i]) {
	case "UPDATE":
		return strings.Contains(q, "api_keys") && !onlyLastUse(q)
	case "INSERT", "DELETE", "REPLACE", "DROP", "ALTER":
		return strings.Contains(q, "api_keys")
	}
	return false
}

// onlyLastUse tells an UPDATE that sets nothing but the last use (the usage flush),
// which the exchange does not read, as the PostgreSQL trigger does.
func onlyLastUse(update string) bool {
	lower := strings.ToLower(update)
	set := strings.Index(lower, " set ")
	where := strings.Index(lower, " where ")
	if set < 0 || where < set {
		return false
	}
	for _, assignment := range strings.Split(lower[set+5:where], ",") {
		col, _, _ := strings.Cut(assignment, "=")
		switch strings.Trim(strings.TrimSpace(col), "`\"") {
		case "last_used_at", "last_used_ip", "updated_at":
		default:
			return false
		}
	}
	return true
}

// announcingPool is the store's connection pool: it announces every committed statement
// that wrote api_keys, at once outside a transaction, at commit inside one, so that a
// watcher that rereads after the announcement sees the change. A statement whose
// context names its keys (writingKeys) is left to its function to announce.
type announcingPool struct {
	*sql.DB
	announce func(lookupIDs ...string)
}

func (p *announcingPool) GetDBConn() (*sql.DB, error) { return p.DB, nil }

func (p *announcingPool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := p.DB.ExecContext(ctx, query, args...)
	if writesKeys(query) && !noted(ctx) {
		p.announce(AllKeys)
	}
	return res, err
}

func (p *announcingPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := p.DB.QueryContext(ctx, query, args...)
	if writesKeys(query) && !noted(ctx) { // INSERT … RETURNING
		p.announce(AllKeys)
	}
	return rows, err
}

func (p *announcingPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	row := p.DB.QueryRowContext(ctx, query, args...)
	if writesKeys(query) && !noted(ctx) {
		p.announce(AllKeys)
	}
	return row
}

func (p *announcingPool) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	tx, err := p.DB.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &announcingTx{Tx: tx, announce: p.announce}, nil
}

type announcingTx struct {
	*sql.Tx
	announce func(lookupIDs ...string)
	mu       sync.Mutex
	wrote    bool // a write of api_keys that no keyWrite names
}

func (t *announcingTx) note(ctx context.Context, query string) {
	if writesKeys(query) && !noted(ctx) {
		t.mu.Lock()
		t.wrote = true
		t.mu.Unlock()
	}
}

func (t *announcingTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	t.note(ctx, query)
	return t.Tx.ExecContext(ctx, query, args...)
}

func (t *announcingTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	t.note(ctx, query)
	return t.Tx.QueryContext(ctx, query, args...)
}

func (t *announcingTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	t.note(ctx, query)
	return t.Tx.QueryRowContext(ctx, query, args...)
}

func (t *announcingTx) Commit() error {
	err := t.Tx.Commit()
	t.mu.Lock()
	wrote := t.wrote
	t.mu.Unlock()
	if wrote {
		t.announce(AllKeys) // after a failed commit too: rereading costs little
	}
	return err
}
