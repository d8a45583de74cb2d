package main

// The web console in a real browser (headless chromium) on the real Keycloak login page
// and a fully wired Keyward: every story of issue 12, and the attacks on its boundaries.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/keyward/keyward/console"
	"github.com/keyward/keyward/internal/browsertest"
	"github.com/keyward/keyward/internal/kctest"
	"github.com/keyward/keyward/internal/pgtest"
	"github.com/keyward/keyward/internal/redistest"
)

const consoleSecret = "keyward-console-dev-secret" // the dev realm's, as scripts/stack.sh sets it

// startConsoleApp serves Keyward with the console on a port chosen first, so that the
// console's own URL (its callback) is known before it starts. Keycloak accepts the
// loopback callback on any port.
func startConsoleApp(t *testing.T, kc *kctest.Env, dsn string, more ...string) *running {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	settings := map[string]string{
		"KEYWARD_DATABASE_URL":          dsn,
		"KEYWARD_LISTEN_ADDR":           addr,
		"KEYWARD_CONSOLE_URL":           "http://" + addr,
		"KEYWARD_CONSOLE_CLIENT_SECRET": consoleSecret,
		// Every page asks Keycloak: a user disabled there is out at the next page.
		"KEYWARD_CONSOLE_REFRESH":      "0s",
		"KEYWARD_USAGE_FLUSH_INTERVAL": "100ms",
		// The webhook pages deliver to a receiver of the test's, on loopback.
		"KEYWARD_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8,::1/128",
	}
	for i := 0; i+1 < len(more); i += 2 {
		settings[more[i]] = more[i+1]
	}
	return startAppWith(t, kc, settings)
}

// browser is one person's headless browser on the console.
type browser struct {
	t   *testing.T
	ctx context.Context
	app *running
}

func newBrowser(t *testing.T, app *running) *browser {
	return &browser{t: t, ctx: browsertest.New(t, 4*time.Minute), app: app}
}

// step bounds each browser step, so that a broken page fails in seconds, not minutes.
func (b *browser) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, 30*time.Second)
}

func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		dctx, dcancel := context.WithTimeout(b.ctx, 5*time.Second)
		defer dcancel()
		loc, _ := chromedp.Run(dctx, chromedp.Location())
		text, _ := chromedp.Run(dctx, chromedp.Text(chromedp.CSS("body")))
		var consoleLogs []string
		for _, line := range strings.Split(b.app.logs.String(), "\n") {
			if strings.Contains(line, `"logger":"console"`) {
				consoleLogs = append(consoleLogs, line)
			}
		}
		b.t.Fatalf("browser step failed on %s: %v\npage: %.600s\nconsole logs: %s", loc, err, text, strings.Join(consoleLogs, "\n"))
	}
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (b *browser) value(sel string) string {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("value of %s: %v", sel, err)
	}
	return s
}

func (b *browser) html() string {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		b.t.Fatalf("page html: %v", err)
	}
	return s
}

func (b *browser) location() string {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		b.t.Fatalf("location: %v", err)
	}
	return s
}

func (b *browser) open(path string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.app.consoleURL() + path))
}

func (b *browser) shot(name string) {
	b.t.Helper()
	browsertest.Screenshot(b.t, b.ctx, name)
}

// login goes to the console, is sent to Keycloak's login page, logs in there and
// comes back logged in.
func (b *browser) login(user string) {
	b.t.Helper()
	b.open("/")
	loc := b.location()
	if !strings.HasPrefix(loc, b.app.kc.URL+"/realms/"+b.app.kc.Realm+"/protocol/openid-connect/auth?") ||
		!strings.Contains(loc, "code_challenge_method=S256") || !strings.Contains(loc, "client_id=keyward-console") {
		b.t.Fatalf("not sent to Keycloak's login with PKCE: %s", loc)
	}
	ctx, cancel := b.step()
	defer cancel()
	if err := browsertest.KeycloakLogin(ctx, user, user); err != nil {
		b.t.Fatalf("Keycloak login of %s: %v", user, err)
	}
	b.do(chromedp.WaitVisible(chromedp.CSS("#who")))
	if who := b.text("#who"); who != user {
		b.t.Fatalf("logged in as %q, want %q", who, user)
	}
	remember(b.cookie("kw_session"))
}

// cookie is the value of one of the console's cookies in the browser.
func (b *browser) cookie(name string) string {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.app.consoleURL() + "/"}})
	if err != nil {
		b.t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == name {
			if !c.HTTPOnly || c.SameSite != network.CookieSameSiteLax {
				b.t.Fatalf("cookie %s: HttpOnly %v SameSite %q", name, c.HTTPOnly, c.SameSite)
			}
			return c.Value
		}
	}
	return ""
}

// accessible checks what a screen-reader or keyboard user needs of the page: one h1,
// a label for every control, a skip link to the main content that the first Tab
// reaches, and a visible focus outline.
func (b *browser) accessible() {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => {
		const p = [];
		if (document.querySelectorAll("h1").length !== 1) p.push("h1 count " + document.querySelectorAll("h1").length);
		for (const e of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
			if ((!e.labels || e.labels.length === 0) && !e.getAttribute("aria-label")) p.push("no label: " + (e.id || e.name));
		}
		for (const b of document.querySelectorAll("button, a")) {
			if (!b.textContent.trim() && !b.getAttribute("aria-label")) p.push("nameless " + b.tagName);
		}
		if (document.querySelector("[style]")) p.push("an inline style attribute");
		const skip = document.querySelector("a.skip");
		if (!skip || skip.getAttribute("href") !== "#main") p.push("no skip link");
		return p;
	})()`))
	if err != nil {
		b.t.Fatal(err)
	}
	if len(problems) > 0 {
		b.t.Fatalf("accessibility of %s: %v", b.location(), problems)
	}
	b.do(chromedp.KeyEvent("\t"))
	focus, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[document.activeElement.className,
		getComputedStyle(document.activeElement).outlineStyle]`))
	if err != nil || len(focus) != 2 || focus[0] != "skip" || focus[1] == "none" {
		b.t.Fatalf("the first Tab on %s focuses %v (%v), want the visible skip link", b.location(), focus, err)
	}
}

// back presses the back button and returns the page's HTML once the location changed.
// Evaluated, not queried: a page restored from the back-forward cache fires no load
// event and leaves chromedp's DOM view stale.
func (b *browser) back() string {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	from := b.location()
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`history.back()`)); err != nil {
		b.t.Fatal(err)
	}
	for ctx.Err() == nil {
		loc, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState === "complete" ? location.href : ""`))
		if err == nil && loc != "" && loc != from {
			html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
			if err != nil {
				b.t.Fatal(err)
			}
			return html
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.t.Fatalf("back from %s: still there", from)
	return ""
}

// rows counts the rows of the key list on the page.
func (b *browser) rows() int {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#keys tbody tr").length`))
	if err != nil {
		b.t.Fatal(err)
	}
	return n
}

func (r *running) consoleURL() string { return r.url }

// createKeyInBrowser fills the create form and returns the key read off the page.
func (b *browser) createKeyInBrowser(name string) string {
	b.t.Helper()
	b.open("/keys/new")
	b.do(
		chromedp.SendKeys(chromedp.CSS("#name"), name),
		chromedp.SendKeys(chromedp.CSS("#description"), "made in the browser test"),
		chromedp.Click(chromedp.CSS(`input[name=expiry][value="90"]`)),
		chromedp.Click(chromedp.CSS("#create")),
		chromedp.WaitVisible(chromedp.CSS("#new-key")),
	)
	key := b.value("#new-key")
	if !strings.HasPrefix(key, "kw_live_") {
		b.t.Fatalf("created page shows %q, not a live key", key)
	}
	return key
}

func (r *running) tokenStatus(t *testing.T, key string) int {
	t.Helper()
	return r.exchange(t, key).status
}

func TestConsole(t *testing.T) {
	kc := kctest.Require(t)
	for _, b := range []struct{ name, dsn string }{{"postgres", pgtest.DSN(t)}, {"sqlite", ""}} {
		t.Run(b.name, func(t *testing.T) {
			app := startConsoleApp(t, kc, b.dsn)
			t.Run("Alice_LogsIn_CreatesKey_TradesIt_NoSecretLater", func(t *testing.T) { testConsoleAlice(t, app) })
			if b.name == "sqlite" {
				return // the rest needs no second backend: the sessions are the same rows
			}
			t.Run("Alice_KeyLifecycle_ChangesWhatTokenAnswers", func(t *testing.T) { testConsoleLifecycle(t, app) })
			t.Run("Bob_NoAdminMenu_AdminURL403_OthersKey404", func(t *testing.T) { testConsoleBob(t, app) })
			t.Run("Carol_ProvisionsConsumerAndClient_Tester", func(t *testing.T) { testConsoleCarol(t, app) })
			t.Run("Carol_ManagesWebhooks", func(t *testing.T) { testConsoleWebhooks(t, app) })
			t.Run("UserDisabledInKeycloak_LosesConsoleAtNextRefresh", func(t *testing.T) { testConsoleDisabledUser(t, app) })
			t.Run("LogsHoldNoSecret", func(t *testing.T) { testLogsClean(t, app) })
			t.Run("NotConfigured_RootSaysSo", func(t *testing.T) {
				off := startAppWith(t, kc, map[string]string{"KEYWARD_DATABASE_URL": ""})
				got := call(t, "GET", off.url+"/", nil)
				if got.status != http.StatusServiceUnavailable || !strings.Contains(got.raw, "not configured") {
					t.Fatalf("console off: %d %s", got.status, got.raw)
				}
			})
		})
	}
}

func testConsoleAlice(t *testing.T, app *running) {
	b := newBrowser(t, app)
	b.login("alice")
	if !strings.HasSuffix(b.location(), "/keys") {
		t.Fatalf("after login on %s, want the key list", b.location())
	}
	// A fresh store: alice has no key yet, and the list says what one is for and how to
	// make one; its button leads to the form.
	b.shot("first-run")
	first := b.text("#first-key")
	for _, want := range []string{"You have no API keys yet", "a script, a notebook, Excel, a CI job", "short-lived access token", "only once"} {
		if !strings.Contains(first, want) {
			t.Errorf("alice's empty key list does not say %q: %s", want, first)
		}
	}
	b.do(chromedp.Click(chromedp.CSS("#create-first-key")), chromedp.WaitVisible(chromedp.CSS("#name")))
	if !strings.HasSuffix(b.location(), "/keys/new") {
		t.Errorf("Create key led to %s, want the form", b.location())
	}
	name := kctest.Unique("browser")
	key := b.createKeyInBrowser(name)
	b.shot("key-created")
	remember(key)
	for _, want := range []string{"shown only this once", "Copy"} {
		if !strings.Contains(b.text("main"), want) {
			t.Errorf("created page lacks %q", want)
		}
	}

	// The key read off the page is a working key of alice's: Keycloak's token carries her ACL groups.
	_, claims := app.mustToken(t, key)
	groups := kctest.Strings(claims["acl_groups"])
	if !slices.Contains(groups, "analytics") || !slices.Contains(groups, "engineering") || claims["preferred_username"] != "alice" {
		t.Fatalf("token of the console's key: acl_groups %v, user %v", groups, claims["preferred_username"])
	}

	// Reload and later pages never show it again.
	b.do(chromedp.Reload())
	if strings.Contains(b.html(), key) {
		t.Fatal("a reload of the created page shows the key again")
	}
	b.open("/keys?q=" + url.QueryEscape(name))
	page := b.html()
	if strings.Contains(page, key) || !strings.Contains(page, name) || !strings.Contains(b.text("#keys"), "Active") {
		t.Fatalf("the list: secret shown %v, key listed %v", strings.Contains(page, key), strings.Contains(page, name))
	}
	b.accessible()
	b.shot("keys-list")
	b.do(chromedp.Click(chromedp.CSS("#keys a")), chromedp.WaitVisible(chromedp.CSS("#key-prefix")))
	detail := b.html()
	if strings.Contains(detail, key) || !strings.Contains(detail, `<svg class="chart"`) {
		t.Fatalf("detail page: secret shown %v, chart %v", strings.Contains(detail, key), strings.Contains(detail, "<svg"))
	}
	snippet := b.text("#snippet-curl")
	if !strings.Contains(snippet, "KEYWARD_URL="+app.kc.PublicURL) || !strings.Contains(snippet, "$KEYWARD_API_KEY") {
		t.Fatalf("curl snippet: %s", snippet)
	}
	b.accessible()
	b.shot("key-detail")
	// Each "Use it at the gateway" copy button copies, and selects, exactly the code the
	// table holds (the code gateway_snippets_e2e_test.go runs through nginx). The
	// clipboard's writeText is replaced by one that keeps what it is given.
	b.do(chromedp.Evaluate[chromedp.Void](`navigator.clipboard.writeText = (text) => { window.copiedText = text; return Promise.resolve(); }`))
	for _, s := range console.GatewaySnippets() {
		b.do(chromedp.Evaluate[chromedp.Void](`window.copiedText = ""`), chromedp.Click(chromedp.CSS(`button[data-copy="`+s.ID+`"]`)))
		ctx, cancel := b.step()
		got, err := chromedp.Run(ctx, chromedp.Poll[[]string](`document.querySelector('button[data-copy="`+s.ID+`"]').textContent === "Copied" && [window.copiedText, window.getSelection().toString()]`))
		cancel()
		if err != nil || len(got) != 2 || got[0] != s.Code || got[1] != s.Code {
			t.Fatalf("copy %s: %v, copied and selected %q, want %q", s.ID, err, got, s.Code)
		}
	}

	// A bad form comes back with the input kept and the message at the field.
	b.open("/keys/new")
	b.do(
		chromedp.SendKeys(chromedp.CSS("#description"), "kept text"),
		chromedp.SendKeys(chromedp.CSS("#metadata"), "[1,2]"),
		chromedp.Click(chromedp.CSS("#create")),
		chromedp.WaitVisible(chromedp.CSS(".field-error")),
	)
	b.accessible()
	if d := b.value("#description"); d != "kept text" {
		t.Fatalf("the description was not kept: %q", d)
	}
	errText := b.text("main")
	if !strings.Contains(errText, "is required") || !strings.Contains(errText, "must be a JSON object") {
		t.Fatalf("field messages missing: %.400s", errText)
	}

	// At 375 px the list still works (no horizontal page scroll).
	b.do(chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile))
	b.open("/keys")
	ctx, cancel := b.step()
	wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
	cancel()
	if err != nil || wide {
		t.Fatalf("the page is wider than 375 px (%v)", err)
	}
	b.shot("keys-list-375px")
	b.do(chromedp.EmulateViewport(1280, 900))

	// Logout ends the console session and Keycloak's: the console asks for a login again.
	b.open("/keys")
	b.do(chromedp.Click(chromedp.CSS("#logout")), chromedp.WaitVisible(chromedp.CSS("#login-again")))
	if b.cookie("kw_session") != "" {
		t.Fatal("the session cookie survived the logout")
	}
	b.open("/keys")
	b.do(chromedp.WaitVisible(chromedp.CSS("#username")))
	if loc := b.location(); !strings.HasPrefix(loc, app.kc.URL) {
		t.Fatalf("after logout /keys is %s, want Keycloak's login page", loc)
	}
}

func testConsoleLifecycle(t *testing.T, app *running) {
	b := newBrowser(t, app)
	b.login("alice")
	key := b.createKeyInBrowser(kctest.Unique("lifecycle"))
	remember(key)
	b.do(chromedp.Click(chromedp.CSS("#to-key")), chromedp.WaitVisible(chromedp.CSS("#disable")))
	keyURL := b.location()

	// Disable / enable.
	b.do(chromedp.Click(chromedp.CSS("#disable")), chromedp.WaitVisible(chromedp.CSS("#enable")))
	if !strings.Contains(b.text("h1"), "Inactive") {
		t.Fatalf("disabled key's badge: %q", b.text("h1"))
	}
	if s := app.tokenStatus(t, key); s != http.StatusUnauthorized {
		t.Fatalf("disabled key: /v1/token %d", s)
	}
	b.do(chromedp.Click(chromedp.CSS("#enable")), chromedp.WaitVisible(chromedp.CSS("#disable")))
	if s := app.tokenStatus(t, key); s != http.StatusOK {
		t.Fatalf("enabled key: /v1/token %d", s)
	}

	// Edit: a bad field re-renders the form with the input kept and writes nothing; the
	// saved allowlist changes what /v1/token answers, and so does clearing it.
	b.do(chromedp.Click(chromedp.CSS("#edit")), chromedp.WaitVisible(chromedp.CSS("#save")))
	b.accessible()
	b.shot("key-edit")
	b.do(chromedp.SetValue(chromedp.CSS("#ip_allowlist"), "192.0.2.0/24"), chromedp.SetValue(chromedp.CSS("#metadata"), "not json"),
		chromedp.Click(chromedp.CSS("#save")), chromedp.WaitVisible(chromedp.CSS(".field-error")))
	if got, msg := b.value("#ip_allowlist"), b.text("#metadata ~ .field-error"); got != "192.0.2.0/24" || msg != "must be a JSON object" {
		t.Fatalf("the refused edit kept %q, said %q at the metadata", got, msg)
	}
	if s := app.tokenStatus(t, key); s != http.StatusOK {
		t.Fatalf("a refused edit changed the key: /v1/token %d", s)
	}
	b.do(chromedp.SetValue(chromedp.CSS("#metadata"), `{"team":"data"}`), chromedp.Click(chromedp.CSS("#save")),
		chromedp.WaitVisible(chromedp.CSS("#disable")))
	if page := b.text("main"); !strings.Contains(page, "The key is changed.") || !strings.Contains(page, "192.0.2.0/24") {
		t.Fatalf("after the edit: %s", page)
	}
	if s := app.tokenStatus(t, key); s != http.StatusUnauthorized {
		t.Fatalf("key allowed only from 192.0.2.0/24, asked from loopback: /v1/token %d", s)
	}
	renamed := kctest.Unique("renamed")
	b.do(chromedp.Click(chromedp.CSS("#edit")), chromedp.WaitVisible(chromedp.CSS("#save")),
		chromedp.Clear(chromedp.CSS("#ip_allowlist")), chromedp.SetValue(chromedp.CSS("#name"), renamed),
		chromedp.Click(chromedp.CSS("#save")), chromedp.WaitVisible(chromedp.CSS("#disable")))
	if h1 := b.text("h1"); !strings.Contains(h1, renamed) {
		t.Fatalf("renamed key's page: %q", h1)
	}
	if s := app.tokenStatus(t, key); s != http.StatusOK {
		t.Fatalf("allowlist cleared: /v1/token %d", s)
	}

	// A POST without the CSRF token is refused, and changes nothing.
	id := keyURL[strings.LastIndex(keyURL, "/")+1:]
	ctx, cancel := b.step()
	status, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch("/keys/`+id+`/disable", {method: "POST",
		headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: "x=1"}).then(r => r.status)`, chromedp.EvalAsValue, chromedp.EvalAwaitPromise))
	cancel()
	if err != nil || status != http.StatusForbidden {
		t.Fatalf("POST without CSRF token: %d, %v", status, err)
	}
	// With the token but from another origin: refused too; with neither, refused.
	csrf := b.value(`input[name=csrf]`)
	sid := b.cookie("kw_session")
	for _, tc := range []struct{ name, origin, token string }{
		{"foreign origin", "http://evil.example", csrf},
		{"wrong token", app.consoleURL(), "A" + csrf[1:]},
		{"token of no session", app.consoleURL(), ""},
	} {
		got := call(t, "POST", app.consoleURL()+"/keys/"+id+"/disable", strings.NewReader(url.Values{"csrf": {tc.token}}.Encode()),
			"Content-Type", "application/x-www-form-urlencoded", "Origin", tc.origin, "Cookie", "kw_session="+sid)
		if got.status != http.StatusForbidden {
			t.Errorf("%s: %d", tc.name, got.status)
		}
	}
	if s := app.tokenStatus(t, key); s != http.StatusOK {
		t.Fatalf("a refused POST changed the key: /v1/token %d", s)
	}

	// A plain form post (no JavaScript, here no browser): the key is in that answer
	// alone, which no cache may keep, under the strict headers.
	plain := call(t, "POST", app.consoleURL()+"/keys", strings.NewReader(url.Values{"csrf": {csrf}, "name": {kctest.Unique("plain-post")},
		"expiry": {"never"}, "environment": {"staging"}}.Encode()),
		"Content-Type", "application/x-www-form-urlencoded", "Origin", app.consoleURL(), "Cookie", "kw_session="+sid)
	h := plain.header
	if plain.status != http.StatusOK || !strings.Contains(plain.raw, "kw_test_") || h.Get("Cache-Control") != "no-store" ||
		!strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") || strings.Contains(h.Get("Content-Security-Policy"), "unsafe-inline") ||
		h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Content-Type-Options") != "nosniff" || strings.Contains(plain.raw, "<script>") {
		t.Fatalf("plain form post: %d, headers %v", plain.status, h)
	}
	if i := strings.Index(plain.raw, "kw_test_"); i >= 0 {
		remember(plain.raw[i : i+40])
	}

	// Rotate without grace: the page shows the new key once; the old one is refused at once.
	b.do(chromedp.SetValue(chromedp.CSS("#grace_days"), "0"), chromedp.Click(chromedp.CSS("#rotate")), chromedp.WaitVisible(chromedp.CSS("#new-key")))
	next := b.value("#new-key")
	remember(next)
	if next == key || app.tokenStatus(t, next) != http.StatusOK || app.tokenStatus(t, key) != http.StatusUnauthorized {
		t.Fatalf("rotation: new key works %v, old refused %v", app.tokenStatus(t, next), app.tokenStatus(t, key))
	}

	// Revoke, after a confirmation page.
	b.do(chromedp.Click(chromedp.CSS("#to-key")), chromedp.WaitVisible(chromedp.CSS("#revoke")))
	b.do(chromedp.Click(chromedp.CSS("#revoke")), chromedp.WaitVisible(chromedp.CSS("#confirm")))
	if s := app.tokenStatus(t, next); s != http.StatusOK {
		t.Fatalf("the confirmation page revoked already: %d", s)
	}
	b.shot("key-revoke-confirm")
	b.do(chromedp.Click(chromedp.CSS("#confirm")), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if s := app.tokenStatus(t, next); s != http.StatusUnauthorized {
		t.Fatalf("revoked key: /v1/token %d", s)
	}

	// Rotate with the default grace (7 days): both keys work, the old one says so.
	graced := b.createKeyInBrowser(kctest.Unique("graced"))
	remember(graced)
	b.do(chromedp.Click(chromedp.CSS("#to-key")), chromedp.WaitVisible(chromedp.CSS("#rotate")))
	if g := b.value("#grace_days"); g != "7" {
		t.Fatalf("default grace %q days", g)
	}
	b.do(chromedp.Click(chromedp.CSS("#rotate")), chromedp.WaitVisible(chromedp.CSS("#new-key")))
	successor := b.value("#new-key")
	remember(successor)
	if app.tokenStatus(t, graced) != http.StatusOK || app.tokenStatus(t, successor) != http.StatusOK {
		t.Fatal("during the grace period both keys must work")
	}
	// Leave the page of the new key, then press Back: the key is not shown again.
	b.do(chromedp.Click(chromedp.CSS("#to-key")), chromedp.WaitVisible(chromedp.CSS("#key-prefix")))
	if back := b.back(); strings.Contains(back, successor) {
		t.Fatalf("the back button shows the new key again: %.300s", back)
	}
}

func testConsoleBob(t *testing.T, app *running) {
	aliceKeyID, _ := app.createKey(t, app.kc.Login(t, "alice"), kctest.Unique("alice-private"))
	bobToken := app.kc.Login(t, "bob")
	prefix := kctest.Unique("page")
	var disabled string
	for i := 0; i < 21; i++ {
		id, _ := app.createKey(t, bobToken, fmt.Sprintf("%s-%02d", prefix, i))
		if i == 5 {
			disabled = id
		}
	}
	if got := call(t, "POST", app.url+"/v1/keys", strings.NewReader(`{"name":"`+prefix+`-soon","expires_in_days":3}`),
		"Authorization", "Bearer "+bobToken, "Content-Type", "application/json"); got.status != http.StatusCreated {
		t.Fatalf("create: %d %s", got.status, got.raw)
	}
	if got := call(t, "PATCH", app.url+"/v1/keys/"+disabled, strings.NewReader(`{"enabled":false}`),
		"Authorization", "Bearer "+bobToken, "Content-Type", "application/json"); got.status != http.StatusOK {
		t.Fatalf("disable: %d %s", got.status, got.raw)
	}
	b := newBrowser(t, app)
	b.login("bob")

	// Sort, paging, filters and search on the key list.
	b.open("/keys?sort=name&order=asc")
	if n, first := b.rows(), b.text("#keys tbody tr td"); n != 20 || first != prefix+"-00" {
		t.Fatalf("page 1 sorted by name: %d rows, first %q", n, first)
	}
	b.do(chromedp.Click(chromedp.CSS("#next-page")), chromedp.WaitVisible(chromedp.CSS("#keys")))
	if n, first := b.rows(), b.text("#keys tbody tr td"); n != 2 || first != prefix+"-20" {
		t.Fatalf("page 2: %d rows, first %q", n, first)
	}
	b.open("/keys?status=inactive")
	if n, row := b.rows(), b.text("#keys tbody tr"); n != 1 || !strings.Contains(row, prefix+"-05") || !strings.Contains(row, "Inactive") {
		t.Fatalf("status inactive: %d rows: %q", n, row)
	}
	b.open("/keys?status=expiring_soon")
	if n, row := b.rows(), b.text("#keys tbody tr"); n != 1 || !strings.Contains(row, prefix+"-soon") || !strings.Contains(row, "Expiring soon") {
		t.Fatalf("status expiring soon: %d rows: %q", n, row)
	}
	b.open("/keys?q=" + url.QueryEscape(prefix+"-07"))
	if n := b.rows(); n != 1 {
		t.Fatalf("search: %d rows", n)
	}
	b.open("/keys?expires=never")
	if b.rows() != 0 || !strings.Contains(b.text("#no-keys"), "match these filters") {
		t.Fatal("expiry never: keys with an expiry listed")
	}

	if nav := b.text("nav"); strings.Contains(nav, "Consumers") || strings.Contains(nav, "All keys") {
		t.Fatalf("bob sees the admin menu: %s", nav)
	}
	for _, path := range []string{"/admin/consumers", "/admin/keys", "/admin/clients", "/admin/audit", "/admin/acl-groups", "/admin/webhooks"} {
		ctx, cancel := b.step()
		resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(app.consoleURL()+path))
		cancel()
		if err != nil || resp.Status != http.StatusForbidden {
			t.Fatalf("bob on %s: %v %v", path, resp, err)
		}
	}
	if !strings.Contains(b.text("#error-message"), "admins") {
		t.Fatalf("403 page: %s", b.text("main"))
	}
	b.shot("forbidden")
	ctx, cancel := b.step()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(app.consoleURL()+"/keys/"+aliceKeyID))
	cancel()
	if err != nil || resp.Status != http.StatusNotFound {
		t.Fatalf("bob on alice's key: %v %v", resp, err)
	}
	// Nor can bob act on it, with a valid session and token.
	b.open("/keys")
	csrf := b.value(`input[name=csrf]`)
	got := call(t, "POST", app.consoleURL()+"/keys/"+aliceKeyID+"/disable", strings.NewReader(url.Values{"csrf": {csrf}}.Encode()),
		"Content-Type", "application/x-www-form-urlencoded", "Origin", app.consoleURL(), "Cookie", "kw_session="+b.cookie("kw_session"))
	if got.status != http.StatusNotFound {
		t.Fatalf("bob disabling alice's key: %d", got.status)
	}
	ctx, cancel = b.step()
	resp, err = chromedp.Run(ctx, chromedp.NavigateResponse(app.consoleURL()+"/keys/"+aliceKeyID+"/edit"))
	cancel()
	if err != nil || resp.Status != http.StatusNotFound {
		t.Fatalf("bob on alice's key's edit form: %v %v", resp, err)
	}
	b.open("/keys")
	got = call(t, "POST", app.consoleURL()+"/keys/"+aliceKeyID+"/edit", strings.NewReader(url.Values{"csrf": {csrf},
		"name": {"bobs-now"}, "ip_allowlist": {"192.0.2.1"}}.Encode()),
		"Content-Type", "application/x-www-form-urlencoded", "Origin", app.consoleURL(), "Cookie", "kw_session="+b.cookie("kw_session"))
	aliceView := call(t, "GET", app.url+"/v1/keys/"+aliceKeyID, nil, "Authorization", "Bearer "+app.kc.Login(t, "alice"))
	if got.status != http.StatusNotFound || strings.Contains(aliceView.raw, "bobs-now") || strings.Contains(aliceView.raw, "192.0.2.1") {
		t.Fatalf("bob editing alice's key: %d; alice's key now %s", got.status, aliceView.raw)
	}
	testConsoleWebhooksForbidden(t, app, b, csrf)
	// Nor provision anything, with a valid session, token and origin.
	name := kctest.Unique("bobs-consumer")
	got = call(t, "POST", app.consoleURL()+"/admin/consumers", strings.NewReader(url.Values{"csrf": {csrf}, "name": {name}}.Encode()),
		"Content-Type", "application/x-www-form-urlencoded", "Origin", app.consoleURL(), "Cookie", "kw_session="+b.cookie("kw_session"))
	if got.status != http.StatusForbidden {
		t.Fatalf("bob creating a consumer: %d", got.status)
	}
	list := call(t, "GET", app.url+"/v1/consumers?q="+name, nil, "Authorization", "Bearer "+app.kc.Login(t, "carol"))
	if list.status != http.StatusOK || strings.Contains(list.raw, name) {
		t.Fatalf("bob's refused consumer exists: %d %s", list.status, list.raw)
	}
}

func testConsoleCarol(t *testing.T, app *running) {
	b := newBrowser(t, app)
	b.login("carol")
	consumer := kctest.Unique("console-team")
	b.open("/admin/consumers")
	// A bad form first: the service's message at the field, the choices kept.
	b.do(
		chromedp.Click(chromedp.CSS(`input[name=acl_groups][value=analytics]`)),
		chromedp.SendKeys(chromedp.CSS("#c-description"), "kept"),
		chromedp.Click(chromedp.CSS("#create-consumer")),
		chromedp.WaitVisible(chromedp.CSS(".field-error")),
	)
	ctx, cancel := b.step()
	checked, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("input[name=acl_groups][value=analytics]").checked`))
	cancel()
	if err != nil || !checked || b.value("#c-description") != "kept" {
		t.Fatalf("the bad consumer form lost the input (%v)", err)
	}
	b.open("/admin/consumers")
	b.do(
		chromedp.SendKeys(chromedp.CSS("#c-name"), consumer),
		chromedp.Click(chromedp.CSS(`input[name=acl_groups][value=analytics]`)),
		chromedp.Click(chromedp.CSS("#create-consumer")),
		chromedp.WaitVisible(chromedp.CSS("#create-client")),
	)
	if g := b.text("#consumer-groups"); g != "analytics" {
		t.Fatalf("consumer's groups: %q", g)
	}
	b.do(chromedp.Click(chromedp.CSS("#create-client")), chromedp.WaitVisible(chromedp.CSS("#client-secret")))
	secret, clientID := b.value("#client-secret"), b.text("#client-id")
	remember(secret)
	b.shot("client-secret")
	// The secret works at Keycloak, and its token carries the consumer's ACL groups.
	claims := kctest.Claims(t, app.kc.ClientCredentials(t, clientID, secret))
	if g := kctest.Strings(claims["acl_groups"]); !slices.Equal(g, []string{"analytics"}) {
		t.Fatalf("client token acl_groups %v", g)
	}

	// The tester: the pasted secret is valid, the acl_groups claim present.
	b.do(chromedp.Click(chromedp.CSS("#to-client")), chromedp.WaitVisible(chromedp.CSS("#test-secret")))
	clientURL := b.location()
	b.do(chromedp.SendKeys(chromedp.CSS("#test-secret"), secret), chromedp.Click(chromedp.CSS("#test")), chromedp.WaitVisible(chromedp.CSS("#test-result")))
	if v, acl, g := b.text("#test-verdict"), b.text("#test-acl"), b.text("#test-groups"); !strings.HasPrefix(v, "Valid") || acl != "present" || g != "analytics" {
		t.Fatalf("tester: %q, acl %q, groups %q", v, acl, g)
	}
	if strings.Contains(b.html(), secret) {
		t.Fatal("the tester echoes the secret")
	}
	if !strings.Contains(b.text("#test-payload"), `"acl_groups"`) {
		t.Fatalf("decoded payload: %s", b.text("#test-payload"))
	}
	b.accessible()
	b.shot("token-tester")

	// View the secret: after a confirmation, audited.
	b.do(chromedp.Click(chromedp.CSS("#view-secret")), chromedp.WaitVisible(chromedp.CSS("#confirm")))
	b.do(chromedp.Click(chromedp.CSS("#confirm")), chromedp.WaitVisible(chromedp.CSS("#client-secret")))
	if got := b.value("#client-secret"); got != secret {
		t.Fatal("the viewed secret is not the client's")
	}
	b.do(chromedp.Navigate(clientURL), chromedp.WaitVisible(chromedp.CSS("#test-secret")))
	if !strings.Contains(b.text("main"), "client.secret.view") {
		t.Fatal("viewing the secret left no audit event")
	}

	// Regenerate: the old secret dies at once, the tester says so.
	b.do(chromedp.Click(chromedp.CSS("#regenerate")), chromedp.WaitVisible(chromedp.CSS("#confirm")))
	b.do(chromedp.Click(chromedp.CSS("#confirm")), chromedp.WaitVisible(chromedp.CSS("#client-secret")))
	fresh := b.value("#client-secret")
	remember(fresh)
	if fresh == secret {
		t.Fatal("regenerate gave the same secret")
	}
	b.do(chromedp.Navigate(clientURL), chromedp.WaitVisible(chromedp.CSS("#test-secret")))
	b.do(chromedp.SendKeys(chromedp.CSS("#test-secret"), secret), chromedp.Click(chromedp.CSS("#test")), chromedp.WaitVisible(chromedp.CSS("#test-result")))
	if v := b.text("#test-verdict"); !strings.HasPrefix(v, "Not valid") {
		t.Fatalf("old secret after regenerate: %q", v)
	}

	// Disable: Keycloak refuses even the fresh secret; enable: accepted again.
	b.do(chromedp.Click(chromedp.CSS("#client-disable")), chromedp.WaitVisible(chromedp.CSS("#client-enable")))
	b.do(chromedp.SendKeys(chromedp.CSS("#test-secret"), fresh), chromedp.Click(chromedp.CSS("#test")), chromedp.WaitVisible(chromedp.CSS("#test-result")))
	if v := b.text("#test-verdict"); !strings.HasPrefix(v, "Not valid") {
		t.Fatalf("disabled client: %q", v)
	}
	b.do(chromedp.Click(chromedp.CSS("#client-enable")), chromedp.WaitVisible(chromedp.CSS("#client-disable")))
	b.do(chromedp.SendKeys(chromedp.CSS("#test-secret"), fresh), chromedp.Click(chromedp.CSS("#test")), chromedp.WaitVisible(chromedp.CSS("#test-result")))
	if v := b.text("#test-verdict"); !strings.HasPrefix(v, "Valid") {
		t.Fatalf("enabled client: %q", v)
	}

	// Change the consumer's ACL groups: its client's next token carries them; a group
	// that does not exist is refused at the field and changes nothing.
	b.do(chromedp.Navigate(clientURL), chromedp.WaitVisible(chromedp.CSS("#test-secret")))
	b.do(chromedp.Click(chromedp.CSS(`a[href^="/admin/consumers/"]`)), chromedp.WaitVisible(chromedp.CSS("#save-consumer")))
	consumerURL := b.location()
	b.do(chromedp.Click(chromedp.CSS(`#edit-consumer ~ form input[name=acl_groups][value=finance]`)), chromedp.Click(chromedp.CSS("#save-consumer")),
		chromedp.WaitVisible(chromedp.CSS(".flash")))
	if g := b.text("#consumer-groups"); g != "analytics, finance" {
		t.Fatalf("consumer's groups after the change: %q", g)
	}
	if g := kctest.Strings(kctest.Claims(t, app.kc.ClientCredentials(t, clientID, fresh))["acl_groups"]); !slices.Equal(g, []string{"analytics", "finance"}) {
		t.Fatalf("client token acl_groups after the change: %v", g)
	}
	csrf := b.value(`input[name=csrf]`)
	bad := call(t, "POST", consumerURL, strings.NewReader(url.Values{"csrf": {csrf}, "acl_groups": {"analytics", "no-such-group"}}.Encode()),
		"Content-Type", "application/x-www-form-urlencoded", "Origin", app.consoleURL(), "Cookie", "kw_session="+b.cookie("kw_session"))
	b.do(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#save-consumer")))
	if bad.status != http.StatusBadRequest || !strings.Contains(bad.raw, "no-such-group") || b.text("#consumer-groups") != "analytics, finance" {
		t.Fatalf("unknown group: %d, groups now %q", bad.status, b.text("#consumer-groups"))
	}

	// An admin creates a key for alice: it is hers, and audited as done on her behalf.
	b.open("/keys/new")
	b.do(chromedp.SendKeys(chromedp.CSS("#owner"), "alice"), chromedp.SendKeys(chromedp.CSS("#name"), kctest.Unique("for-alice")),
		chromedp.Click(chromedp.CSS("#create")), chromedp.WaitVisible(chromedp.CSS("#new-key")))
	forAlice := b.value("#new-key")
	remember(forAlice)
	if _, claims := app.mustToken(t, forAlice); claims["preferred_username"] != "alice" {
		t.Fatalf("the key carol made for alice gives %v's token", claims["preferred_username"])
	}

	// All keys, filtered by owner; the audit page; the ACL groups.
	aliceKey, _ := app.createKey(t, app.kc.Login(t, "alice"), kctest.Unique("seen-by-admin"))
	b.open("/admin/keys?owner=alice")
	if page := b.html(); !strings.Contains(page, aliceKey) || strings.Contains(b.text("#keys"), "carol") {
		t.Fatalf("all keys, owner alice: alice's key %s missing or another owner's shown: %s", aliceKey, b.text("main"))
	}
	b.shot("admin-all-keys")
	b.open("/admin/consumers")
	b.accessible()
	b.shot("admin-consumers")
	b.open("/admin/audit")
	if !strings.Contains(b.text("#audit"), "client.secret.regenerate") {
		t.Fatal("audit page lacks the regeneration")
	}
	b.shot("admin-audit")
	ctx, cancel = b.step()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(app.consoleURL()+"/admin/audit?cursor=forged"))
	cancel()
	if err != nil || resp.Status != http.StatusBadRequest {
		t.Fatalf("a forged audit cursor: %v %v", resp, err)
	}
	b.open("/admin/acl-groups")
	b.accessible()
	if !strings.Contains(b.text("#groups"), "analytics") {
		t.Fatal("ACL groups page lacks analytics")
	}

	// Delete, after a confirmation: Keycloak no longer knows the client.
	b.do(chromedp.Navigate(clientURL), chromedp.WaitVisible(chromedp.CSS("#client-delete")))
	b.do(chromedp.Click(chromedp.CSS("#client-delete")), chromedp.WaitVisible(chromedp.CSS("#confirm")))
	b.do(chromedp.Click(chromedp.CSS("#confirm")), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if strings.Contains(b.html(), clientID) {
		t.Fatal("the deleted client is still listed")
	}
	if _, err := app.kc.Admin.LoginClient(context.Background(), clientID, fresh, app.kc.Realm); err == nil {
		t.Fatal("Keycloak still issues tokens to the deleted client")
	}
}

func testConsoleDisabledUser(t *testing.T, app *running) {
	userID, username := app.kc.TempUser(t, "kw-console")
	b := newBrowser(t, app)
	b.login(username)
	b.open("/keys/new")
	b.do(chromedp.WaitVisible(chromedp.CSS("#who")))
	setEnabled(t, app.kc, userID, false)
	t.Cleanup(func() { setEnabled(t, app.kc, userID, true) })
	b.open("/keys")
	b.do(chromedp.WaitVisible(chromedp.CSS("#username")))
	if loc := b.location(); !strings.HasPrefix(loc, app.kc.URL) {
		t.Fatalf("a disabled user still has the console: %s", loc)
	}
	setEnabled(t, app.kc, userID, true)
}

// Logins started from one address are bounded across replicas (the Redis limiter): the
// third start within the minute, at either of two Keywards, is a 429 page with the wait,
// and sets no login cookie; a started login still reaches Keycloak.
func TestConsole_LoginStartsBoundedPerAddress_AcrossReplicas(t *testing.T) {
	kc := kctest.Require(t)
	redisURL := redistest.URL(t)
	var apps []*running
	for range 2 {
		apps = append(apps, startConsoleApp(t, kc, "", "KEYWARD_CONSOLE_LOGIN_RATE", "2",
			"KEYWARD_RATE_LIMIT_BACKEND", "redis", "KEYWARD_REDIS_URL", redisURL))
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	start := func(app *running) (*http.Response, string) {
		t.Helper()
		resp, err := noFollow.Get(app.url + "/login")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	for i, app := range apps {
		resp, _ := start(app)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), kc.Issuer()+"/protocol/openid-connect/auth?") {
			t.Fatalf("login %d: %d to %q", i+1, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	for i, app := range apps {
		resp, body := start(app)
		wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		if resp.StatusCode != http.StatusTooManyRequests || wait < 1 || wait > 30 ||
			!strings.Contains(body, "Too many logins were started from your address") {
			t.Fatalf("replica %d, a login over the bound: %d Retry-After %q", i+1, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		for _, c := range resp.Cookies() {
			if c.Name == "kw_login" {
				t.Fatalf("replica %d: a refused login set its cookie", i+1)
			}
		}
	}
}
