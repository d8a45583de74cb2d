package cli

// keyward token: the API key in KEYWARD_API_KEY (or a file) traded for an access token,
// alone, as JSON, or as a kubectl ExecCredential.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/oauth2"

	"github.com/keyward/keyward/client"
)

// accessToken trades the key for a token. The key comes from KEYWARD_API_KEY or a file —
// never from a flag value, which would stay in shell history and ps.
func accessToken(ctx context.Context, getenv func(string) string, keyFile string) (*oauth2.Token, error) {
	lookup := getenv
	if keyFile != "" {
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return nil, &exitErr{ExitUsage, fmt.Errorf("--key-file: %w", err)}
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
		return nil, &exitErr{ExitUsage, errors.New("no API key: set KEYWARD_API_KEY or give --key-file")}
	case lookup(client.EnvURL) == "":
		return nil, &exitErr{ExitUsage, errors.New("KEYWARD_URL is not set (e.g. export KEYWARD_URL=http://127.0.0.1:8080)")}
	}
	ts, err := client.FromLookup(lookup)
	if err != nil {
		return nil, &exitErr{ExitUsage, err}
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
		return &exitErr{ExitRefused, errors.New("the API key was refused: it is unknown, revoked, expired or disabled")}
	case errors.Is(err, client.ErrRateLimited) && errors.As(err, &ce) && ce.RetryAfter > 0:
		return &exitErr{ExitRateLimited, fmt.Errorf("rate limited: try again in %s", shortDuration(ce.RetryAfter.Round(time.Second)))}
	case errors.Is(err, client.ErrRateLimited):
		return &exitErr{ExitRateLimited, errors.New("rate limited: try again later")}
	case errors.Is(err, client.ErrUnavailable):
		return &exitErr{ExitUnavailable, errors.New("Keyward or Keycloak cannot be reached: try again later")}
	}
	return &exitErr{ExitError, err}
}

// TokenOptions is what keyward token needs.
type TokenOptions struct {
	Stdout  io.Writer
	Ctx     context.Context
	Getenv  func(string) string
	KeyFile string
	Output  string // text or json
	Kubectl bool
}

// NewCmdToken is keyward token; runF, when given, runs instead of the command.
func NewCmdToken(f *Factory, runF func(*TokenOptions) error) *cobra.Command {
	opts := &TokenOptions{Stdout: f.Stdout, Getenv: f.Getenv}
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
			opts.Ctx = cmd.Context()
			if opts.Output != "text" && opts.Output != "json" {
				return &exitErr{ExitUsage, fmt.Errorf("-o %q: use text or json", opts.Output)}
			}
			if opts.Kubectl && cmd.Flags().Changed("output") {
				return &exitErr{ExitUsage, errors.New("--kubectl prints an ExecCredential: give it without -o")}
			}
			return pick(opts, runF, tokenRun)()
		},
	}
	cmd.Flags().StringVar(&opts.KeyFile, "key-file", "", "read the API key from this file instead of KEYWARD_API_KEY")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "text", "text (the token alone) or json")
	cmd.Flags().BoolVar(&opts.Kubectl, "kubectl", false, "print a Kubernetes ExecCredential (client.authentication.k8s.io/v1)")
	return cmd
}

func tokenRun(opts *TokenOptions) error {
	tok, err := accessToken(opts.Ctx, opts.Getenv, opts.KeyFile)
	if err != nil {
		return err
	}
	if opts.Kubectl {
		return writeJSON(opts.Stdout, execCredential(tok))
	}
	if opts.Output == "json" {
		return json.NewEncoder(opts.Stdout).Encode(map[string]any{
			"access_token": tok.AccessToken, "token_type": tok.TokenType,
			"expires_in": int(time.Until(tok.Expiry).Seconds()), "expiry": tok.Expiry.UTC().Format(time.RFC3339),
		})
	}
	_, err = fmt.Fprintln(opts.Stdout, tok.AccessToken)
	return err
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
