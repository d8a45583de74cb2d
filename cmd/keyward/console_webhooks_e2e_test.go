package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/keyward/keyward/internal/kctest"
)

// carol manages a webhook endpoint in the browser: a refused form keeps its input, the
// secret is shown once and verifies the deliveries with the reference library, the
// delivery log shows them and redelivers one under the same webhook-id, a new secret
// replaces the old one at once, and the endpoint is disabled and deleted.
func testConsoleWebhooks(t *testing.T, app *running) {
	rcv := newHookReceiver(t)
	b := newBrowser(t, app)
	b.login("carol")
	b.open("/admin/webhooks")
	b.accessible()
	b.do(chromedp.SendKeys(chromedp.CSS("#w-url"), "http://169.254.169.254/latest"), chromedp.Click(chromedp.CSS("#create-webhook")),
		chromedp.WaitVisible(chromedp.CSS(".field-error")))
	if got, url, events := b.value("#w-url"), b.text("#w-url ~ .field-error"), b.text("fieldset .field-error"); got != "http://169.254.169.254/latest" ||
		url == "" || !strings.Contains(events, "at least one event type") {
		t.Fatalf("refused form: kept %q, said %q and %q", got, url, events)
	}
	b.do(chromedp.SetValue(chromedp.CSS("#w-url"), rcv.URL+"/hook"), chromedp.Click(chromedp.CSS(`input[name=event_types][value="key.created"]`)),
		chromedp.Click(chromedp.CSS("#create-webhook")), chromedp.WaitVisible(chromedp.CSS("#webhook-secret")))
	secret := b.value("#webhook-secret")
	remember(secret)
	if !strings.HasPrefix(secret, "whsec_") || !strings.Contains(b.text("#secret-warning"), "not shown again") {
		t.Fatalf("secret page: %q, %q", secret, b.text("#secret-warning"))
	}
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	alice := app.kc.Login(t, "alice")
	keyID, _ := app.createKey(t, alice, kctest.Unique("hooked"))
	first, _ := rcv.await(t, "key.created", keyID)
	if err := wh.Verify(first.body, first.header); err != nil {
		t.Fatalf("the secret from the page does not verify the delivery: %v", err)
	}

	b.do(chromedp.Click(chromedp.CSS("#to-webhook")), chromedp.WaitVisible(chromedp.CSS("#save-webhook")))
	if strings.Contains(b.html(), secret) {
		t.Fatal("the endpoint's page holds its secret")
	}
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(b.text("main"), "succeeded"); {
		if time.Now().After(deadline) {
			t.Fatalf("the delivery log never showed the delivery: %s", b.text("#deliveries-h ~ *"))
		}
		time.Sleep(200 * time.Millisecond)
		b.do(chromedp.Reload())
	}
	b.shot("webhook")
	b.do(chromedp.Click(chromedp.CSS("button.redeliver")), chromedp.WaitVisible(chromedp.CSS(".flash")))
	deadline := time.Now().Add(30 * time.Second)
	for rcv.count(first.header.Get("webhook-id")) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the redelivery never came")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// A new secret, no overlap: the next delivery verifies with it, not with the old one.
	b.do(chromedp.Click(chromedp.CSS("#rotate-secret")), chromedp.WaitVisible(chromedp.CSS("#webhook-secret")))
	rotated := b.value("#webhook-secret")
	remember(rotated)
	whNew, err := standardwebhooks.NewWebhook(rotated)
	if err != nil || rotated == secret {
		t.Fatalf("rotated secret %v (same as before: %v)", err, rotated == secret)
	}
	keyID2, _ := app.createKey(t, alice, kctest.Unique("hooked"))
	second, _ := rcv.await(t, "key.created", keyID2)
	if whNew.Verify(second.body, second.header) != nil || wh.Verify(second.body, second.header) == nil {
		t.Fatal("after the new secret, deliveries are not signed by it alone")
	}

	b.do(chromedp.Click(chromedp.CSS("#to-webhook")), chromedp.WaitVisible(chromedp.CSS("#webhook-disable")),
		chromedp.Click(chromedp.CSS("#webhook-disable")), chromedp.WaitVisible(chromedp.CSS("#webhook-enable")))
	if state := b.text("#webhook-state"); state != "disabled" {
		t.Fatalf("state after disable: %q", state)
	}
	b.do(chromedp.Click(chromedp.CSS("#webhook-delete")), chromedp.WaitVisible(chromedp.CSS("#confirm")),
		chromedp.Click(chromedp.CSS("#confirm")), chromedp.WaitVisible(chromedp.CSS("#no-webhooks")))
}

// count is how many requests came with this webhook-id.
func (r *hookReceiver) count(messageID string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, req := range r.got {
		if req.header.Get("webhook-id") == messageID {
			n++
		}
	}
	return n
}

// Webhook pages are for admins: bob gets 403 on them, and his POST creates nothing.
func testConsoleWebhooksForbidden(t *testing.T, app *running, b *browser, csrf string) {
	got := call(t, "POST", app.consoleURL()+"/admin/webhooks", strings.NewReader("csrf="+csrf+"&url=http://127.0.0.1:1/x&event_types=*"),
		"Content-Type", "application/x-www-form-urlencoded", "Origin", app.consoleURL(), "Cookie", "kw_session="+b.cookie("kw_session"))
	list := call(t, "GET", app.url+"/v1/webhooks", nil, "Authorization", "Bearer "+app.kc.Login(t, "carol"))
	if got.status != http.StatusForbidden || strings.Contains(list.raw, "127.0.0.1:1") {
		t.Fatalf("bob creating a webhook: %d; endpoints now %s", got.status, list.raw)
	}
}
