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
	run := func(use, short, example string, fn func(ctx context.Context, out io.Writer, ring *exchange.KeyRing) error) *cobra.Command {
		return &cobra.Command{
			Use:                use + " [-flag value …]",
			Short:              short,
			Example:            example,
			DisableFlagParsing: true, // the server's flag set (config.Load) reads them
			RunE: func(c *cobra.Command, args []string) error {
				cfg, err := config.LoadValid(args, f.Getenv)
				if errors.Is(err, flag.ErrHelp) {
					return nil
				}
				if err != nil {
					return &exitErr{ExitUsage, err}
				}
				ctx, cancel := context.WithTimeout(c.Context(), time.Minute)
				defer cancel()
				ring, closeStore, err := f.Service.OpenKeyRing(ctx, cfg)
				if err != nil {
					return &exitErr{ExitError, err}
				}
				defer closeStore()
				if err := fn(ctx, c.OutOrStdout(), ring); err != nil {
					return &exitErr{ExitError, err}
				}
				return nil
			},
		}
	}
	cmd.AddCommand(
		run("list", "List the signing keys: when each signs from, which signs now",
			"  KEYWARD_DATABASE_URL=postgres://… KEYWARD_ENCRYPTION_KEY=… keyward signing-keys list", func(_ context.Context, out io.Writer, ring *exchange.KeyRing) error {
				printSigningKeys(out, ring.Keys(), time.Now())
				return nil
			}),
		run("rotate", fmt.Sprintf("Publish a new signing key now; it signs from %v on (the current one stays published until its assertions expired)", exchange.PublishAhead),
			"  KEYWARD_DATABASE_URL=postgres://… KEYWARD_ENCRYPTION_KEY=… keyward signing-keys rotate", func(ctx context.Context, out io.Writer, ring *exchange.KeyRing) error {
				next, err := ring.Rotate(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "next signing key %s: published now, signs from %s\n", next.KID, next.ActiveFrom.UTC().Format(time.RFC3339))
				return nil
			}),
	)
	return cmd
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
