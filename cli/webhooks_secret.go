package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

// WebhooksSecretRotateOptions is what keyward webhooks secret rotate needs.
type WebhooksSecretRotateOptions struct {
	Base
	Ref, OutFile string
	Overlap      time.Duration
}

// NewCmdWebhooksSecretRotate is keyward webhooks secret rotate; runF, when given, runs
// instead of the command.
func NewCmdWebhooksSecretRotate(f *Factory, runF func(*WebhooksSecretRotateOptions) error) *cobra.Command {
	opts := &WebhooksSecretRotateOptions{Base: f.base()}
	cmd := &cobra.Command{Use: "rotate WEBHOOK [--overlap 24h]", Short: "Give an endpoint a new signing secret, alone on stdout",
		Long: "Give an endpoint a new signing secret, printed alone on stdout (or to --out-file, created 0600). Without\n" +
			"--overlap the old secret stops signing at once (as after a leak); with it, both sign until then.",
		Args: cobra.ExactArgs(1), Example: "  keyward webhooks secret rotate https://hooks.example.com/keyward --overlap 24h --out-file hook.secret"}
	opts.outputFlag(cmd, "secret", "secret (the secret alone) or json (the API's object, with the secret)")
	cmd.Flags().DurationVar(&opts.Overlap, "overlap", 0, "how long the old secret keeps signing beside the new one (whole hours, at most 168h)")
	cmd.Flags().StringVar(&opts.OutFile, "out-file", "", "write the secret to this new file (0600) instead of stdout; never overwrites")
	cmd.RunE = opts.runE(firstArg(&opts.Ref), pick(opts, runF, webhooksSecretRotateRun))
	return cmd
}

func webhooksSecretRotateRun(opts *WebhooksSecretRotateOptions) error {
	return opts.withLogin(adminFlags, func(li *loggedIn) error {
		if opts.Overlap < 0 || opts.Overlap%time.Hour != 0 { // after the login, as it always was
			return &exitErr{ExitUsage, fmt.Errorf("--overlap %v: give whole hours, 0h to 168h", opts.Overlap)}
		}
		h, err := li.resolveWebhook(opts.Ctx, opts.Ref)
		if err != nil {
			return err
		}
		out, err := openSecretOut(opts.Stdout, opts.OutFile)
		if err != nil {
			return err
		}
		rotated, err := li.manager.RotateWebhookSecret(opts.Ctx, h.ID, int(opts.Overlap/time.Hour))
		if err != nil {
			out.abandon()
			return webhookFlags(err)
		}
		if err := out.writeAs(opts.Output, rotated.Secret, rotated.Raw); err != nil {
			return err
		}
		if rotated.PreviousSecretUntil != nil {
			fmt.Fprintf(opts.Stderr, "New secret for %s; the old one signs too until %s.\n",
				printable(h.URL), rotated.PreviousSecretUntil.UTC().Format(time.RFC3339))
		} else {
			fmt.Fprintf(opts.Stderr, "New secret for %s; the old one no longer signs.\n", printable(h.URL))
		}
		return nil
	})
}
