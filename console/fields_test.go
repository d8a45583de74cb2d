package console

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/internal/testkit"
	"github.com/keyward/keyward/keys"
	"github.com/keyward/keyward/models"
)

// The console shows every field of a key a person should see and its forms set every
// field of a request: a field added to keys.Key, api.KeyCreate or api.KeyUpdate and
// forgotten in a page, a form or its handler fails here.

// fakeKeys serves one key and keeps what the forms send.
type fakeKeys struct {
	keys.API
	key    keys.Key
	create *keys.CreateParams
	update *keys.UpdateParams
}

func (f *fakeKeys) Get(context.Context, audit.Actor, string) (keys.Key, error) { return f.key, nil }
func (f *fakeKeys) Usage(context.Context, audit.Actor, string, int) (keys.UsageReport, error) {
	return keys.UsageReport{}, nil
}
func (f *fakeKeys) Create(_ context.Context, _ audit.Actor, p keys.CreateParams) (keys.Created, error) {
	f.create = &p
	return keys.Created{}, nil
}
func (f *fakeKeys) LimitableRoles(context.Context, audit.Actor) ([]string, error) {
	return []string{"reports-read"}, nil
}
func (f *fakeKeys) Update(_ context.Context, _ audit.Actor, _ string, p keys.UpdateParams) (keys.Key, error) {
	f.update = &p
	return f.key, nil
}

type noEvents struct{}

func (noEvents) ListAudit(context.Context, models.AuditFilter) ([]models.AuditEvent, error) {
	return nil, nil
}

// keysHarness is an admin logged in to a console over fakeKeys.
func keysHarness(t *testing.T) (*harness, *fakeKeys) {
	h := newHarness(t)
	fk := &fakeKeys{}
	h.c.cfg.Keys, h.c.cfg.Audit = fk, audit.NewReader(noEvents{})
	h.realm.claims.RealmRoles = []string{"keyward-admin"} // the new form's owner field is the admins'
	h.login()
	return h, fk
}

var (
	tags   = regexp.MustCompile(`(?s)<[^>]*>`)
	blanks = regexp.MustCompile(`\s+`)
)

// pageText is what a person reads on the page at path: its text without the markup.
func (h *harness) pageText(path string) string {
	h.t.Helper()
	rec := h.do("GET", path, nil)
	if rec.Code != http.StatusOK {
		h.t.Fatalf("GET %s: %d", path, rec.Code)
	}
	return blanks.ReplaceAllString(html.UnescapeString(tags.ReplaceAllString(rec.Body.String(), " ")), " ")
}

// The key's page shows every field of keys.Key but those exempted, with the reason.
func TestKeyPage_ShowsEveryField(t *testing.T) {
	h, fk := keysHarness(t)
	var k keys.Key
	testkit.Fill(&k)
	k.Status = keys.StatusExpiringSoon
	limited := k
	limited.RateLimit.Unlimited = false // requests per window are shown only then
	page := func(k keys.Key) any { fk.key = k; return h.pageText("/keys/k1") }
	testkit.RequireOnly(t, "a field of keys.Key the key's page does not show", testkit.Unread(page, k, limited), map[string]string{
		"ID":                   "in the page's address and its actions, not its text",
		"OwnerID":              "people know an owner by the username, which is shown",
		"OwnerDisabled":        "shown as the status",
		"UpdatedAt":            "not shown (it never was); the audit events below say what changed when",
		"DeletedAt":            "a revoked key has no page",
		"RateLimit.Own":        "the page shows the effective limit",
		"AdminSet.RateLimit":   "not shown yet: the owner learns it when lowering the limit fails (API and CLI show it)",
		"AdminSet.IPAllowlist": "not shown yet: the owner learns it when widening the allowlist fails (API and CLI show it)",
	})
}

// inputNames lists the names of the inputs of the form on the page at path.
func (h *harness) inputNames(path string) []string {
	h.t.Helper()
	rec := h.do("GET", path, nil)
	if rec.Code != http.StatusOK {
		h.t.Fatalf("GET %s: %d", path, rec.Code)
	}
	var names []string
	for _, m := range regexp.MustCompile(`<(?:input|select|textarea)[^>]*\sname="([^"]+)"`).FindAllStringSubmatch(rec.Body.String(), -1) {
		if !slices.Contains(names, m[1]) {
			names = append(names, m[1])
		}
	}
	return names
}

// standIn sets a request field from inputs not named after it (or another action).
type standIn struct {
	path string // where it is posted, when not the form's own action
	form url.Values
	why  string
	// never: the form does not set the field, on purpose (why says so).
	never bool
}

// checkForm holds a form to every JSON field of request: an input named after the
// field, or a stand-in, must reach the service's parameter of the same Go name. params
// returns (and forgets) what the last post handed the service.
func checkForm(t *testing.T, h *harness, formPath, action string, base url.Values, request any,
	params func() any, standIns map[string]standIn) {
	t.Helper()
	names := h.inputNames(formPath)
	post := func(path string, extra url.Values) reflect.Value {
		form := url.Values{"csrf": {h.c.cfg.Secrets.csrfToken(h.cookie[sessionCookie])}}
		for k, v := range base {
			form[k] = v
		}
		for k, v := range extra {
			form[k] = v
		}
		if rec := h.do("POST", path, form, "Origin", "http://console.test"); rec.Code >= 400 {
			t.Fatalf("POST %s %v: %d %s", path, extra, rec.Code, rec.Body.String())
		}
		p := reflect.ValueOf(params())
		if p.IsNil() {
			t.Fatalf("POST %s %v did not reach the key service", path, extra)
		}
		return p.Elem()
	}
	was := post(action, nil)
	rt := reflect.TypeOf(request)
	for i := 0; i < rt.NumField(); i++ {
		field := rt.Field(i)
		name, _, _ := strings.Cut(field.Tag.Get("json"), ",")
		var got reflect.Value
		if s, ok := standIns[name]; ok && s.never {
			continue
		} else if ok {
			path := s.path
			if path == "" {
				path = action
				for input := range s.form {
					if !slices.Contains(names, input) {
						t.Errorf("%s: no input %s, which stands for %s", formPath, input, name)
					}
				}
			}
			got = post(path, s.form)
		} else if slices.Contains(names, name) {
			got = post(action, url.Values{name: {"probe"}})
		} else {
			t.Errorf("%s: no input named %s (add it, or a stand-in with the reason)", formPath, name)
			continue
		}
		if reflect.DeepEqual(got.FieldByName(field.Name).Interface(), was.FieldByName(field.Name).Interface()) {
			t.Errorf("%s: %s does not reach the key service's %s", formPath, name, field.Name)
		}
	}
}

func TestKeyForms_EveryRequestField(t *testing.T) {
	h, fk := keysHarness(t)
	fk.key = keys.Key{ID: "k1"}
	h.c.cfg.Provisioning = consumerProv{} // the consumer's page, where its keys are made
	rate := standIn{form: url.Values{"rate_requests": {"5"}, "rate_window": {"60"}}, why: "requests and seconds, two inputs"}
	checkForm(t, h, "/keys/new", "/keys", url.Values{"expiry": {"365"}}, api.KeyCreate{}, func() any { p := fk.create; fk.create = nil; return p },
		map[string]standIn{
			"expires_in_days": {form: url.Values{"expiry": {"30"}}, why: "one choice of expiry: days, a date, or never"},
			"expires_at":      {form: url.Values{"expiry": {"date"}, "expires_on": {"2030-01-02"}}, why: "a date, as the browser picks it"},
			"never_expires":   {form: url.Values{"expiry": {"never"}}, why: "one choice of expiry"},
			"rate_limit":      rate,
			"acl_groups":      {never: true, why: "always refused: Keycloak cannot narrow a token's acl_groups, the form says so"},
			"consumer": {path: "/admin/consumers/c1/keys", form: url.Values{"name": {"probe"}, "expiry": {"365"}},
				why: "a consumer's key is made on the consumer's page"},
		})
	checkForm(t, h, "/keys/k1/edit", "/keys/k1/edit", nil, api.KeyUpdate{}, func() any { p := fk.update; fk.update = nil; return p },
		map[string]standIn{
			"expires_at": {form: url.Values{"expires_on": {"2030-01-02"}}, why: "a date, as the browser picks it"},
			"rate_limit": rate,
			"enabled":    {path: "/keys/k1/disable", why: "the key's page has Enable and Disable buttons"},
		})
}
