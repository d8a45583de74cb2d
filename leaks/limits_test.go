package leaks

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/testkit"
	"github.com/keyward/keyward/ratelimit"
)

// Reports are bounded per address group, as every per-address limit is
// (ratelimit.AddressKey): two addresses of one IPv6 /64 share one budget, another /64
// has its own; an IPv4-mapped address is its IPv4 address; addresses that do not
// parse share one budget.
func TestAdmit_RateBoundedPerAddressGroup(t *testing.T) {
	clock := testkit.NewClock(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	s := New(Config{Limiter: ratelimit.NewMemory(clock.Now), Rate: 1})
	for _, step := range []struct {
		ip      string
		limited bool
	}{
		{"2001:db8:1:2::1", false},
		{"2001:db8:1:2:ffff::9", true}, // same /64: the budget is spent
		{"2001:db8:1:3::1", false},     // another /64
		{"fe80::1%eth0", false},
		{"fe80::2%eth1", true}, // the zone does not make another address
		{"::ffff:192.0.2.7", false},
		{"192.0.2.7", true}, // IPv4-mapped and IPv4: one address
		{"192.0.2.8", false},
		{"", false},
		{"not-an-address", true}, // unparsable: one shared budget
	} {
		_, err := s.Admit(context.Background(), step.ip, []byte(`[{"token":"x"}]`), "", "")
		var limited *RateLimited
		if errors.As(err, &limited) != step.limited || (err != nil && limited == nil) {
			t.Errorf("report from %q: %v, want limited=%v", step.ip, err, step.limited)
		}
	}
}
