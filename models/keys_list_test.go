package models_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/keyward/keyward/models"
)

// The ListKeys part of the conformance suite. Registered in storeTests.

const day = 24 * time.Hour

func list(t *testing.T, s *models.Store, f models.KeyFilter) []models.Key {
	t.Helper()
	keys, err := s.ListKeys(context.Background(), f)
	if err != nil {
		t.Fatalf("ListKeys(%+v): %v", f, err)
	}
	if keys == nil {
		t.Fatalf("ListKeys(%+v) = nil, want a non-nil list", f)
	}
	return keys
}

func names(keys []models.Key) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.Name
	}
	return out
}

// sortedNames are the names of keys, in name order: for filters, where order is not
// the point.
func sortedNames(keys []models.Key) string {
	return strings.Join(slices.Sorted(slices.Values(names(keys))), ",")
}

// keyAt is a key of owner named name, enabled or not, expiring at expires (nil: never).
func keyAt(t *testing.T, s *models.Store, owner, name string, enabled bool, expires *time.Time) *models.Key {
	t.Helper()
	k := newKey(owner)
	k.Name, k.Enabled, k.ExpiresAt = name, enabled, expires
	return mustCreate(t, s, k)
}

func testListStatus(t *testing.T, s *models.Store) {
	owner := newOwner()
	now := at
	for _, k := range []struct {
		name    string
		enabled bool
		expires *time.Time
	}{
		{"inactive-expired", false, ptr(now.Add(-time.Hour))},
		{"inactive-soon", false, ptr(now.Add(day))},
		{"inactive-never", false, nil},
		{"expired-1us-ago", true, ptr(now.Add(-time.Microsecond))},
		{"expired-now", true, ptr(now)},
		{"soon-in-1us", true, ptr(now.Add(time.Microsecond))},
		{"soon-in-7d", true, ptr(now.Add(7 * day))},
		{"active-in-7d1us", true, ptr(now.Add(7*day + time.Microsecond))},
		{"active-never", true, nil},
	} {
		keyAt(t, s, owner, k.name, k.enabled, k.expires)
	}
	zone := time.FixedZone("UTC-3", -3*3600)
	for status, want := range map[string]string{
		"inactive":      "inactive-expired,inactive-never,inactive-soon",
		"expired":       "expired-1us-ago,expired-now",
		"expiring_soon": "soon-in-1us,soon-in-7d",
		"active":        "active-in-7d1us,active-never",
	} {
		// Now in another zone is the same instant.
		for _, now := range []time.Time{now, now.In(zone)} {
			got := sortedNames(list(t, s, models.KeyFilter{OwnerID: owner, Status: status, Now: now, ExpiringSoon: 7 * 24 * time.Hour}))
			if got != want {
				t.Errorf("Status %q (now in %s): got %s, want %s", status, now.Location(), got, want)
			}
		}
	}
	if got := list(t, s, models.KeyFilter{OwnerID: owner, Now: now}); len(got) != 9 {
		t.Errorf("no status filter: %d keys, want 9", len(got))
	}
}

func testListExpires(t *testing.T, s *models.Store) {
	owner := newOwner()
	now := at
	for _, k := range []struct {
		name    string
		enabled bool
		expires *time.Time
	}{
		{"past", true, ptr(now.Add(-time.Microsecond))},
		{"now", true, ptr(now)},
		{"past-disabled", false, ptr(now.Add(-day))},
		{"in-1us", true, ptr(now.Add(time.Microsecond))},
		{"in-1d-disabled", false, ptr(now.Add(day))},
		{"in-30d", true, ptr(now.Add(30 * day))},
		{"in-30d1us", true, ptr(now.Add(30*day + time.Microsecond))},
		{"never", true, nil},
		{"never-disabled", false, nil},
	} {
		keyAt(t, s, owner, k.name, k.enabled, k.expires)
	}
	for expires, want := range map[string]string{
		"30d":     "in-1d-disabled,in-1us,in-30d",
		"expired": "now,past,past-disabled",
		"never":   "never,never-disabled",
	} {
		got := sortedNames(list(t, s, models.KeyFilter{OwnerID: owner, Expires: expires, Now: now}))
		if got != want {
			t.Errorf("Expires %q: got %s, want %s", expires, got, want)
		}
	}
	// Both filters at once: enabled, and expired.
	got := sortedNames(list(t, s, models.KeyFilter{OwnerID: owner, Status: "expired", Expires: "expired", Now: now}))
	if got != "now,past" {
		t.Errorf("Status and Expires expired: got %s, want now,past", got)
	}
}

func testListEnvironment(t *testing.T, s *models.Store) {
	owner := newOwner()
	for _, env := range []string{"production", "staging", "Production", "production "} {
		k := newKey(owner)
		k.Name, k.Environment = "env-"+env, env
		mustCreate(t, s, k)
	}
	got := sortedNames(list(t, s, models.KeyFilter{OwnerID: owner, Environment: "production"}))
	if got != "env-production" {
		t.Errorf("Environment production: got %q, want only env-production", got)
	}
	if got := list(t, s, models.KeyFilter{OwnerID: owner, Environment: "development"}); len(got) != 0 {
		t.Errorf("Environment development: got %v, want none", names(got))
	}
}

func testListQuery(t *testing.T, s *models.Store) {
	owner := newOwner()
	for _, k := range []struct{ name, desc, user string }{
		{"Deploy-Bot", "ships releases", "alice"},
		{"reader", "reads DEPLOY logs", "alice"},
		{"other", "nothing here", "Deployer-Admin"},
		{"unrelated", "", "bob"},
	} {
		key := newKey(owner)
		key.Name, key.Description, key.OwnerUsername = k.name, k.desc, k.user
		mustCreate(t, s, key)
	}
	for _, c := range []struct {
		query      string
		matchOwner bool
		want       string
	}{
		{"deploy", false, "Deploy-Bot,reader"},
		{"DEPLOY", false, "Deploy-Bot,reader"},
		{"dEpLoY", true, "Deploy-Bot,other,reader"},
		{"-bot", false, "Deploy-Bot"},
		{"releases", false, "Deploy-Bot"},
		{"admin", false, ""},
		{"admin", true, "other"},
		{"zzz", true, ""},
		{"", false, "Deploy-Bot,other,reader,unrelated"},
	} {
		got := sortedNames(list(t, s, models.KeyFilter{OwnerID: owner, Query: c.query, MatchOwner: c.matchOwner}))
		if got != c.want {
			t.Errorf("Query %q (match owner %v): got %q, want %q", c.query, c.matchOwner, got, c.want)
		}
	}
}

func testListQueryHostile(t *testing.T, s *models.Store) {
	owner := newOwner()
	for _, n := range []string{
		"100%", "1000", "a_b", "axb", `back\slash`, `backXslash`, "'; DROP TABLE api_keys; --",
		"ключ", "Ключ",
	} {
		k := newKey(owner)
		k.Name, k.Description = n, ""
		mustCreate(t, s, k)
	}
	for _, c := range []struct{ query, want string }{
		{"%", "100%"},
		{"0%", "100%"},
		{"%%", ""},
		{"_", "'; DROP TABLE api_keys; --,a_b"},
		{"a_b", "a_b"},
		{"A_B", "a_b"},
		{`\`, `back\slash`},
		{`k\s`, `back\slash`},
		{`\%`, ""},
		{`\_`, ""},
		{"'; DROP TABLE api_keys; --", "'; DROP TABLE api_keys; --"},
		{"DROP TABLE", "'; DROP TABLE api_keys; --"},
		{"' OR '1'='1", ""},
		{"') OR 1=1 --", ""},
		{"[a-z]", ""},
		{"?", ""},
		{"$1", ""},
		{"ключ", "ключ"}, // as given is always found; other-case folding depends on the backend
		{"Ключ", "Ключ"},
		{"\x00", ""},
		{"\xff", ""},
	} {
		got := list(t, s, models.KeyFilter{OwnerID: owner, Query: c.query, MatchOwner: true})
		if c.query == "ключ" || c.query == "Ключ" {
			if !slices.Contains(names(got), c.want) {
				t.Errorf("Query %q: got %v, want it to include %q", c.query, names(got), c.want)
			}
			continue
		}
		if sortedNames(got) != c.want {
			t.Errorf("Query %q: got %q, want %q", c.query, sortedNames(got), c.want)
		}
	}
	if n := ownerKeys(t, s, owner); n != 9 {
		t.Fatalf("owner has %d keys after the hostile queries, want 9", n)
	}
}

func testListAnyOwner(t *testing.T, s *models.Store) {
	token := "tok" + strings.ReplaceAll(uuid.NewString(), "-", "")
	a, b := newKey(newOwner()), newKey(newOwner())
	a.Name, b.Name = token+"-a", token+"-b"
	mustCreate(t, s, a)
	mustCreate(t, s, b)
	if got := sortedNames(list(t, s, models.KeyFilter{Query: token})); got != a.Name+","+b.Name {
		t.Fatalf("every owner: got %s, want both owners' keys", got)
	}
	if got := sortedNames(list(t, s, models.KeyFilter{OwnerID: a.OwnerID, Query: token})); got != a.Name {
		t.Fatalf("one owner: got %s, want %s", got, a.Name)
	}
}

// sortFixture creates five keys of owner whose ids sort k1 < … < k5, with ties in
// created_at, expires_at and last_used_at and NULLs in the last two.
func sortFixture(t *testing.T, s *models.Store, owner string) map[string]string {
	t0 := at
	base := uuid.NewString()[:35]
	byID := map[string]string{}
	for i, k := range []struct {
		name          string
		created       time.Time
		expires, used *time.Time
	}{
		{"b", t0, ptr(t0.Add(2 * day)), nil},
		{"d", t0, nil, ptr(t0.Add(time.Hour))},
		{"a", t0.Add(time.Minute), ptr(t0.Add(day)), ptr(t0.Add(time.Hour))},
		{"e", t0.Add(2 * time.Minute), nil, nil},
		{"c", t0.Add(-time.Minute), ptr(t0.Add(day)), ptr(t0.Add(2 * time.Hour))},
	} {
		key := newKey(owner)
		key.ID = fmt.Sprintf("%s%d", base, i+1)
		key.Name, key.CreatedAt, key.ExpiresAt, key.LastUsedAt = k.name, k.created, k.expires, k.used
		mustCreate(t, s, key)
		byID[key.ID] = fmt.Sprintf("k%d", i+1)
	}
	return byID
}

func testListSort(t *testing.T, s *models.Store) {
	owner := newOwner()
	label := sortFixture(t, s, owner)
	for _, c := range []struct {
		sort string
		desc bool
		want string
	}{
		{"", false, "k5 k1 k2 k3 k4"},
		{"created_at", false, "k5 k1 k2 k3 k4"},
		{"created_at", true, "k4 k3 k2 k1 k5"},
		{"expires_at", false, "k3 k5 k1 k2 k4"},
		{"expires_at", true, "k1 k5 k3 k4 k2"},
		{"name", false, "k3 k1 k5 k2 k4"},
		{"name", true, "k4 k2 k5 k1 k3"},
		{"last_used_at", false, "k2 k3 k5 k1 k4"},
		{"last_used_at", true, "k5 k3 k2 k4 k1"},
	} {
		keys := list(t, s, models.KeyFilter{OwnerID: owner, Sort: c.sort, Desc: c.desc})
		got := make([]string, len(keys))
		for i, k := range keys {
			got[i] = label[k.ID]
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("Sort %q desc %v: got %v, want %s", c.sort, c.desc, got, c.want)
		}
	}
}

func testListPaging(t *testing.T, s *models.Store) {
	owner := newOwner()
	sortFixture(t, s, owner)
	for i := range 8 { // more ties: created at the same time, half never expiring
		k := newKey(owner)
		k.CreatedAt = at
		if i%2 == 0 {
			k.ExpiresAt = ptr(at.Add(day))
		}
		mustCreate(t, s, k)
	}
	const total = 13
	for _, sort := range []string{"created_at", "expires_at", "name", "last_used_at"} {
		for _, desc := range []bool{false, true} {
			f := models.KeyFilter{OwnerID: owner, Sort: sort, Desc: desc, Limit: 100}
			all := ids(list(t, s, f))
			if len(all) != total {
				t.Fatalf("%s desc %v: %d keys, want %d", sort, desc, len(all), total)
			}
			for _, limit := range []int{1, 3, 5} {
				var paged []string
				f.After = nil
				for {
					f.Limit = limit
					page := list(t, s, f)
					if len(page) == 0 {
						break
					}
					paged = append(paged, ids(page)...)
					f.After = positionOf(page[len(page)-1], sort)
				}
				if !slices.Equal(paged, all) {
					t.Errorf("%s desc %v limit %d: pages give %v, want %v", sort, desc, limit, paged, all)
				}
			}
		}
	}
}

func testListLimits(t *testing.T, s *models.Store) {
	owner := newOwner()
	for range 101 {
		mustCreate(t, s, newKey(owner))
	}
	all := list(t, s, models.KeyFilter{OwnerID: owner, Limit: 1000})
	for _, c := range []struct{ limit, after, want int }{
		{0, -1, 50}, {1, -1, 1}, {100, -1, 100}, {100, 99, 1}, {0, 59, 41}, {10, 100, 0},
	} {
		f := models.KeyFilter{OwnerID: owner, Limit: c.limit}
		if c.after >= 0 {
			f.After = positionOf(all[c.after], "created_at")
		}
		if got := list(t, s, f); len(got) != c.want {
			t.Errorf("Limit %d after row %d: %d keys, want %d", c.limit, c.after, len(got), c.want)
		}
	}
}

func testListInvalid(t *testing.T, s *models.Store) {
	owner := newOwner()
	mustCreate(t, s, newKey(owner))
	for name, f := range map[string]models.KeyFilter{
		"unknown sort":          {Sort: "id"},
		"sort in another case":  {Sort: "Name"},
		"SQL as sort":           {Sort: "created_at; DROP TABLE api_keys; --"},
		"SQL as sort direction": {Sort: "name DESC"},
		"unknown status":        {Status: "revoked", Now: at},
		"status in other case":  {Status: "Active", Now: at},
		"unknown expiry":        {Expires: "31d", Now: at},
		"status without Now":    {Status: "active", ExpiringSoon: time.Hour},
		"active without window": {Status: "active", Now: at},
		"expiry without Now":    {Expires: "never"},
		"limit above 1000":      {Limit: 1001},
		"negative limit":        {Limit: -1},
		"position not a UUID":   {After: &models.ListPosition{ID: "x"}},
		"position with NUL":     {After: &models.ListPosition{Text: "a\x00", ID: "11111111-1111-4111-8111-111111111111"}},
	} {
		f.OwnerID = owner
		keys, err := s.ListKeys(context.Background(), f)
		if !errors.Is(err, models.ErrInvalidFilter) {
			t.Errorf("%s: ListKeys = %d keys, %v; want ErrInvalidFilter", name, len(keys), err)
		}
	}
	if n := ownerKeys(t, s, owner); n != 1 {
		t.Fatalf("owner has %d keys after the refused filters, want 1", n)
	}
}

func testListSuperseded(t *testing.T, s *models.Store) {
	ctx := context.Background()
	owner := newOwner()
	old := mustCreate(t, s, newKey(owner))
	next := newKey(owner)
	if _, err := s.RotateKey(ctx, owner, old.ID, next, at); err != nil {
		t.Fatalf("RotateKey: %v", err)
	}
	if got := sortedNames(list(t, s, models.KeyFilter{OwnerID: owner})); got != sortedNames([]models.Key{*old, *next}) {
		t.Fatalf("after rotation: %s, want both keys", got)
	}
	if err := s.DeleteKey(ctx, owner, old.ID, time.Now()); err != nil {
		t.Fatalf("DeleteKey: %v", err)
	}
	if got := ids(list(t, s, models.KeyFilter{OwnerID: owner})); !slices.Equal(got, []string{next.ID}) {
		t.Fatalf("after deleting the old key: %v, want only %s", got, next.ID)
	}
}

// positionOf is the keyset position of k in a list sorted by sort, as the keys
// service makes it.
func positionOf(k models.Key, sort string) *models.ListPosition {
	return ptr(k.Position(sort))
}
