package main

// The command line: `keyward server` runs the service; the other commands are the
// user's: login/logout/whoami (cli_login.go), keys (cli_keys.go), the admin commands
// (cli_admin.go), and token / exec, which trade KEYWARD_API_KEY for an access token.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"golang.org/x/oauth2"

	"github.com/keyward/keyward/client"
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

// Exit codes a script can tell apart.
const (
	exitError       = 1 // anything else
	exitUsage       = 2 // the command line or the configuration is wrong
	exitNotLoggedIn = 3 // no login for this KEYWARD_URL, or it has ended: keyward login
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

// cliEnv is what the commands read from the world: the environment, stdin, whether a
// person is at a terminal (a browser may then be opened) and the HTTP client.
type cliEnv struct {
	getenv      func(string) string
	stdin       io.Reader
	interactive bool
	openBrowser func(url string) error // nil: none on this machine
	httpClient  *http.Client
}

func newRootCommand(stdout, stderr io.Writer, e *cliEnv) *cobra.Command {
	root := &cobra.Command{
		Use:   "keyward",
		Short: "Personal API keys traded for Keycloak tokens",
		Long: "keyward runs the Keyward service (keyward server) and is its command line.\n" +
			"Only KEYWARD_URL needs to be set for the user commands.\n\n" +
			"Exit codes: 1 error, 2 usage, 3 not logged in, 4 refused, 5 rate limited, 6 unavailable.",
		Example: "  export KEYWARD_URL=https://keyward.example.com\n  keyward login\n  KEY=$(keyward keys create --name ci --expires-in 90d)\n" +
			"  KEYWARD_API_KEY=$KEY keyward token",
		Version:       buildVersion(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetIn(e.stdin)
	root.AddCommand(newServerCommand(e.getenv), newTokenCommand(e.getenv), newExecCommand(e.getenv),
		newLoginCommand(e), newLogoutCommand(e), newWhoamiCommand(e), newKeysCommand(e),
		newConsumersCommand(e), newClientsCommand(e), newACLGroupsCommand(e), newWebhooksCommand(e), newProxyCommand(e))
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
	root.AddCommand(newSigningKeysCommand(e.getenv))
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
		return &exitErr{exitRateLimited, fmt.Errorf("rate limited: try again in %s", shortDuration(ce.RetryAfter.Round(time.Second)))}
	case errors.Is(err, client.ErrRateLimited):
		return &exitErr{exitRateLimited, errors.New("rate limited: try again later")}
	case errors.Is(err, client.ErrUnavailable):
		return &exitErr{exitUnavailable, errors.New("Keyward or Keycloak cannot be reached: try again later")}
	}
	return &exitErr{exitError, err}
}

func newTokenCommand(getenv func(string) string) *cobra.Command {
	var keyFile, output string
	var kubectl bool
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Print an access token for the API key in KEYWARD_API_KEY",
		Long: "Trade the API key in KEYWARD_API_KEY (or --key-file; never a flag value, which would stay in\n" +
			"shell history and ps) for a Keycloak access token, printed alone on stdout.\n" +
			"--kubectl prints a client.authentication.k8s.io/v1 ExecCredential for a kubeconfig exec entry.",
		Example: "  curl -H \"Authorization: Bearer $(keyward token)\" https://api.example.com/\n" +
			"  keyward token --key-file ~/.config/keyward/ci.key -o json\n" +
			"  # kubeconfig user: exec: {apiVersion: client.authentication.k8s.io/v1, command: keyward,\n" +
			"  #   args: [token, --kubectl, --key-file, /home/me/.config/keyward/k8s.key], interactiveMode: Never}\n" +
			"  keyward token --kubectl --key-file ~/.config/keyward/k8s.key",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return &exitErr{exitUsage, fmt.Errorf("-o %q: use text or json", output)}
			}
			if kubectl && cmd.Flags().Changed("output") {
				return &exitErr{exitUsage, errors.New("--kubectl prints an ExecCredential: give it without -o")}
			}
			tok, err := accessToken(cmd.Context(), getenv, keyFile)
			if err != nil {
				return err
			}
			if kubectl {
				return writeJSON(cmd.OutOrStdout(), execCredential(tok))
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
	cmd.Flags().BoolVar(&kubectl, "kubectl", false, "print a Kubernetes ExecCredential (client.authentication.k8s.io/v1)")
	return cmd
}

// ExecCredential of client.authentication.k8s.io/v1, as a credential plugin prints it.
type execCredentialV1 struct {
	APIVersion string               `json:"apiVersion"`
	Kind       string               `json:"kind"`
	Status     execCredentialStatus `json:"status"`
}

type execCredentialStatus struct {
	ExpirationTimestamp string `json:"expirationTimestamp"` // RFC 3339: kubectl asks again after it
	Token               string `json:"token"`
}

func execCredential(tok *oauth2.Token) execCredentialV1 {
	return execCredentialV1{APIVersion: "client.authentication.k8s.io/v1", Kind: "ExecCredential",
		Status: execCredentialStatus{ExpirationTimestamp: tok.Expiry.UTC().Format(time.RFC3339), Token: tok.AccessToken}}
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
	return runCLIWith(ctx, args, os.Stdin, stdout, stderr, getenv, isTerminal(stdout))
}

// runCLIWith is runCLI with stdin given and the terminal question answered (tests).
func runCLIWith(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string, interactive bool) int {
	// Never follow a redirect: a refresh token or an access token is for the URL it was
	// meant for (net/http would resend a POST body on 307/308).
	hc := &http.Client{Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	e := &cliEnv{getenv: getenv, stdin: stdin, interactive: interactive, httpClient: hc}
	if interactive {
		e.openBrowser = systemBrowser(getenv)
	}
	root := newRootCommand(stdout, stderr, e)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var x *exitErr
	if errors.As(err, &x) {
		if !strings.HasSuffix(x.err.Error(), "exited with status "+fmt.Sprint(x.code)) {
			fmt.Fprintln(stderr, "keyward:", oneLine(x.err.Error()))
		}
		return x.code
	}
	fmt.Fprintln(stderr, "keyward:", oneLine(err.Error())) // cobra's own: an unknown command or flag
	return exitUsage
}

// isTerminal: w is a character device (a person's terminal, not a pipe or a file).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
