package main

// The store side of `make bench-scale`: reads of api_keys by the exchange (PostgreSQL's
// own counters), a usage flush timed on the filled store, and the plans of the slow
// queries. No Keyward or Keycloak needed: the smoke test runs these at a tiny size.

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keyward/keyward/models"
)

// lookupScans is how often PostgreSQL has read api_keys through the lookup-id index:
// the exchange's only store read (models.KeyForExchange), so what the key state missed.
func lookupScans(ctx context.Context, conn *pgx.Conn) (int64, error) {
	var n int64
	// The statistics of this transaction's snapshot are cached: read fresh ones.
	if _, err := conn.Exec(ctx, "SELECT pg_stat_clear_snapshot()"); err != nil {
		return 0, err
	}
	err := conn.QueryRow(ctx, `SELECT coalesce(sum(idx_scan), 0)::bigint FROM pg_stat_user_indexes
		WHERE relname = 'api_keys' AND indexrelname = 'idx_api_keys_lookup_id'`).Scan(&n)
	return n, err
}

// flushTimes times models.Store.RecordUsage, the usage flush every replica makes each
// KEYWARD_USAGE_FLUSH_INTERVAL, with a batch of keys counters (two outcomes each) and
// their last use, reps times on the filled store.
func flushTimes(ctx context.Context, dsn string, ids []string, reps int) ([]time.Duration, error) {
	s, err := models.Open(ctx, dsn, nil)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	day := time.Now().UTC().Format("2006-01-02")
	var out []time.Duration
	for r := range reps {
		b := models.UsageBatch{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", time.Now().UnixNano()%1e12+int64(r)),
			LastUsed: map[string]models.KeyUse{}, Counts: map[models.UsageKey]int64{}}
		for _, id := range ids {
			b.LastUsed[id] = models.KeyUse{At: time.Now(), IP: "127.0.0.1"}
			b.Counts[models.UsageKey{KeyID: id, Day: day, Outcome: "issued", Via: "token"}] = 3
			b.Counts[models.UsageKey{KeyID: id, Day: day, Outcome: "issued", Via: "forward_auth"}] = 2
		}
		t0 := time.Now()
		if err := s.RecordUsage(ctx, b); err != nil {
			return nil, err
		}
		out = append(out, time.Since(t0))
	}
	slices.Sort(out)
	return out, nil
}

// plan is one EXPLAIN (ANALYZE, BUFFERS) of a query the API makes.
type plan struct {
	name, sql string
	args      []any
}

// slowQueries are the statements behind the list and audit rows of the report, as
// models builds them (keys.go keyQuery, audit.go ListAudit), with the bench's values.
func slowQueries(ctx context.Context, conn *pgx.Conn, owner string) ([]plan, error) {
	now := time.Now().UTC()
	// A deep position: the 10,000th live key in the API's default order, newest first.
	var at time.Time
	var id string
	err := conn.QueryRow(ctx, `SELECT created_at, id FROM api_keys WHERE deleted_at IS NULL
		ORDER BY created_at DESC, id DESC OFFSET 10000 LIMIT 1`).Scan(&at, &id)
	if err == pgx.ErrNoRows {
		err = conn.QueryRow(ctx, `SELECT created_at, id FROM api_keys ORDER BY created_at DESC, id DESC LIMIT 1`).Scan(&at, &id)
	}
	if err != nil {
		return nil, err
	}
	order := ` ORDER BY (created_at IS NULL), created_at DESC, id DESC LIMIT 201`
	search := `(lower(name) LIKE lower($1) ESCAPE '\' OR lower(description) LIKE lower($1) ESCAPE '\' OR lower(owner_username) LIKE lower($1) ESCAPE '\')`
	return []plan{
		{"keys, admin search q=partner", `SELECT * FROM api_keys WHERE deleted_at IS NULL AND ` + search + order, []any{"%partner%"}},
		{"keys, admin filters status=active environment=staging", `SELECT * FROM api_keys WHERE deleted_at IS NULL AND environment = $1
			AND owner_disabled = false AND enabled = true AND (expires_at IS NULL OR expires_at > $2)` + order, []any{"staging", now.Add(7 * 24 * time.Hour)}},
		{"keys, admin deep page (after the 10,000th)", `SELECT * FROM api_keys WHERE deleted_at IS NULL
			AND (created_at IS NULL OR created_at < $1 OR (created_at = $1 AND id < $2))` + order, []any{at, id}},
		{"keys, one owner's (50,000 keys) first page", `SELECT * FROM api_keys WHERE deleted_at IS NULL AND owner_id = $1` + order, []any{owner}},
		{"audit, admin list", `SELECT * FROM audit_events ORDER BY at DESC, id DESC LIMIT 101`, nil},
		{"audit, one owner's list", `SELECT * FROM audit_events WHERE owner_id = $1 ORDER BY at DESC, id DESC LIMIT 101`, []any{owner}},
		{"audit, export page (since 1 h)", `SELECT * FROM audit_events WHERE at >= $1 ORDER BY at DESC, id DESC LIMIT 1000`, []any{now.Add(-time.Hour)}},
	}, nil
}

// explain runs EXPLAIN (ANALYZE, BUFFERS) of each plan and renders them as markdown.
func explain(ctx context.Context, conn *pgx.Conn, plans []plan) (string, error) {
	var sb strings.Builder
	for _, p := range plans {
		rows, err := conn.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+p.sql, p.args...)
		if err != nil {
			return "", fmt.Errorf("%s: %w", p.name, err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return "", fmt.Errorf("%s: %w", p.name, err)
		}
		fmt.Fprintf(&sb, "\n%s:\n\n```\n%s\n```\n", p.name, strings.Join(lines, "\n"))
	}
	return sb.String(), nil
}

// tableRows is the row count of each table the bench filled.
func tableRows(ctx context.Context, conn *pgx.Conn) (map[string]int64, error) {
	out := map[string]int64{}
	for _, t := range []string{"api_keys", "audit_events", "key_usage"} {
		var n int64
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+t).Scan(&n); err != nil {
			return nil, err
		}
		out[t] = n
	}
	return out, nil
}

// firstKeyIDs is the ids of the first n keys scale-load wrote.
func firstKeyIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = keyUUID(i)
	}
	return ids
}

func count(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
