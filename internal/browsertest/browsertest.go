// Package browsertest drives Debian's chromium, headless, over the DevTools protocol
// (chromedp) for the tests of the console and of `keyward login`: a real browser on the
// real Keycloak login page.
package browsertest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto"
	"github.com/chromedp/chromedp"

	"github.com/keyward/keyward/internal/testkit"
)

// EnvChromium names the browser binary; by default chromium on PATH (.ci/run installs it).
const EnvChromium = "KEYWARD_TEST_CHROMIUM"

// EnvScreenshotDir, when set, is where Screenshot writes its PNG files (the docs'
// screenshots, docs/screenshots, are made with it); otherwise they go to the test's temporary directory.
const EnvScreenshotDir = "KEYWARD_SCREENSHOT_DIR"

// New starts a fresh headless browser (its own profile: no cookies shared with another
// call) and returns a context for chromedp.Do / chromedp.Run, bounded by timeout.
// Without chromium the test is skipped, or fails under make test.
func New(t testing.TB, timeout time.Duration) context.Context {
	t.Helper()
	path := os.Getenv(EnvChromium)
	if path == "" {
		if p, err := exec.LookPath("chromium"); err == nil {
			path = p
		}
	}
	if path == "" {
		if os.Getenv(testkit.EnvRequireIntegration) == "1" {
			t.Fatalf("browser tests required (%s=1) but no chromium on PATH and %s unset: .ci/run installs Debian's chromium",
				testkit.EnvRequireIntegration, EnvChromium)
		}
		t.Skipf("browser tests skipped: no chromium on PATH (%s names another binary)", EnvChromium)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // root in CI: chromium refuses its sandbox
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	if err := chromedp.Do(bctx); err != nil { // start the browser now: errors are clearer here
		t.Fatalf("starting %s: %v", path, err)
	}
	return bctx
}

// KeycloakLogin fills in and submits Keycloak's login page, which the browser must be on.
func KeycloakLogin(ctx context.Context, username, password string) error {
	return FillForm(ctx, chromedp.Click(chromedp.CSS("#kc-login")),
		Field{"#username", username}, Field{"#password", password})
}

// Field is a form input (a CSS selector) and what to type into it.
type Field struct{ Selector, Value string }

// FillForm waits for the first field to be visible, types each value into its field
// (emptied first) and runs submit. A page may re-render between chromedp finding a node
// and using it ("Could not find node with given id", seen once on Keycloak's update
// password page): then the whole form is filled again, up to three times.
func FillForm(ctx context.Context, submit chromedp.Action[chromedp.Void], fields ...Field) error {
	actions := []chromedp.Action[chromedp.Void]{chromedp.WaitVisible(chromedp.CSS(fields[0].Selector))}
	for _, f := range fields {
		actions = append(actions, chromedp.Clear(chromedp.CSS(f.Selector)), chromedp.SendKeys(chromedp.CSS(f.Selector), f.Value))
	}
	actions = append(actions, submit)
	var err error
	for range 3 {
		if err = chromedp.Do(ctx, actions...); !staleNode(err) {
			return err
		}
	}
	return err
}

// staleNode reports DevTools' answer for a node the page replaced after it was found.
func staleNode(err error) bool {
	var cdpErr *cdproto.Error
	return errors.As(err, &cdpErr) && strings.Contains(cdpErr.Message, "node with given id")
}

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9_-]+`)

// Screenshot writes a full-page PNG of the current page as <name>.png and returns its path.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	dir := os.Getenv(EnvScreenshotDir)
	if dir == "" {
		dir = t.TempDir()
	}
	// Nothing focused: a focused skip link would cover the navigation in the picture.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.activeElement && document.activeElement.blur(), true)`)); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100 means PNG
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, unsafeName.ReplaceAllString(name, "-")+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
