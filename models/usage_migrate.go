package models

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// usageTableBeforeVia holds the counters while SQLite's key_usage is rebuilt.
const usageTableBeforeVia = "key_usage_before_via"

// migrateUsageVia gives key_usage of a release before routes were counted its via
// column, inside the primary key so that increments stay exact; its counters become
// via=token. It runs before AutoMigrate, which would add the column but cannot change
// a primary key. One transaction, so a failure leaves the old table as it was;
// replicas starting together take turns (PostgreSQL's advisory lock, SQLite's write
// lock taken by BEGIN IMMEDIATE) and the later ones find the column there.
func migrateUsageVia(ctx context.Context, db *gorm.DB, backend string) error {
	return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if backend == backendPostgres {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(hashtext('keyward:migrate'))").Error; err != nil {
				return err
			}
		}
		m := tx.Migrator()
		if !m.HasTable(&UsageCount{}) || m.HasColumn(&UsageCount{}, "via") {
			return nil // a new database, or migrated already
		}
		if backend == backendPostgres {
			// DDL is transactional on PostgreSQL: alter in place. The default fills the
			// existing rows and is dropped after, so the table ends as a new one starts.
			var pkey string
			err := tx.Raw(`SELECT conname FROM pg_constraint
				WHERE conrelid = 'key_usage'::regclass AND contype = 'p'`).Scan(&pkey).Error
			if err != nil {
				return err
			}
			if pkey == "" {
				return fmt.Errorf("key_usage has no primary key")
			}
			for _, stmt := range []string{
				`ALTER TABLE key_usage ADD COLUMN via varchar(16) NOT NULL DEFAULT '` + usageViaBeforeRoutes + `'`,
				`ALTER TABLE key_usage ALTER COLUMN via DROP DEFAULT`,
				`ALTER TABLE key_usage DROP CONSTRAINT "` + pkey + `"`,
				`ALTER TABLE key_usage ADD PRIMARY KEY (key_id, day, outcome, via)`,
			} {
				if err := tx.Exec(stmt).Error; err != nil {
					return err
				}
			}
			return nil
		}
		// SQLite cannot change a primary key: rebuild the table as a new one is made.
		if err := m.RenameTable(&UsageCount{}, usageTableBeforeVia); err != nil {
			return err
		}
		if err := m.CreateTable(&UsageCount{}); err != nil {
			return err
		}
		copyRows := `INSERT INTO key_usage (key_id, day, outcome, via, count)
			SELECT key_id, day, outcome, ?, count FROM ` + usageTableBeforeVia
		if err := tx.Exec(copyRows, usageViaBeforeRoutes).Error; err != nil {
			return err
		}
		return m.DropTable(usageTableBeforeVia)
	})
}
