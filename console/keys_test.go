package console

import (
	"testing"
	"time"

	"github.com/keyward/keyward/keys"
)

// The edit form sends only what the user changed: a field left as it was (an admin's
// limit, say) must not reach the service as if it were set anew.
func TestEditForm_SendsOnlyChangedFields(t *testing.T) {
	exp := time.Date(2027, 3, 1, 15, 4, 5, 0, time.UTC)
	k := keys.Key{Name: "ci", Description: "d", Scopes: []string{"profile", "email"}, ExpiresAt: &exp,
		RateLimit: keys.Limit{Requests: 100, WindowSeconds: 60, Own: true}, IPAllowlist: []string{"10.0.0.0/8", "192.0.2.1/32"},
		Metadata: []byte(`{"team":"a"}`)}
	was := editFormOf(keyView{Metadata: string(k.Metadata)}, k)
	if was.ExpiresOn != "2027-03-01" || was.RateRequests != "100" || was.IPAllowlist != "10.0.0.0/8\n192.0.2.1/32" {
		t.Fatalf("form filled as %+v", was)
	}

	same := was
	same.Scopes, same.IPAllowlist = " profile  email ", "10.0.0.0/8, 192.0.2.1/32\r\n"
	p, bad := same.changes(was)
	if len(bad) > 0 || p.Name != nil || p.Description != nil || p.Scopes != nil || p.ExpiresAt != nil ||
		p.RateLimit != nil || p.IPAllowlist != nil || p.Metadata != nil {
		t.Fatalf("an untouched form sent %+v (%v)", p, bad)
	}

	changed := was
	changed.Name, changed.ExpiresOn, changed.IPAllowlist, changed.Metadata = "ci-2", "2027-02-01", "", ""
	p, bad = changed.changes(was)
	if len(bad) > 0 || p.Name == nil || *p.Name != "ci-2" || p.ExpiresAt == nil || *p.ExpiresAt != "2027-02-01T00:00:00Z" ||
		p.IPAllowlist == nil || len(*p.IPAllowlist) != 0 || string(p.Metadata) != "{}" || p.RateLimit != nil || p.Scopes != nil {
		t.Fatalf("changes sent as %+v (%v)", p, bad)
	}

	wrong := was
	wrong.ExpiresOn, wrong.RateRequests = "", "many"
	if _, bad = wrong.changes(was); bad["expires_at"] == "" || bad["rate_limit"] == "" {
		t.Fatalf("a cleared expiry and a word for a number: %v", bad)
	}
}
