package main

// The command line: `keyward server` runs the service; the other commands are the
// user's (issue 13 grows them: login, keys, admin commands). What exists today:
// `keyward token` and `keyward exec`, which trade KEYWARD_API_KEY for an access token.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"golang.org/x/oauth2"

	"github.com/keyward/keyward/client"
)

// version is set at build time (-ldflags "-X main.version=…").
var version = "dev"

// Exit codes a script can tell apart.
const (
	exitError       = 1 // anything else
	exitUsage       = 2 // the command line or the configuration is wrong
	exitRefused     = 4 // Keyward refused the key (unknown, revoked, expired, disabled)
	exitRateLimited = 5 // the key's rate limit: try again after the time printed
	exitUnavailable = 6 // Keyward or Keycloak cannot be reached: try again later
)

// exitErr carries an exit code through cobra.
type exitErr struct {
	code int
	err  error
}

func (e *exitErr) Error() string { return e.err.Error() }

func newRootCommand(stdout, stderr io.Writer, getenv func(string) string) *cobra.Command {
	root := &cobra.Command{
		Use:           "keyward",
		Short:         "Personal API keys traded for Keycloak tokens",
		Long:          "keyward runs the Keyward service (keyward server) and is its command line.\nOnly KEYWARD_URL needs to be set for the user commands.",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newServerCommand(getenv), newTokenCommand(getenv), newExecCommand(getenv))
	root.AddCommand(newSigningKeysCommand(getenv))
	return root
}

func newServerCommand(getenv func(string) string) *cobra.Command {
	return &cobra.Command{
		Use:   "server [-flag value …]",
		Short: "Run the Keyward service",
		Long: "Run the Keyward service. Settings come from KEYWARD_* environment variables, each also a flag\n" +
			"(KEYWARD_LISTEN_ADDR → -listen-addr); `keyward server -h` lists them.",
		Example:            "  KEYWARD_CLIENT_SECRET=… KEYWARD_ADMIN_CLIENT_SECRET=… keyward server -listen-addr 127.0.0.1:8080",
		DisableFlagParsing: true, // the service's own flag set (config.Load) reads them
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(args, getenv)
			if errors.Is(err, flagHelp) {
				return nil
			}
			if err != nil {
				return &exitErr{exitUsage, err}
			}
			log, err := newLogger(cfg)
			if err != nil {
				return &exitErr{exitUsage, err}
			}
			defer func() { _ = log.Sync() }()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if err := serve(ctx, cfg, log); err != nil {
				log.Error("keyward stopped", zap.Error(err))
				return &exitErr{exitError, errors.New("stopped: see the log")}
			}
			return nil
		},
	}
}

// accessToken trades the key for a token. The key comes from KEYWARD_API_KEY or a file —
// never from a flag value, which would stay in shell history and ps.
func accessToken(ctx context.Context, getenv func(string) string, keyFile string) (*oauth2.Token, error) {
	lookup := getenv
	if keyFile != "" {
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return nil, &exitErr{exitUsage, fmt.Errorf("--key-file: %w", err)}
		}
		key := strings.TrimSpace(string(b))
		lookup = func(name string) string {
			if name == client.EnvAPIKey {
				return key
			}
			return getenv(name)
		}
	}
	switch {
	case lookup(client.EnvAPIKey) == "":
		return nil, &exitErr{exitUsage, errors.New("no API key: set KEYWARD_API_KEY or give --key-file")}
	case lookup(client.EnvURL) == "":
		return nil, &exitErr{exitUsage, errors.New("KEYWARD_URL is not set (e.g. export KEYWARD_URL=http://127.0.0.1:8080)")}
	}
	ts, err := client.FromLookup(lookup)
	if err != nil {
		return nil, &exitErr{exitUsage, err}
	}
	tok, err := ts.TokenContext(ctx)
	if err != nil {
		return nil, exchangeFailed(err)
	}
	return tok, nil
}

// exchangeFailed turns a failed exchange into one line and its exit code.
func exchangeFailed(err error) error {
	var ce *client.Error
	switch {
	case errors.Is(err, client.ErrInvalidKey):
		return &exitErr{exitRefused, errors.New("the API key was refused: it is unknown, revoked, expired or disabled")}
	case errors.Is(err, client.ErrRateLimited) && errors.As(err, &ce) && ce.RetryAfter > 0:
		return &exitErr{exitRateLimited, fmt.Errorf("rate limited: try again in %s", ce.RetryAfter.Round(time.Second))}
	case errors.Is(err, client.ErrRateLimited):
		return &exitErr{exitRateLimited, errors.New("rate limited: try again later")}
	case errors.Is(err, client.ErrUnavailable):
		return &exitErr{exitUnavailable, errors.New("Keyward or Keycloak cannot be reached: try again later")}
	}
	return &exitErr{exitError, err}
}

func newTokenCommand(getenv func(string) string) *cobra.Command {
	var keyFile, output string
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Print an access token for the API key in KEYWARD_API_KEY",
		Example: "  curl -H \"Authorization: Bearer $(keyward token)\" https://api.example.com/\n" +
			"  keyward token --key-file ~/.config/keyward/ci.key -o json",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return &exitErr{exitUsage, fmt.Errorf("-o %q: use text or json", output)}
			}
			tok, err := accessToken(cmd.Context(), getenv, keyFile)
			if err != nil {
				return err
			}
			if output == "json" {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{
					"access_token": tok.AccessToken, "token_type": tok.TokenType,
					"expires_in": int(time.Until(tok.Expiry).Seconds()), "expiry": tok.Expiry.UTC().Format(time.RFC3339),
				})
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), tok.AccessToken)
			return err
		},
	}
	cmd.Flags().StringVar(&keyFile, "key-file", "", "read the API key from this file instead of KEYWARD_API_KEY")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text (the token alone) or json")
	return cmd
}

func newExecCommand(getenv func(string) string) *cobra.Command {
	var keyFile string
	cmd := &cobra.Command{
		Use:     "exec -- command [args…]",
		Short:   "Run a command with KEYWARD_ACCESS_TOKEN set from the API key",
		Example: "  KEYWARD_API_KEY=$KEY keyward exec -- python report.py",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tok, err := accessToken(cmd.Context(), getenv, keyFile)
			if err != nil {
				return err
			}
			child := exec.CommandContext(cmd.Context(), args[0], args[1:]...)
			child.Stdin, child.Stdout, child.Stderr = os.Stdin, cmd.OutOrStdout(), cmd.ErrOrStderr()
			// The key itself stays out of the child's environment.
			for _, kv := range os.Environ() {
				if !strings.HasPrefix(kv, "KEYWARD_API_KEY=") {
					child.Env = append(child.Env, kv)
				}
			}
			child.Env = append(child.Env, "KEYWARD_ACCESS_TOKEN="+tok.AccessToken)
			err = child.Run()
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				return &exitErr{exit.ExitCode(), fmt.Errorf("%s exited with status %d", args[0], exit.ExitCode())}
			}
			if err != nil {
				return &exitErr{exitError, err}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&keyFile, "key-file", "", "read the API key from this file instead of KEYWARD_API_KEY")
	return cmd
}

// runCLI runs the command line and returns the exit code.
func runCLI(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	root := newRootCommand(stdout, stderr, getenv)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var e *exitErr
	if errors.As(err, &e) {
		if !strings.HasSuffix(e.err.Error(), "exited with status "+fmt.Sprint(e.code)) {
			fmt.Fprintln(stderr, "keyward:", e.err)
		}
		return e.code
	}
	fmt.Fprintln(stderr, "keyward:", err) // cobra's own: an unknown command or flag
	return exitUsage
}
