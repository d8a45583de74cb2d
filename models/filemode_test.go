package models_test

// The SQLite file holds the key hashes: it and its companions are the owner's alone.

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/keyward/keyward/models"
)

func permOf(t *testing.T, path string) fs.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

// sqliteFiles lists the database file and those of its companions that exist.
func sqliteFiles(t *testing.T, path string) []string {
	t.Helper()
	files := []string{path}
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if _, err := os.Stat(path + suffix); err == nil {
			files = append(files, path+suffix)
		}
	}
	return files
}

func TestOpen_NewSQLiteFile_ItsCompanionsAndDirectory_OwnerOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "data")
	path := filepath.Join(dir, "keyward.db")
	s := openStore(t, "sqlite://"+path, nil)
	mustCreate(t, s, newKey(newOwner())) // a write: the WAL and shared-memory files exist now
	files := sqliteFiles(t, path)
	if len(files) < 3 {
		t.Fatalf("expected the database with -wal and -shm, found %v", files)
	}
	for _, f := range files {
		if m := permOf(t, f); m != 0o600 {
			t.Errorf("%s: mode %04o, want 0600", filepath.Base(f), m)
		}
	}
	if m := permOf(t, dir); m != 0o700 {
		t.Errorf("created directory: mode %04o, want 0700", m)
	}
}

func TestOpen_LooseSQLiteFileOfAnOlderKeyward_TightenedAndDataKept(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keyward.db")
	first, err := models.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	k := mustCreate(t, first, newKey(newOwner()))
	// As an older Keyward left them, the process still running: WAL and SHM in place.
	for _, f := range sqliteFiles(t, path) {
		if err := os.Chmod(f, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	again := openStore(t, path, nil)
	_ = first.Close()
	if _, err := again.KeyForExchange(ctx, k.LookupID); err != nil {
		t.Fatalf("key lost: %v", err)
	}
	mustCreate(t, again, newKey(newOwner()))
	for _, f := range sqliteFiles(t, path) {
		if m := permOf(t, f); m != 0o600 {
			t.Errorf("%s: mode %04o after reopening, want 0600", filepath.Base(f), m)
		}
	}
}
