package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/keyward/keyward/internal/browsertest"
	"github.com/keyward/keyward/internal/kctest"
)

// A link to the console's login naming another site as its return path (issue 20,
// item 3) leaves the browser, after a real login on Keycloak's page, on the console's
// key list: whatever the browser would drop, fold or read as a slash. The other site
// is a server of the test's on another port (another origin), whose page would pass
// for a logged-in console page, so an escape fails at once and is counted.
func TestConsole_LoginNext_NeverLeavesTheSite(t *testing.T) {
	kc := kctest.Require(t)
	app := startConsoleApp(t, kc, "")
	var visits atomic.Int32
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		visits.Add(1)
		fmt.Fprint(w, `<!doctype html><title>evil</title><p id="who">evil</p>`)
	}))
	t.Cleanup(evil.Close)
	host := evil.Listener.Addr().String()

	variants := []struct{ name, next string }{
		{"tab", "/\t/" + host + "/x"}, // the reported one: /login?next=%2F%09%2F<host>%2Fx
		{"tab encoded", "/%09/" + host + "/x"},
		{"CR", "/\r/" + host + "/x"},
		{"CR encoded", "/%0d/" + host + "/x"},
		{"LF", "/\n/" + host + "/x"},
		{"slash backslash", "/\\" + host + "/x"},
		{"slash backslash encoded", "/%5c" + host + "/x"},
		{"backslash slash", "\\/" + host + "/x"},
		{"two slashes", "//" + host + "/x"},
		{"leading space", " //" + host + "/x"},
		{"division slash", "/\u2215" + host + "/x"},
		{"fullwidth slashes", "\uff0f\uff0f" + host + "/x"},
		{"fraction slash", "/\u2044" + host + "/x"},
		{"absolute URL", evil.URL + "/x"},
		{"scheme without slashes", "http:" + host + "/x"},
	}
	// One browser; each variant in a fresh browser context (no cookies: the console's
	// and Keycloak's), so each is a whole login through Keycloak's form.
	root := newBrowser(t, app)
	for _, v := range variants {
		t.Run(strings.ReplaceAll(v.name, " ", "_"), func(t *testing.T) {
			ctx, cancel := chromedp.NewContext(root.ctx, chromedp.WithNewBrowserContext())
			defer cancel()
			// The first call opens the context's tab; it must not run under a step's
			// timeout, whose end would close the tab.
			if err := chromedp.Do(ctx); err != nil {
				t.Fatalf("new browser context: %v", err)
			}
			b := &browser{t: t, ctx: ctx, app: app}
			b.open("/login?next=" + url.QueryEscape(v.next))
			if loc := b.location(); !strings.HasPrefix(loc, kc.URL+"/realms/"+kc.Realm+"/protocol/openid-connect/auth?") {
				t.Fatalf("not sent to Keycloak's login: %s", loc)
			}
			sctx, scancel := b.step()
			defer scancel()
			if err := browsertest.KeycloakLogin(sctx, "alice", "alice"); err != nil {
				t.Fatalf("Keycloak login: %v", err)
			}
			loc := b.settledOffKeycloak()
			if loc != app.consoleURL()+"/keys" {
				t.Fatalf("after the login the browser is on %s, want the console's key list", loc)
			}
			if who := b.text("#who"); who != "alice" {
				t.Fatalf("on the key list as %q, want alice", who)
			}
		})
	}
	if n := visits.Load(); n != 0 {
		t.Fatalf("the other site was visited %d times", n)
	}
}

// settledOffKeycloak waits until the browser has left Keycloak's pages and loaded
// wherever it was sent, and returns that address: an escape fails at once, not
// after a wait for an element that is not there.
func (b *browser) settledOffKeycloak() string {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		// Errors while a page is replaced (its context destroyed) just mean: not yet.
		st, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[location.href, document.readyState]`))
		if err == nil && len(st) == 2 && !strings.HasPrefix(st[0], b.app.kc.URL) && st[1] == "complete" {
			return st[0]
		}
		select {
		case <-ctx.Done():
			b.t.Fatalf("the browser did not leave Keycloak's pages: %v (last %v)", ctx.Err(), st)
		case <-tick.C:
		}
	}
}
