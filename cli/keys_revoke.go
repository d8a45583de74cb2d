package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// KeysRevokeOptions is what keyward keys revoke needs.
type KeysRevokeOptions struct {
	Base
	Ref, Owner string
}

// NewCmdKeysRevoke is keyward keys revoke; runF, when given, runs instead of the command.
func NewCmdKeysRevoke(f *Factory, runF func(*KeysRevokeOptions) error) *cobra.Command {
	opts := &KeysRevokeOptions{Base: f.base()}
	cmd := &cobra.Command{
		Use:     "revoke KEY",
		Aliases: []string{"delete"},
		Short:   "Revoke a key: the exchange refuses it from now on",
		Example: "  keyward keys revoke ci",
		Args:    cobra.ExactArgs(1),
	}
	cmd.RunE = opts.runE(firstArg(&opts.Ref),
		pick(opts, runF, keysRevokeRun))
	cmd.Flags().StringVar(&opts.Owner, "owner", "", "admins: look the name up among this user's keys")
	return cmd
}

func keysRevokeRun(opts *KeysRevokeOptions) error {
	return opts.withLogin(keyFlags, func(li *loggedIn) error {
		k, err := li.resolveKey(opts.Ctx, opts.Ref, opts.Owner)
		if err != nil {
			return err
		}
		if err := li.manager.RevokeKey(opts.Ctx, k.ID); err != nil {
			return err
		}
		fmt.Fprintf(opts.Stderr, "Revoked key %s (%s).\n", printable(k.Name), k.Prefix)
		return nil
	})
}
