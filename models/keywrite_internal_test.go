package models

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"
)

type announced struct{ ids []string }

func (h *announced) KeyChanged(id string)      { h.ids = append(h.ids, id) }
func (h *announced) Listening(bool, time.Time) {}

// A write of api_keys that names no key (any statement outside the Store's key
// writes) is still announced, as every key.
func TestAnnouncingPool_UnnamedKeyWrite_AllKeys(t *testing.T) {
	s, err := Open(context.Background(), ":memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h := &announced{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.WatchKeys(ctx, h)
	if err := s.db.Exec("UPDATE api_keys SET ip_allowlist = '' WHERE id = 'none'").Error; err != nil {
		t.Fatal(err)
	}
	err = s.db.Transaction(func(tx *gorm.DB) error {
		return tx.Exec("UPDATE api_keys SET enabled = false WHERE id = 'none'").Error
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.ids) != 2 || h.ids[0] != AllKeys || h.ids[1] != AllKeys {
		t.Fatalf("heard %q, want every key twice (a statement, a transaction)", h.ids)
	}
}
