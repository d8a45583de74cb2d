package models_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"

	"github.com/keyward/keyward/models"
)

// The in-memory SQLite store shares one database between pooled connections through
// SQLite's shared cache, whose locks differ from a file's: its writers must serialize
// all the same.
func TestInMemorySQLite_ConcurrentWrites_Serialize(t *testing.T) {
	s := openStore(t, ":memory:", nil)
	mustCreate(t, s, newKey(newOwner()))
	if files, _ := filepath.Glob("/keyward-*"); len(files) != 0 {
		t.Fatalf("the in-memory database is a file: %v", files)
	}
	t.Run("RotateKey_50Concurrent_ExactlyOneWins", func(t *testing.T) { rotateRace(t, s, 50) })
	t.Run("UpdateKey_ConcurrentIncrements_NoneLost", func(t *testing.T) { testUpdateNoLostUpdate(t, s) })
	t.Run("CreateKey_ConcurrentSameName_ExactlyOneWins", func(t *testing.T) { testConcurrentSameName(t, s) })
}

// keyBeforeLifecycle is api_keys as it was before metadata, rotated_to and grace_until.
type keyBeforeLifecycle struct {
	ID            string    `gorm:"primaryKey;size:36"`
	OwnerID       string    `gorm:"not null;index:idx_api_keys_owner_id"`
	OwnerUsername string    `gorm:"not null"`
	Name          string    `gorm:"not null"`
	Description   string    `gorm:"not null"`
	LookupID      string    `gorm:"not null;uniqueIndex:idx_api_keys_lookup_id"`
	SecretHash    []byte    `gorm:"not null"`
	Environment   string    `gorm:"not null"`
	Scopes        string    `gorm:"not null"`
	Enabled       bool      `gorm:"not null"`
	CreatedAt     time.Time `gorm:"not null"`
	UpdatedAt     time.Time `gorm:"not null"`
	ExpiresAt     *time.Time
	DeletedAt     *time.Time
	LastUsedAt    *time.Time
}

func (keyBeforeLifecycle) TableName() string { return "api_keys" }

// oldDatabase makes a database with the table of the previous release holding keys.
func oldDatabase(t *testing.T, b backend, keys ...*models.Key) string {
	t.Helper()
	dsn := b.dsn(t)
	dialector := map[string]gorm.Dialector{"sqlite": sqlite.Open(dsn), "postgres": postgres.Open(dsn)}[b.name]
	db, err := gorm.Open(dialector, &gorm.Config{})
	if err != nil {
		t.Fatalf("gorm.Open: %v", err)
	}
	if err := db.AutoMigrate(&keyBeforeLifecycle{}); err != nil {
		t.Fatalf("AutoMigrate(old table): %v", err)
	}
	for _, k := range keys {
		old := keyBeforeLifecycle{
			ID: k.ID, OwnerID: k.OwnerID, OwnerUsername: k.OwnerUsername, Name: k.Name,
			Description: k.Description, LookupID: k.LookupID, SecretHash: k.SecretHash,
			Environment: k.Environment, Scopes: k.Scopes, Enabled: k.Enabled,
			CreatedAt: k.CreatedAt, UpdatedAt: k.UpdatedAt, DeletedAt: k.DeletedAt,
		}
		if err := db.Create(&old).Error; err != nil {
			t.Fatalf("insert old key: %v", err)
		}
	}
	sqlDB, _ := db.DB()
	_ = sqlDB.Close()
	return dsn
}

func oldKey(owner, name, id string) *models.Key {
	k := newKey(owner)
	k.ID, k.Name = id, name
	k.CreatedAt = at
	k.UpdatedAt = at
	return k
}

func TestOpen_TableOfPreviousRelease_KeysGainEmptyMetadataAndNameRule(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			owner := newOwner()
			k := oldKey(owner, "ci", "6f1c1f7e-1d7b-4c55-9a57-3e1a54b0a001")
			dsn := oldDatabase(t, b, k)

			s := openStore(t, dsn, nil)
			got, err := s.KeyByID(ctx, owner, k.ID)
			if err != nil {
				t.Fatalf("KeyByID: %v", err)
			}
			if got.Metadata != "{}" || got.RotatedTo != nil || got.GraceUntil != nil || got.Name != "ci" {
				t.Fatalf("migrated key: metadata %q, rotated to %v, grace %v, name %q",
					got.Metadata, got.RotatedTo, got.GraceUntil, got.Name)
			}
			dup := newKey(owner)
			dup.Name = "ci"
			wantErr(t, "CreateKey(name of the migrated key)", s.CreateKey(ctx, dup), models.ErrAlreadyExists)
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}

			// Opening again changes nothing and keeps the rule.
			again := openStore(t, dsn, nil)
			wantErr(t, "CreateKey after reopening", again.CreateKey(ctx, dup), models.ErrAlreadyExists)
			if _, err := again.KeyByID(ctx, owner, k.ID); err != nil {
				t.Fatalf("KeyByID after reopening: %v", err)
			}
		})
	}
}

// Names were not unique before: two live keys of one owner and name stop Open with a
// message that says what to fix, rather than a key being renamed behind the owner's back.
func TestOpen_PreviousReleaseWithDuplicateLiveNames_RefusedWithReason(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			owner := newOwner()
			deleted := oldKey(owner, "ci", "6f1c1f7e-1d7b-4c55-9a57-3e1a54b0a003")
			deleted.DeletedAt = ptr(at)
			dsn := oldDatabase(t, b,
				oldKey(owner, "ci", "6f1c1f7e-1d7b-4c55-9a57-3e1a54b0a001"),
				oldKey(owner, "ci", "6f1c1f7e-1d7b-4c55-9a57-3e1a54b0a002"),
				deleted)
			s, err := models.Open(context.Background(), dsn, nil)
			if err == nil {
				_ = s.Close()
				t.Fatal("Open succeeded with two live keys of one name")
			}
			if !strings.Contains(err.Error(), "two live keys of one name") || !errors.Is(err, gorm.ErrDuplicatedKey) {
				t.Fatalf("Open = %v, want the reason", err)
			}
		})
	}
}
