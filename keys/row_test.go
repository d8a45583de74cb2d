package keys

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/keyward/keyward/exchange"
	"github.com/keyward/keyward/internal/testkit"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/ratelimit"
)

func TestToKey_DecodesEveryStoredEncoding(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	policy := exchange.LimitPolicy{Default: ratelimit.Limit{Requests: 60, Window: time.Minute}}
	rotated := "next-id"
	row := models.Key{ID: "k1", OwnerID: "u1", OwnerUsername: "alice", Name: "ci", Environment: "staging",
		LookupID: "AbC123xyz789", Scopes: "profile  email", Enabled: true, Metadata: `{"team":"a"}`,
		IPAllowlist: "10.0.0.0/8 192.0.2.1/32", DisabledBy: "carol", LimitSetBy: "dave", RotatedTo: &rotated,
		RateLimitRequests: 5, RateLimitWindowSeconds: 10}
	k := toKey(row, now, policy)
	if k.Prefix != "kw_test_AbC123xyz789" || k.Status != StatusActive || string(k.Metadata) != `{"team":"a"}` ||
		!slices.Equal(k.Scopes, []string{"profile", "email"}) || !slices.Equal(k.IPAllowlist, []string{"10.0.0.0/8", "192.0.2.1/32"}) ||
		k.AdminSet != (AdminSet{Disabled: "carol", RateLimit: "dave"}) || !k.AdminSet.Any() || k.RotatedTo != &rotated ||
		k.RateLimit != (Limit{Requests: 5, WindowSeconds: 10, Own: true}) {
		t.Fatalf("mapped as %+v", k)
	}

	empty := toKey(models.Key{Environment: "production"}, now, policy)
	if empty.Scopes == nil || len(empty.Scopes) != 0 || empty.IPAllowlist == nil || len(empty.IPAllowlist) != 0 ||
		string(empty.Metadata) != "{}" || empty.AdminSet.Any() {
		t.Fatalf("empty columns mapped as %+v", empty)
	}
}

func TestToKey_RateLimit_DefaultOwnOrUnlimited(t *testing.T) {
	def := exchange.LimitPolicy{Default: ratelimit.Limit{Requests: 60, Window: time.Minute}}
	noDefault := exchange.LimitPolicy{}
	for _, tc := range []struct {
		name           string
		requests, win  int
		policy         exchange.LimitPolicy
		want           Limit
		wantWrittenFor *RateLimit // what the service writes for this limit: the same pair
	}{
		{"0/0 is the server's default", 0, 0, def, Limit{Requests: 60, WindowSeconds: 60}, nil},
		{"0/0 without a default is unlimited", 0, 0, noDefault, Limit{Unlimited: true}, nil},
		{"its own limit", 100, 30, def, Limit{Requests: 100, WindowSeconds: 30, Own: true}, &RateLimit{Requests: 100, WindowSeconds: 30}},
		{"below 0 is unlimited, set on the key", -1, 0, def, Limit{Unlimited: true, Own: true}, &RateLimit{Unlimited: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := toKey(models.Key{RateLimitRequests: tc.requests, RateLimitWindowSeconds: tc.win}, time.Time{}, tc.policy).RateLimit
			if got != tc.want {
				t.Fatalf("decoded %+v, want %+v", got, tc.want)
			}
			if req, win := limitColumns(tc.wantWrittenFor); req != tc.requests || win != tc.win {
				t.Fatalf("encoded as %d/%d, want %d/%d", req, win, tc.requests, tc.win)
			}
		})
	}
}

func TestStatusOf(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { t := now.Add(d); return &t }
	for _, tc := range []struct {
		row  models.Key
		want Status
	}{
		{models.Key{Enabled: true}, StatusActive},
		{models.Key{Enabled: true, ExpiresAt: at(8 * 24 * time.Hour)}, StatusActive},
		{models.Key{Enabled: true, ExpiresAt: at(7 * 24 * time.Hour)}, StatusExpiringSoon},
		{models.Key{Enabled: true, ExpiresAt: at(0)}, StatusExpired},
		{models.Key{Enabled: false, ExpiresAt: at(-time.Hour)}, StatusInactive},
		{models.Key{Enabled: true, OwnerDisabled: true}, StatusOwnerDisabled},
	} {
		if got := toKey(tc.row, now, exchange.LimitPolicy{}).Status; got != tc.want {
			t.Errorf("status of %+v = %s, want %s", tc.row, got, tc.want)
		}
	}
}

// The list's status filter (SQL) and the status a key shows (statusOf) are one rule.
func TestList_StatusFilter_AgreesWithTheStatusShown(t *testing.T) {
	f := newFixture(t, nil)
	soon := f.now.Add(3 * 24 * time.Hour).Format(time.RFC3339)
	later := f.now.Add(30 * 24 * time.Hour).Format(time.RFC3339)
	f.create(t, alice, CreateParams{Name: "soon", ExpiresAt: &soon})
	f.create(t, alice, CreateParams{Name: "later", ExpiresAt: &later})
	for _, st := range []Status{StatusActive, StatusExpiringSoon} {
		p, err := f.svc.List(context.Background(), alice, ListParams{Status: string(st)})
		if err != nil || len(p.Items) != 1 || p.Items[0].Status != st {
			t.Fatalf("status %s listed %+v (%v)", st, p.Items, err)
		}
	}
}

// A rotated key carries every column of the old one but those a new key starts anew:
// a column added to models.Key goes on to the rotated key unasked.
func TestRotatedRow_CarriesEveryColumn(t *testing.T) {
	var old models.Key
	testkit.Fill(&old)
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	rotated := func(old models.Key) any { return rotatedRow(old, "new-lookup", []byte("new-hash"), now) }
	testkit.RequireOnly(t, "a column a rotation drops", testkit.Unread(rotated, old), map[string]string{
		"ID":            "the store gives the new key its id",
		"LookupID":      "a new key text",
		"SecretHash":    "a new key text",
		"CreatedAt":     "made now",
		"UpdatedAt":     "made now",
		"LastUsedAt":    "not used yet",
		"LastUsedIP":    "not used yet",
		"DeletedAt":     "live",
		"RotatedTo":     "not superseded",
		"GraceUntil":    "not superseded",
		"OwnerDisabled": "followed from the owner's events, as on any new key",
	})
}
