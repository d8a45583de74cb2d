package webhooks_test

import (
	"regexp"
	"testing"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/webhooks"
)

var urlPattern = regexp.MustCompile(api.WebhookURLPattern)

// openGuard allows every network, so that only the URL's shape is judged.
func openGuard(t testing.TB) *webhooks.Guard {
	g, err := webhooks.NewGuard([]string{"0.0.0.0/0", "::/0"})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// The document must not promise a URL the server refuses for its shape.
func checkPatternAdmitted(t *testing.T, g *webhooks.Guard, raw string) {
	t.Helper()
	if urlPattern.MatchString(raw) {
		if msg := g.CheckURL(raw); msg != "" {
			t.Fatalf("%q matches URLPattern but CheckURL says %q", raw, msg)
		}
	}
}

func TestURLPattern(t *testing.T) {
	g := openGuard(t)
	for _, tc := range []struct {
		url   string
		match bool
	}{
		{"https://hooks.example.com/keyward?x=1&y=%zz", true},
		{"http://0", true},
		{"http://x:", true},
		{"http://x:65535/a%20b", true},
		{"http://a!$&'()*+,;=b", true},
		{"http://x:65536", false},
		{"http://x:99999", false},
		{"http://x/%zz", false},
		{"http://user@x", false},
		{"http://@x", false},
		{"http://", false},
		{"http://x/#frag", false},
		{"http://x/a b", false},
		{"http://x/a\x01", false},
		{"http://x/a\u0085", false},
		{"ftp://x", false},
		{"http://[::1]/", false},
	} {
		if got := urlPattern.MatchString(tc.url); got != tc.match {
			t.Errorf("%q: matches %v, want %v", tc.url, got, tc.match)
		}
		checkPatternAdmitted(t, g, tc.url)
	}
}

func FuzzURLPattern(f *testing.F) {
	for _, s := range []string{"http://0", "https://a.b:443/p/q?r#", "http://x:65535/%41", "http://x:0/?", "http://!/"} {
		f.Add(s)
	}
	g := openGuard(f)
	f.Fuzz(func(t *testing.T, raw string) { checkPatternAdmitted(t, g, raw) })
}
