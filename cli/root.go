// Package cli is keyward's command line: the root command and every subcommand, one
// file and one test per command (<noun>_<verb>.go), in gh's pkg/cmd style: an options
// struct (XOptions) with what the command takes from the Factory, NewCmdX(f, runF) that
// parses into it (runF lets a test stop there), and xRun that does the work. <noun>.go
// holds the noun's parent command and what its verbs share. What only main has, the
// service's wiring and the version, comes in through the Factory.
package cli

// `keyward server` runs the service; the other commands are the user's: login, logout,
// whoami, keys, the admin commands (consumers, clients, acl-groups, webhooks), proxy, and
// token / exec, which trade KEYWARD_API_KEY for an access token; signing-keys is the
// operator's. The tests run each command against the real API in process
// (internal/apitest); cmd/keyward keeps real-stack smoke tests.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes a script can tell apart.
const (
	ExitError       = 1 // anything else
	ExitUsage       = 2 // the command line or the configuration is wrong
	ExitNotLoggedIn = 3 // no login for this KEYWARD_URL, or it has ended: keyward login
	ExitRefused     = 4 // Keyward refused the key (unknown, revoked, expired, disabled)
	ExitRateLimited = 5 // the key's rate limit: try again after the time printed
	ExitUnavailable = 6 // Keyward or Keycloak cannot be reached: try again later
)

// exitErr carries an exit code through cobra.
type exitErr struct {
	code int
	err  error
}

func (e *exitErr) Error() string { return e.err.Error() }

// New is the root command, every subcommand under it.
func New(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "keyward",
		Short: "Personal API keys traded for Keycloak tokens",
		Long: "keyward runs the Keyward service (keyward server) and is its command line.\n" +
			"Only KEYWARD_URL needs to be set for the user commands.\n\n" +
			"Exit codes: 1 error, 2 usage, 3 not logged in, 4 refused, 5 rate limited, 6 unavailable.",
		Example: "  export KEYWARD_URL=https://keyward.example.com\n  keyward login\n  KEY=$(keyward keys create --name ci --expires-in 90d)\n" +
			"  KEYWARD_API_KEY=$KEY keyward token",
		Version:       f.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(f.Stdout)
	root.SetErr(f.Stderr)
	root.SetIn(f.Stdin)
	root.AddCommand(NewCmdServer(f, nil), NewCmdToken(f, nil), NewCmdExec(f, nil),
		NewCmdLogin(f, nil), NewCmdLogout(f, nil), NewCmdWhoami(f, nil), newKeysCommand(f),
		newConsumersCommand(f), newClientsCommand(f), newACLGroupsCommand(f), newWebhooksCommand(f), NewCmdProxy(f, nil))
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			c.Example = "  source <(keyward completion bash)                                  # bash, this shell\n" +
				"  keyward completion zsh > \"${fpath[1]}/_keyward\"                      # zsh\n" +
				"  keyward completion fish > ~/.config/fish/completions/keyward.fish  # fish"
			for _, sub := range c.Commands() {
				sub.Example = "  keyward completion " + sub.Name() + " -h   # how to load it"
			}
		}
	}
	root.AddCommand(newSigningKeysCommand(f))
	return root
}

// Run runs the command line and returns the exit code.
func Run(ctx context.Context, f *Factory, args []string) int {
	root := New(f)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var x *exitErr
	if errors.As(err, &x) && strings.HasSuffix(x.err.Error(), "exited with status "+fmt.Sprint(x.code)) {
		return x.code // exec: the command's own code, already said
	}
	fmt.Fprintln(f.Stderr, "keyward:", oneLine(err.Error()))
	return exitCode(err)
}

// exitCode is the code a failed command exits with: its own, else a usage error
// (cobra's: an unknown command or flag).
func exitCode(err error) int {
	var x *exitErr
	if errors.As(err, &x) {
		return x.code
	}
	return ExitUsage
}

// IsTerminal: w is a character device (a person's terminal, not a pipe or a file).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
