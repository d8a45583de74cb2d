package cli

import (
	"strings"
	"testing"
)

func TestProxyCommand_BadUsage_EveryProblemNamed(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"no KEYWARD_URL", nil, []string{"--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:9"}, []string{"KEYWARD_URL is not set"}},
		{"no flags", map[string]string{"KEYWARD_URL": "http://127.0.0.1:1"}, nil, []string{"--listen is required", "--upstream is required"}},
		{"plain http elsewhere", map[string]string{"KEYWARD_URL": "http://keyward.example.com"},
			[]string{"--listen", "127.0.0.1:0", "--upstream", "http://api.example.com"},
			[]string{`--upstream "http://api.example.com" is plain http`, `KEYWARD_URL "http://keyward.example.com" is plain http`}},
		{"not a URL", map[string]string{"KEYWARD_URL": "http://127.0.0.1:1"},
			[]string{"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9000"}, []string{`--upstream "127.0.0.1:9000" is not an http(s) URL`}},
		{"password in the upstream URL", map[string]string{"KEYWARD_URL": "http://127.0.0.1:1"},
			[]string{"--listen", "127.0.0.1:0", "--upstream", "http://u:secret@127.0.0.1:9000"}, []string{"must not carry a user name or password"}},
		{"no grace", map[string]string{"KEYWARD_URL": "http://127.0.0.1:1"},
			[]string{"--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:9", "--shutdown-grace", "0s"}, []string{"--shutdown-grace must be positive"}},
		{"a key as an argument", map[string]string{"KEYWARD_URL": "http://127.0.0.1:1"},
			[]string{"--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:9", "kw_live_x"}, []string{"unknown command"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := cli(t, tc.env, append([]string{"proxy"}, tc.args...)...)
			if code != ExitUsage {
				t.Fatalf("exit %d, want %d: %q", code, ExitUsage, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q lacks %q", errOut, w)
				}
			}
			if strings.Contains(errOut, "secret") {
				t.Errorf("a password in the message: %q", errOut)
			}
		})
	}
}

func TestProxy_Flags(t *testing.T) {
	f := &Factory{Getenv: func(string) string { return "" }}
	var got *ProxyOptions
	if err := runCmd(NewCmdProxy(f, func(o *ProxyOptions) error { got = o; return nil }), "--listen", ":8000", "--upstream", "http://127.0.0.1:9000"); err != nil ||
		got.Listen != ":8000" || got.Upstream != "http://127.0.0.1:9000" || got.Grace.Seconds() != 30 {
		t.Fatalf("parsed: %+v %v", got, err)
	}
}
