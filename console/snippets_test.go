package console

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/keys"
	"github.com/keyward/keyward/models"
)

// The key service as far as the key pages need it: one key, no usage, and a plaintext
// for a newly created key.
type onlyKey struct {
	keys.API
	key       keys.Key
	plaintext string
}

func (o onlyKey) Get(context.Context, audit.Actor, string) (keys.Key, error) { return o.key, nil }
func (o onlyKey) Usage(context.Context, audit.Actor, string, int) (keys.UsageReport, error) {
	return keys.UsageReport{Key: o.key}, nil
}
func (o onlyKey) Create(context.Context, audit.Actor, keys.CreateParams) (keys.Created, error) {
	return keys.Created{Key: o.key, Plaintext: o.plaintext}, nil
}

type noAudit struct{}

func (noAudit) ListAudit(context.Context, models.AuditFilter) ([]models.AuditEvent, error) {
	return nil, nil
}

// A plaintext that looks like a key: the page must show it in its one field and nowhere else.
const shownOnce = "kw_live_0123456789abcdefghijklmnopqrstuvwxyzABCDEF"

func keyPages(t *testing.T) *harness {
	h := newHarness(t)
	h.c.cfg.Keys = onlyKey{key: keys.Key{ID: "k1", Name: "reports", Prefix: "kw_live_0123456789ab", Environment: "production",
		OwnerID: "u1", OwnerUsername: "alice", Enabled: true, Status: keys.StatusActive, RateLimit: keys.Limit{Unlimited: true},
		Scopes: []string{}, IPAllowlist: []string{}, Metadata: []byte("{}"), CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		plaintext: shownOnce}
	h.c.cfg.Audit = audit.NewReader(noAudit{})
	h.c.cfg.KeywardURL = "https://keyward.example.org"
	h.login()
	return h
}

// gatewaySection returns the "Use it at the gateway" section of a page, or fails.
func gatewaySection(t *testing.T, page string) string {
	t.Helper()
	start := strings.Index(page, `<section aria-labelledby="gateway-h" id="gateway-snippets">`)
	if start < 0 {
		t.Fatalf("no gateway section in the page:\n%.3000s", page)
	}
	end := strings.Index(page[start:], "</section>")
	if end < 0 {
		t.Fatal("the gateway section does not end")
	}
	return page[start : start+end]
}

// shownCode returns the text a browser shows (and the copy button copies) for the
// snippet with the given id.
func shownCode(t *testing.T, section, id string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<pre id="` + regexp.QuoteMeta(id) + `"><code>(.*?)</code></pre>`).FindStringSubmatch(section)
	if m == nil {
		t.Fatalf("no snippet %s in the section", id)
	}
	return html.UnescapeString(m[1])
}

func checkGatewaySection(t *testing.T, section string) {
	t.Helper()
	snippets := GatewaySnippets()
	if len(snippets) == 0 {
		t.Fatal("no gateway snippets")
	}
	if !strings.Contains(section, "<code>"+GatewayExampleURL+"</code> stands for your API behind the gateway") {
		t.Error("the section does not say what the placeholder URL stands for")
	}
	if got := strings.Count(section, `<pre id=`); got != len(snippets) {
		t.Errorf("%d snippets on the page, %d in the table", got, len(snippets))
	}
	langs := map[string]bool{}
	for _, s := range snippets {
		langs[s.Lang] = true
		if got := shownCode(t, section, s.ID); got != s.Code {
			t.Errorf("%s: the page shows\n%s\nthe table has\n%s", s.ID, got, s.Code)
		}
		if !strings.Contains(section, `<button type="button" class="copy" data-copy="`+s.ID+`"`) {
			t.Errorf("%s: no copy button", s.ID)
		}
		if !strings.Contains(s.Code, GatewayExampleURL) {
			t.Errorf("%s does not call the placeholder API", s.ID)
		}
		// The key comes from the environment or from the user, never from the page.
		switch s.Lang {
		case "shell":
			if !strings.Contains(s.Code, `"$KEYWARD_API_KEY:"`) || !strings.Contains(s.Code, `"X-API-Key: $KEYWARD_API_KEY"`) {
				t.Errorf("%s: the curl forms -u and -H with KEYWARD_API_KEY are missing", s.ID)
			}
		case "python":
			if !strings.Contains(s.Code, `{"X-API-Key": os.environ["KEYWARD_API_KEY"]}`) {
				t.Errorf("%s does not send KEYWARD_API_KEY as X-API-Key", s.ID)
			}
		case "powerquery":
			if !strings.Contains(s.Code, "Web.Contents(Url") {
				t.Errorf("%s does not call Web.Contents", s.ID)
			}
		}
	}
	for _, want := range []string{"shell", "python", "powerquery"} {
		if !langs[want] {
			t.Errorf("no %s snippet", want)
		}
	}
	for _, want := range []string{`storage_options={"X-API-Key": os.environ["KEYWARD_API_KEY"]}`, `requests.get(url, headers=`,
		`[Headers = [#"X-API-Key" = Key]]`, `Key = "PASTE YOUR KEY HERE"`, "choose Basic", "your key as the password"} {
		if !strings.Contains(html.UnescapeString(section), want) {
			t.Errorf("the section lacks %q", want)
		}
	}
	// No key material: not the key, not even its prefix, nor Keyward's own URL (the
	// analyst calls the API, not Keyward).
	for _, never := range []string{shownOnce, "kw_", "keyward.example.org", "/v1/token"} {
		if strings.Contains(section, never) {
			t.Errorf("the gateway section shows %q", never)
		}
	}
}

func TestKeyPage_GatewaySnippets_AsInTheTable_WithoutKeyMaterial(t *testing.T) {
	h := keyPages(t)
	rec := h.do("GET", "/keys/k1", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("key page: %d", rec.Code)
	}
	page := rec.Body.String()
	checkGatewaySection(t, gatewaySection(t, page))
	if strings.Contains(page, shownOnce) {
		t.Fatal("the key page shows the key")
	}
}

// The page that shows a new key once: the key is in its field and nowhere else, the
// gateway snippets included.
func TestCreatedPage_GatewaySnippets_KeyOnlyInItsField(t *testing.T) {
	h := keyPages(t)
	form := url.Values{"csrf": {h.c.cfg.Secrets.csrfToken(h.cookie[sessionCookie])}, "name": {"reports"},
		"environment": {"production"}, "expiry": {"30"}}
	rec := h.do("POST", "/keys", form, "Origin", "http://console.test")
	if rec.Code != http.StatusOK {
		t.Fatalf("create: %d %.500s", rec.Code, rec.Body.String())
	}
	page := rec.Body.String()
	if n := strings.Count(page, shownOnce); n != 1 || !strings.Contains(page, `value="`+shownOnce+`"`) {
		t.Fatalf("the new key shows %d times, want once in its field", n)
	}
	checkGatewaySection(t, gatewaySection(t, page))
}
