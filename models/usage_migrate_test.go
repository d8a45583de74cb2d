package models_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"

	"github.com/keyward/keyward/models"
)

// usageTableBeforeVia is key_usage as the release before routes were counted created
// it (gorm's AutoMigrate of UsageCount{KeyID, Day, Outcome, Count}).
var usageTableBeforeVia = map[string]string{
	"sqlite": "CREATE TABLE `key_usage` (`key_id` text,`day` text,`outcome` text,`count` integer NOT NULL," +
		"PRIMARY KEY (`key_id`,`day`,`outcome`))",
	"postgres": `CREATE TABLE "key_usage" ("key_id" varchar(36),"day" varchar(10),"outcome" varchar(32),"count" bigint NOT NULL,` +
		`PRIMARY KEY ("key_id","day","outcome"))`,
}

const (
	usedKey  = "6f1c1f7e-1d7b-4c55-9a57-3e1a54b0b001"
	otherKey = "6f1c1f7e-1d7b-4c55-9a57-3e1a54b0b002"
)

// databaseBeforeVia makes a database of the previous release: every table as now
// but key_usage, which has its old shape and holds counters.
func databaseBeforeVia(t *testing.T, b backend) string {
	t.Helper()
	dsn := b.dsn(t)
	s, err := models.Open(context.Background(), dsn, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	_ = s.Close()
	dialector := map[string]gorm.Dialector{"sqlite": sqlite.Open(dsn), "postgres": postgres.Open(dsn)}[b.name]
	db, err := gorm.Open(dialector, &gorm.Config{})
	if err != nil {
		t.Fatalf("gorm.Open: %v", err)
	}
	defer func() {
		sqlDB, _ := db.DB()
		_ = sqlDB.Close()
	}()
	for _, stmt := range []string{
		"DROP TABLE key_usage",
		usageTableBeforeVia[b.name],
		"INSERT INTO key_usage (key_id, day, outcome, count) VALUES " +
			"('" + usedKey + "', '2026-11-22', 'issued', 7), " +
			"('" + usedKey + "', '2026-11-23', 'issued', 3), " +
			"('" + usedKey + "', '2026-11-23', 'ip_denied', 2), " +
			"('" + otherKey + "', '2026-11-23', 'rate_limited', 11)",
	} {
		if err := db.Exec(stmt).Error; err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	return dsn
}

func TestOpen_UsageTableBeforeVia_CountsKeptAsToken_NewCountsSplitByVia(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			dsn := databaseBeforeVia(t, b)
			s := openStore(t, dsn, nil)

			wantUsage(t, s, usedKey, []models.UsageCount{
				{usedKey, "2026-11-22", "issued", "token", 7},
				{usedKey, "2026-11-23", "ip_denied", "token", 2},
				{usedKey, "2026-11-23", "issued", "token", 3},
			})
			wantUsage(t, s, otherKey, []models.UsageCount{{otherKey, "2026-11-23", "rate_limited", "token", 11}})

			// New counts add to the migrated ones on their route, exactly.
			err := s.RecordUsage(ctx, models.UsageBatch{ID: "6f1c1f7e-1d7b-4c55-9a57-3e1a54b0bf01", Counts: map[models.UsageKey]int64{
				{usedKey, "2026-11-23", "issued", "token"}:        2,
				{usedKey, "2026-11-23", "issued", "forward_auth"}: 3,
			}})
			if err != nil {
				t.Fatalf("RecordUsage: %v", err)
			}
			want := []models.UsageCount{
				{usedKey, "2026-11-22", "issued", "token", 7},
				{usedKey, "2026-11-23", "ip_denied", "token", 2},
				{usedKey, "2026-11-23", "issued", "forward_auth", 3},
				{usedKey, "2026-11-23", "issued", "token", 5},
			}
			wantUsage(t, s, usedKey, want)
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}

			// Opening again migrates nothing twice.
			again := openStore(t, dsn, nil)
			wantUsage(t, again, usedKey, want)
			wantNoLeftover(t, b, dsn)
		})
	}
}

// Replicas of the new release starting together on the old table: one migrates, the
// others wait and find it done; no counter is lost or doubled.
func TestOpen_UsageTableBeforeVia_ReplicasStartingTogether_MigrateOnce(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			dsn := databaseBeforeVia(t, b)
			const replicas = 4
			stores := make([]*models.Store, replicas)
			errs := make([]error, replicas)
			var wg sync.WaitGroup
			for i := range replicas {
				wg.Add(1)
				go func() {
					defer wg.Done()
					stores[i], errs[i] = models.Open(context.Background(), dsn, nil)
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("replica %d: Open: %v", i, err)
				}
				t.Cleanup(func() { _ = stores[i].Close() })
			}
			for _, s := range stores {
				wantUsage(t, s, otherKey, []models.UsageCount{{otherKey, "2026-11-23", "rate_limited", "token", 11}})
			}
		})
	}
}

func wantUsage(t *testing.T, s *models.Store, keyID string, want []models.UsageCount) {
	t.Helper()
	got, err := s.UsageByKey(context.Background(), keyID, "2026-01-01")
	if err != nil {
		t.Fatalf("UsageByKey: %v", err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("usage\n got %+v\nwant %+v", got, want)
	}
}

// wantNoLeftover: the migrated key_usage is the only usage table, and its via column
// has no default, as in a database created new.
func wantNoLeftover(t *testing.T, b backend, dsn string) {
	t.Helper()
	dialector := map[string]gorm.Dialector{"sqlite": sqlite.Open(dsn), "postgres": postgres.Open(dsn)}[b.name]
	db, err := gorm.Open(dialector, &gorm.Config{})
	if err != nil {
		t.Fatalf("gorm.Open: %v", err)
	}
	defer func() {
		sqlDB, _ := db.DB()
		_ = sqlDB.Close()
	}()
	m := db.Migrator()
	if m.HasTable("key_usage_before_via") {
		t.Fatal("the old usage table was left behind")
	}
	cols, err := m.ColumnTypes("key_usage")
	if err != nil {
		t.Fatalf("ColumnTypes: %v", err)
	}
	var names []string
	for _, c := range cols {
		names = append(names, c.Name())
		if c.Name() == "via" {
			if pk, _ := c.PrimaryKey(); !pk {
				t.Error("via is not in the primary key")
			}
			if d, ok := c.DefaultValue(); ok {
				t.Errorf("via has a default %q", d)
			}
		}
	}
	slices.Sort(names) // PostgreSQL adds the column last
	if want := []string{"count", "day", "key_id", "outcome", "via"}; !slices.Equal(names, want) {
		t.Errorf("columns %v, want %v", names, want)
	}
}
