package cli

// keyward signing-keys: the operator's view of the assertion-signing keys in the store
// (list) and an on-demand rotation (rotate). It reads the server's configuration
// (KEYWARD_* and the same flags) and speaks to the store directly, as a replica would.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/config"
	"github.com/keyward/keyward/exchange"
)

func newSigningKeysCommand(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "signing-keys",
		Short: "List or rotate the assertion-signing keys in the store",
		Long: "The keys that sign Keyward's assertions live in the store, encrypted, shared by every replica.\n" +
			"Run with the server's configuration (KEYWARD_DATABASE_URL, KEYWARD_ENCRYPTION_KEY, KEYWARD_KEY_PEPPER, …).",
		Example: "  keyward signing-keys list      # with the server's environment\n" +
			"  keyward signing-keys rotate    # a new key, published before it signs",
	}
	cmd.AddCommand(
		NewCmdSigningKeys(f, "list", "List the signing keys: when each signs from, which signs now",
			"  KEYWARD_DATABASE_URL=postgres://… KEYWARD_ENCRYPTION_KEY=… keyward signing-keys list", listSigningKeys, nil),
		NewCmdSigningKeys(f, "rotate", fmt.Sprintf("Publish a new signing key now; it signs from %v on (the current one stays published until its assertions expired)", exchange.PublishAhead),
			"  KEYWARD_DATABASE_URL=postgres://… KEYWARD_ENCRYPTION_KEY=… keyward signing-keys rotate", rotateSigningKey, nil),
	)
	return cmd
}

// SigningKeysOptions is what keyward signing-keys list and rotate need.
type SigningKeysOptions struct {
	Stdout      io.Writer
	Ctx         context.Context
	Getenv      func(string) string
	OpenKeyRing func(ctx context.Context, cfg config.Config) (ring *exchange.KeyRing, closeStore func(), err error) // Factory.Service
	Args        []string                                                                                            // the server's flags
	// Do is what the command does with the ring: list or rotate.
	Do func(ctx context.Context, out io.Writer, ring *exchange.KeyRing) error
}

// NewCmdSigningKeys is keyward signing-keys list or rotate (use, doing do); runF, when
// given, runs instead of the command.
func NewCmdSigningKeys(f *Factory, use, short, example string, do func(ctx context.Context, out io.Writer, ring *exchange.KeyRing) error,
	runF func(*SigningKeysOptions) error) *cobra.Command {
	opts := &SigningKeysOptions{Stdout: f.Stdout, Getenv: f.Getenv, OpenKeyRing: f.Service.OpenKeyRing, Do: do}
	return &cobra.Command{
		Use:                use + " [-flag value …]",
		Short:              short,
		Example:            example,
		DisableFlagParsing: true, // the server's flag set (config.Load) reads them
		RunE: func(c *cobra.Command, args []string) error {
			opts.Ctx, opts.Args = c.Context(), args
			return pick(opts, runF, signingKeysRun)()
		},
	}
}

func signingKeysRun(opts *SigningKeysOptions) error {
	cfg, err := config.LoadValid(opts.Args, opts.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return &exitErr{ExitUsage, err}
	}
	ctx, cancel := context.WithTimeout(opts.Ctx, time.Minute)
	defer cancel()
	ring, closeStore, err := opts.OpenKeyRing(ctx, cfg)
	if err != nil {
		return &exitErr{ExitError, err}
	}
	defer closeStore()
	if err := opts.Do(ctx, opts.Stdout, ring); err != nil {
		return &exitErr{ExitError, err}
	}
	return nil
}

func listSigningKeys(_ context.Context, out io.Writer, ring *exchange.KeyRing) error {
	printSigningKeys(out, ring.Keys(), time.Now())
	return nil
}

func rotateSigningKey(ctx context.Context, out io.Writer, ring *exchange.KeyRing) error {
	next, err := ring.Rotate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "next signing key %s: published now, signs from %s\n", next.KID, next.ActiveFrom.UTC().Format(time.RFC3339))
	return nil
}

func printSigningKeys(out io.Writer, keys []exchange.SigningKeyInfo, now time.Time) {
	current := ""
	for _, k := range keys {
		if !now.Before(k.ActiveFrom) {
			current = k.KID
		}
	}
	fmt.Fprintf(out, "%-44s  %-20s  %s\n", "KID", "SIGNS FROM", "STATE")
	for _, k := range keys {
		state := "previous"
		switch {
		case k.KID == current:
			state = "current"
		case now.Before(k.ActiveFrom):
			state = "next"
		}
		fmt.Fprintf(out, "%-44s  %-20s  %s\n", k.KID, k.ActiveFrom.UTC().Format(time.RFC3339), state)
	}
}
