package console

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/keyward/keyward/internal/reqinfo"
	"github.com/keyward/keyward/ratelimit"
)

// Login starts are bounded per address group, as every per-address limit is
// (ratelimit.AddressKey): two addresses of one IPv6 /64 share one budget, another /64
// has its own; an IPv4-mapped address is its IPv4 address; addresses that do not
// parse share one budget.
func TestLogin_StartsBoundedPerAddressGroup(t *testing.T) {
	h := newHarness(t)
	h.c.cfg.LoginLimiter = ratelimit.NewMemory(h.clock.Now)
	h.c.cfg.LoginRate = 1
	start := func(ip string) int {
		req := httptest.NewRequest("GET", "http://console.test/login?next=/keys", nil)
		req = req.WithContext(reqinfo.With(req.Context(), reqinfo.Info{ClientIP: ip, RequestID: "r1"}))
		rec := httptest.NewRecorder()
		h.c.ServeHTTP(rec, req)
		return rec.Code
	}
	for _, step := range []struct {
		ip   string
		want int
	}{
		{"2001:db8:1:2::1", http.StatusSeeOther},
		{"2001:db8:1:2:ffff::9", http.StatusTooManyRequests}, // same /64: the budget is spent
		{"2001:db8:1:3::1", http.StatusSeeOther},             // another /64
		{"fe80::1%eth0", http.StatusSeeOther},
		{"fe80::2%eth1", http.StatusTooManyRequests}, // the zone does not make another address
		{"::ffff:192.0.2.7", http.StatusSeeOther},
		{"192.0.2.7", http.StatusTooManyRequests}, // IPv4-mapped and IPv4: one address
		{"192.0.2.8", http.StatusSeeOther},
		{"", http.StatusSeeOther},
		{"not-an-address", http.StatusTooManyRequests}, // unparsable: one shared budget
	} {
		if got := start(step.ip); got != step.want {
			t.Errorf("login from %q: %d, want %d", step.ip, got, step.want)
		}
	}
}
