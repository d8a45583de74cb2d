package cli

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/keyward/keyward/config"
	"github.com/keyward/keyward/exchange"
)

// Factory is what the commands take from the world (gh's cmdutil.Factory): the
// environment, the standard streams, whether a person is at a terminal, the HTTP client,
// and what only main can give: the version and the service's wiring.
type Factory struct {
	Getenv         func(string) string
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Interactive    bool                   // a person's terminal: a browser may be opened
	OpenBrowser    func(url string) error // nil: none on this machine
	HTTPClient     *http.Client
	Version        string
	Service        Service

	// loginAs, when set, replaces the stored login (tests: a Manager with a fixed token).
	loginAs func(ctx context.Context) (*loggedIn, error)
}

// Service is the service's own wiring (package server), which main hands in: the
// command line does not import everything it wires.
type Service struct {
	// Serve runs Keyward with cfg until ctx ends (keyward server).
	Serve func(ctx context.Context, cfg config.Config, log *zap.Logger) error
	// OpenKeyRing opens the store's signing keys as a replica would; closeStore releases
	// the store (keyward signing-keys).
	OpenKeyRing func(ctx context.Context, cfg config.Config) (ring *exchange.KeyRing, closeStore func(), err error)
}

// NewFactory is the world of a run: getenv, the streams, and whether a person is at the
// terminal (then a browser may be opened for login).
func NewFactory(getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer, interactive bool) *Factory {
	// Never follow a redirect: a refresh token or an access token is for the URL it was
	// meant for (net/http would resend a POST body on 307/308).
	hc := &http.Client{Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	f := &Factory{Getenv: getenv, Stdin: stdin, Stdout: stdout, Stderr: stderr, Interactive: interactive,
		HTTPClient: hc, Version: "dev"}
	if interactive {
		f.OpenBrowser = systemBrowser(getenv)
	}
	return f
}

// adminFlags names the flag behind a field the API refused, for the refusal's line.
var adminFlags = map[string]string{
	"name": "--name", "description": "--description", "environment": "--environment", "acl_groups": "--acl-group",
	"client_id": "--client-id", "redirect_uris": "--redirect-uri", "enabled": "--enabled", "q": "--search",
	"sort": "--sort", "consumer": "--consumer", "secret": "the secret",
}

// Base is what every command that needs the person's login takes from the Factory:
// the streams, the login (a Manager), the context of the run and -o. Each command's
// options struct embeds it (gh's pkg/cmd/<noun>/<verb> style).
type Base struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Login          func(ctx context.Context) (*loggedIn, error)
	Ctx            context.Context
	Output         string
	outputs        []string // the values -o takes: its default, then json
}

// base is a command's Base, from the Factory.
func (f *Factory) base() Base {
	return Base{Stdin: f.Stdin, Stdout: f.Stdout, Stderr: f.Stderr, Login: f.login, Ctx: context.Background()}
}

// runE is how every logged-in command runs, in this order: -o checked against its
// default and json; parse, if any, reads the other flags and arguments (a usage error
// needs no login); then runF (tests: what was parsed) or run.
func (b *Base) runE(parse func(cmd *cobra.Command, args []string) error, run func() error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		b.Ctx = cmd.Context()
		if b.outputs != nil {
			if err := checkOutput(b.Output, b.outputs...); err != nil {
				return err
			}
		}
		if parse != nil {
			if err := parse(cmd, args); err != nil {
				return err
			}
		}
		return run()
	}
}

// withLogin runs fn with the login. A refused call becomes its line and exit code, the
// API's field names turned into the flags (fields) behind them.
func (b *Base) withLogin(fields map[string]string, fn func(li *loggedIn) error) error {
	li, err := b.Login(b.Ctx)
	if err != nil {
		return err
	}
	if err := fn(li); err != nil {
		var x *exitErr
		if errors.As(err, &x) {
			return x
		}
		return asFlags(err, fields)
	}
	return nil
}

// outputFlag declares -o: its default (table, secret or key) or json, checked by runE.
func (b *Base) outputFlag(cmd *cobra.Command, def, help string) {
	b.outputs = []string{def, "json"}
	cmd.Flags().StringVarP(&b.Output, "output", "o", def, help)
}

// pick is runF when a test gives one, else run.
func pick[O any](opts O, runF, run func(O) error) func() error {
	return func() error {
		if runF != nil {
			return runF(opts)
		}
		return run(opts)
	}
}

// firstArg is the parse of a command whose one argument names its object: kept in *ref.
func firstArg(ref *string) func(*cobra.Command, []string) error {
	return func(_ *cobra.Command, args []string) error {
		*ref = args[0]
		return nil
	}
}
