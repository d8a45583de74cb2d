package models_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/keyward/keyward/models"
)

func TestOpen_UnknownScheme_ErrorWithoutSecrets(t *testing.T) {
	_, err := models.Open(context.Background(), "mysql://root:s3cret@db/keyward", nil)
	if err == nil || !strings.Contains(err.Error(), `unsupported database scheme "mysql"`) {
		t.Fatalf("Open = %v, want an unsupported scheme error", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error repeats the password: %v", err)
	}
}

func TestOpen_PostgresKeyValueDSN_RefusedNotTakenForAFile(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	_, err := models.Open(context.Background(), "host=db user=keyward password=s3cret dbname=keyward", nil)
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("Open = %v, want an error without the password", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("Open created %v", entries)
	}
}

func TestOpen_SQLiteURL_CreatesParentDirAndUsesWAL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "keyward.db")
	s := openStore(t, "sqlite://"+path, nil)
	if s.Backend() != "sqlite" {
		t.Fatalf("Backend() = %q", s.Backend())
	}
	mustCreate(t, s, newKey(newOwner()))
	if _, err := os.Stat(path + "-wal"); err != nil {
		t.Fatalf("no write-ahead log next to the database: %v", err)
	}
}

func TestOpen_EmptyDSN_SQLiteUnderData(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	s := openStore(t, "", nil)
	if s.Backend() != "sqlite" {
		t.Fatalf("Backend() = %q", s.Backend())
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "keyward.db")); err != nil {
		t.Fatalf("no database at data/keyward.db: %v", err)
	}
}

func TestOpen_SamePathTwice_KeepsDataAndMigratesAgain(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keyward.db")
	first, err := models.Open(ctx, path, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	k := mustCreate(t, first, newKey(newOwner()))
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	again := openStore(t, path, nil)
	if _, err := again.KeyForExchange(ctx, k.LookupID); err != nil {
		t.Fatalf("key lost on reopen: %v", err)
	}
}

func TestOpen_Memory_ConnectionsShareOneDatabase_StoresDoNot(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, ":memory:", nil)
	other := openStore(t, ":memory:", nil)

	// Concurrent writers make the pool open several connections.
	owner := newOwner()
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() { errs <- s.CreateKey(ctx, newKey(owner)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("CreateKey: %v", err)
		}
	}
	if keys, err := s.ListKeys(ctx, models.KeyFilter{OwnerID: owner}); err != nil || len(keys) != 20 {
		t.Fatalf("ListKeys = %d keys, %v; want 20", len(keys), err)
	}
	if keys, err := other.ListKeys(ctx, models.KeyFilter{OwnerID: owner}); err != nil || len(keys) != 0 {
		t.Fatalf("another in-memory store sees %d keys, %v; want 0", len(keys), err)
	}
}

// A failed statement is logged with its SQL but none of the values bound to it.
func TestStore_FailedStatement_LoggedWithoutValues(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			core, logs := observer.New(zap.DebugLevel)
			s := openStore(t, b.dsn(t), zap.New(core))
			if err := s.Close(); err != nil { // every statement now fails
				t.Fatalf("Close: %v", err)
			}
			k := newKey(newOwner())
			k.Name = "name-" + k.LookupID
			if err := s.CreateKey(context.Background(), k); err == nil {
				t.Fatal("CreateKey on a closed store succeeded")
			}

			if logs.Len() == 0 {
				t.Fatal("the failed statement was not logged")
			}
			for _, e := range logs.All() {
				line := fmt.Sprint(e.Message, e.ContextMap())
				for _, secret := range []string{hex.EncodeToString(k.SecretHash), string(k.SecretHash), k.LookupID} {
					if strings.Contains(strings.ToLower(line), strings.ToLower(secret)) {
						t.Fatalf("log line holds a bound value: %s", line)
					}
				}
			}
		})
	}
}
