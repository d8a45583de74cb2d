package browsertest

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// DevicePrompt is the line `keyward login` prints for the person: the verification URL
// (submatch 1) and the code to type there (submatch 2).
var DevicePrompt = regexp.MustCompile(`open (\S+) in a browser and enter the code (\S+)\n`)

// DeviceLogin does in a fresh browser what a person does for an OAuth device login
// (`keyward login`): opens the verification URL, types the code, logs in to Keycloak as
// user (password = user name, as in the dev realm), approves or denies on Keycloak's
// grant page, and waits for the page saying the outcome. It fails t, with a screenshot,
// at the step that fails. The CLI's tests and the docs' snippet runner share it.
func DeviceLogin(t testing.TB, verificationURI, userCode, user string, approve bool) {
	t.Helper()
	b := New(t, 2*time.Minute)
	if err := chromedp.Do(b, chromedp.Navigate(verificationURI)); err != nil {
		t.Fatalf("open %s: %v", verificationURI, err)
	}
	if err := FillForm(b, chromedp.Click(chromedp.CSS("#kc-login")),
		Field{Selector: "#device_user_code", Value: userCode}); err != nil {
		t.Fatalf("enter the code: %v", err)
	}
	if err := KeycloakLogin(b, user, user); err != nil {
		Screenshot(t, b, "cli-login-"+user)
		t.Fatalf("log in as %s: %v", user, err)
	}
	// Keycloak asks the person to grant the device access (consentRequired is off, but
	// the device grant always asks): Yes is #kc-login, No #kc-cancel.
	button, outcome := "#kc-login", "Device Login Successful"
	if !approve {
		button, outcome = "#kc-cancel", "Device Login Failed"
	}
	if err := chromedp.Do(b, chromedp.WaitVisible(chromedp.CSS("#kc-cancel")), chromedp.Click(chromedp.CSS(button))); err != nil {
		Screenshot(t, b, "cli-grant-"+user)
		t.Fatalf("grant page: %v", err)
	}
	// The grant form posts and the page changes under us: read it until it says the outcome.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		text, err := chromedp.Run(b, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		if err == nil && strings.Contains(text, outcome) {
			return
		}
		if time.Now().After(deadline) {
			Screenshot(t, b, "cli-outcome-"+user)
			t.Fatalf("Keycloak did not say %q: %v %q", outcome, err, text)
		}
	}
}
