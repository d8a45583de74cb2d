package leaks

import (
	"strings"
	"testing"
)

// Only a well-formed host of an http(s) URL is ever taken from a report; the rest of
// the URL never is, and anything doubtful gives nothing.
func TestReportedHost(t *testing.T) {
	for _, c := range []struct{ url, want string }{
		{"https://github.com/octocat/Hello-World/blob/main/.env", "github.com"},
		{"https://GitHub.COM/x?token=y#z", "github.com"},
		{"http://gist.github.com:8443/a", "gist.github.com"},
		{"https://github.com./x", "github.com"},
		{"https://user:pass@github.com/x", "github.com"},
		{"https://github.com@evil.example/login", "evil.example"}, // the real host, not the user part
		{"https://192.0.2.7/x", "192.0.2.7"},
		{"https://[2001:db8::1]:443/x", "2001:db8::1"},
		{"https://xn--gthub-zsa.com/x", "xn--gthub-zsa.com"}, // punycode is ASCII: shown as it is
		{"https://localhost/x", "localhost"},
		{"", ""},
		{"github.com/x", ""},                 // no scheme: no host
		{"//github.com/x", ""},               // no scheme
		{"ftp://github.com/x", ""},           // not http(s)
		{"javascript:alert(1)", ""},          // no host
		{"mailto:security@evil.example", ""}, // no host
		{"https:///x", ""},                   // empty host
		{"https://gïthub.com/x", ""},         // not ASCII
		{"https://evil_host.example/x", ""},  // underscore
		{"https://-evil.example/x", ""},      // label starts with a hyphen
		{"https://evil-.example/x", ""},      // label ends with a hyphen
		{"https://evil..example/x", ""},      // empty label
		{"https://999.1.1.1/x", ""},          // looks like an address, is none
		{"https://[fe80::1%25eth0]/x", ""},   // zone
		{"https://evil.example%20log%20in/x", ""},
		{"https://evil.example\\@github.com/", ""},
		{"https://" + strings.Repeat("a", 64) + ".example/", ""},                   // label over 63
		{"https://" + strings.Repeat(strings.Repeat("a", 60)+".", 5) + "com/", ""}, // name over 253
		{"https://log in at evil.example/", ""},
	} {
		if got := reportedHost(c.url); got != c.want {
			t.Errorf("reportedHost(%q) = %q, want %q", c.url, got, c.want)
		}
	}
}
