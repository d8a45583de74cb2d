// Command keyward serves Keyward: personal API keys traded for Keycloak-issued tokens.
package main

import (
	"context"
	"io"
	"os"
	"runtime/debug"

	"github.com/keyward/keyward/cli"
	"github.com/keyward/keyward/server"
)

// version is set at build time (-ldflags "-X main.version=…"); else buildVersion.
var version = "dev"

// buildVersion is the module version a `go install …@v1.2.3` stamps into the binary,
// when the build flags gave none.
func buildVersion() string {
	if version != "dev" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return version
}

func main() {
	os.Exit(runCLI(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// runCLI runs the command line (package cli) with the service wired here; it returns
// the exit code.
func runCLI(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	return runCLIWith(ctx, args, os.Stdin, stdout, stderr, getenv, cli.IsTerminal(stdout))
}

// runCLIWith is runCLI with stdin given and the terminal question answered (tests).
func runCLIWith(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string, interactive bool) int {
	f := cli.NewFactory(getenv, stdin, stdout, stderr, interactive)
	f.Version = buildVersion()
	f.Service = cli.Service{Serve: server.Serve, OpenKeyRing: server.OpenKeyRing}
	return cli.Run(ctx, f, args)
}
