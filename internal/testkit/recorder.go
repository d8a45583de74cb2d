package testkit

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// Recorder stands in for t to see whether a helper such as pgtest.DSN skips or fails,
// without doing either: Fatalf and Skipf record their message and end the goroutine.
type Recorder struct {
	testing.TB
	FatalText, SkipText string
}

func (r *Recorder) Helper()        {}
func (r *Recorder) Cleanup(func()) {}
func (r *Recorder) Fatalf(format string, args ...any) {
	r.FatalText = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *Recorder) Skipf(format string, args ...any) {
	r.SkipText = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// Record runs f with a Recorder standing in for t and returns what it recorded.
func Record(t testing.TB, f func(testing.TB)) *Recorder {
	r := &Recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

// CheckRequire checks the ways f, a helper built on Require that reads env, may go
// without a working server: with env unset it is skipped, naming env and the script
// that starts one, or with KEYWARD_REQUIRE_INTEGRATION=1 it fails, naming both
// variables; with env set to each of badServers it fails, without a skip and without
// password in its message, for a configured server that fails must fail the test.
func CheckRequire(t *testing.T, env, script string, f func(testing.TB), password string, badServers ...string) {
	t.Run("no server skips and says how", func(t *testing.T) {
		t.Setenv(env, "")
		t.Setenv(EnvRequireIntegration, "")
		r := Record(t, f)
		if r.FatalText != "" || !strings.Contains(r.SkipText, env) || !strings.Contains(r.SkipText, script) {
			t.Fatalf("skip = %q, fatal = %q; want a skip naming %s and %s", r.SkipText, r.FatalText, env, script)
		}
	})
	t.Run("no server with integration required fails", func(t *testing.T) {
		t.Setenv(env, "")
		t.Setenv(EnvRequireIntegration, "1")
		r := Record(t, f)
		if r.SkipText != "" || !strings.Contains(r.FatalText, env) || !strings.Contains(r.FatalText, EnvRequireIntegration) {
			t.Fatalf("skip = %q, fatal = %q; want a failure naming both variables", r.SkipText, r.FatalText)
		}
	})
	t.Run("bad server fails without the password", func(t *testing.T) {
		for _, server := range badServers {
			t.Setenv(env, server)
			t.Setenv(EnvRequireIntegration, "")
			r := Record(t, f)
			if r.SkipText != "" || r.FatalText == "" {
				t.Errorf("%s: skip = %q, fatal = %q; a configured server that fails must fail the test", server, r.SkipText, r.FatalText)
			}
			if strings.Contains(r.FatalText, password) {
				t.Errorf("failure message holds the password: %s", r.FatalText)
			}
		}
	})
}
