package cli

import (
	"context"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/keyward/keyward/config"
)

func TestServer(t *testing.T) {
	served := false
	f := &Factory{Getenv: func(string) string { return "" },
		Service: Service{Serve: func(context.Context, config.Config, *zap.Logger) error { served = true; return nil }}}
	var got *ServerOptions
	// The service's own flags reach config.Load untouched.
	if err := runCmd(NewCmdServer(f, func(o *ServerOptions) error { got = o; return nil }), "-listen-addr", "127.0.0.1:0"); err != nil ||
		strings.Join(got.Args, " ") != "-listen-addr 127.0.0.1:0" {
		t.Fatalf("parsed: %+v %v", got, err)
	}
	// A configuration that does not load is a usage error, and nothing is served.
	if err := runCmd(NewCmdServer(f, nil), "-no-such-flag"); exitCode(err) != ExitUsage || served {
		t.Fatalf("bad flag: %v, served %v", err, served)
	}
	if err := runCmd(NewCmdServer(f, nil)); exitCode(err) != ExitUsage || served {
		t.Fatalf("no configuration: %v, served %v", err, served)
	}
}
