package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/internal/pgtest"
	"github.com/keyward/keyward/models"
)

// TestScale_TinyStore runs bench-scale's store path at a tiny size so that it cannot
// rot: the bulk load, an exchangeable active key, the lookup counter, a timed usage
// flush, the plans of the slow queries and the report. PostgreSQL only (COPY); no
// Keyward or Keycloak.
func TestScale_TinyStore(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	h, err := exchange.NewHasher([]byte(strings.Repeat("p", 32)))
	if err != nil {
		t.Fatal(err)
	}
	p := scalePlan{keys: 1000, active: 100, owners: 50, audit: 5000, usageKeys: 10, usageDays: 30}
	var texts []string
	if err := fillStore(ctx, dsn, p, h, func(s string) error { texts = append(texts, s); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(texts) != p.active {
		t.Fatalf("active keys written: %d, want %d", len(texts), p.active)
	}

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := tableRows(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	if rows["api_keys"] != 1000 || rows["audit_events"] != 5000 || rows["key_usage"] != 10*30*2 {
		t.Fatalf("rows: %v", rows)
	}

	// An active key's text opens its row as the exchange reads it, and the read counts.
	before, err := lookupScans(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	s, err := models.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := exchange.ParseKey(texts[7])
	if err != nil {
		t.Fatal(err)
	}
	k, err := s.KeyForExchange(ctx, pk.LookupID)
	if err != nil || !h.Matches(pk.Secret, k.SecretHash) || !k.Enabled || k.ID != keyUUID(7) {
		t.Fatalf("active key 7: %+v, %v", k, err)
	}
	// A session's statistics reach the view when it ends, or within seconds of going
	// idle (PostgreSQL 15).
	_ = s.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		after, err := lookupScans(ctx, conn)
		if err != nil {
			t.Fatal(err)
		}
		if after > before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lookup-index scans did not grow from %d", before)
		}
		time.Sleep(200 * time.Millisecond)
	}

	flush, err := flushTimes(ctx, dsn, firstKeyIDs(20), 2)
	if err != nil || len(flush) != 2 {
		t.Fatalf("flush: %v, %v", flush, err)
	}
	plans, err := slowQueries(ctx, conn, activeOwnerPlaceholder("alice"))
	if err != nil {
		t.Fatal(err)
	}
	text, err := explain(ctx, conn, plans)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(text, "Execution Time") != len(plans) {
		t.Fatalf("plans:\n%s", text)
	}

	b := &scaleBench{c: scaleConfig{zipfS: 1.1, concurrency: 4, duration: time.Second, writesPerSecond: 20, flushKeys: 20, startup: 1500 * time.Millisecond},
		keys: texts, r: scaleResult{rows: rows, exchanges: 99, errors: 1, storeReads: 2, tokenHit: 95, tokenMiss: 5,
			samples: []time.Duration{time.Millisecond}, elapsed: time.Second, flush: flush,
			queries: []queryResult{{name: "GET /v1/keys", samples: []time.Duration{3 * time.Millisecond}, rows: 50}}}}
	report := b.report()
	for _, want := range []string{"| keys in the store (audit rows, usage rows) | 1,000 (5,000, 600) |", "| key-state hit ratio | 98.0 % (1 − store reads / exchange) | ≥ 99 % — missed |",
		"| token-cache hit ratio | 95.0 % |", "| GET /v1/keys p99 ms (50 rows; 1 samples) | 3.00 | ≤ 50 ms — met |", "| replica start-up, process start → /readyz 200 | 1.50 s | ≤ 5 s — met |"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
}
