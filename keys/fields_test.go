package keys

import (
	"testing"
	"time"

	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/internal/testkit"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/ratelimit"
)

// Every column of a stored key reaches the domain value (or is exempted here, with the
// reason), and every field of the domain value is filled from the row: a column added
// to models.Key and forgotten in toKey fails this test.
func TestToKey_EveryColumnReachesTheKey(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	policy := exchange.LimitPolicy{Default: ratelimit.Limit{Requests: 60, Window: time.Minute}}
	var row models.Key
	testkit.Fill(&row)
	row.Environment = "staging"
	mapped := func(r models.Key) any { return toKey(r, now, policy) }
	testkit.RequireOnly(t, "a column toKey does not read", testkit.Unread(mapped, row), map[string]string{
		"SecretHash": "the HMAC of the secret never leaves the store",
	})
	testkit.RequireOnly(t, "a field of keys.Key toKey leaves empty", testkit.ZeroFields(toKey(row, now, policy)), nil)
}
