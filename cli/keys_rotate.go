package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

// KeysRotateOptions is what keyward keys rotate needs.
type KeysRotateOptions struct {
	Base
	Ref, Owner, OutFile string
	Grace               *time.Duration // nil: the server's default
	grace               string
}

// NewCmdKeysRotate is keyward keys rotate; runF, when given, runs instead of the command.
func NewCmdKeysRotate(f *Factory, runF func(*KeysRotateOptions) error) *cobra.Command {
	opts := &KeysRotateOptions{Base: f.base()}
	cmd := &cobra.Command{
		Use:   "rotate KEY [--grace 24h]",
		Short: "Rotate a key: the new key alone on stdout; the old one works until the grace ends (stderr)",
		Long: "Issue a key's successor with the same settings. The new key is printed alone on stdout (or to\n" +
			"--out-file), this once; the old key keeps working until the grace period ends (default 7 days),\n" +
			"which is printed on stderr.",
		Example: "  keyward keys rotate ci --grace 24h > ci.key\n  keyward keys rotate ci --grace 0 --out-file ci-new.key   # the old key stops now",
		Args:    cobra.ExactArgs(1),
	}
	opts.outputFlag(cmd, "key", "key (the new key alone) or json (the API's object)")
	cmd.RunE = opts.runE(func(cmd *cobra.Command, args []string) error {
		opts.Ref, opts.Grace = args[0], nil
		if cmd.Flags().Changed("grace") {
			d, err := parseHours(opts.grace)
			if err != nil {
				return usageErr("--grace", err)
			}
			opts.Grace = &d
		}
		return nil
	}, pick(opts, runF, keysRotateRun))
	cmd.Flags().StringVar(&opts.Owner, "owner", "", "admins: look the name up among this user's keys")
	cmd.Flags().StringVar(&opts.grace, "grace", "", "how long the old key keeps working: 24h, 7d (default), 0")
	cmd.Flags().StringVar(&opts.OutFile, "out-file", "", "write the new key to this new file (0600) instead of stdout")
	return cmd
}

func keysRotateRun(opts *KeysRotateOptions) error {
	return opts.withLogin(keyFlags, func(li *loggedIn) error {
		old, err := li.resolveKey(opts.Ctx, opts.Ref, opts.Owner)
		if err != nil {
			return err
		}
		out, err := openSecretOut(opts.Stdout, opts.OutFile)
		if err != nil {
			return err
		}
		created, err := li.manager.RotateKey(opts.Ctx, old.ID, opts.Grace)
		if err != nil {
			out.abandon()
			return err
		}
		if err := writeCreatedKey(opts.Stderr, out, created, opts.Output, "Rotated"); err != nil {
			return err
		}
		if prev, err := li.manager.Key(opts.Ctx, old.ID); err == nil && prev.GraceUntil != nil {
			fmt.Fprintf(opts.Stderr, "The old key %s works until %s (grace ends).\n", prev.Prefix, prev.GraceUntil.UTC().Format(time.RFC3339))
		} else {
			fmt.Fprintf(opts.Stderr, "The old key %s no longer works.\n", old.Prefix)
		}
		return nil
	})
}
