package main

// `keyward-bench scale-load`: fills a throw-away PostgreSQL store in bulk (COPY through
// pgx CopyFrom) for `make bench-scale` (scripts/bench-scale.sh). Secondary indexes are
// dropped during the COPY and built again afterwards by models.Open, as a Keyward's
// migration would; the key trigger is off meanwhile (a million notifications nobody
// hears).

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/models"
)

// activeOwners own the exchanged keys, placeholders until scale-run maps them to the
// dev realm's users (their Keycloak ids exist only once the realm is imported).
var activeOwners = []string{"alice", "bob"}

func activeOwnerPlaceholder(name string) string { return "scale-active-" + name }

// scalePlan is how much scale-load writes.
type scalePlan struct {
	keys, active int // keys in the store; the first active of them are exchangeable
	owners       int // owners of the other keys
	audit        int // audit rows, spread over the last year
	usageKeys    int // the active keys with a year of daily usage rows
	usageDays    int
}

func (p scalePlan) check() error {
	switch {
	case p.keys < 1 || p.active < 1 || p.active > p.keys:
		return errors.New("-keys and -active must be positive, -active ≤ -keys")
	case p.owners < 1 || p.audit < 0 || p.usageKeys < 0 || p.usageKeys > p.active || p.usageDays < 0 || p.usageDays > 366:
		return errors.New("-owners positive; -audit, -usage-keys (≤ -active) and -usage-days (≤ 366) not negative")
	}
	return nil
}

func scaleLoad(args []string) error {
	fs := flag.NewFlagSet("scale-load", flag.ContinueOnError)
	dsn := fs.String("dsn", "", "the throw-away PostgreSQL store (postgres://…)")
	var p scalePlan
	fs.IntVar(&p.keys, "keys", 1_000_000, "keys in the store")
	fs.IntVar(&p.active, "active", 100_000, "exchangeable keys among them (valid hashes, written to -keys-out)")
	fs.IntVar(&p.owners, "owners", 50_000, "owners of the other keys")
	fs.IntVar(&p.audit, "audit", 10_000_000, "audit rows over the last year")
	fs.IntVar(&p.usageKeys, "usage-keys", 5_000, "active keys given a usage row per day")
	fs.IntVar(&p.usageDays, "usage-days", 365, "days of usage rows per such key")
	pepper := fs.String("pepper", "", "KEYWARD_KEY_PEPPER of the Keyward under test")
	out := fs.String("keys-out", "", "file to write the active keys' texts to, one per line")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := p.check(); err != nil {
		return err
	}
	if *dsn == "" || *out == "" {
		return errors.New("-dsn and -keys-out are required")
	}
	h, err := exchange.NewHasher([]byte(*pepper))
	if err != nil {
		return err
	}
	ctx := context.Background()
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	start := time.Now()
	if err := fillStore(ctx, *dsn, p, h, func(text string) error {
		_, err := w.WriteString(text + "\n")
		return err
	}); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "scale-load: %d keys (%d active), %d audit rows, %d usage rows in %v\n",
		p.keys, p.active, p.audit, p.usageKeys*p.usageDays*2, time.Since(start).Round(time.Second))
	return f.Close()
}

// fillStore migrates the store, then COPYs p's rows into it; activeKey gets the text of
// each active key. The store must be empty.
func fillStore(ctx context.Context, dsn string, p scalePlan, h *exchange.Hasher, activeKey func(string) error) error {
	s, err := models.Open(ctx, dsn, nil)
	if err != nil {
		return err
	}
	_ = s.Close()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, stmt := range []string{
		"SET synchronous_commit = off",
		"ALTER TABLE api_keys DISABLE TRIGGER USER",
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	// Secondary indexes go; Open below builds them again, once, from the full tables.
	rows, err := conn.Query(ctx, `SELECT indexname FROM pg_indexes i WHERE schemaname = current_schema()
		AND tablename IN ('api_keys', 'audit_events', 'key_usage')
		AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`)
	if err != nil {
		return err
	}
	idx, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, name := range idx {
		if _, err := conn.Exec(ctx, "DROP INDEX "+pgx.Identifier{name}.Sanitize()); err != nil {
			return err
		}
	}
	now := time.Now().UTC().Truncate(time.Second)
	if err := copyKeys(ctx, conn, p, h, now, activeKey); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	if err := copyAudit(ctx, conn, p, now); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if err := copyUsage(ctx, conn, p, now); err != nil {
		return fmt.Errorf("usage: %w", err)
	}
	if _, err := conn.Exec(ctx, "ALTER TABLE api_keys ENABLE TRIGGER USER"); err != nil {
		return err
	}
	// The indexes again, as a Keyward's migration makes them.
	if s, err = models.Open(ctx, dsn, nil); err != nil {
		return fmt.Errorf("rebuild the indexes: %w", err)
	}
	_ = s.Close()
	_, err = conn.Exec(ctx, "VACUUM ANALYZE api_keys, audit_events, key_usage")
	return err
}

// keyUUID is the id of the i-th key: fixed, so that audit and usage rows can name it.
func keyUUID(i int) string {
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte("keyward-bench-scale-key-"+strconv.Itoa(i))).String()
}

var keyColumns = []string{"id", "owner_id", "owner_username", "name", "description", "lookup_id", "secret_hash",
	"environment", "scopes", "enabled", "metadata", "created_at", "updated_at", "expires_at", "deleted_at",
	"last_used_at", "last_used_ip", "rate_limit_requests", "rate_limit_window_seconds", "ip_allowlist",
	"disabled_by", "limit_set_by", "allowlist_set_by", "owner_disabled"}

var environments = []string{"production", "staging", "development"}

// scaleWords make names and descriptions that a search can find in a share of keys.
var scaleWords = []string{"billing", "reports", "ingest", "deploy", "search", "mobile", "partner", "metrics", "backup", "sync"}

func copyKeys(ctx context.Context, conn *pgx.Conn, p scalePlan, h *exchange.Hasher, now time.Time, activeKey func(string) error) error {
	i := 0
	var fail error
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if i >= p.keys || fail != nil {
			return nil, fail
		}
		n := i
		i++
		var owner, username, env string
		var hash []byte
		var lookup string
		rate, window := 0, 0
		if n < p.active {
			username = activeOwners[n%len(activeOwners)]
			owner = activeOwnerPlaceholder(username)
			pk, err := exchange.GenerateKey(exchange.EnvLive)
			if err != nil {
				return nil, err
			}
			if err := activeKey(pk.String()); err != nil {
				return nil, err
			}
			lookup, hash, env = pk.LookupID, h.Hash(pk.Secret), "production"
			rate = -1 // unlimited: the Zipf head must not be throttled
		} else {
			o := n % p.owners
			owner, username = "scale-owner-"+strconv.Itoa(o), "user"+strconv.Itoa(o)
			// Well-formed, never exchangeable: no secret hashes to it.
			lookup, hash, env = fmt.Sprintf("s%011d", n), make([]byte, 32), environments[n%len(environments)]
		}
		created := now.Add(-time.Duration(p.keys-n) * 30 * time.Second) // oldest first, ~1 year for 1M
		var expires, deleted any
		switch n % 10 {
		case 1:
			expires = now.Add(time.Duration(n%90) * 24 * time.Hour)
		case 2:
			expires = now.Add(-time.Duration(n%90+1) * 24 * time.Hour)
		case 3:
			if n >= p.active {
				deleted = created.Add(time.Hour)
			}
		}
		if n < p.active {
			expires = nil
		}
		word := scaleWords[n%len(scaleWords)]
		return []any{keyUUID(n), owner, username, fmt.Sprintf("%s key %d", word, n),
			"the " + word + " job of team " + strconv.Itoa(n%500), lookup, hash, env, "", n%7 != 5 || n < p.active, "{}",
			created, created, expires, deleted, nil, "", rate, window, "", "", "", "", false}, nil
	})
	_, err := conn.CopyFrom(ctx, pgx.Identifier{"api_keys"}, keyColumns, src)
	return err
}

var auditActions = []string{"key.create", "key.update", "key.delete", "key.rotate", "consumer.update", "client.create"}

func copyAudit(ctx context.Context, conn *pgx.Conn, p scalePlan, now time.Time) error {
	i := 0
	step := 365 * 24 * time.Hour / time.Duration(max(p.audit, 1))
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if i >= p.audit {
			return nil, nil
		}
		n := i
		i++
		// Each row names a key picked by a multiplicative hash: the owners' events are
		// spread over the year, not in runs.
		k := int(uint64(n) * 2654435761 % uint64(p.keys))
		owner := "scale-owner-" + strconv.Itoa(k%p.owners)
		if k < p.active {
			owner = activeOwnerPlaceholder(activeOwners[k%len(activeOwners)])
		}
		at := now.Add(-time.Duration(p.audit-n) * step)
		return []any{uuid.NewString(), at, owner, "user", auditActions[n%len(auditActions)], "key", keyUUID(k), owner,
			"", "127.0.0.1", "req-" + strconv.Itoa(n), `{"fields":["name"]}`}, nil
	})
	_, err := conn.CopyFrom(ctx, pgx.Identifier{"audit_events"},
		[]string{"id", "at", "actor_id", "actor_name", "action", "target_type", "target_id", "owner_id", "on_behalf_of", "ip", "request_id", "details"}, src)
	return err
}

// copyUsage writes, for each of the first usageKeys keys, usageDays days of counters
// of two outcomes (issued through the token route, issued at the door).
func copyUsage(ctx context.Context, conn *pgx.Conn, p scalePlan, now time.Time) error {
	total, i := p.usageKeys*p.usageDays*2, 0
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if i >= total {
			return nil, nil
		}
		n := i
		i++
		k, rest := n/(p.usageDays*2), n%(p.usageDays*2)
		day := now.AddDate(0, 0, -(rest/2 + 1)).Format("2006-01-02")
		via := "token"
		if rest%2 == 1 {
			via = "forward_auth"
		}
		return []any{keyUUID(k), day, "issued", via, int64(1 + n%1000)}, nil
	})
	_, err := conn.CopyFrom(ctx, pgx.Identifier{"key_usage"}, []string{"key_id", "day", "outcome", "via", "count"}, src)
	return err
}

// scaleSQL runs each argument as one statement on -dsn: the throw-away server's
// settings, without needing psql.
func scaleSQL(args []string) error {
	fs := flag.NewFlagSet("scale-sql", flag.ContinueOnError)
	dsn := fs.String("dsn", "", "the throw-away PostgreSQL")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, *dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, stmt := range fs.Args() {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	return nil
}
