package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// The key lifecycle of issue 3, through HTTP, on the real SQLite store. The same rules
// run on PostgreSQL in models' conformance suite and cmd/keyward's end-to-end tests.

func (h *harness) exchangeStatus(key string) int {
	return h.do("POST", "/v1/token", "", "", "", "X-API-Key", key).Code
}

func (h *harness) mustStatus(t *testing.T, want int, method, path, token, body string) map[string]any {
	t.Helper()
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	rec := h.do(method, path, token, ct, body)
	if rec.Code != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, rec.Code, want, rec.Body.String())
	}
	if rec.Body.Len() == 0 {
		return nil
	}
	return decode(t, rec)
}

// --- 200, 201, 204: what each route answers when it succeeds ---

func TestCreateKey_ExpiryForms(t *testing.T) {
	h := newHarness(t)
	now := h.clock.Now()
	at := now.Add(48 * time.Hour).Truncate(time.Second)
	got := h.createKey(t, "alice-token", `{"name":"at","expires_at":"`+at.Format(time.RFC3339)+`"}`)
	if got["expires_at"] != at.UTC().Format(time.RFC3339) {
		t.Fatalf("expires_at %v, want %v", got["expires_at"], at.UTC().Format(time.RFC3339))
	}
	got = h.createKey(t, "alice-token", `{"name":"days","expires_in_days":3}`)
	if got["status"] != "expiring_soon" {
		t.Fatalf("a key expiring in 3 days is %v", got["status"])
	}
	for name, body := range map[string]string{
		"past":              `{"name":"x","expires_at":"` + now.Add(-time.Minute).Format(time.RFC3339) + `"}`,
		"now":               `{"name":"x","expires_at":"` + now.Format(time.RFC3339) + `"}`,
		"over ten years":    `{"name":"x","expires_at":"` + now.AddDate(10, 0, 2).Format(time.RFC3339) + `"}`,
		"not RFC 3339":      `{"name":"x","expires_at":"tomorrow"}`,
		"at and days":       `{"name":"x","expires_at":"` + at.Format(time.RFC3339) + `","expires_in_days":3}`,
		"days and never":    `{"name":"x","expires_in_days":3,"never_expires":true}`,
		"at and never":      `{"name":"x","expires_at":"` + at.Format(time.RFC3339) + `","never_expires":true}`,
		"days over 3650":    `{"name":"x","expires_in_days":3651}`,
		"never as a string": `{"name":"x","never_expires":"yes"}`,
	} {
		rec := h.do("POST", "/v1/keys", "alice-token", "application/json", body)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), "expires") && !strings.Contains(rec.Body.String(), "never_expires") {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body.String())
		}
	}
}

func TestCreateKey_ScopesMetadataEnvironment(t *testing.T) {
	h := newHarness(t)
	got := h.createKey(t, "alice-token", `{"name":"s","scopes":["email","profile","email"],"metadata":{"team":"data","n":1},"environment":"staging"}`)
	if fmt.Sprint(got["scopes"]) != "[email profile]" || fmt.Sprint(got["metadata"]) != "map[n:1 team:data]" ||
		got["environment"] != "staging" || !strings.HasPrefix(got["prefix"].(string), "kw_test_") {
		t.Fatalf("fields: %v", got)
	}
	many := make([]string, 51)
	for i := range many {
		many[i] = fmt.Sprintf(`"k%d":1`, i)
	}
	h.createRefused(t, "alice-token", map[string]string{
		"metadata not an object": `{"name":"x","metadata":[1,2]}`,
		"metadata a string":      `{"name":"x","metadata":"team"}`,
		"metadata 51 keys":       `{"name":"x","metadata":{` + strings.Join(many, ",") + `}}`,
		"metadata over 4 KiB":    `{"name":"x","metadata":{"a":"` + strings.Repeat("b", 4100) + `"}}`,
		"scope with space":       `{"name":"x","scopes":["a b"]}`,
		"scope SQL":              `{"name":"x","scopes":["'; DROP TABLE api_keys; --"]}`,
		"scopes not an array":    `{"name":"x","scopes":"email"}`,
	})
	if n := len(h.keys(t)); n != 1 {
		t.Fatalf("%d keys stored, want 1", n)
	}
}

func TestUpdateKey_DisableEnable_ExchangeFollows(t *testing.T) {
	h := newHarness(t)
	got := h.createKey(t, "alice-token", `{"name":"a"}`)
	id, key := got["id"].(string), got["key"].(string)
	if got := h.mustStatus(t, 200, "PATCH", "/v1/keys/"+id, "alice-token", `{"enabled":false}`); got["status"] != "inactive" {
		t.Fatalf("status after disable: %v", got["status"])
	}
	if code := h.exchangeStatus(key); code != 401 {
		t.Fatalf("disabled key exchanged: %d", code)
	}
	h.mustStatus(t, 200, "PATCH", "/v1/keys/"+id, "alice-token", `{"enabled":true}`)
	if code := h.exchangeStatus(key); code != 200 {
		t.Fatalf("re-enabled key refused: %d", code)
	}
	upd := h.mustStatus(t, 200, "PATCH", "/v1/keys/"+id, "alice-token",
		`{"name":"renamed","description":"d","scopes":["email"],"metadata":{"x":1}}`)
	if upd["name"] != "renamed" || upd["description"] != "d" || fmt.Sprint(upd["scopes"]) != "[email]" {
		t.Fatalf("update: %v", upd)
	}
}

func TestRotateKey_GracePeriod(t *testing.T) {
	h := newHarness(t)
	orig := h.createKey(t, "alice-token", `{"name":"r","scopes":["email"],"metadata":{"a":1},"environment":"development","expires_in_days":30}`)
	id, oldKey := orig["id"].(string), orig["key"].(string)
	rotated := h.mustStatus(t, 201, "POST", "/v1/keys/"+id+"/rotate", "alice-token", `{"grace_period_hours":2}`)
	newKey := rotated["key"].(string)
	if newKey == oldKey || rotated["name"] != "r" || fmt.Sprint(rotated["scopes"]) != "[email]" ||
		fmt.Sprint(rotated["metadata"]) != "map[a:1]" || rotated["environment"] != "development" ||
		rotated["expires_at"] != orig["expires_at"] {
		t.Fatalf("rotated key differs in settings: %v", rotated)
	}
	old := h.mustStatus(t, 200, "GET", "/v1/keys/"+id, "alice-token", "")
	if old["rotated_to"] != rotated["id"] || old["grace_until"] == nil {
		t.Fatalf("old key: %v", old)
	}
	if h.exchangeStatus(oldKey) != 200 || h.exchangeStatus(newKey) != 200 {
		t.Fatal("both keys must work during the grace period")
	}
	h.mustStatus(t, 409, "POST", "/v1/keys/"+id+"/rotate", "alice-token", "")
	h.clock.Advance(2*time.Hour - time.Second)
	if h.exchangeStatus(oldKey) != 200 {
		t.Fatal("old key refused one second before the grace period ends")
	}
	h.clock.Advance(time.Second)
	if h.exchangeStatus(oldKey) != 401 {
		t.Fatal("old key still works when the grace period has ended")
	}
	if h.exchangeStatus(newKey) != 200 {
		t.Fatal("new key refused")
	}
}

func TestRotateKey_ZeroGrace_OldRefusedAtOnce(t *testing.T) {
	h := newHarness(t)
	orig := h.createKey(t, "alice-token", `{"name":"r"}`)
	rotated := h.mustStatus(t, 201, "POST", "/v1/keys/"+orig["id"].(string)+"/rotate", "alice-token", `{"grace_period_hours":0}`)
	if h.exchangeStatus(orig["key"].(string)) != 401 || h.exchangeStatus(rotated["key"].(string)) != 200 {
		t.Fatal("grace 0 must refuse the old key at once and accept the new one")
	}
}

func TestRotateKey_GraceNeverPastExpiry(t *testing.T) {
	h := newHarness(t)
	exp := h.clock.Now().Add(time.Hour).Truncate(time.Second)
	orig := h.createKey(t, "alice-token", `{"name":"r","expires_at":"`+exp.Format(time.RFC3339)+`"}`)
	h.mustStatus(t, 201, "POST", "/v1/keys/"+orig["id"].(string)+"/rotate", "alice-token", `{"grace_period_hours":24}`)
	old := h.mustStatus(t, 200, "GET", "/v1/keys/"+orig["id"].(string), "alice-token", "")
	if old["grace_until"] != exp.UTC().Format(time.RFC3339) {
		t.Fatalf("grace_until %v, want the key's own expiry %v", old["grace_until"], exp.UTC().Format(time.RFC3339))
	}
	h.clock.Advance(time.Hour)
	if h.exchangeStatus(orig["key"].(string)) != 401 {
		t.Fatal("old key works past its own expiry")
	}
}

func TestListKeys_FiltersSortPaging(t *testing.T) {
	h := newHarness(t)
	for i, body := range []string{
		`{"name":"alpha","description":"deploy bot","expires_in_days":3}`,
		`{"name":"beta","never_expires":true,"environment":"development"}`,
		`{"name":"gamma 100%_off","expires_in_days":20}`,
		`{"name":"delta","expires_in_days":300}`,
	} {
		h.createKey(t, "alice-token", body)
		h.clock.Advance(time.Second * time.Duration(i+1))
	}
	h.createKey(t, "bob-token", `{"name":"bobs"}`)
	names := func(path string) string {
		t.Helper()
		got := h.mustStatus(t, 200, "GET", path, "alice-token", "")
		var out []string
		for _, it := range got["items"].([]any) {
			out = append(out, it.(map[string]any)["name"].(string))
		}
		return strings.Join(out, ",")
	}
	cases := map[string]string{
		"/v1/keys":                                  "delta,gamma 100%_off,beta,alpha",
		"/v1/keys?sort=name&order=asc":              "alpha,beta,delta,gamma 100%_off",
		"/v1/keys?sort=expires_at&order=asc":        "alpha,gamma 100%_off,delta,beta",
		"/v1/keys?status=expiring_soon":             "alpha",
		"/v1/keys?expires=never":                    "beta",
		"/v1/keys?expires=30d&sort=name&order=asc":  "alpha,gamma 100%_off",
		"/v1/keys?environment=development":          "beta",
		"/v1/keys?q=DEPLOY":                         "alpha",
		"/v1/keys?q=" + url.QueryEscape("100%_"):    "gamma 100%_off",
		"/v1/keys?q=" + url.QueryEscape("%"):        "gamma 100%_off",
		"/v1/keys?q=" + url.QueryEscape("' OR 1=1"): "",
	}
	for path, want := range cases {
		if got := names(path); got != want {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}
	// Paging covers every key once.
	seen := []string{}
	path := "/v1/keys?limit=3&sort=name&order=asc"
	for path != "" {
		got := h.mustStatus(t, 200, "GET", path, "alice-token", "")
		for _, it := range got["items"].([]any) {
			seen = append(seen, it.(map[string]any)["name"].(string))
		}
		path = ""
		if c, ok := got["next_cursor"].(string); ok {
			path = "/v1/keys?limit=3&sort=name&order=asc&cursor=" + url.QueryEscape(c)
		}
	}
	if strings.Join(seen, ",") != "alpha,beta,delta,gamma 100%_off" {
		t.Fatalf("pages: %v", seen)
	}
	// A cursor pages on only in the sort order and filter it was made for.
	first := h.mustStatus(t, 200, "GET", "/v1/keys?limit=1&sort=name&order=asc", "alice-token", "")
	cur := url.QueryEscape(first["next_cursor"].(string))
	h.mustStatus(t, 200, "GET", "/v1/keys?limit=2&sort=name&order=asc&cursor="+cur, "alice-token", "")
	for _, q := range []string{"sort=name&order=desc", "sort=created_at&order=asc", "sort=name&order=asc&q=a",
		"sort=name&order=asc&environment=development"} {
		h.mustStatus(t, 400, "GET", "/v1/keys?"+q+"&cursor="+cur, "alice-token", "")
	}
}

func TestAdmin_ManagesAnyUsersKeys(t *testing.T) {
	h := newHarness(t)
	bobs := h.createKey(t, "bob-token", `{"name":"bob-ci"}`)
	id := bobs["id"].(string)
	list := h.mustStatus(t, 200, "GET", "/v1/keys?owner=bob", "carol-token", "")
	if len(list["items"].([]any)) != 1 {
		t.Fatalf("carol's view of bob's keys: %v", list)
	}
	if got := h.mustStatus(t, 200, "GET", "/v1/keys?q=bob", "carol-token", ""); len(got["items"].([]any)) != 1 {
		t.Fatal("admin search does not match the owner's username")
	}
	h.mustStatus(t, 200, "PATCH", "/v1/keys/"+id, "carol-token", `{"enabled":false}`)
	if h.exchangeStatus(bobs["key"].(string)) != 401 {
		t.Fatal("a key disabled by an admin still works")
	}
	forAlice := h.createKey(t, "carol-token", `{"name":"given","owner":"alice"}`)
	if forAlice["owner"] != "alice-id" {
		t.Fatalf("admin-created key owned by %v", forAlice["owner"])
	}
	h.mustStatus(t, 200, "GET", "/v1/keys/"+forAlice["id"].(string), "alice-token", "")
	h.mustStatus(t, 400, "POST", "/v1/keys", "carol-token", `{"name":"x","owner":"nobody"}`)
	h.mustStatus(t, 204, "DELETE", "/v1/keys/"+id, "carol-token", "")
	// Users: only their own.
	h.mustStatus(t, 403, "GET", "/v1/keys?owner=bob", "alice-token", "")
	h.mustStatus(t, 403, "POST", "/v1/keys", "alice-token", `{"name":"x","owner":"bob"}`)
	h.mustStatus(t, 200, "GET", "/v1/keys?owner=alice", "alice-token", "")
}

func TestAudit_RecordsEveryChange_UsersSeeTheirOwn(t *testing.T) {
	h := newHarness(t)
	tick := func() { h.clock.Advance(time.Millisecond) } // distinct times give a stable order
	got := h.createKey(t, "alice-token", `{"name":"audited"}`)
	id, key := got["id"].(string), got["key"].(string)
	tick()
	h.mustStatus(t, 200, "PATCH", "/v1/keys/"+id, "alice-token", `{"description":"d"}`)
	tick()
	h.mustStatus(t, 200, "PATCH", "/v1/keys/"+id, "alice-token", `{"enabled":false}`)
	tick()
	h.mustStatus(t, 200, "PATCH", "/v1/keys/"+id, "carol-token", `{"enabled":true}`)
	tick()
	rot := h.mustStatus(t, 201, "POST", "/v1/keys/"+id+"/rotate", "alice-token", "")
	tick()
	h.mustStatus(t, 204, "DELETE", "/v1/keys/"+rot["id"].(string), "alice-token", "")
	tick()
	h.createKey(t, "bob-token", `{"name":"bobs"}`)

	events := h.mustStatus(t, 200, "GET", "/v1/audit", "alice-token", "")
	raw := mustJSON(events)
	var actions []string
	for _, e := range events["items"].([]any) {
		ev := e.(map[string]any)
		actions = append(actions, ev["action"].(string))
		if ev["ip"] == "" || ev["at"] == nil || ev["actor"] == "" {
			t.Fatalf("event lacks who/when/where: %v", ev)
		}
	}
	if strings.Join(actions, ",") != "key.delete,key.rotate,key.enable,key.disable,key.update,key.create" {
		t.Fatalf("alice's events: %v", actions)
	}
	if strings.Contains(raw, key[20:]) || strings.Contains(raw, rot["key"].(string)[20:]) {
		t.Fatal("the audit trail holds key material")
	}
	all := h.mustStatus(t, 200, "GET", "/v1/audit", "carol-token", "")
	if len(all["items"].([]any)) != 7 {
		t.Fatalf("admin sees %d events, want 7", len(all["items"].([]any)))
	}
	byKey := h.mustStatus(t, 200, "GET", "/v1/audit?key="+id, "alice-token", "")
	if len(byKey["items"].([]any)) != 5 {
		t.Fatalf("events of key: %d", len(byKey["items"].([]any)))
	}
	future := url.QueryEscape(h.clock.Now().Add(time.Hour).Format(time.RFC3339))
	if got := h.mustStatus(t, 200, "GET", "/v1/audit?since="+future, "carol-token", ""); len(got["items"].([]any)) != 0 {
		t.Fatal("since filter ignored")
	}
	h.mustStatus(t, 403, "GET", "/v1/audit?owner=bob-id", "alice-token", "")
	h.mustStatus(t, 400, "GET", "/v1/audit?since=yesterday", "alice-token", "")
	page := h.mustStatus(t, 200, "GET", "/v1/audit?limit=4", "carol-token", "")
	next := h.mustStatus(t, 200, "GET", "/v1/audit?limit=4&cursor="+url.QueryEscape(page["next_cursor"].(string)), "carol-token", "")
	if len(page["items"].([]any))+len(next["items"].([]any)) != 7 || next["next_cursor"] != nil {
		t.Fatal("audit paging does not cover the 7 events once")
	}
}

func TestLastUsed_RecordedWithoutWritePerExchange(t *testing.T) {
	h := newHarness(t)
	got := h.createKey(t, "alice-token", `{"name":"u"}`)
	for i := 0; i < 3; i++ {
		if h.exchangeStatus(got["key"].(string)) != 200 {
			t.Fatal("exchange failed")
		}
	}
	before := h.mustStatus(t, 200, "GET", "/v1/keys/"+got["id"].(string), "alice-token", "")
	if before["last_used_at"] != nil {
		t.Fatal("last_used_at written on the hot path, before the batch flush")
	}
	if err := h.usage.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	after := h.mustStatus(t, 200, "GET", "/v1/keys/"+got["id"].(string), "alice-token", "")
	if after["last_used_at"] == nil {
		t.Fatal("last_used_at not set after the flush")
	}
	if rec := h.do("GET", "/v1/keys?sort=last_used_at", "alice-token", "", ""); rec.Code != http.StatusOK {
		t.Fatalf("sort by last_used_at: %d", rec.Code)
	}
}

// --- 400: invalid input, and an expiry extended ---

func TestUpdateKey_ExpiryShortenedNeverExtended(t *testing.T) {
	h := newHarness(t)
	now := h.clock.Now()
	got := h.createKey(t, "alice-token", `{"name":"a","expires_in_days":30}`)
	id := got["id"].(string)
	later := now.AddDate(0, 0, 60).Format(time.RFC3339)
	h.mustStatus(t, 400, "PATCH", "/v1/keys/"+id, "alice-token", `{"expires_at":"`+later+`"}`)
	sooner := now.AddDate(0, 0, 10).Truncate(time.Second)
	upd := h.mustStatus(t, 200, "PATCH", "/v1/keys/"+id, "alice-token", `{"expires_at":"`+sooner.Format(time.RFC3339)+`"}`)
	if upd["expires_at"] != sooner.UTC().Format(time.RFC3339) {
		t.Fatalf("expires_at %v", upd["expires_at"])
	}
	never := h.createKey(t, "alice-token", `{"name":"b","never_expires":true}`)
	h.mustStatus(t, 200, "PATCH", "/v1/keys/"+never["id"].(string), "alice-token", `{"expires_at":"`+later+`"}`)
}

func TestUpdateKey_400_BadInput(t *testing.T) {
	h := newHarness(t)
	id := h.createKey(t, "alice-token", `{"name":"a"}`)["id"].(string)
	h.createKey(t, "alice-token", `{"name":"taken"}`)
	for name, tc := range map[string]struct {
		body   string
		status int
	}{
		"unknown field":     {`{"owner":"bob-id","enabled":false,"x":1}`, 400},
		"owner not patched": {`{"owner":"bob-id"}`, 400},
		"enabled string":    {`{"enabled":"false"}`, 400},
		"empty name":        {`{"name":""}`, 400},
		"name taken":        {`{"name":"taken"}`, 409},
		"invalid UTF-8":     {"{\"name\":\"\xc3\x28\"}", 400},
		"not JSON":          {`enabled=false`, 400},
		"oversized":         {`{"description":"` + strings.Repeat("d", 70<<10) + `"}`, 413},
	} {
		rec := h.do("PATCH", "/v1/keys/"+id, "alice-token", "application/json", tc.body)
		if rec.Code != tc.status {
			t.Errorf("%s: %d, want %d: %s", name, rec.Code, tc.status, rec.Body.String())
		}
	}
	if got := h.mustStatus(t, 200, "GET", "/v1/keys/"+id, "alice-token", ""); got["name"] != "a" || got["status"] != "active" {
		t.Fatalf("a refused update changed the key: %v", got)
	}
}

func TestRotateKey_400_BadGrace(t *testing.T) {
	h := newHarness(t)
	id := h.createKey(t, "alice-token", `{"name":"r"}`)["id"].(string)
	for _, body := range []string{`{"grace_period_hours":-1}`, `{"grace_period_hours":721}`, `{"grace_period_hours":"1"}`, `{"grace":1}`, `[]`} {
		if rec := h.do("POST", "/v1/keys/"+id+"/rotate", "alice-token", "application/json", body); rec.Code != 400 {
			t.Errorf("%s: %d", body, rec.Code)
		}
	}
	if n := len(h.keys(t)); n != 1 {
		t.Fatalf("%d keys after refused rotations", n)
	}
}

func TestListKeys_400_BadParameters(t *testing.T) {
	h := newHarness(t)
	for _, q := range []string{
		"sort=" + url.QueryEscape("name; DROP TABLE api_keys"), "sort=secret_hash", "order=sideways",
		"status=revoked", "expires=soon", "environment=prod", "limit=0", "limit=201", "limit=ten",
		"cursor=garbage", "cursor=" + url.QueryEscape("' OR 1=1 --"), "unknown=1", "q=a&q=b",
	} {
		if rec := h.do("GET", "/v1/keys?"+q, "alice-token", "", ""); rec.Code != 400 {
			t.Errorf("%s: %d %s", q, rec.Code, rec.Body.String())
		}
	}
}

// --- 404: another user's key ---

func TestGetKey_OwnerAndAdminOnly(t *testing.T) {
	h := newHarness(t)
	id := h.createKey(t, "alice-token", `{"name":"a"}`)["id"].(string)
	if got := h.mustStatus(t, 200, "GET", "/v1/keys/"+id, "alice-token", ""); got["key"] != nil || got["name"] != "a" {
		t.Fatalf("get: %v", got)
	}
	h.mustStatus(t, 404, "GET", "/v1/keys/"+id, "bob-token", "")
	h.mustStatus(t, 404, "PATCH", "/v1/keys/"+id, "bob-token", `{"enabled":false}`)
	h.mustStatus(t, 404, "POST", "/v1/keys/"+id+"/rotate", "bob-token", "")
	h.mustStatus(t, 404, "GET", "/v1/keys/"+id+"/usage", "bob-token", "")
	h.mustStatus(t, 404, "DELETE", "/v1/keys/"+id, "bob-token", "")
	if got := h.mustStatus(t, 200, "GET", "/v1/audit?key="+id, "bob-token", ""); len(got["items"].([]any)) != 0 {
		t.Fatal("bob reads the audit events of alice's key")
	}
	h.mustStatus(t, 200, "GET", "/v1/keys/"+id, "carol-token", "")
	h.mustStatus(t, 200, "GET", "/v1/keys/"+id+"/usage", "carol-token", "")
}

// --- 409: a duplicate, a second rotation ---

func TestCreateKey_409_DuplicateNamePerOwner(t *testing.T) {
	h := newHarness(t)
	first := h.createKey(t, "alice-token", `{"name":"ci"}`)
	h.mustStatus(t, 409, "POST", "/v1/keys", "alice-token", `{"name":"ci"}`)
	h.createKey(t, "bob-token", `{"name":"ci"}`) // another owner may use the name
	h.mustStatus(t, 204, "DELETE", "/v1/keys/"+first["id"].(string), "alice-token", "")
	h.createKey(t, "alice-token", `{"name":"ci"}`) // free again once deleted
}

func TestRotateKey_50Parallel_ExactlyOneWins(t *testing.T) {
	h := newHarness(t)
	id := h.createKey(t, "alice-token", `{"name":"race"}`)["id"].(string)
	var wg sync.WaitGroup
	codes := make(chan int, 50)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- h.do("POST", "/v1/keys/"+id+"/rotate", "alice-token", "", "").Code
		}()
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if count[201] != 1 || count[409] != 49 {
		t.Fatalf("status counts %v, want one 201 and 49 409", count)
	}
	if n := len(h.keys(t)); n != 2 {
		t.Fatalf("%d keys after the race, want 2", n)
	}
}
