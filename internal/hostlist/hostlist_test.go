package hostlist

import (
	"strings"
	"testing"
)

func TestParse_RefusesWhatIsNoHost(t *testing.T) {
	for entry, says := range map[string]string{
		"https://app.example.com": "must be a host name",
		"app.example.com/cb":      "must be a host name",
		"*":                       "must be a host name",
		"*.com":                   "must name a domain",
		"a.*.example.com":         "must be a host name",
		"app.example.com:443":     "only loopback hosts",
		"10.0.0.1:8080":           "only loopback hosts",
		"127.0.0.1:0":             "no valid port",
		"127.0.0.1:99999":         "no valid port",
		"-bad.example.com":        "must be a host name",
		"app_example.com":         "must be a host name",
	} {
		if _, problem := Parse([]string{"ok.example.com", entry}); !strings.Contains(problem, says) || !strings.Contains(problem, entry) {
			t.Errorf("%q: problem %q, want one naming it and saying %q", entry, problem, says)
		}
	}
}

func TestAllows(t *testing.T) {
	l, problem := Parse([]string{"App.Example.com", " *.apps.example.org ", "127.0.0.1:8765", "[::1]:9000", "localhost", ""})
	if problem != "" {
		t.Fatal(problem)
	}
	for _, c := range []struct {
		host, port string
		want       bool
	}{
		{"app.example.com", "", true},
		{"APP.example.com", "8443", true},
		{"evil-app.example.com", "", false},
		{"app.example.com.evil.net", "", false},
		{"example.com", "", false},
		{"x.apps.example.org", "", true},
		{"a.b.apps.example.org", "", true},
		{"apps.example.org", "", false},
		{"evilapps.example.org", "", false},
		{"127.0.0.1", "8765", true},
		{"127.0.0.1", "8766", false},
		{"127.0.0.1", "", false},
		{"::1", "9000", true},
		{"localhost", "1234", true},
	} {
		if got := l.Allows(c.host, c.port); got != c.want {
			t.Errorf("Allows(%q, %q) = %v, want %v", c.host, c.port, got, c.want)
		}
	}
	if (List{}).Allows("app.example.com", "") || !(List{}).Empty() || l.Empty() {
		t.Error("the empty list must allow nothing")
	}
}
