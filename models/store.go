package models

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/keyward/keyward/internal/errs"

	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"go.uber.org/zap"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
)

// Sentinel errors; test them with errors.Is.
var (
	ErrNotFound      = errs.New(errs.NotFound, "no such resource")
	ErrAlreadyExists = errs.New(errs.Conflict, "the resource exists already")
	// ErrConflict: the record is not in a state that allows the change, e.g.
	// rotating a key that was already superseded.
	ErrConflict = errs.New(errs.Conflict, "the resource changed state: e.g. the key has already been rotated")
	// ErrInvalidFilter: a list filter names an unknown sort, status or expiry, or
	// is out of range.
	ErrInvalidFilter = errs.New(errs.Invalid, "the list filter is not valid")
	// ErrLimitReached: a create would pass a configured ceiling (live keys per user).
	ErrLimitReached = errs.New(errs.Conflict, "a configured limit is reached")
)

const (
	backendSQLite   = "sqlite"
	backendPostgres = "postgres"

	// maxConns bounds the connection pool, and as many connections stay idle (Open).
	maxConns = 16

	// defaultSQLitePath is used when no database is configured.
	defaultSQLitePath = "data/keyward.db"
)

// Store reads and writes Keyward's records. It is safe for concurrent use.
type Store struct {
	db      *gorm.DB
	backend string
	// keyForExchange is KeyForExchange's statement, in the backend's placeholders.
	keyForExchange string
	// outbox makes the webhook messages RecordAudit queues (UseOutbox); nil: none.
	outbox Outbox
	// listenDSN opens PostgreSQL's notification connection (keywatch.go): the store's
	// own DSN unless ListenURL named another; log tells when it is down.
	listenDSN string
	log       *zap.Logger
	// watchers hear the in-process key announcements.
	watchMu  sync.Mutex
	watchers []KeyWatcher
}

// Option changes how Open opens the store.
type Option func(*Store)

// ListenURL opens PostgreSQL's notification connection with dsn instead of the store's
// own DSN: LISTEN needs one session for as long as it listens, which a pooler in
// transaction or statement mode does not give, so the listener can go straight to the
// server while the pool goes through the pooler. Empty: the store's DSN.
func ListenURL(dsn string) Option {
	return func(s *Store) {
		if dsn != "" {
			s.listenDSN = dsn
		}
	}
}

// Open connects to the database named by dsn and migrates its schema.
//
//	""                                  SQLite at data/keyward.db
//	"sqlite://<path>" or a file path    SQLite at that path (parent directory created)
//	":memory:" or "sqlite://:memory:"   private in-memory SQLite (tests)
//	"postgres://…", "postgresql://…"    PostgreSQL
func Open(ctx context.Context, dsn string, log *zap.Logger, opts ...Option) (*Store, error) {
	if log == nil {
		log = zap.NewNop()
	}
	dialector, backend, err := dialectorFor(dsn)
	if err != nil {
		return nil, fmt.Errorf("models: open: %w", err)
	}
	s := &Store{backend: backend, listenDSN: dsn, log: log}
	for _, o := range opts {
		o(s)
	}
	if s.listenDSN != dsn {
		// Checked here so that a bad one fails the start, not every reconnection.
		if _, err := pgx.ParseConfig(s.listenDSN); err != nil || backend != backendPostgres {
			return nil, errors.New("models: open: the listen URL must be a PostgreSQL URL, for a PostgreSQL store") // the error would repeat it
		}
	}
	// The pool announces this process's key writes in process (keywatch.go): on
	// SQLite they are all there is; on PostgreSQL they make a replica see its own
	// writes before it answers, not when its notification comes back.
	switch d := dialector.(type) {
	case *sqlite.Dialector:
		conn, err := sql.Open(sqlite.DriverName, d.DSN)
		if err != nil {
			return nil, fmt.Errorf("models: open %s: %w", backend, err)
		}
		d.Conn = &announcingPool{DB: conn, announce: s.announce}
	case *postgres.Dialector:
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, fmt.Errorf("models: open %s: the database URL does not parse", backend) // the error would repeat it
		}
		d.Conn = &announcingPool{DB: stdlib.OpenDB(*cfg), announce: s.announce}
	}
	db, err := connect(ctx, dialector, log)
	if err != nil {
		return nil, fmt.Errorf("models: open %s: %w", backend, err)
	}
	sqlDB, _ := db.DB() // connect has checked it
	if err := migrate(ctx, db, backend); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("models: migrate %s: %w", backend, err)
	}
	// As many idle connections as open ones: database/sql keeps 2 idle by default, so
	// with more concurrent requests it closes and reopens connections all the time; a
	// SQLite open re-runs the PRAGMAs and re-reads the schema, a PostgreSQL one starts a
	// server process. No idle timeout: an in-memory database lives only as long as one
	// of its connections.
	sqlDB.SetMaxOpenConns(maxConns)
	sqlDB.SetMaxIdleConns(maxConns)
	placeholder := "?"
	if backend == backendPostgres {
		placeholder = "$1"
	}
	s.db = db
	s.keyForExchange = "SELECT " + keyForExchangeColumns +
		" FROM api_keys WHERE lookup_id = " + placeholder + " AND " + notDeleted + " LIMIT 1"
	return s, nil
}

// connect opens gorm on dialector and pings the server.
func connect(ctx context.Context, dialector gorm.Dialector, log *zap.Logger) (*gorm.DB, error) {
	db, err := gorm.Open(dialector, &gorm.Config{
		Logger:         newGormLogger(log),
		TranslateError: true, // unique violations of both drivers become gorm.ErrDuplicatedKey
		// Each write is one statement; multi-statement changes use Transaction.
		SkipDefaultTransaction: true,
		// Pinged below with ctx, so that an unreachable server cannot hang Open.
		DisableAutomaticPing: true,
		NowFunc:              func() time.Time { return dbTime(time.Now()) },
	})
	if err != nil {
		return nil, err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, err
	}
	return db, nil
}

// migrate brings the schema to this version's.
func migrate(ctx context.Context, db *gorm.DB, backend string) error {
	if err := migrateUsageVia(ctx, db, backend); err != nil {
		return fmt.Errorf("usage by route: %w", err)
	}
	if err := db.WithContext(ctx).AutoMigrate(migrated()...); err != nil {
		return err
	}
	// After AutoMigrate, which knows no partial indexes; also after it rebuilds a
	// SQLite table, which drops the table's indexes.
	if err := db.WithContext(ctx).Exec(liveKeyNameIndex).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return fmt.Errorf("an owner has two live keys of one name: rename or delete one, then start again: %w", err)
		}
		return err
	}
	if err := db.WithContext(ctx).Exec(usageDayIndex).Error; err != nil {
		return fmt.Errorf("usage by day: %w", err)
	}
	for _, stmt := range listIndexes {
		if err := db.WithContext(ctx).Exec(stmt).Error; err != nil {
			return fmt.Errorf("list indexes: %w", err)
		}
	}
	if backend == backendPostgres {
		if err := installKeyTrigger(ctx, db); err != nil {
			return fmt.Errorf("key notifications: %w", err)
		}
	}
	return nil
}

// liveKeyNameIndex makes a key name unique per owner among live keys that no rotation
// superseded, so that two concurrent creates cannot both take a name. Both backends
// accept this statement as it is.
const liveKeyNameIndex = `CREATE UNIQUE INDEX IF NOT EXISTS idx_api_keys_owner_live_name
	ON api_keys (owner_id, name) WHERE deleted_at IS NULL AND rotated_to IS NULL`

// listIndexes serve the key lists in the API's default order, newest first: keyQuery
// sorts by (created_at IS NULL), created_at DESC, id DESC, so that a page, deep ones by
// cursor too, reads its rows in order instead of sorting every live key (of the
// owner) — make bench-scale measured it, the note of this change has the plans. Both
// backends accept them as they are; like liveKeyNameIndex, run after AutoMigrate.
var listIndexes = []string{
	`CREATE INDEX IF NOT EXISTS idx_api_keys_live_created
	ON api_keys ((created_at IS NULL), created_at DESC, id DESC) WHERE deleted_at IS NULL`,
	`CREATE INDEX IF NOT EXISTS idx_api_keys_owner_live_created
	ON api_keys (owner_id, (created_at IS NULL), created_at DESC, id DESC) WHERE deleted_at IS NULL`,
}

// dialectorFor picks the driver from the DSN's scheme. Errors never repeat the DSN:
// it may hold a password.
func dialectorFor(dsn string) (gorm.Dialector, string, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return postgres.Open(dsn), backendPostgres, nil
	case isMemory(dsn):
		// The memdb VFS with a name starting with "/" lets the pool's connections see
		// one database, unique per Open so that two Stores of one process do not see
		// each other's. It lives as long as one connection does; the pool keeps idle
		// ones (no max lifetime). Not shared cache: its table locks fail immediate
		// transactions ("database table is locked") instead of waiting; memdb locks
		// like a file, so writers serialize as below.
		return sqlite.Open("file:/keyward-" + randomHex(8) + "?vfs=memdb" +
			"&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_txlock=immediate"), backendSQLite, nil
	}
	path := dsn
	if rest, ok := strings.CutPrefix(dsn, "sqlite://"); ok {
		path = rest
	} else if i := strings.Index(dsn, "://"); i >= 0 {
		return nil, "", fmt.Errorf("unsupported database scheme %q (want postgres://, postgresql:// or sqlite://)", dsn[:i])
	}
	if strings.Contains(path, "host=") || strings.Contains(path, "dbname=") {
		// Else a PostgreSQL key=value DSN would silently become a SQLite file name.
		return nil, "", errors.New("key=value DSNs are not supported: use postgres://")
	}
	if path == "" {
		path = defaultSQLitePath
	}
	if strings.ContainsAny(path, "?#") {
		return nil, "", errors.New("sqlite path must not contain '?' or '#'")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, "", fmt.Errorf("create sqlite directory: %w", err)
	}
	if err := privateSQLiteFile(path); err != nil {
		return nil, "", err
	}
	// WAL: readers do not block the writer. Immediate transactions take the write
	// lock up front, so busy_timeout applies instead of failing on lock upgrade.
	return sqlite.Open(path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"), backendSQLite, nil
}

// privateSQLiteFile makes the database file 0600 before SQLite opens it: SQLite would
// create it 0644, and it gives its -wal, -shm and -journal files the database's mode.
// A looser existing file (older Keywards made it 0644) is tightened, companions too:
// the file is Keyward's by configuration, so no one else has a claim on its mode.
func privateSQLiteFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		return f.Close() // an empty file is an empty database
	}
	if !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create sqlite file: %w", err)
	}
	if runtime.GOOS == "windows" { // modes are made up there
		return nil
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		st, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) && p != path {
			continue
		}
		if err != nil {
			return fmt.Errorf("sqlite file: %w", err)
		}
		if perm := st.Mode().Perm(); perm&0o077 != 0 {
			if err := os.Chmod(p, 0o600); err != nil {
				return fmt.Errorf("sqlite file %s can be read or written by group or others (mode %04o) and cannot be tightened (%v): run chmod 600 %s",
					p, perm, err, p)
			}
		}
	}
	return nil
}

func isMemory(dsn string) bool {
	return dsn == ":memory:" || dsn == "sqlite://:memory:" || dsn == "sqlite::memory:"
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on supported platforms
	return hex.EncodeToString(b)
}

// Backend names the database in use: "sqlite" or "postgres".
func (s *Store) Backend() string { return s.backend }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("models: ping: %w", err)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("models: ping %s: %w", s.backend, err)
	}
	return nil
}

// Close releases the connections.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("models: close: %w", err)
	}
	if err := sqlDB.Close(); err != nil {
		return fmt.Errorf("models: close %s: %w", s.backend, err)
	}
	return nil
}

// dbTime is how every time is stored: UTC, at the microsecond PostgreSQL keeps, so
// that both backends give back what they were given and SQLite's text timestamps
// compare in time order.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func dbTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := dbTime(*t)
	return &v
}
